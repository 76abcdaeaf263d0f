package nethttp_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/tokengate/tokengate/middleware/nethttp"
	"github.com/tokengate/tokengate/rs"
	"github.com/tokengate/tokengate/rs/rstest"
	"github.com/tokengate/tokengate/scopes"
)

func ExampleNew() {
	// In production the Introspector is what introspect.New returns.
	fakeAS := rstest.Introspector{
		"tok-alice": {Response: rstest.Active("alice", "shop", "orders:read", time.Now().Add(time.Hour), "https://api.example.com")},
	}
	guard, err := rs.New(rs.Config{Introspector: fakeAS, Audiences: []string{"https://api.example.com"}, Realm: "orders"})
	if err != nil {
		panic(err)
	}
	protect, err := nethttp.New(nethttp.Config{Guard: guard})
	if err != nil {
		panic(err)
	}

	mux := http.NewServeMux()
	list := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := rs.PrincipalFrom(r.Context())
		fmt.Fprintf(w, "orders of %s", p.Subject)
	})
	mux.Handle("GET /api/orders", nethttp.RequireScopes(guard, scopes.All("orders:read"))(list))
	mux.Handle("POST /api/orders", nethttp.RequireScopes(guard, scopes.All("orders:write"))(list))
	srv := httptest.NewServer(protect(mux))
	defer srv.Close()

	for _, try := range []struct{ method, token string }{{"GET", "tok-alice"}, {"POST", "tok-alice"}, {"GET", ""}} {
		req, _ := http.NewRequest(try.method, srv.URL+"/api/orders", nil)
		if try.token != "" {
			req.Header.Set("Authorization", "Bearer "+try.token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(try.method, resp.StatusCode, resp.Header.Get("WWW-Authenticate"), string(body))
	}
	// Output:
	// GET 200  orders of alice
	// POST 403 Bearer realm="orders", error="insufficient_scope", error_description="the access token lacks the required scope: orders:write", scope="orders:write" {"error":"insufficient_scope","error_description":"the access token lacks the required scope: orders:write"}
	// GET 401 Bearer realm="orders"
}
