package nethttp_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tokengate/tokengate/middleware/nethttp"
	"github.com/tokengate/tokengate/scopes"
)

// discard is a ResponseWriter that keeps nothing, so the benchmarks measure
// the middleware and not the recorder.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

var ok = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })

func benchmark(b *testing.B, h http.Handler, token string) {
	r := httptest.NewRequest("GET", "/api/orders", nil)
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	w := &discard{h: http.Header{}}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		h.ServeHTTP(w, r)
	}
}

// BenchmarkBareHandler is the baseline: the handler without middleware.
func BenchmarkBareHandler(b *testing.B) { benchmark(b, ok, "") }

// BenchmarkMiddleware is the path from the request to the handler with an
// introspector that answers instantly (as a cache hit would): extraction,
// policy, principal in the context.
func BenchmarkMiddleware(b *testing.B) {
	g, _ := newGuard(b, nil)
	benchmark(b, nethttp.MustNew(nethttp.Config{Guard: g})(ok), "reader")
}

// BenchmarkMiddlewareScope adds a per-route scope requirement.
func BenchmarkMiddlewareScope(b *testing.B) {
	g, _ := newGuard(b, nil)
	benchmark(b, nethttp.MustNew(nethttp.Config{Guard: g, Require: scopes.All("orders:read")})(ok), "reader")
}

// BenchmarkMiddlewareRejectNoToken is the cost of a 401 challenge.
func BenchmarkMiddlewareRejectNoToken(b *testing.B) {
	g, _ := newGuard(b, nil)
	benchmark(b, nethttp.MustNew(nethttp.Config{Guard: g})(ok), "")
}

// BenchmarkMiddlewareNested is a guard over everything with a per-route
// requirement inside it, the shape of the README's echo and gin groups: the
// inner middleware reuses the principal and does not copy the request again.
func BenchmarkMiddlewareNested(b *testing.B) {
	g, _ := newGuard(b, nil)
	inner := nethttp.RequireScopes(g, scopes.All("orders:read"))(ok)
	benchmark(b, nethttp.MustNew(nethttp.Config{Guard: g})(inner), "reader")
}
