package introspect

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// hangUp closes the connection without answering: a network error.
func hangUp(w http.ResponseWriter, r *http.Request) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		conn.Close()
	}
}

func withRetryAfter(status int, retryAfter string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", retryAfter)
		replyJSON(status, `{}`)(w, r)
	}
}

func TestRetry(t *testing.T) {
	ok := replyJSON(200, activeBody(testNow.Add(time.Hour)))
	tests := []struct {
		name      string
		replies   []func(http.ResponseWriter, *http.Request)
		mod       func(*Config)
		want      error // nil: success
		wantCalls int64
		// wantMinWaits are lower bounds of the waits between attempts.
		wantMinWaits []time.Duration
	}{
		{name: "503 then 200", replies: seq(replyJSON(503, `{}`), ok), wantCalls: 2, wantMinWaits: []time.Duration{50 * time.Millisecond}},
		{name: "502, 504 then 200", replies: seq(replyJSON(502, `{}`), replyJSON(504, `{}`), ok), wantCalls: 3, wantMinWaits: []time.Duration{50 * time.Millisecond, 100 * time.Millisecond}},
		{name: "network error then 200", replies: seq(hangUp, ok), wantCalls: 2, wantMinWaits: []time.Duration{50 * time.Millisecond}},
		{name: "short Retry-After honoured", replies: seq(withRetryAfter(503, "2"), ok), wantCalls: 2, wantMinWaits: []time.Duration{2 * time.Second}},
		{name: "Retry-After longer than the backoff cap: answer at once with the hint", replies: seq(withRetryAfter(503, "3"), ok), want: ErrUnavailable, wantCalls: 1},
		{name: "Retry-After beyond the deadline: no retry", replies: seq(withRetryAfter(503, "60"), ok), want: ErrUnavailable, wantCalls: 1},
		{name: "gives up after MaxRetries", replies: seq(replyJSON(503, `{}`)), want: ErrUnavailable, wantCalls: 3, wantMinWaits: []time.Duration{50 * time.Millisecond, 100 * time.Millisecond}},
		{name: "custom MaxRetries and Backoff", replies: seq(replyJSON(503, `{}`)), mod: func(c *Config) { c.Resilience.MaxRetries = 3; c.Resilience.Backoff = time.Second },
			want: ErrUnavailable, wantCalls: 4, wantMinWaits: []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second / 2}},
		{name: "retries disabled", replies: seq(replyJSON(503, `{}`), ok), mod: func(c *Config) { c.Resilience.MaxRetries = -1 }, want: ErrUnavailable, wantCalls: 1},
		{name: "400 not retried", replies: seq(replyJSON(400, `{"error":"invalid_request"}`), ok), want: ErrMalformedResponse, wantCalls: 1},
		{name: "401 not retried", replies: seq(replyJSON(401, `{}`), ok), want: ErrASRejectedClient, wantCalls: 1},
		{name: "403 not retried", replies: seq(replyJSON(403, `{}`), ok), want: ErrASRejectedClient, wantCalls: 1},
		{name: "429 not retried", replies: seq(withRetryAfter(429, "7"), ok), want: ErrUnavailable, wantCalls: 1},
		{name: "500 not retried", replies: seq(replyJSON(500, `{}`), ok), want: ErrUnavailable, wantCalls: 1},
		{name: "inactive not retried", replies: seq(replyJSON(200, `{"active":false}`), ok), want: ErrInactive, wantCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			as := newFakeAS(t, &fakeAS{wantAuth: basic("rs", "secret"), reply: replySeq(tt.replies...)})
			c := newTestClient(t, as, func(c *Config) {
				c.Timeout = 10 * time.Second
				c.Resilience.BreakerThreshold = -1
				if tt.mod != nil {
					tt.mod(c)
				}
			})
			var waits []time.Duration
			c.sleep = func(_ context.Context, d time.Duration) error {
				waits = append(waits, d)
				return nil
			}
			_, err := c.Introspect(context.Background(), "tok")
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if as.calls.Load() != tt.wantCalls {
				t.Fatalf("AS calls = %d, want %d", as.calls.Load(), tt.wantCalls)
			}
			if len(waits) != len(tt.wantMinWaits) {
				t.Fatalf("waits = %v, want %d of them", waits, len(tt.wantMinWaits))
			}
			for i, w := range waits {
				if hi := max(maxBackoff, tt.wantMinWaits[i]); w < tt.wantMinWaits[i] || w > hi {
					t.Errorf("wait %d = %v, want in [%v, %v]", i, w, tt.wantMinWaits[i], hi)
				}
			}
			if strings.HasPrefix(tt.name, "Retry-After longer") && RetryAfterHint(err) != 3*time.Second {
				t.Errorf("RetryAfterHint = %v, want 3s", RetryAfterHint(err))
			}
			if tt.name == "429 not retried" && RetryAfterHint(err) != 7*time.Second {
				t.Errorf("RetryAfterHint = %v, want 7s", RetryAfterHint(err))
			}
		})
	}
}

func seq(f ...func(http.ResponseWriter, *http.Request)) []func(http.ResponseWriter, *http.Request) {
	return f
}

func TestBackoffBounds(t *testing.T) {
	for attempt := range 40 {
		d := backoff(100*time.Millisecond, attempt)
		hi := min(100*time.Millisecond<<min(attempt, 16), maxBackoff)
		if attempt > 16 {
			hi = maxBackoff
		}
		if d < hi/2 || d > hi {
			t.Errorf("backoff(%d) = %v, want in [%v, %v]", attempt, d, hi/2, hi)
		}
	}
}

func TestCircuitBreaker(t *testing.T) {
	clock := newClock()
	var healthy atomic.Bool
	as := newFakeAS(t, &fakeAS{wantAuth: basic("rs", "secret"), reply: func(w http.ResponseWriter, r *http.Request) {
		if healthy.Load() {
			replyJSON(200, activeBody(testNow.Add(time.Hour)))(w, r)
			return
		}
		replyJSON(503, `{}`)(w, r)
	}})
	obs := &countingObserver{}
	c := newTestClient(t, as, func(cfg *Config) {
		cfg.Now = clock.Now
		cfg.Observer = obs
		cfg.Resilience.MaxRetries = -1
		cfg.Resilience.BreakerThreshold = 3
		cfg.Resilience.BreakerCooldown = 10 * time.Second
	})
	ctx := context.Background()
	call := func(i int) error {
		_, err := c.Introspect(ctx, fmt.Sprint("tok-", i))
		return err
	}
	for i := range 3 {
		if err := call(i); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	// Open: fail fast without touching the AS.
	err := call(3)
	if !errors.Is(err, ErrUnavailable) || as.calls.Load() != 3 {
		t.Fatalf("open circuit: err = %v after %d AS calls; want a fast ErrUnavailable after 3", err, as.calls.Load())
	}
	assertOneCategory(t, err)
	if h := RetryAfterHint(err); h != 10*time.Second {
		t.Errorf("RetryAfterHint = %v, want 10s", h)
	}
	clock.Advance(9 * time.Second)
	if err := call(4); !errors.Is(err, ErrUnavailable) || as.calls.Load() != 3 {
		t.Fatalf("still open: %v, %d calls", err, as.calls.Load())
	}
	// After the cool-down one probe goes through; it fails, so the circuit reopens.
	clock.Advance(time.Second)
	if err := call(5); !errors.Is(err, ErrUnavailable) || as.calls.Load() != 4 {
		t.Fatalf("failed probe: %v, %d calls", err, as.calls.Load())
	}
	if err := call(6); !errors.Is(err, ErrUnavailable) || as.calls.Load() != 4 {
		t.Fatalf("reopened: %v, %d calls", err, as.calls.Load())
	}
	// The AS recovers; after the next cool-down the probe succeeds and closes the circuit.
	healthy.Store(true)
	clock.Advance(10 * time.Second)
	for i := 7; i < 10; i++ {
		if err := call(i); err != nil {
			t.Fatalf("after recovery, call %d: %v", i, err)
		}
	}
	if as.calls.Load() != 7 {
		t.Errorf("AS calls = %d, want 7", as.calls.Load())
	}
	if got := fmt.Sprint(obs.circuit); got != "[open half-open open half-open closed]" {
		t.Errorf("circuit states = %s", got)
	}
}

func TestBreakerSingleProbe(t *testing.T) {
	now := testNow
	var states []string
	b := newBreaker(1, time.Second, func(s string) { states = append(states, s) })
	b.record(now, true)
	if b.allow(now) == nil {
		t.Fatal("open breaker allowed a call")
	}
	now = now.Add(time.Second)
	if b.allow(now) != nil {
		t.Fatal("cool-down over, but the probe was refused")
	}
	if b.allow(now) == nil {
		t.Fatal("a second call went through while the probe was in flight")
	}
	b.record(now, false)
	if b.allow(now) != nil {
		t.Fatal("closed breaker refused a call")
	}
	// A probe whose caller hung up lets the next call probe.
	b.record(now, true)
	now = now.Add(time.Second)
	if b.allow(now) != nil || b.allow(now) == nil {
		t.Fatal("after the cool-down, not exactly one probe")
	}
	b.forget(now)
	if b.allow(now) != nil {
		t.Fatal("a forgotten probe left the circuit stuck half-open")
	}
	if fmt.Sprint(states) != "[open half-open closed open half-open half-open]" {
		t.Errorf("states = %v", states)
	}
	if newBreaker(-1, time.Second, nil).allow(now) != nil {
		t.Error("disabled breaker refused a call")
	}
}

// TestDiscoveryFailuresOpenTheCircuit: an issuer whose metadata cannot be
// read must not make every request wait for discovery; failed discoveries
// count towards the circuit breaker like failed introspections, and each
// is logged once, not once per waiting caller.
func TestDiscoveryFailuresOpenTheCircuit(t *testing.T) {
	clock := newClock()
	var mdCalls atomic.Int64
	var healthy atomic.Bool
	var srv *httptest.Server
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/oauth-authorization-server", func(w http.ResponseWriter, r *http.Request) {
		mdCalls.Add(1)
		if !healthy.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"issuer": srv.URL, "introspection_endpoint": srv.URL + "/introspect"})
	})
	mux.HandleFunc("POST /introspect", replyJSON(200, activeBody(testNow.Add(time.Hour))))
	srv = httptest.NewServer(mux)
	defer srv.Close()
	var logs bytes.Buffer
	c, err := NewClient(Config{
		Issuer: srv.URL, Now: clock.Now, Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		Resilience: ResilienceConfig{BreakerThreshold: 3, BreakerCooldown: 10 * time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	call := func(i int) error {
		_, err := c.Introspect(context.Background(), fmt.Sprint("tok-", i))
		return err
	}
	for i := range 3 {
		if err := call(i); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if n := strings.Count(logs.String(), "discovery failed"); n != 3 {
		t.Errorf("%d discovery failures logged, want 3:\n%s", n, logs.String())
	}
	// Open: fail fast without asking the issuer.
	err = call(3)
	if !errors.Is(err, ErrUnavailable) || mdCalls.Load() != 3 {
		t.Fatalf("open circuit: err = %v after %d metadata requests; want a fast ErrUnavailable after 3", err, mdCalls.Load())
	}
	assertOneCategory(t, err)
	if h := RetryAfterHint(err); h != 10*time.Second {
		t.Errorf("RetryAfterHint = %v, want 10s", h)
	}
	// After the cool-down one probe goes through; the issuer has recovered.
	healthy.Store(true)
	clock.Advance(10 * time.Second)
	for i := 4; i < 7; i++ {
		if err := call(i); err != nil {
			t.Fatalf("after recovery, call %d: %v", i, err)
		}
	}
	if mdCalls.Load() != 4 {
		t.Errorf("metadata requests = %d, want 4", mdCalls.Load())
	}
}
