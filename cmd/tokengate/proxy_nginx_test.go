//go:build unix

package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/testproc"
	"github.com/tokengate/tokengate/internal/testserver"
	"github.com/tokengate/tokengate/provider/providertest"
)

// pythonUpstream starts testdata/upstream.py, a service written in Python
// that echoes the identity headers it receives, and returns its URL.
func pythonUpstream(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		t.Fatalf("/usr/bin/python3 is needed for the upstream of the proxy tests (install Debian's python3): %v", err)
	}
	p, err := testproc.Start("upstream.py", exec.Command("/usr/bin/python3", "testdata/upstream.py", "0"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Signal(syscall.SIGTERM, 5*time.Second) })
	listening := regexp.MustCompile(`listening (\d+)`)
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := listening.FindStringSubmatch(p.Output()); m != nil {
			return "http://127.0.0.1:" + m[1]
		}
		if p.Exited() {
			break
		}
	}
	t.Fatalf("upstream.py did not start:\n%s", p.Output())
	return ""
}

// upstreamSaw is what upstream.py answers.
type upstreamSaw struct {
	Method        string              `json:"method"`
	Path          string              `json:"path"`
	Identity      map[string][]string `json:"identity"`
	Authorization bool                `json:"authorization"`
}

// call is one request through a proxy in front of upstream.py and what it
// must get.
type call struct {
	name, method, target, token string
	header                      string // raw header lines, each ending in \r\n
	status                      int
	challenge, retryAfter       string
	identity                    map[string][]string // at the upstream, for a 200
}

// run sends the request as raw bytes (so that header names keep the case
// and the repetitions given) and checks the answer.
func (c call) run(t *testing.T, base string) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	raw := c.method + " " + c.target + " HTTP/1.1\r\nHost: api.example.com\r\nConnection: close\r\n" + c.header
	if c.token != "" {
		raw += "Authorization: Bearer " + c.token + "\r\n"
	}
	if _, err := io.WriteString(conn, raw+"\r\n"); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: c.method})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != c.status {
		t.Fatalf("status %d, want %d: %s", res.StatusCode, c.status, body)
	}
	if got := res.Header.Values("WWW-Authenticate"); c.challenge == "" && len(got) > 0 || c.challenge != "" && (len(got) != 1 || got[0] != c.challenge) {
		t.Errorf("WWW-Authenticate %q, want %q", got, c.challenge)
	}
	if got := res.Header.Get("Retry-After"); got != c.retryAfter {
		t.Errorf("Retry-After %q, want %q", got, c.retryAfter)
	}
	if c.status != http.StatusOK {
		return
	}
	var saw upstreamSaw
	if err := json.Unmarshal(body, &saw); err != nil {
		t.Fatalf("not the upstream's answer: %s", body)
	}
	if len(body) != 1024 {
		t.Errorf("the upstream's answer is %d bytes, want 1024", len(body))
	}
	if saw.Method != c.method || saw.Path != c.target {
		t.Errorf("the upstream saw %s %s", saw.Method, saw.Path)
	}
	if fmt.Sprint(saw.Identity) != fmt.Sprint(c.identity) {
		t.Errorf("identity at the upstream:\n got %v\nwant %v", saw.Identity, c.identity)
	}
}

// proxyCalls are the calls every arrangement answers alike: as.token's
// tokens, routes for GET and POST /api/orders and a public /health.
func proxyCalls(t *testing.T, as ordersAS) []call {
	reader := as.token(t, "orders:read")
	forged := "X-Auth-Subject: mallory\r\nx-auth-subject: mallory2\r\nX-AUTH-CLIENT-ID: evil\r\nX-Auth-Scope: orders:write\r\nX-Auth-Scope: admin\r\nX-Auth_Subject: mallory3\r\n"
	readerIdentity := map[string][]string{"X-Auth-Subject": {as.app.ID}, "X-Auth-Client-Id": {as.app.ID}, "X-Auth-Scope": {"orders:read"}}
	return []call{
		{name: "allowed", method: "GET", target: "/api/orders?page=2", token: reader, status: 200, identity: readerIdentity},
		{name: "forged identity", method: "GET", target: "/api/orders", token: reader, header: forged, status: 200, identity: readerIdentity},
		{name: "public, forged identity", method: "GET", target: "/health", header: forged, status: 200, identity: map[string][]string{}},
		{name: "insufficient scope", method: "POST", target: "/api/orders", token: reader, status: 403,
			challenge: `Bearer realm="api", error="insufficient_scope", error_description="the access token lacks the required scope: orders:write", scope="orders:write"`},
		{name: "forged original URI", method: "POST", target: "/api/orders", token: reader, header: "X-Original-Method: GET\r\nX-Original-URI: /health\r\n", status: 403,
			challenge: `Bearer realm="api", error="insufficient_scope", error_description="the access token lacks the required scope: orders:write", scope="orders:write"`},
		{name: "no token", method: "GET", target: "/api/orders", status: 401, challenge: `Bearer realm="api"`},
		{name: "inactive token", method: "GET", target: "/api/orders", token: "not-a-token", status: 401,
			challenge: `Bearer realm="api", error="invalid_token", error_description="the access token is not active"`},
		{name: "malformed", method: "GET", target: "/api/orders", header: "Authorization: Bearer a b\r\n", status: 400,
			challenge: `Bearer realm="api", error="invalid_request", error_description="the access token is not a b64token"`},
		{name: "no route", method: "GET", target: "/admin", token: reader, status: 403},
	}
}

// TestProxyNginxAuthRequest: a real nginx, configured with the README's
// snippet (testdata/nginx-auth-request.conf), asks "tokengate proxy
// --auth-only" about each request to a Python service.
func TestProxyNginxAuthRequest(t *testing.T) {
	as := newOrdersAS(t)
	app := pythonUpstream(t)
	tg := startProxyCmd(t, nil, "--auth-only", "--trusted-proxy", "127.0.0.1", "--issuer", as.Issuer, "--client-id", as.api.ID, "--client-secret", as.api.Secret,
		"--route", "GET /api/orders orders:read", "--route", "POST /api/orders orders:write", "--public", "GET /health")
	tg.waitReady(t, http.StatusOK)
	snippet, err := os.ReadFile("testdata/nginx-auth-request.conf")
	if err != nil {
		t.Fatal(err)
	}
	n, err := testserver.StartNginx(func(port int) string {
		return strings.NewReplacer(
			"server 127.0.0.1:8000;", "server "+strings.TrimPrefix(tg.url, "http://")+";",
			"server 127.0.0.1:3000;", "server "+strings.TrimPrefix(app, "http://")+";",
			"listen 127.0.0.1:8080;", fmt.Sprintf("listen 127.0.0.1:%d;", port),
		).Replace(string(snippet))
	})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()

	for _, c := range proxyCalls(t, as) {
		t.Run(c.name, func(t *testing.T) {
			c.run(t, n.URL())
			if t.Failed() {
				t.Logf("nginx:\n%s", n.Output())
			}
		})
	}
	t.Run("authorization server down", func(t *testing.T) {
		as.Fail(providertest.Fault{Status: 503, RetryAfter: 9 * time.Second})
		defer as.Heal()
		call{method: "GET", target: "/api/orders", token: as.token(t, "orders:read"), status: 503, retryAfter: "9"}.run(t, n.URL())
	})
}

// TestProxyReversePython: "tokengate proxy" itself in front of the same
// Python service.
func TestProxyReversePython(t *testing.T) {
	as := newOrdersAS(t)
	app := pythonUpstream(t)
	tg := startProxyCmd(t, nil, "--upstream", app, "--issuer", as.Issuer, "--client-id", as.api.ID, "--client-secret", as.api.Secret,
		"--route", "GET /api/orders orders:read", "--route", "POST /api/orders orders:write", "--public", "GET /health")
	tg.waitReady(t, http.StatusOK)
	calls := append(proxyCalls(t, as), call{name: "other forged X-Auth-* headers", method: "GET", target: "/api/orders", token: as.token(t, "orders:read"),
		header: "X-Auth-Email: mallory@example.com\r\nx_auth_groups: admins\r\nConnection: X-Auth-Subject\r\n", status: 200,
		identity: map[string][]string{"X-Auth-Subject": {as.app.ID}, "X-Auth-Client-Id": {as.app.ID}, "X-Auth-Scope": {"orders:read"}}})
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) { c.run(t, tg.url) })
	}
	t.Run("authorization server down", func(t *testing.T) {
		as.Fail(providertest.Fault{Status: 503, RetryAfter: 9 * time.Second})
		defer as.Heal()
		call{method: "GET", target: "/api/orders", token: as.token(t, "orders:read"), status: 503, retryAfter: "9"}.run(t, tg.url)
	})
}

// TestREADMENginxSnippet: the README shows the configuration the test runs.
func TestREADMENginxSnippet(t *testing.T) {
	snippet, err := os.ReadFile("testdata/nginx-auth-request.conf")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "```nginx\n"+string(snippet)+"```\n") {
		t.Error("README.md does not show cmd/tokengate/testdata/nginx-auth-request.conf verbatim in an nginx code block")
	}
}
