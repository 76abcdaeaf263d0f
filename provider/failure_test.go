package provider_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokengate/tokengate/provider"
	"github.com/tokengate/tokengate/provider/store"
)

// flakyStore fails every call when broken is set.
type flakyStore struct {
	store.Store
	broken atomic.Bool
	// unavailable makes the failure store.ErrUnavailable (a database
	// restarting) rather than an error of unknown cause.
	unavailable atomic.Bool
}

var errBroken = errors.New("disk on fire")

func (f *flakyStore) fail() error {
	if f.unavailable.Load() {
		return fmt.Errorf("%w: connection refused", store.ErrUnavailable)
	}
	if f.broken.Load() {
		return errBroken
	}
	return nil
}

func (f *flakyStore) Client(ctx context.Context, id string) (*store.Client, error) {
	if err := f.fail(); err != nil {
		return nil, err
	}
	return f.Store.Client(ctx, id)
}

func (f *flakyStore) Token(ctx context.Context, h []byte) (*store.Token, error) {
	if err := f.fail(); err != nil {
		return nil, err
	}
	return f.Store.Token(ctx, h)
}

func (f *flakyStore) SaveToken(ctx context.Context, t *store.Token) error {
	if err := f.fail(); err != nil {
		return err
	}
	return f.Store.SaveToken(ctx, t)
}

func (f *flakyStore) RevokeGrant(ctx context.Context, g, reason string) (int64, error) {
	if err := f.fail(); err != nil {
		return 0, err
	}
	return f.Store.RevokeGrant(ctx, g, reason)
}

func (f *flakyStore) Keys(ctx context.Context) ([]*store.Key, error) {
	if err := f.fail(); err != nil {
		return nil, err
	}
	return f.Store.Keys(ctx)
}

func (f *flakyStore) DeleteExpiredTokens(ctx context.Context, t time.Time, limit int) (int64, error) {
	if err := f.fail(); err != nil {
		return 0, err
	}
	return f.Store.DeleteExpiredTokens(ctx, t, limit)
}

// TestStoreFailure: when the store fails, every endpoint fails closed with
// server_error, and nothing about the failure leaks into the answer.
func TestStoreFailure(t *testing.T) {
	fs := &flakyStore{Store: store.NewMemory()}
	e := newEnv(t, fs)
	app := e.register(provider.ClientSpec{})
	rs := e.register(provider.ClientSpec{Introspection: store.IntrospectAny, IntrospectionSignedResponseAlg: "ES256"})
	tok := e.token(app)
	fs.broken.Store(true)
	e.clock.Add(provider.DefaultClientCacheTTL) // the clients must be read again
	for name, r := range map[string]req{
		"token":      {path: "/token", basic: basic(app.id, app.secret), form: "grant_type=client_credentials"},
		"introspect": {path: "/introspect", basic: basic(rs.id, rs.secret), form: form("token", tok)},
		"bearer":     {path: "/introspect", rawAuth: "Bearer " + tok, form: form("token", tok)},
		"revoke":     {path: "/revoke", basic: basic(app.id, app.secret), form: form("token", tok)},
	} {
		a := e.do(r)
		if a.status != 500 || a.json(t)["error"] != "server_error" || strings.Contains(a.body, "fire") {
			t.Errorf("%s: %d %s, want 500 server_error", name, a.status, a.body)
		}
	}
	// The JWK Set keeps being served from memory while the store is down.
	e.clock.Add(provider.DefaultKeyRefreshInterval)
	if a := e.do(req{method: "GET", path: "/jwks.json"}); a.status != 200 {
		t.Errorf("jwks while the store is down: %d", a.status)
	}
	if _, err := e.p.Sweep(context.Background()); !errors.Is(err, errBroken) {
		t.Errorf("Sweep = %v, want the store's error", err)
	}
	if err := e.p.Revoke(context.Background(), tok); !errors.Is(err, errBroken) {
		t.Errorf("Revoke = %v", err)
	}
	fs.broken.Store(false)
	if a := e.introspect(rs, tok); !strings.Contains(a.body, `"active":true`) {
		t.Errorf("after recovery: %s", a.body)
	}
}

// TestStoreUnavailable: while the store is unavailable (a database
// restarting), every endpoint answers 503 temporarily_unavailable with
// Retry-After, never 500 and never a verdict; the provider recovers by
// itself.
func TestStoreUnavailable(t *testing.T) {
	fs := &flakyStore{Store: store.NewMemory()}
	e := newEnv(t, fs)
	app := e.register(provider.ClientSpec{})
	rs := e.register(provider.ClientSpec{Introspection: store.IntrospectAny})
	tok := e.token(app)
	fs.unavailable.Store(true)
	for name, r := range map[string]req{
		"token (client cached)": {path: "/token", basic: basic(app.id, app.secret), form: "grant_type=client_credentials"},
		"introspect":            {path: "/introspect", basic: basic(rs.id, rs.secret), form: form("token", tok)},
		"bearer":                {path: "/introspect", rawAuth: "Bearer " + tok, form: form("token", tok)},
		"revoke":                {path: "/revoke", basic: basic(app.id, app.secret), form: form("token", tok)},
	} {
		a := e.do(r)
		if a.status != 503 || a.json(t)["error"] != "temporarily_unavailable" || a.header.Get("Retry-After") == "" ||
			strings.Contains(a.body, "refused") {
			t.Errorf("%s: %d %v %s, want 503 temporarily_unavailable with Retry-After", name, a.status, a.header, a.body)
		}
	}
	e.clock.Add(provider.DefaultClientCacheTTL) // the clients must be read again
	if a := e.do(req{path: "/token", basic: basic(app.id, app.secret), form: "grant_type=client_credentials"}); a.status != 503 {
		t.Errorf("token (client read from the store): %d %s, want 503", a.status, a.body)
	}
	fs.unavailable.Store(false)
	if a := e.introspect(rs, tok); !strings.Contains(a.body, `"active":true`) {
		t.Errorf("after recovery: %s", a.body)
	}
}

// countingStore counts the calls to Keys.
type countingStore struct {
	store.Store
	keys atomic.Int64
}

func (c *countingStore) Keys(ctx context.Context) ([]*store.Key, error) {
	c.keys.Add(1)
	return c.Store.Keys(ctx)
}

// TestKeyReloadOnce: when the keys are due for a re-read, concurrent
// requests re-read them once between them, not once each; and a failed
// re-read is not retried before KeyRefreshInterval has passed again.
func TestKeyReloadOnce(t *testing.T) {
	cs := &countingStore{Store: store.NewMemory()}
	fs := &flakyStore{Store: cs}
	e := newEnv(t, fs)
	jwks := func(n int) {
		t.Helper()
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				if a := e.do(req{method: "GET", path: "/jwks.json"}); a.status != 200 {
					t.Errorf("jwks: %d", a.status)
				}
			})
		}
		wg.Wait()
	}
	e.clock.Add(provider.DefaultKeyRefreshInterval)
	before := cs.keys.Load()
	jwks(16)
	if got := cs.keys.Load() - before; got != 1 {
		t.Errorf("16 concurrent requests after KeyRefreshInterval read the keys %d times, want 1", got)
	}

	fs.broken.Store(true)
	e.clock.Add(provider.DefaultKeyRefreshInterval)
	jwks(4) // the re-read fails; the keys in memory are served
	fs.broken.Store(false)
	before = cs.keys.Load()
	jwks(4)
	if got := cs.keys.Load() - before; got != 0 {
		t.Errorf("after a failed re-read, the keys were read again %d times before KeyRefreshInterval", got)
	}
	e.clock.Add(provider.DefaultKeyRefreshInterval)
	jwks(1)
	if got := cs.keys.Load() - before; got != 1 {
		t.Errorf("KeyRefreshInterval after a failed re-read: %d reads, want 1", got)
	}
}

// TestPagesWhenStoreFails: the authorization endpoint answers a store it
// cannot reach as the other endpoints do, with a page since the client is
// not known to redirect to: 503 and Retry-After while the store is
// unavailable, 500 for a failure of unknown cause; never a redirect.
func TestPagesWhenStoreFails(t *testing.T) {
	fs := &flakyStore{Store: store.NewMemory()}
	e := newSignInEnv(t, fs)
	rp := e.newRP(provider.ClientSpec{})
	path := "/authorize?" + rp.authorizeQuery().Encode()
	for _, tc := range []struct {
		name       string
		fail       *atomic.Bool
		status     int
		retryAfter bool
	}{
		{"unavailable", &fs.unavailable, 503, true},
		{"broken", &fs.broken, 500, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.clock.Add(provider.DefaultClientCacheTTL) // the client must be read again
			tc.fail.Store(true)
			defer tc.fail.Store(false)
			a := e.do(req{method: "GET", path: path})
			if a.status != tc.status || (a.header.Get("Retry-After") != "") != tc.retryAfter ||
				!strings.HasPrefix(a.header.Get("Content-Type"), "text/html") || a.header.Get("Location") != "" ||
				strings.Contains(a.body, "refused") || strings.Contains(a.body, "fire") {
				t.Errorf("authorize: %d %v, want a %d page (Retry-After: %v)", a.status, a.header, tc.status, tc.retryAfter)
			}
		})
	}
}
