package providertest_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/tokengate/tokengate/introspect"
	"github.com/tokengate/tokengate/middleware/nethttp"
	"github.com/tokengate/tokengate/provider"
	"github.com/tokengate/tokengate/provider/providertest"
	"github.com/tokengate/tokengate/provider/store"
	"github.com/tokengate/tokengate/rs"
	"github.com/tokengate/tokengate/scopes"
)

// A test of a protected API: a real authorization server on loopback, a
// resource server client that may introspect, an app, and tokens minted for
// each case (a scope it has, one it lacks, a revoked token, none).
func ExampleServer() {
	t := &exampleT{} // in a test, the test's *testing.T
	defer t.cleanup()

	srv := providertest.New(t)
	rsClient := srv.RegisterClient(provider.ClientSpec{Introspection: store.IntrospectAny})
	app := srv.RegisterClient(provider.ClientSpec{Scopes: []string{"orders:read", "orders:write"}})
	mint := func(scope string, revoked bool) string {
		return srv.Mint(providertest.Token{Client: app, Scopes: []string{scope}, Audience: []string{"https://api.example"}, Revoked: revoked})
	}

	// The API under test: GET /orders needs orders:read.
	ic, _ := introspect.New(introspect.Config{Issuer: srv.Issuer, ClientID: rsClient.ID, ClientSecret: rsClient.Secret})
	guard, _ := rs.New(rs.Config{Introspector: ic, Audiences: []string{"https://api.example"}, Logger: slog.New(slog.DiscardHandler)})
	api := nethttp.MustNew(nethttp.Config{Guard: guard, Require: scopes.All("orders:read")})(http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "your orders") }))

	for _, c := range []struct{ name, token string }{
		{"reader", mint("orders:read", false)},
		{"writer only", mint("orders:write", false)},
		{"revoked", mint("orders:read", true)},
		{"no token", ""},
	} {
		req := httptest.NewRequest("GET", "/orders", nil)
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, req)
		fmt.Printf("%-11s %d\n", c.name, rec.Code)
	}
	// Output:
	// reader      200
	// writer only 403
	// revoked     401
	// no token    401
}

// An outage test: while the authorization server is rate limited, the
// protected API answers 503 with the server's Retry-After; once it heals,
// the API answers 200, and then from its cache without asking again.
func ExampleServer_Fail() {
	t := &exampleT{} // in a test, the test's *testing.T
	defer t.cleanup()

	srv := providertest.New(t)
	rsClient := srv.RegisterClient(provider.ClientSpec{Introspection: store.IntrospectAny})
	app := srv.RegisterClient(provider.ClientSpec{Scopes: []string{"read"}})
	token := srv.Mint(providertest.Token{Client: app, Scopes: []string{"read"}, Audience: []string{"https://api.example"}})

	// The API under test, protected by the introspection client.
	logs := slog.New(slog.DiscardHandler)
	ic, _ := introspect.New(introspect.Config{IntrospectionURL: srv.IntrospectionURL,
		ClientID: rsClient.ID, ClientSecret: rsClient.Secret, Logger: logs})
	guard, _ := rs.New(rs.Config{Introspector: ic, Audiences: []string{"https://api.example"}, Logger: logs})
	api := nethttp.MustNew(nethttp.Config{Guard: guard})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "your orders")
	}))
	call := func() {
		req := httptest.NewRequest("GET", "/orders", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, req)
		fmt.Printf("%d Retry-After: %q; introspection calls so far: %d\n",
			rec.Code, rec.Header().Get("Retry-After"), srv.Calls(providertest.EndpointIntrospection))
	}

	srv.Fail(providertest.Fault{Status: http.StatusTooManyRequests, RetryAfter: 30 * time.Second})
	call()
	srv.Heal()
	call()
	call()
	// Output:
	// 503 Retry-After: "30"; introspection calls so far: 1
	// 200 Retry-After: ""; introspection calls so far: 2
	// 200 Retry-After: ""; introspection calls so far: 2
}

// exampleT stands in for a *testing.T in examples.
type exampleT struct{ cleanups []func() }

func (*exampleT) Helper()                           {}
func (*exampleT) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
func (t *exampleT) Cleanup(f func())                { t.cleanups = append(t.cleanups, f) }

func (t *exampleT) cleanup() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
}
