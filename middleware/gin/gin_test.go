package gin_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/tokengate/tokengate/introspect"
	tggin "github.com/tokengate/tokengate/middleware/gin"
	"github.com/tokengate/tokengate/rs"
	"github.com/tokengate/tokengate/rs/rstest"
	"github.com/tokengate/tokengate/scopes"
)

const api = "https://api.example.com"

func init() { gin.SetMode(gin.TestMode) }

type counting struct {
	rstest.Introspector
	n atomic.Int64
}

func (c *counting) Introspect(ctx context.Context, tok string) (*introspect.Response, error) {
	c.n.Add(1)
	return c.Introspector.Introspect(ctx, tok)
}

func newGuard(t testing.TB) (*rs.Guard, *counting) {
	t.Helper()
	exp := time.Now().Add(time.Hour)
	in := &counting{Introspector: rstest.Introspector{
		"reader": {Response: rstest.Active("alice", "shop", "orders:read", exp, api)},
		"writer": {Response: rstest.Active("bob", "shop", "orders:read orders:write", exp, api)},
	}}
	g, err := rs.New(rs.Config{Introspector: in, Audiences: []string{api}, Realm: "orders", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return g, in
}

func whoami(c *gin.Context) {
	if p, ok := tggin.Principal(c); ok {
		c.String(http.StatusOK, p.Subject)
		return
	}
	c.String(http.StatusOK, "anonymous")
}

func serve(h http.Handler, method, path, token string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, nil)
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

func TestGroupAndRoutes(t *testing.T) {
	g, in := newGuard(t)
	r := gin.New()
	r.GET("/healthz", func(c *gin.Context) { c.Status(http.StatusNoContent) })
	grp := r.Group("/api", tggin.MustNew(tggin.Config{Guard: g}))
	grp.GET("/orders", tggin.RequireScopes(g, scopes.All("orders:read")), whoami)
	grp.POST("/orders", tggin.RequireScopes(g, scopes.All("orders:write")), whoami)
	grp.GET("/me", whoami)

	tests := []struct {
		name, method, path, token string
		status                    int
		body                      string
		calls                     int64
	}{
		{"open route", "GET", "/healthz", "", 204, "", 0},
		{"reader lists", "GET", "/api/orders", "reader", 200, "alice", 1},
		{"reader cannot create", "POST", "/api/orders", "reader", 403, `{"error":"insufficient_scope","error_description":"the access token lacks the required scope: orders:write"}`, 1},
		{"writer creates", "POST", "/api/orders", "writer", 200, "bob", 1},
		{"group without route scope", "GET", "/api/me", "reader", 200, "alice", 1},
		{"no token", "GET", "/api/me", "", 401, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := in.n.Load()
			rec := serve(r, tt.method, tt.path, tt.token)
			if rec.Code != tt.status || rec.Body.String() != tt.body {
				t.Errorf("got %d %q, want %d %q", rec.Code, rec.Body, tt.status, tt.body)
			}
			if calls := in.n.Load() - before; calls != tt.calls {
				t.Errorf("%d introspections, want %d", calls, tt.calls)
			}
		})
	}
}

// TestAbortAndErrors checks gin's conventions: a rejection is recorded with
// c.Error, aborts the chain (later handlers do not run, even with a custom
// ErrorHandler that forgets to abort) and is visible to earlier middleware.
func TestAbortAndErrors(t *testing.T) {
	tests := []struct {
		name   string
		cfg    func(g *rs.Guard) tggin.Config
		token  string
		status int
		body   string
		kind   error // the error recorded in c.Errors, nil for none
	}{
		{name: "default", cfg: func(g *rs.Guard) tggin.Config { return tggin.Config{Guard: g} }, status: 401, kind: rs.ErrNoToken},
		{
			name: "custom error handler",
			cfg: func(g *rs.Guard) tggin.Config {
				return tggin.Config{Guard: g, ErrorHandler: func(c *gin.Context, err error) {
					c.Header("X-Error", "yes")
					g.WriteError(c.Writer, err)
				}}
			},
			token: "nobody", status: 401, kind: rs.ErrInvalidToken,
			body: `{"error":"invalid_token","error_description":"the access token is not active"}`,
		},
		{
			name: "success handler error",
			cfg: func(g *rs.Guard) tggin.Config {
				return tggin.Config{Guard: g, SuccessHandler: func(c *gin.Context) error {
					return &rs.Error{Kind: rs.ErrInsufficientScope, Description: "read only today", Required: scopes.All("orders:write")}
				}}
			},
			token: "reader", status: 403, kind: rs.ErrInsufficientScope,
			body: `{"error":"insufficient_scope","error_description":"read only today"}`,
		},
		{
			name: "skipper",
			cfg: func(g *rs.Guard) tggin.Config {
				return tggin.Config{Guard: g, Skipper: func(c *gin.Context) bool { return c.GetHeader("X-Internal") == "1" }}
			},
			status: 200, body: "anonymous",
		},
		{name: "accepted", cfg: func(g *rs.Guard) tggin.Config { return tggin.Config{Guard: g} }, token: "reader", status: 200, body: "alice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, _ := newGuard(t)
			var recorded []*gin.Error
			var aborted bool
			r := gin.New()
			r.Use(func(c *gin.Context) {
				c.Next()
				recorded, aborted = c.Errors, c.IsAborted()
			})
			r.GET("/x", tggin.MustNew(tt.cfg(g)), whoami)
			req := httptest.NewRequest("GET", "/x", nil)
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			if tt.name == "skipper" {
				req.Header.Set("X-Internal", "1")
			}
			rec := httptest.NewRecorder()
			r.ServeHTTP(rec, req)
			if rec.Code != tt.status || rec.Body.String() != tt.body {
				t.Errorf("got %d %q, want %d %q", rec.Code, rec.Body, tt.status, tt.body)
			}
			if tt.kind == nil {
				if len(recorded) != 0 || aborted {
					t.Errorf("accepted request: errors %v, aborted %v", recorded, aborted)
				}
				return
			}
			if len(recorded) != 1 || !errors.Is(recorded[0].Err, tt.kind) || !aborted {
				t.Errorf("c.Errors = %v, aborted %v; want one %v and aborted", recorded, aborted, tt.kind)
			}
		})
	}
}

func TestNew(t *testing.T) {
	if _, err := tggin.New(tggin.Config{}); err == nil {
		t.Error("New without guard succeeded")
	}
	defer func() {
		if recover() == nil {
			t.Error("MustNew without guard did not panic")
		}
	}()
	tggin.MustNew(tggin.Config{})
}
