package proxy_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"

	"log/slog"

	"github.com/tokengate/tokengate/proxy"
)

// benchmarkHop loads base+"/api/orders" with b.RunParallel's callers over
// loopback, each request carrying a token the guard's cache would hold, and
// a 1 KB answer from a Go upstream. The client and the upstream run in the
// same process, so ns/op is the whole round trip: compare the benchmarks
// below with each other, not with a figure from elsewhere.
func benchmarkHop(b *testing.B, handler func(upstream string) http.Handler) {
	body := strings.Repeat("x", 1024)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, body) }))
	defer up.Close()
	srv := httptest.NewServer(handler(up.URL))
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	defer client.CloseIdleConnections()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		req, _ := http.NewRequest("GET", srv.URL+"/api/orders", nil)
		req.Header.Set("Authorization", "Bearer tok-reader")
		for pb.Next() {
			res, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			n, _ := io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != 200 || n != 1024 {
				b.Errorf("status %d, %d bytes", res.StatusCode, n)
				return
			}
		}
	})
}

// BenchmarkDirect is the upstream alone, without a hop.
func BenchmarkDirect(b *testing.B) {
	benchmarkHop(b, func(upstream string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, strings.Repeat("x", 1024)) })
	})
}

// BenchmarkBareReverseProxy is the baseline hop: httputil.ReverseProxy with
// pooled connections, no check.
func BenchmarkBareReverseProxy(b *testing.B) {
	benchmarkHop(b, func(upstream string) http.Handler {
		u, _ := url.Parse(upstream)
		rp := httputil.NewSingleHostReverseProxy(u)
		rp.Transport = &http.Transport{MaxIdleConnsPerHost: 256}
		return rp
	})
}

// BenchmarkProxy is the same hop through a Proxy: route match, the guard on
// a cached verdict, identity headers, idle timeouts.
func BenchmarkProxy(b *testing.B) {
	benchmarkHop(b, func(upstream string) http.Handler {
		u, _ := url.Parse(upstream)
		p, err := proxy.New(proxy.Config{Guard: newGuard(b), Routes: routes(b, "GET /api/orders orders:read"), Upstream: u, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			b.Fatal(err)
		}
		return p
	})
}
