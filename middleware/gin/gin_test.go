package gin_test

import (
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"

	tggin "github.com/tokengate/tokengate/middleware/gin"
	"github.com/tokengate/tokengate/middleware/internal/conformance"
	"github.com/tokengate/tokengate/rs"
	"github.com/tokengate/tokengate/scopes"
)

// The answers of the middleware, its hooks and RequireScopes are checked,
// alike for every adapter, by middleware/internal/conformance. These
// tests cover what is gin's own.

func init() { gin.SetMode(gin.TestMode) }

// TestAbortAndErrors checks gin's conventions: a rejection is recorded with
// c.Error, aborts the chain (later handlers do not run, even with a custom
// ErrorHandler that forgets to abort) and is visible to earlier middleware.
func TestAbortAndErrors(t *testing.T) {
	tests := []struct {
		name   string
		cfg    func(g *rs.Guard) tggin.Config
		route  scopes.Requirement // a RequireScopes on the route
		token  string
		status int
		kind   error // the error recorded in c.Errors, nil for none
	}{
		{name: "default", cfg: func(g *rs.Guard) tggin.Config { return tggin.Config{Guard: g} }, status: 401, kind: rs.ErrNoToken},
		{
			name: "custom error handler that does not abort",
			cfg: func(g *rs.Guard) tggin.Config {
				return tggin.Config{Guard: g, ErrorHandler: func(c *gin.Context, err error) { g.Reject(err).Write(c.Writer) }}
			},
			token: "nobody", status: 401, kind: rs.ErrInvalidToken,
		},
		{
			name: "success handler error",
			cfg: func(g *rs.Guard) tggin.Config {
				return tggin.Config{Guard: g, SuccessHandler: func(c *gin.Context) error {
					return &rs.Error{Kind: rs.ErrInsufficientScope, Description: "read only today", Required: scopes.All("orders:write")}
				}}
			},
			token: "reader", status: 403, kind: rs.ErrInsufficientScope,
		},
		{
			name: "route requirement", cfg: func(g *rs.Guard) tggin.Config { return tggin.Config{Guard: g} },
			route: scopes.All("orders:write"), token: "reader", status: 403, kind: rs.ErrInsufficientScope,
		},
		{name: "accepted", cfg: func(g *rs.Guard) tggin.Config { return tggin.Config{Guard: g} }, token: "reader", status: 204},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := conformance.Case{}.Guard(t)
			var recorded []*gin.Error
			var aborted, reached bool
			r := gin.New()
			r.Use(func(c *gin.Context) {
				c.Next()
				recorded, aborted = c.Errors, c.IsAborted()
			})
			chain := []gin.HandlerFunc{tggin.MustNew(tt.cfg(g))}
			if !tt.route.IsZero() {
				chain = append(chain, tggin.RequireScopes(g, tt.route))
			}
			r.GET("/api/orders", append(chain, func(c *gin.Context) { reached = true; noContent(c) })...)
			req := httptest.NewRequest("GET", "/api/orders", nil)
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			rec := httptest.NewRecorder()
			r.ServeHTTP(rec, req)
			if rec.Code != tt.status || reached != (tt.kind == nil) {
				t.Errorf("got %d, handler reached %v; want %d", rec.Code, reached, tt.status)
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
