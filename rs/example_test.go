package rs_test

import (
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/tokengate/tokengate/introspect"
	"github.com/tokengate/tokengate/rs"
	"github.com/tokengate/tokengate/rs/rstest"
	"github.com/tokengate/tokengate/scopes"
)

func ExampleNew() {
	// In production the Introspector is an *introspect.Client.
	fakeAS := rstest.Introspector{
		"tok-alice": {Response: rstest.Active("alice", "shop", "orders:read", time.Now().Add(time.Hour), "https://api.example.com")},
		"tok-down":  {Err: &introspect.Error{StatusCode: 503, RetryAfter: 10 * time.Second}},
	}
	guard, err := rs.New(rs.Config{
		Introspector: fakeAS,
		Audiences:    []string{"https://api.example.com"},
		Realm:        "orders",
	})
	if err != nil {
		panic(err)
	}

	for _, auth := range []string{"Bearer tok-alice", "", "Bearer tok-expired", "Bearer tok-down", "Bearer two words"} {
		r := httptest.NewRequest("POST", "/orders", nil)
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		p, err := guard.Check(r, scopes.All("orders:write"))
		if err == nil {
			fmt.Println("welcome", p.Subject)
			continue
		}
		rej := guard.Reject(err)
		fmt.Println(rej.Status, rej.Header.Get("WWW-Authenticate")+rej.Header.Get("Retry-After"))
	}
	// Output:
	// 403 Bearer realm="orders", error="insufficient_scope", error_description="the access token lacks the required scope: orders:write", scope="orders:write"
	// 401 Bearer realm="orders"
	// 401 Bearer realm="orders", error="invalid_token", error_description="the access token is not active"
	// 503 10
	// 400 Bearer realm="orders", error="invalid_request", error_description="the access token is not a b64token"
}

func ExampleGuard_MetadataHandler() {
	guard, _ := rs.New(rs.Config{Introspector: rstest.Introspector{}, Audiences: []string{"https://api.example.com"}})
	h, err := guard.MetadataHandler(rs.ResourceMetadata{
		Resource:             "https://api.example.com",
		AuthorizationServers: []string{"https://as.example.com"},
		ScopesSupported:      []string{"orders:read", "orders:write"},
	})
	if err != nil {
		panic(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", rs.WellKnownMetadataPath, nil))
	fmt.Println(rec.Body)
	// Output:
	// {"resource":"https://api.example.com","authorization_servers":["https://as.example.com"],"scopes_supported":["orders:read","orders:write"],"bearer_methods_supported":["header"]}
}
