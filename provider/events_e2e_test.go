package provider_test

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokengate/tokengate/introspect"
	"github.com/tokengate/tokengate/jwtaccess"
	"github.com/tokengate/tokengate/provider"
	"github.com/tokengate/tokengate/provider/store"
	"github.com/tokengate/tokengate/revocationfeed"
)

// countingIntrospector counts the introspections that reach the provider.
type countingIntrospector struct {
	next  introspect.Introspector
	calls atomic.Int64
}

func (c *countingIntrospector) Introspect(ctx context.Context, token string) (*introspect.Response, error) {
	c.calls.Add(1)
	return c.next.Introspect(ctx, token)
}

// TestEventsReachResourceServer: end to end with the real receiver. A
// resource server caches verdicts (introspect.Cache, MaxTTL 2 minutes) and
// validates JWT access tokens locally (jwtaccess), and subscribes to the
// provider's events (revocationfeed) with its introspection credentials.
// A token it has cached as active, revoked at the provider, is refused
// within seconds — not after MaxTTL; so is a JWT access token, by its jti,
// though the validator never asks the provider.
func TestEventsReachResourceServer(t *testing.T) {
	ctx := context.Background()
	const api = "https://orders.example/"
	e := newEnv(t, sqliteStore(t))
	apiClient := e.register(provider.ClientSpec{Name: "orders-api", Introspection: store.IntrospectOwnAudience, Resources: []string{api}})
	app := e.register(provider.ClientSpec{Name: "app", Resources: []string{api}})
	jwtApp := e.register(provider.ClientSpec{Name: "jwt-app", Resources: []string{api}, JWTAccessTokens: true})

	v, err := introspect.NewClient(introspect.Config{Issuer: e.issuer, ClientID: apiClient.id, ClientSecret: apiClient.secret})
	if err != nil {
		t.Fatal(err)
	}
	upstream := &countingIntrospector{next: v}
	cache, err := introspect.NewCache(upstream, introspect.CacheConfig{})
	if err != nil {
		t.Fatal(err)
	}
	jwtv, err := jwtaccess.New(jwtaccess.Config{Issuer: e.issuer, Audiences: []string{api}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { jwtv.Close() })
	sub, err := revocationfeed.New(revocationfeed.Config{Issuer: e.issuer, ClientID: apiClient.id, ClientSecret: apiClient.secret,
		Cache: cache, JWT: jwtv, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Close() })
	if err := sub.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}

	// refusedWithin polls check until it fails with want, for up to 10 s,
	// and reports how long that took.
	refusedWithin := func(t *testing.T, what string, want error, check func() error) time.Duration {
		t.Helper()
		start := time.Now()
		for time.Since(start) < 10*time.Second {
			if err := check(); errors.Is(err, want) {
				return time.Since(start)
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("%s: still accepted 10 s after its revocation (the cache keeps verdicts 2 minutes)", what)
		return 0
	}

	t.Run("opaque token, cached verdict", func(t *testing.T) {
		tok := e.token(app, "resource", api)
		for range 3 {
			if _, err := cache.Introspect(ctx, tok); err != nil {
				t.Fatalf("before its revocation: %v", err)
			}
		}
		if n := upstream.calls.Load(); n != 1 {
			t.Fatalf("%d introspections for 3 requests; want 1 (the verdict is cached)", n)
		}
		if a := e.do(req{path: "/revoke", basic: basic(app.id, app.secret), form: form("token", tok)}); a.status != 200 {
			t.Fatal(a.body)
		}
		took := refusedWithin(t, "the opaque token", introspect.ErrInactive, func() error {
			_, err := cache.Introspect(ctx, tok)
			return err
		})
		t.Logf("refused %v after the revocation", took)
	})

	t.Run("JWT access token, validated locally", func(t *testing.T) {
		tok := e.token(jwtApp, "resource", api)
		if _, err := jwtv.Introspect(ctx, tok); err != nil {
			t.Fatalf("before its revocation: %v", err)
		}
		if err := e.p.Revoke(ctx, tok); err != nil {
			t.Fatal(err)
		}
		took := refusedWithin(t, "the JWT access token", jwtaccess.ErrRevoked, func() error {
			_, err := jwtv.Introspect(ctx, tok)
			return err
		})
		t.Logf("refused %v after the revocation", took)
	})
}
