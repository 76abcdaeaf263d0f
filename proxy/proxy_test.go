package proxy_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/introspect"
	"github.com/tokengate/tokengate/proxy"
	"github.com/tokengate/tokengate/rs"
	"github.com/tokengate/tokengate/rs/rstest"
	"github.com/tokengate/tokengate/scopes"
)

const audience = "https://api.example.com"

// tokens are the fake authorization server's answers.
func tokens() rstest.Introspector {
	exp := time.Now().Add(time.Hour)
	return rstest.Introspector{
		"tok-reader":  {Response: rstest.Active("alice", "shop", "orders:read", exp, audience)},
		"tok-writer":  {Response: rstest.Active("bob", "shop", "orders:read orders:write", exp, audience)},
		"tok-service": {Response: rstest.Active("", "batch", "orders:read", exp, audience)},
		"tok-noscope": {Response: rstest.Active("carol", "shop", "", exp, audience)},
		"tok-newline": {Response: rstest.Active("eve\r\nX-Auth-Scope: admin", "shop", "orders:read", exp, audience)},
		"tok-down":    {Err: &introspect.Error{StatusCode: 503, Code: "temporarily_unavailable", RetryAfter: 7 * time.Second}},
	}
}

func newGuard(t testing.TB) *rs.Guard {
	t.Helper()
	g, err := rs.New(rs.Config{Introspector: tokens(), Audiences: []string{audience}, Realm: "orders", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func routes(t testing.TB, specs ...string) []proxy.Route {
	t.Helper()
	var rts []proxy.Route
	for _, s := range specs {
		rt, err := proxy.ParseRoute(s)
		if err != nil {
			t.Fatal(err)
		}
		rts = append(rts, rt)
	}
	return rts
}

// seen is what the echo upstream received.
type seen struct {
	Method, Path, RawQuery string
	Header                 http.Header
}

// echoUpstream answers every request with what it received, as JSON.
func echoUpstream(t testing.TB) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(seen{Method: r.Method, Path: r.URL.EscapedPath(), RawQuery: r.URL.RawQuery, Header: r.Header})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// startProxy serves a reverse Proxy to upstream with the orders routes.
func startProxy(t testing.TB, upstream string, change func(*proxy.Config)) *httptest.Server {
	t.Helper()
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	cfg := proxy.Config{
		Guard:    newGuard(t),
		Routes:   routes(t, "GET /api/orders orders:read", "POST /api/orders orders:write", "GET /api/orders/{id} orders:read", "/api/profile"),
		Upstream: u,
		Logger:   slog.New(slog.DiscardHandler),
	}
	cfg.Routes = append(cfg.Routes, proxy.Route{Pattern: "GET /health", Public: true})
	if change != nil {
		change(&cfg)
	}
	p, err := proxy.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return srv
}

// do sends a request and returns the response and its body.
func do(t testing.TB, method, url, token string, header http.Header) (*http.Response, string) {
	t.Helper()
	res := send(t, method, url, token, header)
	return res, readBody(t, res)
}

// send sends a request and returns the response, whose body the caller
// reads and closes.
func send(t testing.TB, method, url, token string, header http.Header) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func readBody(t testing.TB, res *http.Response) string {
	t.Helper()
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

// answer is what a test expects of a refusal or a pass.
type answer struct {
	status                int
	challenge, retryAfter string    // WWW-Authenticate and Retry-After, "" for none
	identity              [3]string // subject, client id, scope
}

// check checks the status and the challenge of res.
func (a answer) check(t *testing.T, res *http.Response, body string) {
	t.Helper()
	if res.StatusCode != a.status {
		t.Fatalf("status %d, want %d: %s", res.StatusCode, a.status, body)
	}
	if got := res.Header.Get("WWW-Authenticate"); got != a.challenge {
		t.Errorf("WWW-Authenticate %q, want %q", got, a.challenge)
	}
	if got := res.Header.Get("Retry-After"); got != a.retryAfter {
		t.Errorf("Retry-After %q, want %q", got, a.retryAfter)
	}
}

// checkIdentity checks the identity headers of h, a request's at the
// upstream or a forward-auth answer's: exactly once each, or absent for "".
func (a answer) checkIdentity(t *testing.T, h http.Header) {
	t.Helper()
	for i, name := range []string{proxy.HeaderSubject, proxy.HeaderClientID, proxy.HeaderScope} {
		got := h.Values(name)
		if a.identity[i] == "" && len(got) != 0 || a.identity[i] != "" && !slices.Equal(got, []string{a.identity[i]}) {
			t.Errorf("%s = %q, want %q", name, got, a.identity[i])
		}
	}
}

func TestReverseProxy(t *testing.T) {
	up := echoUpstream(t)
	srv := startProxy(t, up.URL, nil)
	tests := []struct {
		name, method, path, token string
		answer
	}{
		{name: "read", method: "GET", path: "/api/orders?page=2", token: "tok-reader", answer: answer{status: 200, identity: [3]string{"alice", "shop", "orders:read"}}},
		{name: "HEAD as GET", method: "HEAD", path: "/api/orders", token: "tok-reader", answer: answer{status: 200}},
		{name: "wildcard", method: "GET", path: "/api/orders/42", token: "tok-reader", answer: answer{status: 200, identity: [3]string{"alice", "shop", "orders:read"}}},
		{name: "write", method: "POST", path: "/api/orders", token: "tok-writer", answer: answer{status: 200, identity: [3]string{"bob", "shop", "orders:read orders:write"}}},
		{name: "any valid token", method: "PUT", path: "/api/profile", token: "tok-reader", answer: answer{status: 200, identity: [3]string{"alice", "shop", "orders:read"}}},
		{name: "no subject", method: "GET", path: "/api/orders", token: "tok-service", answer: answer{status: 200, identity: [3]string{"", "batch", "orders:read"}}},
		{name: "missing scope", method: "POST", path: "/api/orders", token: "tok-reader", answer: answer{status: 403,
			challenge: `Bearer realm="orders", error="insufficient_scope", error_description="the access token lacks the required scope: orders:write", scope="orders:write"`}},
		{name: "no token", method: "GET", path: "/api/orders", answer: answer{status: 401, challenge: `Bearer realm="orders"`}},
		{name: "inactive token", method: "GET", path: "/api/orders", token: "tok-unknown", answer: answer{status: 401,
			challenge: `Bearer realm="orders", error="invalid_token", error_description="the access token is not active"`}},
		{name: "authorization server down", method: "GET", path: "/api/orders", token: "tok-down", answer: answer{status: 503, retryAfter: "7"}},
		{name: "identity not sendable", method: "GET", path: "/api/orders", token: "tok-newline", answer: answer{status: 500}},
		{name: "no route", method: "GET", path: "/admin", token: "tok-writer", answer: answer{status: 403}},
		{name: "no route, method", method: "DELETE", path: "/api/orders", token: "tok-writer", answer: answer{status: 403}},
		{name: "no route, no token", method: "GET", path: "/admin", answer: answer{status: 403}},
		{name: "public", method: "GET", path: "/health", answer: answer{status: 200}},
		{name: "dot-dot", method: "GET", path: "/health/../api/orders", answer: answer{status: 400}},
		{name: "escaped dot-dot", method: "GET", path: "/health/%2e%2e/admin", answer: answer{status: 400}},
		{name: "double slash", method: "GET", path: "/api//orders", token: "tok-reader", answer: answer{status: 400}},
		{name: "escaped slash", method: "GET", path: "/api/orders%2F42", token: "tok-reader", answer: answer{status: 400}},
		{name: "backslash", method: "GET", path: "/health/..%5Cadmin", answer: answer{status: 400}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, body := doRaw(t, srv.URL, tt.method, tt.path, tt.token)
			tt.check(t, res, body)
			if tt.status != 200 || tt.method == "HEAD" {
				if strings.Contains(body, `"Method"`) {
					t.Errorf("the upstream was reached: %s", body)
				}
				return
			}
			var s seen
			if err := json.Unmarshal([]byte(body), &s); err != nil {
				t.Fatalf("the upstream was not reached: %v %s", res.Header, body)
			}
			wantPath, wantQuery, _ := strings.Cut(tt.path, "?")
			if s.Method != tt.method || s.Path != wantPath || s.RawQuery != wantQuery {
				t.Errorf("upstream got %s %s?%s, want %s %s", s.Method, s.Path, s.RawQuery, tt.method, tt.path)
			}
			tt.checkIdentity(t, s.Header)
			if got := s.Header.Get("Authorization"); tt.token != "" && got != "Bearer "+tt.token {
				t.Errorf("Authorization at the upstream %q, want it kept", got)
			}
			if s.Header.Get("X-Forwarded-For") != "127.0.0.1" {
				t.Errorf("X-Forwarded-For %q", s.Header.Get("X-Forwarded-For"))
			}
		})
	}
}

// doRaw sends a request whose target is written as given, without the
// cleaning an http.Client would do.
func doRaw(t testing.TB, base, method, target, token string) (*http.Response, string) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: api.example.com\r\nConnection: close\r\n", method, target)
	if token != "" {
		fmt.Fprintf(&b, "Authorization: Bearer %s\r\n", token)
	}
	if method == "POST" || method == "PUT" {
		b.WriteString("Content-Length: 2\r\n\r\n{}")
	} else {
		b.WriteString("\r\n")
	}
	return rawRequest(t, base, method, b.String())
}

// rawRequest writes raw to the server at base and reads one response.
func rawRequest(t testing.TB, base, method, raw string) (*http.Response, string) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, raw); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	if err != nil {
		t.Fatal(err)
	}
	return res, readBody(t, res)
}

// TestNoSpoofedIdentity sends identity headers as a caller would forge them,
// in every spelling, twice, and named in Connection: the upstream must get
// only the proxy's, once each, or none on a public route.
func TestNoSpoofedIdentity(t *testing.T) {
	up := echoUpstream(t)
	srv := startProxy(t, up.URL, nil)
	forged := "X-Auth-Subject: mallory\r\n" +
		"x-auth-subject: mallory2\r\n" +
		"X-AUTH-CLIENT-ID: evil\r\n" +
		"X-Auth-Client-Id: evil2\r\n" +
		"X-Auth-Scope: admin\r\n" +
		"X-Auth-Scope: orders:write\r\n" +
		"X-Auth_Subject: mallory3\r\n" +
		"x_auth_scope: admin\r\n" +
		"X-Auth-Email: mallory@example.com\r\n" +
		"X-Auth-Groups: admins\r\n"
	tests := []struct {
		name, target, token, extra string
		want                       map[string]string // the X-Auth-* headers the upstream may get
	}{
		{name: "protected", target: "/api/orders", token: "tok-reader",
			want: map[string]string{proxy.HeaderSubject: "alice", proxy.HeaderClientID: "shop", proxy.HeaderScope: "orders:read"}},
		{name: "no subject to replace", target: "/api/orders", token: "tok-service",
			want: map[string]string{proxy.HeaderClientID: "batch", proxy.HeaderScope: "orders:read"}},
		{name: "named in Connection", target: "/api/orders", token: "tok-reader", extra: "Connection: X-Auth-Subject, X-Auth-Scope\r\n",
			want: map[string]string{proxy.HeaderSubject: "alice", proxy.HeaderClientID: "shop", proxy.HeaderScope: "orders:read"}},
		{name: "public", target: "/health", want: map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := "GET " + tt.target + " HTTP/1.1\r\nHost: api.example.com\r\n" + forged + tt.extra
			if tt.token != "" {
				raw += "Authorization: Bearer " + tt.token + "\r\n"
			}
			res, body := rawRequest(t, srv.URL, "GET", raw+"\r\n")
			if res.StatusCode != 200 {
				t.Fatalf("status %d: %s", res.StatusCode, body)
			}
			var s seen
			if err := json.Unmarshal([]byte(body), &s); err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for name, values := range s.Header {
				if n := strings.ToLower(strings.ReplaceAll(name, "_", "-")); strings.HasPrefix(n, "x-auth") {
					if len(values) != 1 {
						t.Errorf("%s arrived %d times: %q", name, len(values), values)
					}
					got[name] = strings.Join(values, ", ")
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("identity headers at the upstream:\n got %v\nwant %v", got, tt.want)
			}
		})
	}
}

func TestStripAuthorization(t *testing.T) {
	up := echoUpstream(t)
	srv := startProxy(t, up.URL, func(c *proxy.Config) { c.StripAuthorization = true })
	res, body := do(t, "GET", srv.URL+"/api/orders", "tok-reader", nil)
	var s seen
	if err := json.Unmarshal([]byte(body), &s); err != nil || res.StatusCode != 200 {
		t.Fatalf("status %d, %v: %s", res.StatusCode, err, body)
	}
	if v, ok := s.Header["Authorization"]; ok {
		t.Errorf("Authorization reached the upstream: %q", v)
	}
	if s.Header.Get(proxy.HeaderSubject) != "alice" {
		t.Errorf("no identity: %v", s.Header)
	}
}

func TestDefaultAllow(t *testing.T) {
	up := echoUpstream(t)
	srv := startProxy(t, up.URL, func(c *proxy.Config) { c.DefaultAllow = true })
	for _, tt := range []struct {
		name, method, path, token string
		status                    int
	}{
		{"unrouted, valid token", "GET", "/anything", "tok-reader", 200},
		{"unrouted, no token", "GET", "/anything", "", 401},
		{"unrouted, bad token", "GET", "/anything", "tok-unknown", 401},
		{"routes still apply", "POST", "/api/orders", "tok-reader", 403},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if res, body := do(t, tt.method, srv.URL+tt.path, tt.token, nil); res.StatusCode != tt.status {
				t.Errorf("status %d, want %d: %s", res.StatusCode, tt.status, body)
			}
		})
	}
}

func TestUpstreamFailures(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(release)
	for _, tt := range []struct {
		name, upstream string
		status         int
	}{
		{"refused", closed, http.StatusBadGateway},
		{"too slow", slow.URL, http.StatusGatewayTimeout},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := startProxy(t, tt.upstream, func(c *proxy.Config) { c.UpstreamTimeout = 200 * time.Millisecond })
			if res, body := do(t, "GET", srv.URL+"/api/orders", "tok-reader", nil); res.StatusCode != tt.status {
				t.Errorf("status %d, want %d: %s", res.StatusCode, tt.status, body)
			}
		})
	}
}

func TestParseRoute(t *testing.T) {
	for _, tt := range []struct {
		in, pattern, require, err string
	}{
		{in: "GET /api/orders orders:read", pattern: "GET /api/orders", require: "orders:read"},
		{in: "  POST   /api/orders  orders:write audit ", pattern: "POST /api/orders", require: "orders:write audit"},
		{in: "/api/profile", pattern: "/api/profile"},
		{in: "/static/ files:read", pattern: "/static/", require: "files:read"},
		{in: "GET /api/orders/{id} orders:read", pattern: "GET /api/orders/{id}", require: "orders:read"},
		{in: "", err: "empty route"},
		{in: "GET", err: "want METHOD /path"},
		{in: "GET api.example.com/orders", err: "a route names no host"},
		{in: "GET /api/{id", err: "bad wildcard segment"},
		{in: `GET /api/orders orders"read`, err: "invalid scope"},
	} {
		t.Run(tt.in, func(t *testing.T) {
			rt, err := proxy.ParseRoute(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if rt.Pattern != tt.pattern || rt.Require.String() != tt.require || rt.Public {
				t.Errorf("got %q requiring %q (public %v)", rt.Pattern, rt.Require, rt.Public)
			}
		})
	}
}

func TestNewRefuses(t *testing.T) {
	g := newGuard(t)
	up, _ := url.Parse("http://127.0.0.1:9")
	loop := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	rts := []proxy.Route{{Pattern: "GET /a"}}
	for _, tt := range []struct {
		name string
		cfg  proxy.Config
		err  string
	}{
		{"no guard", proxy.Config{Routes: rts, Upstream: up}, "Guard is required"},
		{"no routes", proxy.Config{Guard: g, Upstream: up}, "Routes is empty"},
		{"no upstream", proxy.Config{Guard: g, Routes: rts}, "Upstream is required"},
		{"both modes", proxy.Config{Guard: g, Routes: rts, Upstream: up, AuthOnly: true, TrustedProxies: loop}, "leave Upstream unset"},
		{"auth without proxies", proxy.Config{Guard: g, Routes: rts, AuthOnly: true}, "TrustedProxies is required"},
		{"proxies without auth", proxy.Config{Guard: g, Routes: rts, Upstream: up, TrustedProxies: loop}, "only used with AuthOnly"},
		{"upstream scheme", proxy.Config{Guard: g, Routes: rts, Upstream: &url.URL{Scheme: "ftp", Host: "x"}}, "want an http or https URL"},
		{"upstream user", proxy.Config{Guard: g, Routes: rts, Upstream: &url.URL{Scheme: "http", Host: "x", User: url.UserPassword("u", "p")}}, "want an http or https URL"},
		{"negative", proxy.Config{Guard: g, Routes: rts, Upstream: up, IdleTimeout: -1}, "must not be negative"},
		{"public with scopes", proxy.Config{Guard: g, Routes: []proxy.Route{{Pattern: "/a", Public: true, Require: scopes.All("x")}}, Upstream: up}, "public and requires scopes"},
		{"conflict", proxy.Config{Guard: g, Routes: []proxy.Route{{Pattern: "GET /a/{x}"}, {Pattern: "GET /a/{y}"}}, Upstream: up}, "matches the same requests"},
		{"host", proxy.Config{Guard: g, Routes: []proxy.Route{{Pattern: "example.com/a"}}, Upstream: up}, "names no host"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := proxy.New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("err %v, want %q", err, tt.err)
			}
			if err != nil && strings.Contains(err.Error(), "registered at") {
				t.Errorf("err %v names a file of this package", err)
			}
		})
	}
}
