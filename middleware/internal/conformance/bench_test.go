package conformance_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokengate/tokengate/introspect"
	"github.com/tokengate/tokengate/rs"
	"github.com/tokengate/tokengate/scopes"
)

var noContent = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })

type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

// BenchmarkCacheHit runs every adapter in front of a real introspect.New
// (default verdict cache) whose authorization server is an httptest server
// on loopback; the cache is warmed first, so each iteration is a cache hit:
// what a production API pays per request before its handler (here an empty
// 204) runs. The router of each framework is included.
func BenchmarkCacheHit(b *testing.B) {
	var calls atomic.Int64
	as := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"active":true,"sub":"alice","client_id":"shop","scope":"orders:read profile","aud":"https://api.example.com","exp":%d}`,
			time.Now().Add(time.Hour).Unix())
	}))
	defer as.Close()
	client, err := introspect.New(introspect.Config{
		IntrospectionURL: as.URL, ClientID: "api", ClientSecret: "s", Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		b.Fatal(err)
	}
	guard, err := rs.New(rs.Config{Introspector: client, Audiences: []string{"https://api.example.com"}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	for _, a := range adapters {
		b.Run(a.Name, func(b *testing.B) {
			h := a.Protect(b, guard, scopes.All("orders:read"), noContent)
			r := httptest.NewRequest("GET", "/api/orders", nil)
			r.Header.Set("Authorization", "Bearer cached-token")
			w := &discard{h: http.Header{}}
			h.ServeHTTP(w, r) // warm the cache
			before := calls.Load()
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(w, r)
			}
			if calls.Load() != before {
				b.Fatalf("%d calls to the AS during the benchmark: not a cache hit", calls.Load()-before)
			}
		})
	}
}

// BenchmarkBare is the baseline of [BenchmarkCacheHit]: the same router of
// each framework and the same empty handler, without the middleware. The
// difference between the two is what protecting a route costs on a cache
// hit.
func BenchmarkBare(b *testing.B) {
	for _, a := range adapters {
		if a.Bare == nil {
			continue
		}
		b.Run(a.Name, func(b *testing.B) {
			h := a.Bare(noContent)
			r := httptest.NewRequest("GET", "/api/orders", nil)
			r.Header.Set("Authorization", "Bearer cached-token")
			w := &discard{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(w, r)
			}
		})
	}
}
