package proxy_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/tokengate/tokengate/proxy"
)

func startAuth(t testing.TB, trusted string) *httptest.Server {
	t.Helper()
	p, err := proxy.New(proxy.Config{
		Guard:          newGuard(t),
		Routes:         append(routes(t, "GET /api/orders orders:read", "POST /api/orders orders:write"), proxy.Route{Pattern: "GET /health", Public: true}),
		AuthOnly:       true,
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix(trusted)},
		Logger:         slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return srv
}

func TestAuthOnly(t *testing.T) {
	srv := startAuth(t, "127.0.0.0/8")
	nginx := func(method, uri string) http.Header {
		return http.Header{"X-Original-Method": {method}, "X-Original-Uri": {uri}}
	}
	traefik := func(method, uri string) http.Header {
		return http.Header{"X-Forwarded-Method": {method}, "X-Forwarded-Uri": {uri}, "X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"api.example.com"}}
	}
	tests := []struct {
		name, method, path, token string
		header                    http.Header
		answer
	}{
		{name: "nginx, read", method: "GET", path: "/auth", header: nginx("GET", "/api/orders?page=2"), token: "tok-reader", answer: answer{status: 200,
			identity: [3]string{"alice", "shop", "orders:read"}}},
		{name: "nginx, missing scope", method: "GET", path: "/auth", header: nginx("POST", "/api/orders"), token: "tok-reader", answer: answer{status: 403,
			challenge: `Bearer realm="orders", error="insufficient_scope", error_description="the access token lacks the required scope: orders:write", scope="orders:write"`}},
		{name: "nginx, no token", method: "GET", path: "/auth", header: nginx("GET", "/api/orders"), answer: answer{status: 401, challenge: `Bearer realm="orders"`}},
		{name: "nginx, inactive", method: "GET", path: "/auth", header: nginx("GET", "/api/orders"), token: "tok-unknown", answer: answer{status: 401,
			challenge: `Bearer realm="orders", error="invalid_token", error_description="the access token is not active"`}},
		{name: "nginx, authorization server down", method: "GET", path: "/auth", header: nginx("GET", "/api/orders"), token: "tok-down", answer: answer{status: 503, retryAfter: "7"}},
		{name: "nginx, no route", method: "GET", path: "/auth", header: nginx("GET", "/admin"), token: "tok-writer", answer: answer{status: 403}},
		{name: "nginx, public", method: "GET", path: "/auth", header: nginx("GET", "/health"), answer: answer{status: 200}},
		{name: "nginx headers win over the request line", method: "GET", path: "/health", header: nginx("GET", "/api/orders"), answer: answer{status: 401, challenge: `Bearer realm="orders"`}},
		{name: "nginx, not canonical", method: "GET", path: "/auth", header: nginx("GET", "/health/../api/orders"), answer: answer{status: 400}},
		{name: "nginx, absolute URI", method: "GET", path: "/auth", header: nginx("GET", "http://evil.example/health"), answer: answer{status: 400}},
		{name: "nginx, URI without method", method: "GET", path: "/auth", header: http.Header{"X-Original-Uri": {"/health"}}, answer: answer{status: 400}},
		{name: "nginx, URI twice", method: "GET", path: "/auth", header: http.Header{"X-Original-Method": {"GET"}, "X-Original-Uri": {"/health", "/api/orders"}}, answer: answer{status: 400}},
		{name: "nginx and Traefik headers: one pair is the client's", method: "GET", path: "/auth", token: "tok-reader",
			header: http.Header{"X-Original-Method": {"GET"}, "X-Original-Uri": {"/health"}, "X-Forwarded-Method": {"POST"}, "X-Forwarded-Uri": {"/api/orders"}}, answer: answer{status: 400}},
		{name: "a method alone", method: "GET", path: "/auth", header: http.Header{"X-Forwarded-Method": {"GET"}}, answer: answer{status: 400}},
		{name: "nginx, bad method", method: "GET", path: "/auth", header: nginx("GET /x", "/health"), answer: answer{status: 400}},
		{name: "traefik, write", method: "GET", path: "/", header: traefik("POST", "/api/orders"), token: "tok-writer", answer: answer{status: 200,
			identity: [3]string{"bob", "shop", "orders:read orders:write"}}},
		{name: "traefik, missing scope", method: "GET", path: "/", header: traefik("POST", "/api/orders"), token: "tok-reader", answer: answer{status: 403,
			challenge: `Bearer realm="orders", error="insufficient_scope", error_description="the access token lacks the required scope: orders:write", scope="orders:write"`}},
		{name: "envoy, the request itself", method: "POST", path: "/api/orders", token: "tok-writer", answer: answer{status: 200,
			identity: [3]string{"bob", "shop", "orders:read orders:write"}}},
		{name: "envoy, no token", method: "GET", path: "/api/orders", answer: answer{status: 401, challenge: `Bearer realm="orders"`}},
		{name: "forged identity is not echoed", method: "GET", path: "/auth", token: "tok-service",
			header: http.Header{"X-Original-Method": {"GET"}, "X-Original-Uri": {"/api/orders"}, "X-Auth-Subject": {"mallory"}}, answer: answer{status: 200,
				identity: [3]string{"", "batch", "orders:read"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, body := do(t, tt.method, srv.URL+tt.path, tt.token, tt.header)
			tt.check(t, res, body)
			if res.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q: a proxy must not cache a verdict", res.Header.Get("Cache-Control"))
			}
			tt.checkIdentity(t, res.Header)
		})
	}
}

func TestAuthOnlyAnswersTrustedProxiesOnly(t *testing.T) {
	srv := startAuth(t, "10.0.0.0/8")
	for _, h := range []http.Header{
		{"X-Original-Method": {"GET"}, "X-Original-Uri": {"/api/orders"}},
		{"X-Original-Method": {"GET"}, "X-Original-Uri": {"/health"}},
		nil,
	} {
		res, body := do(t, "GET", srv.URL+"/api/orders", "tok-writer", h)
		if res.StatusCode != http.StatusForbidden || res.Header.Get(proxy.HeaderSubject) != "" {
			t.Errorf("%v from an untrusted address: status %d, %v: %s", h, res.StatusCode, res.Header, body)
		}
	}
}
