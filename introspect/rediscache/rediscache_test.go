package rediscache_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tokengate/tokengate/internal/testserver"
	"github.com/tokengate/tokengate/introspect"
	"github.com/tokengate/tokengate/introspect/rediscache"
)

func TestMain(m *testing.M) { testserver.Main(m) }

var testKeys = [][]byte{[]byte("rediscache-test-key-0123456789ab")}

// next is the layer under the cache: it answers every token active, for
// alice, until exp, and counts the calls.
type next struct {
	mu    sync.Mutex // guards calls
	calls int
	exp   time.Time
}

func (n *next) Introspect(context.Context, string) (*introspect.Response, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.calls++
	return &introspect.Response{Active: true, Subject: "alice", Scope: "orders:read", Expiry: n.exp}, nil
}

func (n *next) CacheIdentity() string { return "test-as" }

func (n *next) count() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.calls
}

// counter counts Observer events by kind.
type counter struct {
	mu sync.Mutex // guards n
	n  map[introspect.EventKind]int
}

func (c *counter) Observe(e introspect.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[introspect.EventKind]int{}
	}
	c.n[e.Kind]++
}

func (c *counter) count(k introspect.EventKind) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[k]
}

// replica is one resource-server process of a fleet: a verdict cache over
// its own next layer, sharing the store.
type replica struct {
	cache *introspect.Cache
	next  *next
	obs   *counter
}

func newReplica(t testing.TB, store introspect.SharedCache, mod func(*introspect.CacheConfig)) *replica {
	t.Helper()
	r := &replica{next: &next{exp: time.Now().Add(time.Hour)}, obs: &counter{}}
	cfg := introspect.CacheConfig{Shared: store, SharedKeys: testKeys, Observer: r.obs, Logger: slog.New(slog.DiscardHandler)}
	if mod != nil {
		mod(&cfg)
	}
	var err error
	if r.cache, err = introspect.NewCache(r.next, cfg); err != nil {
		t.Fatal(err)
	}
	return r
}

func newStore(t testing.TB, srv *testserver.Redis, mod func(*rediscache.Config)) *rediscache.Store {
	t.Helper()
	// The 50 ms default is for production; on a loaded CI machine the
	// first command (dial included) can take longer, and these tests are
	// about what Redis answers, not how fast. Tests of a slow Redis set
	// their own.
	cfg := rediscache.Config{URL: srv.URL(), OpTimeout: time.Second}
	if mod != nil {
		mod(&cfg)
	}
	s, err := rediscache.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// rawClient reaches into the server as anyone with access to Redis could.
func rawClient(t testing.TB, srv *testserver.Redis) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: srv.Addr(), DisableIdentity: true})
	t.Cleanup(func() { c.Close() })
	return c
}

// keysOf returns the verdict keys in the server.
func keysOf(t testing.TB, c *redis.Client) []string {
	t.Helper()
	keys, err := c.Keys(context.Background(), "tokengate:verdict:*").Result()
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// ownServer is a Redis of the test's own, for tests that stop, pause or
// fill it.
func ownServer(t *testing.T) *testserver.Redis {
	srv, err := testserver.StartRedis()
	if err != nil {
		t.Fatalf("Redis is needed and could not be started: %v", err)
	}
	t.Cleanup(srv.Close)
	return srv
}

func TestSharedAcrossReplicas(t *testing.T) {
	srv := ownServer(t)
	a, b := newReplica(t, newStore(t, srv, nil), nil), newReplica(t, newStore(t, srv, nil), nil)
	ctx := context.Background()
	const token = "opaque-token-of-alice-0123456789"
	if _, err := a.cache.Introspect(ctx, token); err != nil {
		t.Fatal(err)
	}
	resp, err := b.cache.Introspect(ctx, token)
	if err != nil || resp.Subject != "alice" || resp.Scope != "orders:read" {
		t.Fatalf("b: %+v, %v", resp, err)
	}
	if b.next.count() != 0 || b.obs.count(introspect.EventSharedHit) != 1 {
		t.Fatalf("b asked its next layer %d times, %d shared hits; want 0 and 1", b.next.count(), b.obs.count(introspect.EventSharedHit))
	}
	raw := rawClient(t, srv)
	keys := keysOf(t, raw)
	if len(keys) != 1 {
		t.Fatalf("keys = %v, want one", keys)
	}
	v, _ := raw.Get(ctx, keys[0]).Bytes()
	if strings.Contains(keys[0], token) || bytes.Contains(v, []byte(token)) {
		t.Errorf("the token reached Redis: %q = %q", keys[0], v)
	}
}

// TestTamperedEntriesIgnored: whoever can write to Redis writes there with
// a plain client; the next replica ignores what it wrote, counts it, and
// asks its next layer.
func TestTamperedEntriesIgnored(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		tamper func(t *testing.T, raw *redis.Client, a *replica)
	}{
		{"forged", func(t *testing.T, raw *redis.Client, a *replica) {
			key := keysOf(t, raw)[0]
			v, _ := raw.Get(ctx, key).Bytes()
			forged := append(v[:13:13], `{"active":true,"sub":"admin","scope":"orders:read orders:write","exp":4102444800}`...)
			forged = append(forged, bytes.Repeat([]byte{0x42}, 32)...) // a guessed MAC
			raw.Set(ctx, key, forged, time.Hour)
		}},
		{"altered", func(t *testing.T, raw *redis.Client, a *replica) {
			key := keysOf(t, raw)[0]
			v, _ := raw.Get(ctx, key).Bytes()
			raw.Set(ctx, key, bytes.Replace(v, []byte(`"orders:read"`), []byte(`"orders:admin"`), 1), time.Hour)
		}},
		{"moved to another token's key", func(t *testing.T, raw *redis.Client, a *replica) {
			key := keysOf(t, raw)[0]
			v, _ := raw.Get(ctx, key).Bytes()
			// Another token's verdict, under the key of "tok".
			raw.Del(ctx, key)
			if _, err := a.cache.Introspect(ctx, "another-token"); err != nil {
				t.Fatal(err)
			}
			other := keysOf(t, raw)[0]
			raw.Set(ctx, key, v, time.Hour) // back in place, to be sure the key is right
			ov, _ := raw.Get(ctx, other).Bytes()
			raw.Set(ctx, key, ov, time.Hour)
		}},
	}
	// The test is about what b does with what it reads: a read or write
	// that times out (a new connection's first command dials and sends
	// HELLO first, on a loaded 2-core machine under -race) would fail it
	// for the wrong reason, so the stores wait 5 s, and a shared-tier
	// error is named as such.
	patient := func(c *rediscache.Config) { c.OpTimeout = 5 * time.Second }
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := ownServer(t)
			raw := rawClient(t, srv)
			a := newReplica(t, newStore(t, srv, patient), nil)
			if _, err := a.cache.Introspect(ctx, "tok"); err != nil {
				t.Fatal(err)
			}
			if len(keysOf(t, raw)) != 1 || a.obs.count(introspect.EventSharedError) != 0 {
				t.Fatalf("a wrote %d keys to Redis with %d errors; want 1 and 0", len(keysOf(t, raw)), a.obs.count(introspect.EventSharedError))
			}
			tt.tamper(t, raw, a)
			b := newReplica(t, newStore(t, srv, patient), nil)
			resp, err := b.cache.Introspect(ctx, "tok")
			if err != nil || resp.Subject != "alice" || resp.Scope != "orders:read" {
				t.Fatalf("b: %+v, %v; want alice's own verdict", resp, err)
			}
			if b.next.count() != 1 || b.obs.count(introspect.EventSharedRejected) != 1 || b.obs.count(introspect.EventSharedHit) != 0 ||
				b.obs.count(introspect.EventSharedError) != 0 {
				t.Errorf("next calls %d, rejected %d, shared hits %d, shared errors %d; want 1, 1, 0, 0", b.next.count(),
					b.obs.count(introspect.EventSharedRejected), b.obs.count(introspect.EventSharedHit), b.obs.count(introspect.EventSharedError))
			}
		})
	}
}

// TestTTLNotBeyondVerdict: an entry expires in Redis no later than the
// cache would stop serving its verdict: exp − ClockSkew, or MaxTTL.
func TestTTLNotBeyondVerdict(t *testing.T) {
	srv := testserver.SharedRedis(t)
	raw := rawClient(t, srv)
	ctx := context.Background()
	for _, tt := range []struct {
		name    string
		exp     time.Duration
		maxTTL  time.Duration
		wantMax time.Duration
	}{
		{"bounded by exp - skew", 40 * time.Second, time.Hour, 10 * time.Second},
		{"bounded by MaxTTL", time.Hour, 5 * time.Second, 5 * time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newReplica(t, newStore(t, srv, nil), func(cc *introspect.CacheConfig) {
				cc.MaxTTL, cc.ClockSkew = tt.maxTTL, 30*time.Second
			})
			r.next.exp = time.Now().Add(tt.exp)
			// A token of its own: with -count above 1 the previous run's
			// key for a fixed token is still in the shared Redis, and no
			// new key would show.
			token := "ttl-" + rand.Text()
			before := keysOf(t, raw)
			if _, err := r.cache.Introspect(ctx, token); err != nil {
				t.Fatal(err)
			}
			var key string
			for _, k := range keysOf(t, raw) {
				if !contains(before, k) {
					key = k
				}
			}
			if key == "" {
				t.Fatal("no new key in Redis after a miss")
			}
			ttl, err := raw.PTTL(ctx, key).Result()
			if err != nil || ttl <= 0 || ttl > tt.wantMax {
				t.Errorf("PTTL = %v, %v; want in (0, %v]", ttl, err, tt.wantMax)
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// fakeClock is a settable clock for the cooldown.
type fakeClock struct {
	mu sync.Mutex // guards t
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestRedisStopped: Redis goes away mid-test. Requests are answered by the
// next layer; after the first failure the store does not wait on Redis
// during its cooldown; when Redis is back, the store uses it again by
// itself.
func TestRedisStopped(t *testing.T) {
	srv := ownServer(t)
	clock := &fakeClock{t: time.Now()}
	store := newStore(t, srv, func(c *rediscache.Config) { c.Now = clock.Now })
	a := newReplica(t, store, nil)
	ctx := context.Background()
	if _, err := a.cache.Introspect(ctx, "before"); err != nil {
		t.Fatal(err)
	}
	srv.Stop()

	var logs safeBuffer
	b := newReplica(t, store, func(cc *introspect.CacheConfig) { cc.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	for i := range 50 {
		tok := fmt.Sprint("during-", i)
		resp, err := b.cache.Introspect(ctx, tok)
		if err != nil || resp.Subject != "alice" {
			t.Fatalf("%s with Redis down: %+v, %v", tok, resp, err)
		}
	}
	if b.next.count() != 50 || b.obs.count(introspect.EventSharedError) != 100 {
		t.Errorf("next calls %d, shared errors %d; want 50 and 100 (a read and a write each)", b.next.count(), b.obs.count(introspect.EventSharedError))
	}
	// One line for the failed reads and one for the failed writes, not
	// one per request.
	if n := strings.Count(logs.String(), "level=WARN"); n != 2 {
		t.Errorf("%d Warn lines for 50 requests with Redis down, want 2:\n%s", n, logs.String())
	}
	_, _, err := store.Get(ctx, "k")
	if !errors.Is(err, rediscache.ErrUnavailable) || !strings.Contains(err.Error(), "failed less than") {
		t.Errorf("Get during the cooldown = %v, want a fast ErrUnavailable", err)
	}

	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	clock.Advance(rediscache.DefaultCooldown)
	if err := store.Set(ctx, "k", []byte("v"), time.Minute); err != nil {
		t.Fatalf("Set after Redis came back: %v", err)
	}
	if v, ok, err := store.Get(ctx, "k"); err != nil || !ok || string(v) != "v" {
		t.Fatalf("Get after Redis came back = %q, %v, %v", v, ok, err)
	}
}

// TestRedisSlow: Redis stops answering (CLIENT PAUSE). A request is
// answered by the next layer while Redis is still paused: the store's
// wait is bounded by OpTimeout, not by Redis.
func TestRedisSlow(t *testing.T) {
	srv := ownServer(t)
	store := newStore(t, srv, nil)
	r := newReplica(t, store, nil)
	raw := rawClient(t, srv)
	ctx := context.Background()
	if err := raw.Ping(ctx).Err(); err != nil { // connect before the pause
		t.Fatal(err)
	}
	if err := srv.Do("CLIENT", "PAUSE", "5000", "ALL"); err != nil {
		t.Fatal(err)
	}
	paused := make(chan struct{})
	go func() {
		raw.Ping(context.Background()) // blocks until the pause ends
		close(paused)
	}()
	resp, err := r.cache.Introspect(ctx, "tok")
	select {
	case <-paused:
		t.Fatal("the request waited for Redis to come back")
	default:
	}
	if err != nil || resp.Subject != "alice" {
		t.Fatalf("Introspect with Redis paused: %+v, %v", resp, err)
	}
	if r.obs.count(introspect.EventSharedError) == 0 {
		t.Error("the slow Redis was not counted")
	}
	_, _, err = store.Get(ctx, "k")
	if !errors.Is(err, rediscache.ErrUnavailable) {
		t.Errorf("Get = %v, want ErrUnavailable", err)
	}
	srv.Do("CLIENT", "UNPAUSE")
	<-paused
}

// TestRedisFull: Redis refuses writes (maxmemory reached, noeviction).
// Requests are answered, the failed writes counted; reads go on, since an
// answer from Redis is not a failure to reach it.
func TestRedisFull(t *testing.T) {
	srv := ownServer(t)
	store := newStore(t, srv, nil)
	ctx := context.Background()
	if err := store.Set(ctx, "early", []byte("v"), time.Minute); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"CONFIG", "SET", "maxmemory-policy", "noeviction"}, {"CONFIG", "SET", "maxmemory", "1"}} {
		if err := srv.Do(args...); err != nil {
			t.Fatal(err)
		}
	}
	r := newReplica(t, store, nil)
	for _, tok := range []string{"t1", "t2"} {
		if resp, err := r.cache.Introspect(ctx, tok); err != nil || resp.Subject != "alice" {
			t.Fatalf("Introspect with Redis full: %+v, %v", resp, err)
		}
	}
	if n := r.obs.count(introspect.EventSharedError); n != 2 {
		t.Errorf("%d shared errors, want 2 (the writes)", n)
	}
	err := store.Set(ctx, "k", []byte("v"), time.Minute)
	if err == nil || errors.Is(err, rediscache.ErrUnavailable) || !strings.Contains(err.Error(), "OOM") {
		t.Errorf("Set = %v, want Redis's OOM answer", err)
	}
	if v, ok, err := store.Get(ctx, "early"); err != nil || !ok || string(v) != "v" {
		t.Errorf("Get while full = %q, %v, %v; want the early value", v, ok, err)
	}
}

func TestNewValidation(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  rediscache.Config
		want string
	}{
		{"neither", rediscache.Config{}, "exactly one"},
		{"both", rediscache.Config{URL: "redis://127.0.0.1:1", Client: redis.NewClient(&redis.Options{})}, "exactly one"},
		{"bad URL keeps its password out", rediscache.Config{URL: "http://user:hunter2@host"}, "not a Redis URL"},
		{"client without context deadlines", rediscache.Config{Client: redis.NewClient(&redis.Options{})}, "ContextTimeoutEnabled"},
		{"negative timeout", rediscache.Config{URL: "redis://127.0.0.1:1", OpTimeout: -1}, "negative"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := rediscache.New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "hunter2") {
				t.Errorf("New = %v, want an error about %q", err, tt.want)
			}
		})
	}
	opts := &redis.Options{}
	rediscache.BoundOptions(opts, 20*time.Millisecond)
	if _, err := rediscache.New(rediscache.Config{Client: redis.NewClient(opts)}); err != nil {
		t.Errorf("a bounded client: %v", err)
	}
}

// TestLoggerIsRateLimited: go-redis's own lines, through Logger, are one
// per 10 seconds at most.
func TestLoggerIsRateLimited(t *testing.T) {
	var buf bytes.Buffer
	l := rediscache.Logger(slog.New(slog.NewTextHandler(&buf, nil)))
	for range 100 {
		l.Printf(context.Background(), "pool.go: failed to dial after %d attempts", 1)
	}
	if n := strings.Count(buf.String(), "failed to dial"); n != 1 || !strings.Contains(buf.String(), "level=WARN") {
		t.Errorf("%d lines for 100 failures, want 1 at Warn:\n%s", n, buf.String())
	}
}

// safeBuffer is a bytes.Buffer safe for concurrent writes.
type safeBuffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *safeBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
