package echo_test

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	tgecho "github.com/tokengate/tokengate/middleware/echo"
	"github.com/tokengate/tokengate/rs"
	"github.com/tokengate/tokengate/rs/rstest"
)

// The answers of the middleware, its hooks and RequireScopes are checked,
// alike for every adapter, by middleware/internal/conformance. These
// tests cover what is echo's own.

// TestErrorsToHTTPErrorHandler: an ErrorHandler that returns the error
// hands it to echo's central HTTPErrorHandler, which can write the guard's
// answer itself.
func TestErrorsToHTTPErrorHandler(t *testing.T) {
	guard, err := rs.New(rs.Config{
		Introspector: rstest.Introspector{"reader": {Response: rstest.Active("alice", "shop", "orders:read", time.Now().Add(time.Hour), "https://api.example.com")}},
		Audiences:    []string{"https://api.example.com"},
		Realm:        "orders",
		Logger:       slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	var central []error
	e := echo.New()
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		central = append(central, err)
		guard.Reject(err).Write(c.Response())
	}
	e.Use(tgecho.MustNew(tgecho.Config{Guard: guard, ErrorHandler: func(_ echo.Context, err error) error { return err }}))
	e.GET("/orders", func(c echo.Context) error {
		p, _ := tgecho.Principal(c)
		return c.String(http.StatusOK, p.Subject)
	})

	for _, tt := range []struct {
		auth   string
		status int
		body   string
		kind   error // what reached the HTTPErrorHandler; nil for nothing
	}{
		{"", 401, "", rs.ErrNoToken},
		{"Bearer nobody", 401, `{"error":"invalid_token","error_description":"the access token is not active"}`, rs.ErrInvalidToken},
		{"Bearer reader", 200, "alice", nil},
	} {
		central = nil
		r := httptest.NewRequest("GET", "/orders", nil)
		if tt.auth != "" {
			r.Header.Set("Authorization", tt.auth)
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, r)
		if rec.Code != tt.status || rec.Body.String() != tt.body {
			t.Errorf("%q: got %d %q, want %d %q", tt.auth, rec.Code, rec.Body, tt.status, tt.body)
		}
		if tt.kind == nil && len(central) > 0 || tt.kind != nil && (len(central) != 1 || !errors.Is(central[0], tt.kind)) {
			t.Errorf("%q: HTTPErrorHandler saw %v, want %v", tt.auth, central, tt.kind)
		}
	}
}
