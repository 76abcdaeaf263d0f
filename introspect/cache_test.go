package introspect

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a controllable clock for Config.Now.
type fakeClock struct {
	mu sync.Mutex // guards t
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: testNow} }

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

// countingObserver counts events by kind and records circuit states.
type countingObserver struct {
	mu      sync.Mutex // guards the fields below
	counts  map[EventKind]int
	circuit []string
	calls   []string
}

func (o *countingObserver) Observe(e Event) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.counts == nil {
		o.counts = map[EventKind]int{}
	}
	o.counts[e.Kind]++
	switch e.Kind {
	case EventCircuit:
		o.circuit = append(o.circuit, e.Outcome)
	case EventASCall:
		o.calls = append(o.calls, e.Outcome)
	}
}

func (o *countingObserver) count(k EventKind) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.counts[k]
}

// observerFunc adapts a function to the Observer interface.
type observerFunc func(Event)

func (f observerFunc) Observe(e Event) { f(e) }

// replySeq answers the n-th request (from 0) with replies[n], repeating the
// last one.
func replySeq(replies ...func(http.ResponseWriter, *http.Request)) func(http.ResponseWriter, *http.Request) {
	var n atomic.Int64
	return func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1) - 1)
		replies[min(i, len(replies)-1)](w, r)
	}
}

// cachedClient is a Cache in front of newTestClient, as New builds it,
// with clock as their clock and one observer. mod may change both configs;
// the cache takes the client's Logger unless mod sets its own.
func cachedClient(t testing.TB, as *fakeAS, clock *fakeClock, mod func(*Config, *CacheConfig)) (*Cache, *countingObserver) {
	t.Helper()
	obs := &countingObserver{}
	cc := CacheConfig{Now: clock.Now, Observer: obs}
	client := newTestClient(t, as, func(cfg *Config) {
		cfg.Now = clock.Now
		cfg.Observer = obs
		if mod != nil {
			mod(cfg, &cc)
		}
	})
	if cc.Logger == nil {
		cc.Logger = client.cfg.Logger
	}
	if cc.Shared != nil && cc.SharedKeys == nil {
		cc.SharedKeys = testSharedKeys
	}
	c, err := NewCache(client, cc)
	if err != nil {
		t.Fatalf("NewCache: %v", err)
	}
	return c, obs
}

// cacheMod adapts a change of the CacheConfig alone for cachedClient.
func cacheMod(f func(*CacheConfig)) func(*Config, *CacheConfig) {
	return func(_ *Config, cc *CacheConfig) { f(cc) }
}

func TestCacheTTL(t *testing.T) {
	type step struct {
		advance   time.Duration
		wantCalls int64
		wantErr   error
	}
	tests := []struct {
		name  string
		body  func(now time.Time) string
		mod   func(*CacheConfig)
		steps []step
	}{
		{
			name:  "far exp: cached for MaxTTL",
			body:  func(now time.Time) string { return activeBody(now.Add(time.Hour)) },
			steps: []step{{0, 1, nil}, {0, 1, nil}, {2*time.Minute - time.Second, 1, nil}, {time.Second, 2, nil}, {0, 2, nil}},
		},
		{
			name:  "custom MaxTTL",
			body:  func(now time.Time) string { return activeBody(now.Add(time.Hour)) },
			mod:   func(c *CacheConfig) { c.MaxTTL = 10 * time.Second },
			steps: []step{{0, 1, nil}, {9 * time.Second, 1, nil}, {time.Second, 2, nil}},
		},
		{
			name: "near exp: cached until exp minus skew",
			// exp in 60s, skew 30s: the verdict lives 30s.
			body:  func(now time.Time) string { return activeBody(now.Add(time.Minute)) },
			steps: []step{{0, 1, nil}, {29 * time.Second, 1, nil}, {time.Second, 2, nil}},
		},
		{
			name:  "exp within skew: not cached",
			body:  func(now time.Time) string { return activeBody(now.Add(20 * time.Second)) },
			steps: []step{{0, 1, nil}, {0, 2, nil}},
		},
		{
			name:  "no exp: not cached by default",
			body:  func(time.Time) string { return `{"active":true,"sub":"alice"}` },
			steps: []step{{0, 1, nil}, {0, 2, nil}, {0, 3, nil}},
		},
		{
			name:  "no exp: cached for MaxTTL when chosen",
			body:  func(time.Time) string { return `{"active":true,"sub":"alice"}` },
			mod:   func(c *CacheConfig) { c.CacheWithoutExpiry = true },
			steps: []step{{0, 1, nil}, {2*time.Minute - time.Second, 1, nil}, {time.Second, 2, nil}},
		},
		{
			name:  "inactive: cached for NegativeTTL",
			body:  func(time.Time) string { return `{"active":false}` },
			steps: []step{{0, 1, ErrInactive}, {4 * time.Second, 1, ErrInactive}, {time.Second, 2, ErrInactive}},
		},
		{
			name:  "inactive: negative caching disabled",
			body:  func(time.Time) string { return `{"active":false}` },
			mod:   func(c *CacheConfig) { c.NegativeTTL = -1 },
			steps: []step{{0, 1, ErrInactive}, {0, 2, ErrInactive}},
		},
		{
			name:  "expired on arrival: cached as inactive",
			body:  func(now time.Time) string { return activeBody(now.Add(-time.Hour)) },
			steps: []step{{0, 1, ErrInactive}, {time.Second, 1, ErrInactive}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newClock()
			as := newFakeAS(t, &fakeAS{wantAuth: basic("rs", "secret"), reply: func(w http.ResponseWriter, r *http.Request) {
				replyJSON(200, tt.body(clock.Now()))(w, r)
			}})
			var mod func(*Config, *CacheConfig)
			if tt.mod != nil {
				mod = cacheMod(tt.mod)
			}
			c, _ := cachedClient(t, as, clock, mod)
			for i, s := range tt.steps {
				clock.Advance(s.advance)
				resp, err := c.Introspect(context.Background(), "tok")
				if !errors.Is(err, s.wantErr) || (err == nil) == (resp == nil) {
					t.Fatalf("step %d: Introspect = %v, %v; want error %v", i, resp, err, s.wantErr)
				}
				if got := as.calls.Load(); got != s.wantCalls {
					t.Fatalf("step %d: AS calls = %d, want %d", i, got, s.wantCalls)
				}
			}
		})
	}
}

// TestCacheRechecksExpiryOnHit plants a verdict whose freshness outlives its
// token's exp (as a shared tier or a clock jump could): the hit must still
// say inactive, without asking the AS.
func TestCacheRechecksExpiryOnHit(t *testing.T) {
	clock := newClock()
	as := newFakeAS(t, &fakeAS{reply: replyJSON(200, `{"active":true}`)})
	c, obs := cachedClient(t, as, clock, nil)
	resp := &Response{Active: true, Subject: "alice", Expiry: testNow.Add(10 * time.Second), NotBefore: testNow.Add(-time.Minute)}
	c.store(keyOf("tok"), resp, testNow.Add(time.Hour), c.gen.Load())
	if got, err := c.Introspect(context.Background(), "tok"); err != nil || got != resp {
		t.Fatalf("fresh hit = %v, %v", got, err)
	}
	clock.Advance(time.Minute)
	if _, err := c.Introspect(context.Background(), "tok"); !errors.Is(err, ErrInactive) {
		t.Fatalf("hit past exp: err = %v, want ErrInactive", err)
	}
	if as.calls.Load() != 0 || obs.count(EventCacheHit) != 1 {
		t.Errorf("AS calls %d, hits %d", as.calls.Load(), obs.count(EventCacheHit))
	}
}

func TestErrorsAreNotCached(t *testing.T) {
	tests := []struct {
		name  string
		reply func(http.ResponseWriter, *http.Request)
		want  error
	}{
		{"unavailable", replyJSON(500, `{}`), ErrUnavailable},
		{"malformed", replyJSON(200, `{`), ErrMalformedResponse},
		{"rejected", replyJSON(401, `{}`), ErrASRejectedClient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newClock()
			as := newFakeAS(t, &fakeAS{wantAuth: basic("rs", "secret"), reply: replySeq(tt.reply, replyJSON(200, activeBody(testNow.Add(time.Hour))))})
			c, _ := cachedClient(t, as, clock, nil)
			if _, err := c.Introspect(context.Background(), "tok"); !errors.Is(err, tt.want) {
				t.Fatalf("first call: %v, want %v", err, tt.want)
			}
			if _, err := c.Introspect(context.Background(), "tok"); err != nil {
				t.Fatalf("second call: %v (the error was cached?)", err)
			}
			if as.calls.Load() != 2 {
				t.Errorf("AS calls = %d, want 2", as.calls.Load())
			}
		})
	}
}

func TestInvalidateAndPurge(t *testing.T) {
	clock := newClock()
	as := newFakeAS(t, &fakeAS{wantAuth: basic("rs", "secret"), reply: replyJSON(200, activeBody(testNow.Add(time.Hour)))})
	c, _ := cachedClient(t, as, clock, nil)
	ctx := context.Background()
	introspect := func(tok string) {
		t.Helper()
		if _, err := c.Introspect(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	introspect("a")
	introspect("b")
	introspect("a")
	if n := as.calls.Load(); n != 2 {
		t.Fatalf("warm-up: %d calls", n)
	}
	if err := c.Invalidate(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	introspect("a") // asks again
	introspect("b") // still cached
	if n := as.calls.Load(); n != 3 {
		t.Fatalf("after Invalidate: %d calls, want 3", n)
	}
	c.Purge()
	introspect("a")
	introspect("b")
	if n := as.calls.Load(); n != 5 {
		t.Fatalf("after Purge: %d calls, want 5", n)
	}
}

// TestInvalidateDuringFetch: an answer that was in flight when Invalidate
// ran must not be cached, since it may predate the revocation.
func TestInvalidateDuringFetch(t *testing.T) {
	clock := newClock()
	var c *Cache
	as := newFakeAS(t, &fakeAS{wantAuth: basic("rs", "secret"), reply: replySeq(
		func(w http.ResponseWriter, r *http.Request) {
			c.Invalidate(context.Background(), "tok")
			replyJSON(200, activeBody(testNow.Add(time.Hour)))(w, r)
		},
		replyJSON(200, `{"active":false}`),
	)})
	c, _ = cachedClient(t, as, clock, nil)
	if _, err := c.Introspect(context.Background(), "tok"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Introspect(context.Background(), "tok"); !errors.Is(err, ErrInactive) {
		t.Fatalf("second call = %v, want the fresh ErrInactive", err)
	}
}

func TestClientsDoNotShareVerdicts(t *testing.T) {
	clock := newClock()
	asA := newFakeAS(t, &fakeAS{wantAuth: basic("rs", "secret"), reply: replyJSON(200, activeBody(testNow.Add(time.Hour)))})
	asB := newFakeAS(t, &fakeAS{wantAuth: basic("rs", "secret"), reply: replyJSON(200, `{"active":false}`)})
	a, _ := cachedClient(t, asA, clock, nil)
	b, _ := cachedClient(t, asB, clock, nil)
	if _, err := a.Introspect(context.Background(), "tok"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Introspect(context.Background(), "tok"); !errors.Is(err, ErrInactive) {
		t.Fatalf("client B answered %v from client A's verdict", err)
	}
}

// TestCoalescing: 1,000 goroutines present one new token at once; the AS
// sees exactly one request and everyone gets its answer.
func TestCoalescing(t *testing.T) {
	const n = 1000
	clock := newClock()
	release := make(chan struct{})
	as := newFakeAS(t, &fakeAS{wantAuth: basic("rs", "secret"), reply: func(w http.ResponseWriter, r *http.Request) {
		<-release
		replyJSON(200, activeBody(testNow.Add(time.Hour)))(w, r)
	}})
	c, obs := cachedClient(t, as, clock, nil)
	var wg sync.WaitGroup
	var ok atomic.Int64
	for range n {
		wg.Go(func() {
			resp, err := c.Introspect(context.Background(), "fresh-token")
			if err == nil && resp.Subject == "alice" {
				ok.Add(1)
			} else {
				t.Errorf("Introspect: %v", err)
			}
		})
	}
	// Hold the AS until every goroutine has missed the cache.
	for obs.count(EventCacheMiss) < n {
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	if as.calls.Load() != 1 || ok.Load() != n {
		t.Fatalf("AS calls = %d, successes = %d; want 1 and %d", as.calls.Load(), ok.Load(), n)
	}
	if w := obs.count(EventCoalescedWait); w == 0 {
		t.Errorf("no coalesced waits recorded")
	}
}

// TestCoalescingSurvivesCallerCancel: the first caller hangs up; the shared
// request goes on (its context is not cancelled) and the second caller gets
// the answer.
func TestCoalescingSurvivesCallerCancel(t *testing.T) {
	clock := newClock()
	release := make(chan struct{})
	var asCtxErr atomic.Value
	as := newFakeAS(t, &fakeAS{wantAuth: basic("rs", "secret"), reply: func(w http.ResponseWriter, r *http.Request) {
		<-release
		asCtxErr.Store(fmt.Sprint(r.Context().Err()))
		replyJSON(200, activeBody(testNow.Add(time.Hour)))(w, r)
	}})
	c, obs := cachedClient(t, as, clock, nil)

	ctx1, cancel1 := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() {
		_, err := c.Introspect(ctx1, "tok")
		first <- err
	}()
	for as.calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	second := make(chan error, 1)
	go func() {
		_, err := c.Introspect(context.Background(), "tok")
		second <- err
	}()
	for obs.count(EventCacheMiss) < 2 {
		time.Sleep(time.Millisecond)
	}
	cancel1()
	if err := <-first; !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller: %v", err)
	}
	close(release)
	if err := <-second; err != nil {
		t.Fatalf("second caller: %v", err)
	}
	if as.calls.Load() != 1 || asCtxErr.Load() != "<nil>" {
		t.Errorf("AS calls = %d, AS request context error = %v", as.calls.Load(), asCtxErr.Load())
	}
}

func TestStaleIfError(t *testing.T) {
	tests := []struct {
		name      string
		stale     time.Duration
		exp       time.Duration // token exp from the start
		advance   time.Duration // after the first call
		wantStale bool
	}{
		{"off by default", 0, time.Hour, 2*time.Minute + time.Second, false},
		{"within grace", time.Minute, time.Hour, 2*time.Minute + 30*time.Second, true},
		{"past grace", time.Minute, time.Hour, 3*time.Minute + time.Second, false},
		// The verdict lives until exp-skew (90s); the token expires at 120s.
		{"token expired", time.Hour, 2 * time.Minute, 2*time.Minute + 31*time.Second, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newClock()
			as := newFakeAS(t, &fakeAS{wantAuth: basic("rs", "secret"), reply: replySeq(
				replyJSON(200, activeBody(testNow.Add(tt.exp))),
				replyJSON(503, `{}`),
			)})
			c, obs := cachedClient(t, as, clock, func(cfg *Config, cc *CacheConfig) {
				cc.StaleIfError = tt.stale
				cfg.Resilience.MaxRetries = -1
			})
			if _, err := c.Introspect(context.Background(), "tok"); err != nil {
				t.Fatal(err)
			}
			clock.Advance(tt.advance)
			resp, err := c.Introspect(context.Background(), "tok")
			if as.calls.Load() != 2 {
				t.Fatalf("AS calls = %d, want 2 (the stale verdict must not be served while fresh answers are possible)", as.calls.Load())
			}
			if tt.wantStale {
				if err != nil || resp.Subject != "alice" || obs.count(EventStaleServe) != 1 {
					t.Fatalf("got %v, %v (stale serves %d); want the stale verdict", resp, err, obs.count(EventStaleServe))
				}
				return
			}
			if !errors.Is(err, ErrUnavailable) && !errors.Is(err, ErrInactive) {
				t.Fatalf("err = %v, want ErrUnavailable", err)
			}
			if obs.count(EventStaleServe) != 0 {
				t.Errorf("served stale")
			}
		})
	}
}

// TestInactiveAnswerDropsStaleVerdict: once the AS has said a token is
// inactive, an active verdict kept for stale-if-error must never be served
// for it again, whether or not the inactive answer is cached.
func TestInactiveAnswerDropsStaleVerdict(t *testing.T) {
	for _, negativeTTL := range []time.Duration{0, -1} {
		t.Run(fmt.Sprint("NegativeTTL=", negativeTTL), func(t *testing.T) {
			clock := newClock()
			as := newFakeAS(t, &fakeAS{wantAuth: basic("rs", "secret"), reply: replySeq(
				replyJSON(200, activeBody(testNow.Add(time.Hour))),
				replyJSON(200, `{"active":false}`),
				replyJSON(503, `{}`),
			)})
			c, obs := cachedClient(t, as, clock, func(cfg *Config, cc *CacheConfig) {
				cc.StaleIfError = time.Hour
				cc.NegativeTTL = negativeTTL
				cfg.Resilience.MaxRetries = -1
			})
			ctx := context.Background()
			if _, err := c.Introspect(ctx, "tok"); err != nil {
				t.Fatal(err)
			}
			clock.Advance(3 * time.Minute) // past MaxTTL: the verdict is stale
			if _, err := c.Introspect(ctx, "tok"); !errors.Is(err, ErrInactive) {
				t.Fatalf("revoked token: %v, want ErrInactive", err)
			}
			clock.Advance(time.Minute) // past NegativeTTL
			if resp, err := c.Introspect(ctx, "tok"); !errors.Is(err, ErrUnavailable) {
				t.Fatalf("AS down after a revocation: %v, %v; want ErrUnavailable, not the stale verdict", resp, err)
			}
			if obs.count(EventStaleServe) != 0 || as.calls.Load() != 3 {
				t.Errorf("stale serves %d, AS calls %d", obs.count(EventStaleServe), as.calls.Load())
			}
		})
	}
}

// memShared is an in-memory SharedCache that records keys.
type memShared struct {
	mu   sync.Mutex // guards m
	m    map[string][]byte
	gets atomic.Int64
}

func (s *memShared) Get(_ context.Context, key string) ([]byte, bool, error) {
	s.gets.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[key]
	return v, ok, nil
}

func (s *memShared) Set(_ context.Context, key string, value []byte, ttl time.Duration) error {
	if ttl <= 0 {
		return errors.New("non-positive ttl")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string][]byte{}
	}
	s.m[key] = value
	return nil
}

func (s *memShared) Delete(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
	return nil
}

func TestSharedTier(t *testing.T) {
	clock := newClock()
	shared := &memShared{}
	as := newFakeAS(t, &fakeAS{reply: replyJSON(200, activeBody(testNow.Add(time.Hour)))})
	mk := func(clientID string) (*Cache, *countingObserver) {
		return cachedClient(t, as, clock, func(cfg *Config, cc *CacheConfig) {
			cfg.ClientID, cfg.ClientSecret = clientID, ""
			cc.Shared = shared
		})
	}
	as.wantAuth = basic("rs", "")
	a, _ := mk("rs")
	b, obsB := mk("rs")
	ctx := context.Background()
	const token = "shared-token-value"
	if _, err := a.Introspect(ctx, token); err != nil {
		t.Fatal(err)
	}
	resp, err := b.Introspect(ctx, token)
	if err != nil || resp.Subject != "alice" {
		t.Fatalf("b: %v, %v", resp, err)
	}
	if as.calls.Load() != 1 || obsB.count(EventSharedHit) != 1 {
		t.Fatalf("AS calls = %d, shared hits = %d; want 1 and 1", as.calls.Load(), obsB.count(EventSharedHit))
	}
	for k := range shared.m {
		if strings.Contains(k, token) {
			t.Errorf("shared key %q contains the token", k)
		}
	}
	// Another client identity never reads A's verdict.
	other, _ := mk("other")
	as.wantAuth = basic("other", "")
	if _, err := other.Introspect(ctx, token); err != nil {
		t.Fatal(err)
	}
	if as.calls.Load() != 2 || len(shared.m) != 2 {
		t.Fatalf("AS calls = %d, shared entries = %d; want 2 and 2", as.calls.Load(), len(shared.m))
	}
	// Invalidate reaches the shared tier.
	as.wantAuth = basic("rs", "")
	if err := a.Invalidate(ctx, token); err != nil {
		t.Fatal(err)
	}
	b.Purge()
	if _, err := b.Introspect(ctx, token); err != nil {
		t.Fatal(err)
	}
	if as.calls.Load() != 3 {
		t.Errorf("after Invalidate: AS calls = %d, want 3", as.calls.Load())
	}
	// A corrupt shared value is ignored.
	for k := range shared.m {
		shared.m[k] = []byte("garbage")
	}
	c, _ := mk("rs")
	if _, err := c.Introspect(ctx, token); err != nil {
		t.Fatal(err)
	}
	if as.calls.Load() != 4 {
		t.Errorf("after corruption: AS calls = %d, want 4", as.calls.Load())
	}
}

func TestObserverEvents(t *testing.T) {
	clock := newClock()
	as := newFakeAS(t, &fakeAS{wantAuth: basic("rs", "secret"), reply: func(w http.ResponseWriter, r *http.Request) {
		if r.PostFormValue("token") == "bad" {
			replyJSON(200, `{"active":false}`)(w, r)
			return
		}
		replyJSON(200, activeBody(testNow.Add(time.Hour)))(w, r)
	}})
	c, obs := cachedClient(t, as, clock, cacheMod(func(cc *CacheConfig) { cc.Size = 1 }))
	ctx := context.Background()
	c.Introspect(ctx, "good")
	c.Introspect(ctx, "good")
	c.Introspect(ctx, "bad") // inactive verdicts have their own space
	c.Introspect(ctx, "bad")
	c.Introspect(ctx, "good")
	c.Introspect(ctx, "other") // evicts "good"
	want := map[EventKind]int{EventCacheMiss: 3, EventCacheHit: 2, EventNegativeHit: 1, EventASCall: 3, EventEviction: 1}
	for k, n := range want {
		if got := obs.count(k); got != n {
			t.Errorf("%v: %d events, want %d", k, got, n)
		}
	}
	if fmt.Sprint(obs.calls) != "[active inactive active]" {
		t.Errorf("AS call outcomes = %v", obs.calls)
	}
}

// TestCacheHitDoesNotAllocate guards the hot path's allocation budget (≤ 1
// per hit; today 0), with and without an Observer.
func TestCacheHitDoesNotAllocate(t *testing.T) {
	for _, withObserver := range []bool{false, true} {
		t.Run(fmt.Sprint("observer=", withObserver), func(t *testing.T) {
			as := newFakeAS(t, &fakeAS{wantAuth: basic("rs", "secret"), reply: replyJSON(200, activeBody(testNow.Add(time.Hour)))})
			c, _ := cachedClient(t, as, newClock(), func(cfg *Config, cc *CacheConfig) {
				if withObserver {
					cc.Observer = &countingObserver{counts: map[EventKind]int{}}
				} else {
					cc.Observer = nil
				}
			})
			ctx := context.Background()
			if _, err := c.Introspect(ctx, "hot-token"); err != nil {
				t.Fatal(err)
			}
			allocs := testing.AllocsPerRun(100, func() {
				if _, err := c.Introspect(ctx, "hot-token"); err != nil {
					t.Fatal(err)
				}
			})
			if allocs > 0 {
				t.Errorf("a cache hit allocates %.1f times", allocs)
			}
		})
	}
}

// failingShared is a SharedCache whose every operation fails.
type failingShared struct{}

func (failingShared) Get(context.Context, string) ([]byte, bool, error) {
	return nil, false, errors.New("redis: connection refused")
}
func (failingShared) Set(context.Context, string, []byte, time.Duration) error {
	return errors.New("redis: connection refused")
}
func (failingShared) Delete(context.Context, string) error {
	return errors.New("redis: connection refused")
}

// TestLogsNeverContainToken drives the paths that log (rejected client,
// shared-tier failures, stale serve, circuit changes) and checks that the
// token never reaches the log.
func TestLogsNeverContainToken(t *testing.T) {
	const token = "eyJhbGciOiJSUzI1NiJ9.very-secret-token.sig"
	var buf strings.Builder
	var mu sync.Mutex
	clock := newClock()
	as := newFakeAS(t, &fakeAS{wantAuth: basic("rs", "secret"), reply: replySeq(
		replyJSON(401, `{"error":"invalid_client"}`),
		replyJSON(200, activeBody(testNow.Add(time.Hour))),
		replyJSON(503, `{}`),
	)})
	c, obs := cachedClient(t, as, clock, func(cfg *Config, cc *CacheConfig) {
		cfg.Logger = slog.New(slog.NewTextHandler(lockedWriter{&mu, &buf}, &slog.HandlerOptions{Level: slog.LevelDebug}))
		cc.Shared = failingShared{}
		cc.StaleIfError = time.Hour
		cfg.Resilience.MaxRetries = -1
		cfg.Resilience.BreakerThreshold = 1
	})
	ctx := context.Background()
	c.Introspect(ctx, token)       // 401: logged loudly
	c.Introspect(ctx, token)       // active, shared Get and Set fail
	clock.Advance(3 * time.Minute) // past MaxTTL
	if _, err := c.Introspect(ctx, token); err != nil {
		t.Fatalf("stale serve: %v", err) // 503: circuit opens, stale served
	}
	if err := c.Invalidate(ctx, token); err == nil {
		t.Error("Invalidate hid the shared tier's error")
	}
	mu.Lock()
	out := buf.String()
	mu.Unlock()
	for _, want := range []string{"rejected our client credentials", "shared cache read failed", "shared cache write failed", "stale verdict", "circuit open"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, token) || strings.Contains(out, "very-secret") {
		t.Errorf("log contains the token:\n%s", out)
	}
	if obs.count(EventStaleServe) != 1 {
		t.Errorf("stale serves = %d", obs.count(EventStaleServe))
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *strings.Builder
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestConcurrentUse mixes hits, misses, invalidations, purges and clock
// moves from many goroutines; run with -race it checks the locking.
func TestConcurrentUse(t *testing.T) {
	clock := newClock()
	as := newFakeAS(t, &fakeAS{wantAuth: basic("rs", "secret"), reply: func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.PostFormValue("token"), "7") {
			replyJSON(200, `{"active":false}`)(w, r)
			return
		}
		replyJSON(200, activeBody(testNow.Add(time.Hour)))(w, r)
	}})
	c, _ := cachedClient(t, as, clock, cacheMod(func(cc *CacheConfig) { cc.Size, cc.NegativeSize = 8, 4 }))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			ctx := context.Background()
			for i := range 200 {
				tok := fmt.Sprint("tok-", (g*31+i)%20)
				switch i % 50 {
				case 17:
					c.Invalidate(ctx, tok)
				case 33:
					c.Purge()
				case 49:
					clock.Advance(time.Second)
				}
				resp, err := c.Introspect(ctx, tok)
				wantInactive := strings.HasSuffix(tok, "7")
				if wantInactive != errors.Is(err, ErrInactive) || (err == nil && resp.Subject != "alice") {
					t.Errorf("%s: %v, %v", tok, resp, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if a, i := c.active.len(), c.inactive.len(); a > 8 || i > 4 {
		t.Errorf("cache holds %d active and %d inactive entries, Size is 8 and NegativeSize 4", a, i)
	}
}

// TestFloodOfBogusTokensDoesNotEvictGoodVerdicts is issue 9, finding 2: a
// flood of 200,000 bogus tokens from 64 goroutines must not push out the
// verdicts of 100 real callers, whom the cache keeps serving throughout,
// and must reach the authorization server at most MaxInFlight at a time;
// beyond that, unknown tokens get a quick ErrUnavailable with a retry hint.
// The active space holds exactly the 100 good verdicts, so a single bogus
// verdict stored beside them would evict one.
func TestFloodOfBogusTokensDoesNotEvictGoodVerdicts(t *testing.T) {
	const good, bogus, workers, maxInFlight = 100, 200_000, 64, 4
	var inFlight, peak, goodCalls, bogusCalls atomic.Int64
	// An in-memory authorization server: the flood costs no sockets.
	as := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, err
		}
		answer := `{"active":false}`
		if strings.HasPrefix(form.Get("token"), "good-") {
			goodCalls.Add(1)
			answer = activeBody(testNow.Add(time.Hour))
		} else {
			bogusCalls.Add(1)
		}
		time.Sleep(10 * time.Millisecond) // a slow server lets calls pile up
		return &http.Response{
			StatusCode: http.StatusOK,
			Header:     http.Header{"Content-Type": {"application/json"}},
			Body:       io.NopCloser(strings.NewReader(answer)),
			Request:    r,
		}, nil
	})
	var observedShed atomic.Int64
	obs := observerFunc(func(e Event) {
		if e.Kind == EventShed {
			observedShed.Add(1)
		}
	})
	client, err := NewClient(Config{
		IntrospectionURL: "https://as.example/introspect",
		HTTPClient:       &http.Client{Transport: as},
		Now:              func() time.Time { return testNow },
		Logger:           slog.New(slog.DiscardHandler),
		Observer:         obs,
		Resilience:       ResilienceConfig{MaxInFlight: maxInFlight},
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewCache(client, CacheConfig{Size: good, Now: func() time.Time { return testNow }, Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range good {
		if _, err := c.Introspect(ctx, fmt.Sprint("good-", i)); err != nil {
			t.Fatal(err)
		}
	}

	var shed, inactive atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range bogus / workers {
				_, err := c.Introspect(ctx, fmt.Sprintf("bogus-%d-%d", w, i))
				switch {
				case errors.Is(err, ErrInactive):
					inactive.Add(1)
				case errors.Is(err, ErrUnavailable) && RetryAfterHint(err) == time.Second:
					shed.Add(1)
				default:
					t.Errorf("bogus token: %v, want ErrInactive or a shed ErrUnavailable with a 1s hint", err)
					return
				}
				if i%100 == 0 { // real callers keep being served during the flood
					if _, err := c.Introspect(ctx, fmt.Sprint("good-", (w+i)%good)); err != nil {
						t.Errorf("cached good token during the flood: %v", err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	for i := range good {
		if _, err := c.Introspect(ctx, fmt.Sprint("good-", i)); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d bogus tokens: %d asked at the AS (%d inactive answers), %d shed; AS peak concurrency %d; good tokens re-asked %d",
		bogus, bogusCalls.Load(), inactive.Load(), shed.Load(), peak.Load(), goodCalls.Load()-good)
	if n := goodCalls.Load(); n != good {
		t.Errorf("the AS was asked %d times about the good tokens, want %d: the flood evicted %d good verdicts", n, good, n-good)
	}
	if p := peak.Load(); p > maxInFlight {
		t.Errorf("the AS saw %d concurrent introspections, want at most MaxInFlight = %d", p, maxInFlight)
	}
	if shed.Load() == 0 || observedShed.Load() != shed.Load() {
		t.Errorf("%d calls shed, %d EventShed: the bound was never reached or not observed", shed.Load(), observedShed.Load())
	}
	if bogusCalls.Load() == 0 || c.inactive.len() == 0 {
		t.Errorf("no bogus token reached the AS (%d) or the negative space (%d): the test proves nothing", bogusCalls.Load(), c.inactive.len())
	}
}

// testSharedKeys authenticate the shared tier in tests.
var testSharedKeys = [][]byte{[]byte("0123456789abcdef0123456789abcdef")}

// TestSharedTierIsAuthenticated: a value in the shared store that the
// resource servers did not write under that key is ignored and counted,
// and the next layer is asked. Each case tampers with the store in its own
// way after a first cache has written a verdict there.
func TestSharedTierIsAuthenticated(t *testing.T) {
	active := &Response{Active: true, Subject: "alice", Scope: "read", Expiry: testNow.Add(time.Hour)}
	ctx := context.Background()
	otherKey := []byte("fedcba9876543210fedcba9876543210")
	tests := []struct {
		name   string
		tamper func(t *testing.T, s *memShared, a *Cache)
		keys   [][]byte // of the reading cache; testSharedKeys if nil
		want   bool     // the reader uses the shared verdict
	}{
		{"untouched", func(*testing.T, *memShared, *Cache) {}, nil, true},
		{"forged: a well-formed value without the key", func(t *testing.T, s *memShared, a *Cache) {
			name := a.sharedKey(keyOf("tok"))
			forger, _ := newSharedKeyring([][]byte{otherKey})
			forged := forger.seal(name, testNow.Add(time.Minute), []byte(`{"active":true,"sub":"mallory","exp":4102444800}`))
			copy(forged[1:5], a.sharedKeys[0].id[:]) // claims our key id
			s.m[name] = forged
		}, nil, false},
		{"forged: plain JSON, the old unauthenticated format", func(t *testing.T, s *memShared, a *Cache) {
			s.m[a.sharedKey(keyOf("tok"))] = append([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0}, `{"active":true,"sub":"mallory"}`...)
		}, nil, false},
		{"altered: the subject changed", func(t *testing.T, s *memShared, a *Cache) {
			name := a.sharedKey(keyOf("tok"))
			s.m[name] = bytes.Replace(s.m[name], []byte("alice"), []byte("admin"), 1)
		}, nil, false},
		{"altered: freshness extended", func(t *testing.T, s *memShared, a *Cache) {
			name := a.sharedKey(keyOf("tok"))
			s.m[name][6]++
		}, nil, false},
		{"moved: another token's verdict under this token's key", func(t *testing.T, s *memShared, a *Cache) {
			if _, err := a.Introspect(ctx, "other-tok"); err != nil {
				t.Fatal(err)
			}
			s.m[a.sharedKey(keyOf("tok"))] = s.m[a.sharedKey(keyOf("other-tok"))]
		}, nil, false},
		{"written under another key", func(*testing.T, *memShared, *Cache) {}, [][]byte{otherKey}, false},
		{"rotation: the old key still verifies", func(*testing.T, *memShared, *Cache) {}, [][]byte{otherKey, testSharedKeys[0]}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			shared := &memShared{}
			mk := func(keys [][]byte) (*Cache, *identifiedNext, *countingObserver) {
				next := &identifiedNext{staticNext: staticNext{resp: active}, id: "as-1"}
				obs := &countingObserver{}
				c, err := NewCache(next, CacheConfig{Shared: shared, SharedKeys: keys, Observer: obs,
					Now: func() time.Time { return testNow }, Logger: slog.New(slog.DiscardHandler)})
				if err != nil {
					t.Fatal(err)
				}
				return c, next, obs
			}
			a, _, _ := mk(testSharedKeys)
			if _, err := a.Introspect(ctx, "tok"); err != nil {
				t.Fatal(err)
			}
			tt.tamper(t, shared, a) // nothing else uses shared meanwhile
			keys := tt.keys
			if keys == nil {
				keys = testSharedKeys
			}
			b, nextB, obsB := mk(keys)
			resp, err := b.Introspect(ctx, "tok")
			if err != nil || resp.Subject != "alice" {
				t.Fatalf("Introspect = %+v, %v; want alice's verdict", resp, err)
			}
			used := nextB.calls.Load() == 0
			if used != tt.want {
				t.Fatalf("shared verdict used = %v, want %v", used, tt.want)
			}
			if rejected := obsB.count(EventSharedRejected); rejected != map[bool]int{true: 0, false: 1}[tt.want] {
				t.Errorf("%d rejections counted", rejected)
			}
		})
	}
}

// TestSharedWriteAfterInvalidateIsDropped: an answer that was in flight
// when the token was invalidated (a revocation event arrived meanwhile)
// reaches neither the memory nor the shared tier, where other processes
// would find it after they dropped theirs.
func TestSharedWriteAfterInvalidateIsDropped(t *testing.T) {
	shared := &memShared{}
	release := make(chan struct{})
	next := &blockingNext{resp: &Response{Active: true, Subject: "alice", Expiry: testNow.Add(time.Hour)}, release: release, started: make(chan struct{})}
	c, err := NewCache(next, CacheConfig{Shared: shared, SharedKeys: testSharedKeys, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() {
		_, err := c.Introspect(context.Background(), "tok")
		done <- err
	}()
	<-next.started
	if err := c.InvalidateHash(context.Background(), sha256.Sum256([]byte("tok"))); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	shared.mu.Lock()
	n := len(shared.m)
	shared.mu.Unlock()
	if n != 0 || c.len() != 0 {
		t.Errorf("after an invalidation during the call: %d shared entries, %d in memory; want none", n, c.len())
	}
}

// blockingNext answers once release is closed, telling started when asked.
type blockingNext struct {
	resp    *Response
	started chan struct{}
	release chan struct{}
}

func (b *blockingNext) Introspect(ctx context.Context, _ string) (*Response, error) {
	close(b.started)
	<-b.release
	return b.resp, nil
}

func (b *blockingNext) CacheIdentity() string { return "blocking" }
