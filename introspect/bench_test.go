package introspect

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// benchBody is a realistic active answer, as Keycloak or oidc-provider send.
func benchBody(i int) string {
	return fmt.Sprintf(`{"active":true,"sub":"user-%06d","client_id":"orders-web","scope":"openid orders:read orders:write","token_type":"Bearer","exp":%d,"iat":%d,"aud":"orders-api","iss":"https://as.example.com/realms/main","jti":"%08x-jti"}`,
		i, testNow.Add(time.Hour).Unix(), testNow.Unix(), i)
}

// benchClient is what New builds: a Cache in front of a Client.
func benchClient(b *testing.B, url string) *Cache {
	b.Helper()
	c, err := New(Config{
		IntrospectionURL: url,
		ClientID:         "rs",
		ClientSecret:     "secret",
		Now:              func() time.Time { return testNow },
		Logger:           slog.New(slog.DiscardHandler),
	})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

func benchServer(b *testing.B) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, benchBody(int(i)))
	}))
	b.Cleanup(srv.Close)
	return srv, &n
}

// A typical opaque access token (43 characters of base64url, 256 bits).
const benchToken = "2YotnFZFEjr1zCsicMWpAA-kF3dWxZc4GhXb0z1nq8Q"

// BenchmarkCacheHit measures Introspect answering from the cache.
func BenchmarkCacheHit(b *testing.B) {
	srv, _ := benchServer(b)
	c := benchClient(b, srv.URL)
	ctx := context.Background()
	if _, err := c.Introspect(ctx, benchToken); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Introspect(ctx, benchToken); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCacheHitParallel measures cache hits from all CPUs at once, over
// 1,000 distinct warm tokens.
func BenchmarkCacheHitParallel(b *testing.B) {
	srv, _ := benchServer(b)
	c := benchClient(b, srv.URL)
	ctx := context.Background()
	tokens := make([]string, 1000)
	for i := range tokens {
		tokens[i] = benchToken[:len(benchToken)-6] + fmt.Sprintf("%06d", i)
		if _, err := c.Introspect(ctx, tokens[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := c.Introspect(ctx, tokens[i%len(tokens)]); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

// BenchmarkCacheMiss measures a full introspection against an in-process
// httptest authorization server over loopback: every token is new.
func BenchmarkCacheMiss(b *testing.B) {
	srv, n := benchServer(b)
	c := benchClient(b, srv.URL)
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if _, err := c.Introspect(ctx, "miss-"+strconv.Itoa(i)); err != nil {
			b.Fatal(err)
		}
	}
	if n.Load() < int64(i) {
		b.Fatalf("%d AS calls for %d misses", n.Load(), i)
	}
}

// BenchmarkCacheMemoryPerEntry fills a cache with 100,000 realistic active
// verdicts and reports the heap they hold per entry (B/entry).
func BenchmarkCacheMemoryPerEntry(b *testing.B) {
	const entries = 100_000
	for b.Loop() {
		client, err := NewClient(Config{IntrospectionURL: "https://as.example/i"})
		if err != nil {
			b.Fatal(err)
		}
		c, err := NewCache(client, CacheConfig{Size: 2 * entries})
		if err != nil {
			b.Fatal(err)
		}
		before := heapInUse()
		fresh := testNow.Add(time.Minute)
		for i := range entries {
			resp, err := decodeJSON("application/json", []byte(benchBody(i)))
			if err != nil {
				b.Fatal(err)
			}
			c.store(keyOf("token-"+strconv.Itoa(i)), c.mustAdopt(b, resp), fresh, 0)
		}
		after := heapInUse()
		b.ReportMetric(float64(after-before)/entries, "B/entry")
		if c.len() != entries {
			b.Fatalf("cache holds %d entries", c.len())
		}
		runtime.KeepAlive(c)
	}
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// mustAdopt is adopt (the cache's own, interned copy of an answer) at
// testNow.
func (c *Cache) mustAdopt(tb testing.TB, resp *Response) *Response {
	own, err := c.adopt(resp, testNow)
	if err != nil {
		tb.Fatal(err)
	}
	return own
}
