package echo_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/tokengate/tokengate/introspect"
	tgecho "github.com/tokengate/tokengate/middleware/echo"
	"github.com/tokengate/tokengate/rs"
	"github.com/tokengate/tokengate/rs/rstest"
	"github.com/tokengate/tokengate/scopes"
)

const api = "https://api.example.com"

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

func whoami(c echo.Context) error {
	if p, ok := tgecho.Principal(c); ok {
		return c.String(http.StatusOK, p.Subject)
	}
	return c.String(http.StatusOK, "anonymous")
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
	e := echo.New()
	e.GET("/healthz", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })
	grp := e.Group("/api", tgecho.MustNew(tgecho.Config{Guard: g}))
	grp.GET("/orders", whoami, tgecho.RequireScopes(g, scopes.All("orders:read")))
	grp.POST("/orders", whoami, tgecho.RequireScopes(g, scopes.All("orders:write")))
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
			rec := serve(e, tt.method, tt.path, tt.token)
			if rec.Code != tt.status || rec.Body.String() != tt.body {
				t.Errorf("got %d %q, want %d %q", rec.Code, rec.Body, tt.status, tt.body)
			}
			if calls := in.n.Load() - before; calls != tt.calls {
				t.Errorf("%d introspections, want %d", calls, tt.calls)
			}
		})
	}
}

func TestHooks(t *testing.T) {
	tests := []struct {
		name   string
		cfg    func(g *rs.Guard, e *echo.Echo) tgecho.Config
		token  string
		path   string
		status int
		body   string
	}{
		{
			name: "skipper",
			cfg: func(g *rs.Guard, _ *echo.Echo) tgecho.Config {
				return tgecho.Config{Guard: g, Skipper: func(c echo.Context) bool { return c.Path() == "/public" }}
			},
			path: "/public", status: 200, body: "anonymous",
		},
		{
			name: "error handled centrally by echo's HTTPErrorHandler",
			cfg: func(g *rs.Guard, e *echo.Echo) tgecho.Config {
				e.HTTPErrorHandler = func(err error, c echo.Context) {
					if errors.Is(err, rs.ErrNoToken) {
						c.Response().Header().Set("X-Handled", "central")
					}
					g.WriteError(c.Response(), err)
				}
				return tgecho.Config{Guard: g, ErrorHandler: func(c echo.Context, err error) error { return err }}
			},
			path: "/private", status: 401, body: "",
		},
		{
			name: "success handler error rejects",
			cfg: func(g *rs.Guard, _ *echo.Echo) tgecho.Config {
				return tgecho.Config{Guard: g, SuccessHandler: func(c echo.Context) error {
					p, _ := tgecho.Principal(c)
					if p.Subject == "alice" {
						return &rs.Error{Kind: rs.ErrInvalidToken, Description: "this account is suspended"}
					}
					return nil
				}}
			},
			token: "reader", path: "/private", status: 401,
			body: `{"error":"invalid_token","error_description":"this account is suspended"}`,
		},
		{
			name: "require in config",
			cfg: func(g *rs.Guard, _ *echo.Echo) tgecho.Config {
				return tgecho.Config{Guard: g, Require: scopes.Any("orders:write", "admin")}
			},
			token: "writer", path: "/private", status: 200, body: "bob",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, _ := newGuard(t)
			e := echo.New()
			mw := tgecho.MustNew(tt.cfg(g, e))
			e.GET("/public", whoami, mw)
			e.GET("/private", whoami, mw)
			rec := serve(e, "GET", tt.path, tt.token)
			if rec.Code != tt.status || rec.Body.String() != tt.body {
				t.Errorf("got %d %q, want %d %q", rec.Code, rec.Body, tt.status, tt.body)
			}
			if tt.name == "error handled centrally by echo's HTTPErrorHandler" && rec.Header().Get("X-Handled") != "central" {
				t.Error("the error did not reach echo's HTTPErrorHandler")
			}
		})
	}
}

func TestNew(t *testing.T) {
	if _, err := tgecho.New(tgecho.Config{}); err == nil {
		t.Error("New without guard succeeded")
	}
	defer func() {
		if recover() == nil {
			t.Error("MustNew without guard did not panic")
		}
	}()
	tgecho.MustNew(tgecho.Config{})
}
