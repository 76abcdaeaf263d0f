package nethttp_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokengate/tokengate/introspect"
	"github.com/tokengate/tokengate/middleware/nethttp"
	"github.com/tokengate/tokengate/rs"
	"github.com/tokengate/tokengate/rs/rstest"
	"github.com/tokengate/tokengate/scopes"
)

// The answers of the middleware, its hooks and RequireScopes are checked,
// alike for every adapter, by middleware/internal/conformance. These
// tests cover what is net/http's own: ServeMux patterns and chi-style
// chains.

const api = "https://api.example.com"

// counting wraps the fake introspector to count validations.
type counting struct {
	rstest.Introspector
	n atomic.Int64
}

func (c *counting) Introspect(ctx context.Context, tok string) (*introspect.Response, error) {
	c.n.Add(1)
	return c.Introspector.Introspect(ctx, tok)
}

func newGuard(t testing.TB, mut func(*rs.Config)) (*rs.Guard, *counting) {
	t.Helper()
	exp := time.Now().Add(time.Hour)
	in := &counting{Introspector: rstest.Introspector{
		"reader": {Response: rstest.Active("alice", "shop", "orders:read", exp, api)},
		"writer": {Response: rstest.Active("bob", "shop", "orders:read orders:write", exp, api)},
	}}
	cfg := rs.Config{Introspector: in, Audiences: []string{api}, Realm: "orders", Logger: slog.New(slog.DiscardHandler)}
	if mut != nil {
		mut(&cfg)
	}
	g, err := rs.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return g, in
}

func whoami(w http.ResponseWriter, r *http.Request) {
	if p, ok := rs.PrincipalFrom(r.Context()); ok {
		_, _ = w.Write([]byte(p.Subject))
		return
	}
	_, _ = w.Write([]byte("anonymous"))
}

// TestServeMuxRoutes protects a Go 1.22 ServeMux with one guard and
// per-route requirements, the way examples/nethttp does.
func TestServeMuxRoutes(t *testing.T) {
	g, in := newGuard(t, nil)
	mux := http.NewServeMux()
	mux.Handle("GET /api/orders", nethttp.RequireScopes(g, scopes.All("orders:read"))(http.HandlerFunc(whoami)))
	mux.Handle("POST /api/orders", nethttp.RequireScopes(g, scopes.All("orders:write"))(http.HandlerFunc(whoami)))
	mux.HandleFunc("GET /api/orders/{id}", whoami)
	srv := httptest.NewServer(nethttp.MustNew(nethttp.Config{Guard: g})(mux))
	defer srv.Close()

	tests := []struct {
		name, method, path, token string
		status                    int
		body                      string
	}{
		{"reader lists", "GET", "/api/orders", "reader", 200, "alice"},
		{"reader cannot create", "POST", "/api/orders", "reader", 403, `{"error":"insufficient_scope","error_description":"the access token lacks the required scope: orders:write"}`},
		{"writer creates", "POST", "/api/orders", "writer", 200, "bob"},
		{"path pattern, token only", "GET", "/api/orders/42", "reader", 200, "alice"},
		{"no token", "GET", "/api/orders", "", 401, ""},
		{"unknown route still needs a token", "GET", "/nowhere", "", 401, ""},
		{"unknown route with token", "GET", "/nowhere", "reader", 404, "404 page not found\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := in.n.Load()
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, nil)
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body := make([]byte, 512)
			n, _ := resp.Body.Read(body)
			if resp.StatusCode != tt.status || string(body[:n]) != tt.body {
				t.Errorf("got %d %q, want %d %q", resp.StatusCode, body[:n], tt.status, tt.body)
			}
			if tt.token != "" {
				if calls := in.n.Load() - before; calls != 1 {
					t.Errorf("%d introspections for one request, want 1 (nested middleware must reuse the principal)", calls)
				}
			}
		})
	}
}

// TestChiStyleChain composes the middleware the way chi's r.Use and r.With
// do: plain func(http.Handler) http.Handler values applied in order.
func TestChiStyleChain(t *testing.T) {
	g, in := newGuard(t, func(c *rs.Config) { c.AllowAnonymous = true })
	chain := func(h http.Handler, mws ...func(http.Handler) http.Handler) http.Handler {
		for i := len(mws) - 1; i >= 0; i-- {
			h = mws[i](h)
		}
		return h
	}
	h := chain(http.HandlerFunc(whoami), nethttp.MustNew(nethttp.Config{Guard: g}), nethttp.RequireScopes(g, scopes.All("orders:read")))
	open := chain(http.HandlerFunc(whoami), nethttp.MustNew(nethttp.Config{Guard: g}))

	rec := httptest.NewRecorder()
	open.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 200 || rec.Body.String() != "anonymous" {
		t.Errorf("anonymous on an open route: %d %q", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 401 || rec.Header().Get("WWW-Authenticate") != `Bearer realm="orders"` {
		t.Errorf("anonymous on a scoped route: %d %q", rec.Code, rec.Header())
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer reader")
	rec = httptest.NewRecorder()
	before := in.n.Load()
	h.ServeHTTP(rec, r)
	if rec.Code != 200 || rec.Body.String() != "alice" || in.n.Load()-before != 1 {
		t.Errorf("reader: %d %q after %d introspections", rec.Code, rec.Body, in.n.Load()-before)
	}
}
