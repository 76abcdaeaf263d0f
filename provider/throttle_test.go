package provider_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokengate/tokengate/provider"
	"github.com/tokengate/tokengate/provider/store"
)

// countingObserver counts events by kind and endpoint.
type countingObserver struct {
	mu sync.Mutex // guards n
	n  map[string]int64
}

func (o *countingObserver) Observe(e provider.Event) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.n == nil {
		o.n = make(map[string]int64)
	}
	k := e.Kind.String()
	if e.Endpoint != "" {
		k += "/" + e.Endpoint
	}
	o.n[k] += max(e.Count, 1)
}

func (o *countingObserver) get(k string) int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.n[k]
}

// syncBuffer is a log destination for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// isThrottled checks a 429 answer in RFC 6749 §5.2 form and returns its
// Retry-After in seconds.
func isThrottled(t testing.TB, a answer) int {
	t.Helper()
	if a.status != http.StatusTooManyRequests {
		t.Fatalf("status %d (%s), want 429", a.status, a.body)
	}
	if a.json(t)["error"] != "temporarily_unavailable" || a.header.Get("Cache-Control") != "no-store" ||
		a.header.Get("Content-Type") != "application/json" {
		t.Errorf("429 answer: %v %s", a.header, a.body)
	}
	secs, err := strconv.Atoi(a.header.Get("Retry-After"))
	if err != nil || secs < 1 {
		t.Errorf("Retry-After %q: want whole seconds, at least 1", a.header.Get("Retry-After"))
	}
	return secs
}

// TestClientSecretGuessing (finding 4 of the review): 20,000 wrong secrets
// all got 401, with no 429 and no warning. Failures are now counted per
// (client id, address) and per address: a guesser gets AuthFailuresPerMinute
// tries, then 429 with Retry-After, while the client, from elsewhere or
// from the same address having authenticated there before, still gets its
// tokens. Failures are logged at WARN, one line per 10 s, and counted.
func TestClientSecretGuessing(t *testing.T) {
	logs := &syncBuffer{}
	obs := &countingObserver{}
	e := newEnv(t, store.NewMemory(), withAddresses, func(c *provider.Config) {
		c.Logger = slog.New(slog.NewTextHandler(logs, nil))
		c.Observer = obs
	})
	victim := e.register(provider.ClientSpec{Scopes: []string{"read"}})
	neighbour := e.register(provider.ClientSpec{Scopes: []string{"read"}})
	newcomer := e.register(provider.ClientSpec{Scopes: []string{"read"}})
	tokenFrom := func(c registered, secret, from string) answer {
		return e.do(req{path: "/token", basic: basic(c.id, secret), from: from, form: form("grant_type", "client_credentials")})
	}
	const attacker, home = "198.51.100.66", "203.0.113.10"
	// The neighbour shares the attacker's address (a NAT) and got a token
	// before the attack.
	if a := tokenFrom(neighbour, neighbour.secret, attacker); a.status != 200 {
		t.Fatalf("neighbour before the attack: %d %s", a.status, a.body)
	}

	refusedAt := -1
	for i := range 30 {
		a := tokenFrom(victim, fmt.Sprint("wrong-", i), attacker)
		if a.status == http.StatusTooManyRequests {
			refusedAt = i
			if secs := isThrottled(t, a); secs != 6 {
				t.Errorf("Retry-After %d s, want 6 (one failure is forgiven every 60/10 s)", secs)
			}
			break
		}
		if a.status != http.StatusUnauthorized {
			t.Fatalf("wrong secret %d: %d %s", i, a.status, a.body)
		}
	}
	if refusedAt != provider.DefaultAuthFailuresPerMinute {
		t.Fatalf("first 429 after %d failures, want %d", refusedAt, provider.DefaultAuthFailuresPerMinute)
	}
	// Throttled attempts are refused before the secret is looked at: even
	// the right one, from the guessing address.
	isThrottled(t, tokenFrom(victim, victim.secret, attacker))
	// The victim, from its own address, is not locked out.
	if a := tokenFrom(victim, victim.secret, home); a.status != 200 {
		t.Errorf("the victim from its own address: %d %s, want 200", a.status, a.body)
	}

	// Spraying other client ids spends the address's budget (5 × 10)...
	for i := range 60 {
		tokenFrom(registered{id: fmt.Sprint("tgc_guess", i)}, "x", attacker)
	}
	isThrottled(t, tokenFrom(newcomer, newcomer.secret, attacker))
	// ... which does not apply to a client that authenticated there lately.
	if a := tokenFrom(neighbour, neighbour.secret, attacker); a.status != 200 {
		t.Errorf("neighbour on the attacker's address: %d %s, want 200", a.status, a.body)
	}

	// A minute later, the guesser has its budget back, one per 6 s.
	e.clock.Add(time.Minute)
	if a := tokenFrom(victim, "wrong-again", attacker); a.status != http.StatusUnauthorized {
		t.Errorf("a minute later: %d, want 401", a.status)
	}

	// 10 on the victim, 40 sprayed before the address's 50 were spent,
	// 1 a minute later: throttled attempts are not failures.
	if got := obs.get("auth_failure/token"); got != 10+40+1 {
		t.Errorf("auth_failure/token = %d, want 51", got)
	}
	if got := obs.get("auth_throttled/token"); got < 3 {
		t.Errorf("auth_throttled/token = %d, want at least 3", got)
	}
	out := logs.String()
	if n := strings.Count(out, "client authentication failed"); n != 2 {
		t.Errorf("%d warnings of failures, want 2 (one per 10 s; the clock moved a minute once)\n%s", n, out)
	}
	if !strings.Contains(out, "suppressed=49") {
		t.Errorf("the second warning does not count the 49 held back:\n%s", out)
	}
	if !strings.Contains(out, "level=WARN") || !strings.Contains(out, "throttling client authentication") {
		t.Errorf("no WARN about throttling:\n%s", out)
	}
	if strings.Contains(out, "wrong-") || strings.Contains(out, victim.secret) {
		t.Errorf("a secret in the logs:\n%s", out)
	}
}

// TestIntrospectionBearerGuessing: an inactive bearer token at the
// introspection endpoint is a failed authentication too (the answer says
// whether a token is active), throttled per address.
func TestIntrospectionBearerGuessing(t *testing.T) {
	e := newEnv(t, store.NewMemory(), withAddresses)
	for i := range provider.DefaultAuthFailuresPerMinute {
		a := e.do(req{path: "/introspect", rawAuth: "Bearer guess-" + fmt.Sprint(i), from: "192.0.2.9", form: form("token", "x")})
		if a.status != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d", i, a.status)
		}
	}
	isThrottled(t, e.do(req{path: "/introspect", rawAuth: "Bearer guess", from: "192.0.2.9", form: form("token", "x")}))
}

// TestIssuanceQuota (finding 6 of the review): one client issued 3,443
// tokens a second with nothing to stop it filling the disk. Each client
// now has TokensPerMinute: a burst of that many, then that many a minute,
// beyond which 429 with Retry-After; other clients are not affected, and
// issued tokens are counted for a storage-growth metric.
func TestIssuanceQuota(t *testing.T) {
	obs := &countingObserver{}
	e := newEnv(t, store.NewMemory(), func(c *provider.Config) { c.TokensPerMinute = 5; c.Observer = obs })
	greedy := e.register(provider.ClientSpec{})
	other := e.register(provider.ClientSpec{})
	get := func(c registered) answer {
		return e.do(req{path: "/token", basic: basic(c.id, c.secret), form: form("grant_type", "client_credentials")})
	}
	for i := range 5 {
		if a := get(greedy); a.status != 200 {
			t.Fatalf("token %d: %d %s", i, a.status, a.body)
		}
	}
	a := get(greedy)
	if secs := isThrottled(t, a); secs != 12 {
		t.Errorf("Retry-After %d, want 12 (one token every 60/5 s)", secs)
	}
	if !strings.Contains(a.body, "quota") {
		t.Errorf("429 body %s does not say it is the quota", a.body)
	}
	if a := get(other); a.status != 200 {
		t.Errorf("another client: %d", a.status)
	}
	e.clock.Add(12 * time.Second)
	if a := get(greedy); a.status != 200 {
		t.Errorf("after Retry-After: %d", a.status)
	}
	// Mint (for tests and tools) is not under the quota, but is counted.
	if _, err := e.p.Mint(context.Background(), provider.MintRequest{ClientID: greedy.id}); err != nil {
		t.Fatal(err)
	}
	if got := obs.get("quota_refused/token"); got != 1 {
		t.Errorf("quota_refused/token = %d, want 1", got)
	}
	if got := obs.get("token_issued"); got != 5+1+1+1 {
		t.Errorf("token_issued = %d, want 8", got)
	}
}

// TestDefaultClientAddress: without Config.ClientAddress, the address is
// the host of RemoteAddr, an IPv6 one cut to its /64 (a host commonly has
// the whole /64: one budget per address would be none).
func TestDefaultClientAddress(t *testing.T) {
	e := newEnv(t, store.NewMemory())
	c := e.register(provider.ClientSpec{})
	tests := []struct {
		name, first, second string
		shared              bool
	}{
		{"IPv4 ports", "192.0.2.1:1000", "192.0.2.1:2000", true},
		{"IPv4 hosts", "192.0.2.1:1000", "192.0.2.2:1000", false},
		{"IPv6 one /64", "[2001:db8:1:2::1]:1000", "[2001:db8:1:2:ffff::9]:1000", true},
		{"IPv6 two /64", "[2001:db8:1:2::1]:1000", "[2001:db8:1:3::1]:1000", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			send := func(remote, secret string) int {
				r := httptest.NewRequest(http.MethodPost, e.issuer+"/token", strings.NewReader("grant_type=client_credentials"))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				r.Header.Set("Authorization", basicHeader(c.id, secret))
				r.RemoteAddr = remote
				w := httptest.NewRecorder()
				e.p.ServeHTTP(w, r)
				return w.Code
			}
			for range provider.DefaultAuthFailuresPerMinute {
				send(tt.first, "wrong")
			}
			got := send(tt.second, c.secret)
			if want := map[bool]int{true: 429, false: 200}[tt.shared]; got != want {
				t.Errorf("right secret from %s after failures from %s: %d, want %d", tt.second, tt.first, got, want)
			}
			e.clock.Add(time.Hour) // forget
		})
	}
}

// BenchmarkSecretGuessing replays the review's finding 4 over loopback with
// the real clock: 20,000 wrong secrets for one client, from 8 connections
// at once, then the right secret from another address. It reports how many
// wrong secrets got 401 (the rest got 429), the rate they were sent at,
// and fails if the client is refused. Run it once:
//
//	go test -run '^$' -bench SecretGuessing -benchtime 1x ./provider/
func BenchmarkSecretGuessing(b *testing.B) {
	for b.Loop() {
		e := newEnv(b, store.NewMemory(), withAddresses, func(c *provider.Config) { c.Now = time.Now })
		victim := e.register(provider.ClientSpec{})
		const total, conns = 20_000, 8
		var mu sync.Mutex // guards codes
		codes := map[int]int{}
		start := time.Now()
		var wg sync.WaitGroup
		for g := range conns {
			wg.Go(func() {
				for i := g; i < total; i += conns {
					r, _ := http.NewRequest(http.MethodPost, e.issuer+"/token", strings.NewReader("grant_type=client_credentials"))
					r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					r.Header.Set("Authorization", basicHeader(victim.id, fmt.Sprint("guess-", i)))
					r.Header.Set("X-Test-From", "198.51.100.66")
					res, err := e.srv.Client().Do(r)
					if err != nil {
						b.Error(err)
						return
					}
					res.Body.Close()
					mu.Lock()
					codes[res.StatusCode]++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		took := time.Since(start)
		if codes[401]+codes[429] != total {
			b.Fatalf("answers %v, want only 401 and 429", codes)
		}
		if a := e.do(req{path: "/token", basic: basic(victim.id, victim.secret), from: "203.0.113.10", form: form("grant_type", "client_credentials")}); a.status != 200 {
			b.Errorf("the client from its own address: %d", a.status)
		}
		b.ReportMetric(float64(codes[401]), "401s")
		b.ReportMetric(float64(codes[429]), "429s")
		b.ReportMetric(total/took.Seconds(), "guesses/s")
	}
}
