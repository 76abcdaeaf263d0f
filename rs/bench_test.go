package rs_test

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/tokengate/tokengate/rs"
	"github.com/tokengate/tokengate/scopes"
)

// BenchmarkCheck is the guard's part of a request whose token the
// introspector answers instantly (as a cache hit does): extraction,
// policy, the principal. The middleware benchmarks add the framework.
func BenchmarkCheck(b *testing.B) {
	g := newGuard(b, nil)
	r := httptest.NewRequest("GET", "/orders", nil)
	r.Header.Set("Authorization", "Bearer good")
	req := scopes.All("orders:read")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := g.Check(r, req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheckRejectNoToken is the cost of deciding and answering a 401
// to a request without token.
func BenchmarkCheckRejectNoToken(b *testing.B) {
	g := newGuard(b, nil)
	r := httptest.NewRequest("GET", "/orders", nil)
	b.ReportAllocs()
	for b.Loop() {
		_, err := g.Check(r, scopes.Requirement{})
		_ = g.Reject(err)
	}
}

// BenchmarkCheckCredentials is BenchmarkCheck for a request that is not an
// *http.Request, as the gRPC adapter makes it.
func BenchmarkCheckCredentials(b *testing.B) {
	g := newGuard(b, nil)
	creds := rs.Credentials{Authorization: []string{"Bearer good"}}
	ctx, req := context.Background(), scopes.All("orders:read")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := g.CheckCredentials(ctx, creds, req); err != nil {
			b.Fatal(err)
		}
	}
}
