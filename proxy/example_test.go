package proxy_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"time"

	"github.com/tokengate/tokengate/proxy"
	"github.com/tokengate/tokengate/rs"
	"github.com/tokengate/tokengate/rs/rstest"
)

func ExampleNew() {
	// The service to protect, which reads the caller from the identity
	// headers.
	orders := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "orders of %s", r.Header.Get(proxy.HeaderSubject))
	}))
	defer orders.Close()

	// In production the Introspector is what introspect.New returns.
	fakeAS := rstest.Introspector{
		"tok-alice": {Response: rstest.Active("alice", "shop", "orders:read", time.Now().Add(time.Hour), "https://api.example.com")},
	}
	guard, err := rs.New(rs.Config{Introspector: fakeAS, Audiences: []string{"https://api.example.com"}, Realm: "orders"})
	if err != nil {
		panic(err)
	}
	var routes []proxy.Route
	for _, s := range []string{"GET /api/orders orders:read", "POST /api/orders orders:write"} {
		rt, err := proxy.ParseRoute(s)
		if err != nil {
			panic(err)
		}
		routes = append(routes, rt)
	}
	upstream, _ := url.Parse(orders.URL)
	p, err := proxy.New(proxy.Config{Guard: guard, Routes: routes, Upstream: upstream})
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(p)
	defer srv.Close()

	for _, try := range []struct{ method, path, token string }{
		{"GET", "/api/orders", "tok-alice"},
		{"POST", "/api/orders", "tok-alice"},
		{"GET", "/api/orders", ""},
		{"GET", "/admin", "tok-alice"},
	} {
		req, _ := http.NewRequest(try.method, srv.URL+try.path, nil)
		if try.token != "" {
			req.Header.Set("Authorization", "Bearer "+try.token)
		}
		// A forged identity header never reaches the service.
		req.Header.Set("X-Auth-Subject", "mallory")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("%s %s: %d %s %q\n", try.method, try.path, resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
	}
	// Output:
	// GET /api/orders: 200  "orders of alice"
	// POST /api/orders: 403 Bearer realm="orders", error="insufficient_scope", error_description="the access token lacks the required scope: orders:write", scope="orders:write" "{\"error\":\"insufficient_scope\",\"error_description\":\"the access token lacks the required scope: orders:write\"}"
	// GET /api/orders: 401 Bearer realm="orders" ""
	// GET /admin: 403  "tokengate: no route allows this request\n"
}
