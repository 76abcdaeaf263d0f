package echo_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"

	tgecho "github.com/tokengate/tokengate/middleware/echo"
	"github.com/tokengate/tokengate/middleware/internal/conformance"
)

type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

func benchmark(b *testing.B, e *echo.Echo) {
	r := httptest.NewRequest("GET", "/api/orders", nil)
	r.Header.Set("Authorization", "Bearer reader")
	w := &discard{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		e.ServeHTTP(w, r)
	}
}

func noContent(c echo.Context) error { return c.NoContent(http.StatusNoContent) }

// BenchmarkBareEcho is the baseline: the route without middleware.
func BenchmarkBareEcho(b *testing.B) {
	e := echo.New()
	e.GET("/api/orders", noContent)
	benchmark(b, e)
}

// BenchmarkMiddlewareEcho is the route behind the middleware with an
// instant introspector, as on a cache hit.
func BenchmarkMiddlewareEcho(b *testing.B) {
	g := conformance.Case{}.Guard(b) // its introspector answers instantly, as on a cache hit
	e := echo.New()
	e.GET("/api/orders", noContent, tgecho.MustNew(tgecho.Config{Guard: g}))
	benchmark(b, e)
}
