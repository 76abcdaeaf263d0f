package introspect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// staticNext is an Introspector that gives every token the same answer, as
// a local validator or a test double would; resp is shared by every call.
type staticNext struct {
	resp  *Response
	err   error
	calls atomic.Int64
}

func (s *staticNext) Introspect(context.Context, string) (*Response, error) {
	s.calls.Add(1)
	return s.resp, s.err
}

// identifiedNext is a staticNext with a CacheIdentity.
type identifiedNext struct {
	staticNext
	id string
}

func (n *identifiedNext) CacheIdentity() string { return n.id }

func TestNewCacheValidation(t *testing.T) {
	plain := &staticNext{}
	inner, err := NewCache(plain, CacheConfig{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		next    Introspector
		cfg     CacheConfig
		wantErr string // "" means success
	}{
		{"zero config", plain, CacheConfig{}, ""},
		{"nil next", nil, CacheConfig{}, "next is nil"},
		{"a cache in a cache", inner, CacheConfig{}, "already a *Cache"},
		{"shared tier without identity", plain, CacheConfig{Shared: &memShared{}, SharedKeys: testSharedKeys}, "CacheIdentity"},
		{"shared tier with identity", &identifiedNext{id: "x"}, CacheConfig{Shared: &memShared{}, SharedKeys: testSharedKeys}, ""},
		{"shared tier without keys", &identifiedNext{id: "x"}, CacheConfig{Shared: &memShared{}}, "SharedKeys is required"},
		{"short shared key", &identifiedNext{id: "x"}, CacheConfig{Shared: &memShared{}, SharedKeys: [][]byte{make([]byte, 31)}}, "SharedKeys[0] is 31 bytes"},
		{"shared key twice", &identifiedNext{id: "x"}, CacheConfig{Shared: &memShared{}, SharedKeys: [][]byte{testSharedKeys[0], testSharedKeys[0]}}, "SharedKeys[1] repeats"},
		{"keys without a shared tier", plain, CacheConfig{SharedKeys: testSharedKeys}, "without CacheConfig.Shared"},
		{"negative Size", plain, CacheConfig{Size: -1}, "Size"},
		{"negative NegativeSize", plain, CacheConfig{NegativeSize: -1}, "NegativeSize"},
		{"negative MaxTTL", plain, CacheConfig{MaxTTL: -1}, "MaxTTL"},
		{"negative StaleIfError", plain, CacheConfig{StaleIfError: -1}, "StaleIfError"},
		{"negative Timeout", plain, CacheConfig{Timeout: -1}, "Timeout"},
		{"negative ClockSkew", plain, CacheConfig{ClockSkew: -1}, "ClockSkew"},
		{"negative NegativeTTL disables negative caching", plain, CacheConfig{NegativeTTL: -1}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewCache(tt.next, tt.cfg)
			if tt.wantErr == "" {
				if err != nil || c == nil {
					t.Fatalf("NewCache = %v, %v; want a cache", c, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "introspect: ") {
				t.Fatalf("NewCache error = %v, want one starting with \"introspect: \" and naming %q", err, tt.wantErr)
			}
		})
	}
}

// TestNewIsACacheOverAClient: New builds the two layers and shares the
// Config's clock, skew, timeout, logger and observer with the cache.
func TestNewIsACacheOverAClient(t *testing.T) {
	obs := &countingObserver{}
	now := func() time.Time { return testNow }
	logger := slog.New(slog.DiscardHandler)
	c, err := New(Config{IntrospectionURL: "https://as.example/i", ClockSkew: time.Minute, Timeout: 3 * time.Second, Now: now, Logger: logger, Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	client, ok := c.next.(*Client)
	if !ok {
		t.Fatalf("New's next layer is %T, want *Client", c.next)
	}
	cc := c.cfg
	if cc.ClockSkew != time.Minute || cc.Timeout != 3*time.Second || cc.Logger != logger || cc.Observer != Observer(obs) ||
		cc.Now().Compare(testNow) != 0 || client.cfg.Observer != Observer(obs) {
		t.Errorf("the cache does not share the Config: %+v", cc)
	}
	if cc.Size != defaultCacheSize || cc.NegativeSize != defaultNegativeSize || cc.MaxTTL != defaultMaxTTL || cc.NegativeTTL != defaultNegativeTTL {
		t.Errorf("the cache's defaults are not filled: %+v", cc)
	}
	if _, err := New(Config{}); err == nil || !strings.Contains(err.Error(), "IntrospectionURL") {
		t.Errorf("New passes on the Client's validation: %v", err)
	}
}

// TestClientAsksEveryTime: without a Cache in front, every call reaches the
// authorization server.
func TestClientAsksEveryTime(t *testing.T) {
	as := newFakeAS(t, &fakeAS{wantAuth: basic("rs", "secret"), reply: replyJSON(200, activeBody(testNow.Add(time.Hour)))})
	c := newTestClient(t, as, nil)
	for range 3 {
		if _, err := c.Introspect(context.Background(), "tok"); err != nil {
			t.Fatal(err)
		}
	}
	if n := as.calls.Load(); n != 3 {
		t.Errorf("AS calls = %d, want 3", n)
	}
}

func TestPing(t *testing.T) {
	tests := []struct {
		name  string
		reply func(http.ResponseWriter, *http.Request)
		want  error // nil: success
	}{
		{"inactive answer", replyJSON(200, `{"active":false}`), nil},
		{"unsupported_token_type", replyJSON(400, `{"error":"unsupported_token_type"}`), nil},
		{"credentials refused", replyJSON(401, `{"error":"invalid_client"}`), ErrASRejectedClient},
		{"server down", replyJSON(503, `{}`), ErrUnavailable},
		{"not an introspection endpoint", replyJSON(200, `{"hello":"world"}`), ErrMalformedResponse},
		{"a random token is active", replyJSON(200, activeBody(testNow.Add(time.Hour))), ErrMalformedResponse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			as := newFakeAS(t, &fakeAS{wantAuth: basic("rs", "secret"), reply: func(w http.ResponseWriter, r *http.Request) {
				if tok := r.PostFormValue("token"); !strings.HasPrefix(tok, "tokengate-ping-") || len(tok) < 40 {
					t.Errorf("ping token %q is not random enough", tok)
				}
				tt.reply(w, r)
			}})
			c, _ := cachedClient(t, as, newClock(), func(cfg *Config, _ *CacheConfig) { cfg.Resilience.MaxRetries = -1 })
			for name, ping := range map[string]func(context.Context) error{"Client": c.next.(*Client).Ping, "Cache": c.Ping} {
				err := ping(context.Background())
				if tt.want == nil {
					if err != nil {
						t.Errorf("%s.Ping = %v, want nil", name, err)
					}
					continue
				}
				if !errors.Is(err, tt.want) || !strings.HasPrefix(err.Error(), "introspect: ping: ") || strings.Count(err.Error(), "introspect: ") != 1 {
					t.Errorf("%s.Ping = %v, want %v", name, err, tt.want)
				}
				assertOneCategory(t, err)
			}
			if n := c.len(); n != 0 {
				t.Errorf("Ping left %d verdicts in the cache", n)
			}
		})
	}
}

// TestPingDiscovers: Ping on an issuer-configured client performs the
// discovery, so that a wrong issuer shows at start-up too.
func TestPingDiscovers(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler()) // no metadata
	defer srv.Close()
	c, err := New(Config{Issuer: srv.URL, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Ping(context.Background()); !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "discovery") {
		t.Fatalf("Ping = %v, want a failed discovery", err)
	}
}

// TestCachePingWithoutPingMethod: in front of a layer without Ping, the
// cache asks it about a random token directly, not through the cache.
func TestCachePingWithoutPingMethod(t *testing.T) {
	for _, tt := range []struct {
		name string
		next *staticNext
		want error
	}{
		{"inactive", &staticNext{err: fmt.Errorf("%w: malformed JWT", ErrInactive)}, nil},
		{"unavailable", &staticNext{err: fmt.Errorf("%w: keys unreachable", ErrUnavailable)}, ErrUnavailable},
		{"says active", &staticNext{resp: &Response{Active: true}}, ErrMalformedResponse},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewCache(tt.next, CacheConfig{})
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Ping(context.Background()); !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Ping = %v, want %v", err, tt.want)
			}
			if tt.next.calls.Load() != 1 || c.len() != 0 {
				t.Errorf("next asked %d times, cache holds %d", tt.next.calls.Load(), c.len())
			}
		})
	}
}

// TestCacheChecksNextAnswer: whatever the next layer returns, the cache
// hands out only active, valid verdicts, and never an answer without a
// category.
func TestCacheChecksNextAnswer(t *testing.T) {
	tests := []struct {
		name string
		next *staticNext
		want error
	}{
		{"active", &staticNext{resp: &Response{Active: true, Subject: "alice", Expiry: testNow.Add(time.Hour)}}, nil},
		{"inactive without error", &staticNext{resp: &Response{Active: false}}, ErrInactive},
		{"expired without error", &staticNext{resp: &Response{Active: true, Expiry: testNow.Add(-time.Hour)}}, ErrInactive},
		{"no response and no error", &staticNext{}, ErrMalformedResponse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewCache(tt.next, CacheConfig{Now: func() time.Time { return testNow }})
			if err != nil {
				t.Fatal(err)
			}
			for range 2 {
				resp, err := c.Introspect(context.Background(), "tok")
				if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) || (err == nil) == (resp == nil) {
					t.Fatalf("Introspect = %v, %v; want %v", resp, err, tt.want)
				}
				if err != nil {
					assertOneCategory(t, err)
				}
			}
			// Active and inactive verdicts are kept; the malformed one is not.
			if wantCalls := map[bool]int64{true: 2, false: 1}[errors.Is(tt.want, ErrMalformedResponse)]; tt.next.calls.Load() != wantCalls {
				t.Errorf("next asked %d times, want %d", tt.next.calls.Load(), wantCalls)
			}
		})
	}
}

// TestCacheDoesNotModifyNextResponse: a next layer may hand the same
// *Response to every caller; the cache keeps its own copy, so that readers
// of the original never race with it (run with -race).
func TestCacheDoesNotModifyNextResponse(t *testing.T) {
	shared := &Response{Active: true, Subject: "alice", Scope: "a b", ClientID: "app", Issuer: "https://as", Audience: []string{"api"}, Expiry: testNow.Add(time.Hour)}
	next := &staticNext{resp: shared}
	c, err := NewCache(next, CacheConfig{Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				_ = shared.Scope + shared.ClientID + shared.Issuer + shared.Audience[0]
			}
		}
	})
	for i := range 100 {
		resp, err := c.Introspect(context.Background(), fmt.Sprint("tok-", i))
		if err != nil || resp == shared || resp.Subject != "alice" || resp.Audience[0] != "api" {
			t.Fatalf("Introspect = %p %+v, %v; want a copy of %p", resp, resp, err, shared)
		}
	}
	close(stop)
	wg.Wait()
}

// TestCacheIdentityScopesTheSharedTier: layers with the same identity share
// verdicts through the shared tier; layers with another never do.
func TestCacheIdentityScopesTheSharedTier(t *testing.T) {
	shared := &memShared{}
	active := &Response{Active: true, Subject: "alice", Expiry: testNow.Add(time.Hour)}
	mk := func(id string) (*Cache, *identifiedNext) {
		next := &identifiedNext{staticNext: staticNext{resp: active}, id: id}
		c, err := NewCache(next, CacheConfig{Shared: shared, SharedKeys: testSharedKeys, Now: func() time.Time { return testNow }})
		if err != nil {
			t.Fatal(err)
		}
		return c, next
	}
	ctx := context.Background()
	a, nextA := mk("issuer-1")
	b, nextB := mk("issuer-1")
	other, nextOther := mk("issuer-2")
	for _, c := range []*Cache{a, b, other} {
		if _, err := c.Introspect(ctx, "tok"); err != nil {
			t.Fatal(err)
		}
	}
	if nextA.calls.Load() != 1 || nextB.calls.Load() != 0 || nextOther.calls.Load() != 1 {
		t.Errorf("next calls: a %d, b %d (same identity), other %d; want 1, 0, 1", nextA.calls.Load(), nextB.calls.Load(), nextOther.calls.Load())
	}
}

func TestClientCacheIdentity(t *testing.T) {
	ts := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "x"})
	base := Config{IntrospectionURL: "https://as.example/i", ClientID: "rs", ClientSecret: "s"}
	id := func(cfg Config) string {
		t.Helper()
		c, err := NewClient(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return c.CacheIdentity()
	}
	same, other := base, base
	same.ClientSecret, same.AuthStyle = "another secret", AuthStylePost
	if id(base) != id(same) || !strings.HasPrefix(id(base), "introspect:") || strings.Contains(id(base), "as.example") {
		t.Errorf("identity %q vs %q: want equal, a prefixed hash", id(base), id(same))
	}
	for name, mod := range map[string]func(*Config){
		"endpoint":    func(c *Config) { c.IntrospectionURL = "https://other.example/i" },
		"issuer":      func(c *Config) { c.IntrospectionURL, c.Issuer = "", "https://as.example" },
		"client":      func(c *Config) { c.ClientID = "other" },
		"auth kind":   func(c *Config) { c.ClientSecret, c.TokenSource = "", ts },
		"anonymously": func(c *Config) { c.ClientID, c.ClientSecret = "", "" },
	} {
		other = base
		mod(&other)
		if id(other) == id(base) {
			t.Errorf("another %s has the same identity", name)
		}
	}
}

// TestCallerCancelDoesNotOpenCircuit: a caller that hangs up during a call
// says nothing about the server; with a threshold of 1, the next call must
// still reach it.
func TestCallerCancelDoesNotOpenCircuit(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	as := newFakeAS(t, &fakeAS{wantAuth: basic("rs", "secret"), reply: replySeq(
		func(w http.ResponseWriter, r *http.Request) {
			cancel()
			<-r.Context().Done()
		},
		replyJSON(200, activeBody(testNow.Add(time.Hour))),
	)})
	c := newTestClient(t, as, func(cfg *Config) {
		cfg.Resilience.MaxRetries = -1
		cfg.Resilience.BreakerThreshold = 1
	})
	if _, err := c.Introspect(ctx, "tok"); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled call: %v", err)
	}
	if _, err := c.Introspect(context.Background(), "tok"); err != nil {
		t.Fatalf("after a caller hung up: %v (the circuit opened?)", err)
	}
}
