package gin_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"

	tggin "github.com/tokengate/tokengate/middleware/gin"
	"github.com/tokengate/tokengate/middleware/internal/conformance"
)

type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

func benchmark(b *testing.B, h http.Handler) {
	r := httptest.NewRequest("GET", "/api/orders", nil)
	r.Header.Set("Authorization", "Bearer reader")
	w := &discard{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, r)
	}
}

func noContent(c *gin.Context) { c.Status(http.StatusNoContent) }

// BenchmarkBareGin is the baseline: the route without middleware.
func BenchmarkBareGin(b *testing.B) {
	r := gin.New()
	r.GET("/api/orders", noContent)
	benchmark(b, r)
}

// BenchmarkMiddlewareGin is the route behind the middleware with an
// instant introspector, as on a cache hit.
func BenchmarkMiddlewareGin(b *testing.B) {
	g := conformance.Case{}.Guard(b) // its introspector answers instantly, as on a cache hit
	r := gin.New()
	r.GET("/api/orders", tggin.MustNew(tggin.Config{Guard: g}), noContent)
	benchmark(b, r)
}
