package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tokengate/tokengate/provider"
	"github.com/tokengate/tokengate/provider/providertest"
	"github.com/tokengate/tokengate/provider/store"
)

// proxyRun is a "tokengate proxy" running in-process.
type proxyRun struct {
	url, healthURL string
	logs           *syncBuffer
	done           chan int
	cancel         context.CancelFunc
}

// startProxyCmd runs "tokengate proxy" with args and the environment vars
// and waits until it listens (on 127.0.0.1:0, with its health endpoints on
// another free port).
func startProxyCmd(t *testing.T, vars map[string]string, args ...string) *proxyRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	p := &proxyRun{logs: &syncBuffer{}, done: make(chan int, 1), cancel: cancel}
	e := &env{stdin: strings.NewReader(""), stdout: p.logs, stderr: pw, getenv: func(k string) string { return vars[k] },
		httpClient: &http.Client{Timeout: 10 * time.Second}}
	go func() {
		code := run(ctx, e, append([]string{"proxy", "--listen", "127.0.0.1:0", "--health-listen", "127.0.0.1:0", "--log-format", "json"}, args...))
		pw.Close()
		p.done <- code
	}()
	listening := make(chan map[string]any, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			p.logs.Write([]byte(sc.Text() + "\n"))
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil && m["msg"] == "tokengate proxy: listening" {
				listening <- m
			}
		}
		io.Copy(io.Discard, pr)
	}()
	t.Cleanup(func() { p.stop(t) })
	select {
	case m := <-listening:
		p.url, p.healthURL = "http://"+m["addr"].(string), "http://"+m["health_addr"].(string)
	case code := <-p.done:
		p.done <- code
		t.Fatalf("proxy exited with %d before listening:\n%s", code, p.logs)
	}
	return p
}

// stop stops the proxy and returns its exit code.
func (p *proxyRun) stop(t *testing.T) int {
	p.cancel()
	select {
	case code := <-p.done:
		p.done <- code
		return code
	case <-time.After(20 * time.Second):
		t.Fatalf("the proxy did not stop:\n%s", p.logs)
		return -1
	}
}

// waitReady polls /readyz until it answers want.
func (p *proxyRun) waitReady(t *testing.T, want int) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, body := get(t, p.healthURL+"/readyz", "")
		if res.StatusCode == want {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz answers %d %q, want %d\n%s", res.StatusCode, body, want, p.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// get sends a GET with a bearer token (none for "") and returns the
// response and its body.
func get(t testing.TB, url, token string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res, string(body)
}

// identityEcho is an upstream that answers with the identity headers it got.
func identityEcho(t testing.TB) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s sub=%q client=%q scope=%q", r.Method, r.URL.Path,
			r.Header.Values("X-Auth-Subject"), r.Header.Values("X-Auth-Client-Id"), r.Header.Values("X-Auth-Scope"))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// ordersAS is an authorization server with an orders API (which may
// introspect) and a client app whose tokens grant orders:read.
type ordersAS struct {
	*providertest.Server
	api, app providertest.Client
}

func newOrdersAS(t *testing.T) ordersAS {
	as := providertest.New(t)
	return ordersAS{
		Server: as,
		api:    as.RegisterClient(provider.ClientSpec{Introspection: store.IntrospectAny}),
		app:    as.RegisterClient(provider.ClientSpec{Scopes: []string{"orders:read", "orders:write"}}),
	}
}

func (as ordersAS) token(t *testing.T, scopes ...string) string {
	return as.Mint(providertest.Token{Client: as.app, Scopes: scopes})
}

func TestProxyCommand(t *testing.T) {
	as := newOrdersAS(t)
	up := identityEcho(t)
	// The credentials from the environment, the rest from flags.
	vars := map[string]string{"TOKENGATE_CLIENT_ID": as.api.ID, "TOKENGATE_CLIENT_SECRET": as.api.Secret}
	p := startProxyCmd(t, vars, "--issuer", as.Issuer, "--upstream", up.URL,
		"--route", "GET /api/orders orders:read", "--route", "POST /api/orders orders:write", "--public", "GET /health", "--realm", "orders")
	p.waitReady(t, http.StatusOK)
	reader := as.token(t, "orders:read")

	res, body := get(t, p.url+"/api/orders", reader)
	if want := fmt.Sprintf(`GET /api/orders sub=[%q] client=[%[1]q] scope=["orders:read"]`, as.app.ID); res.StatusCode != 200 || body != want {
		t.Errorf("GET: %d %q, want %q", res.StatusCode, body, want)
	}
	req, _ := http.NewRequest("POST", p.url+"/api/orders", nil)
	req.Header.Set("Authorization", "Bearer "+reader)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if want := `Bearer realm="orders", error="insufficient_scope", error_description="the access token lacks the required scope: orders:write", scope="orders:write"`; res.StatusCode != 403 || res.Header.Get("WWW-Authenticate") != want {
		t.Errorf("POST with orders:read: %d %q", res.StatusCode, res.Header.Get("WWW-Authenticate"))
	}
	if res, _ := get(t, p.url+"/api/orders", ""); res.StatusCode != 401 || res.Header.Get("WWW-Authenticate") != `Bearer realm="orders"` {
		t.Errorf("no token: %d %q", res.StatusCode, res.Header.Get("WWW-Authenticate"))
	}
	if res, body := get(t, p.url+"/health", ""); res.StatusCode != 200 || !strings.HasPrefix(body, "GET /health sub=[]") {
		t.Errorf("public: %d %q", res.StatusCode, body)
	}
	if res, _ := get(t, p.url+"/admin", reader); res.StatusCode != 403 {
		t.Errorf("no route: %d", res.StatusCode)
	}
	if res, body := get(t, p.healthURL+"/healthz", ""); res.StatusCode != 200 || body != "ok\n" {
		t.Errorf("/healthz: %d %q", res.StatusCode, body)
	}

	// The authorization server goes down: a new token is 503 with its
	// Retry-After, the circuit opens, and /readyz says so until it is back.
	as.Fail(providertest.Fault{Status: 503, RetryAfter: 4 * time.Second})
	for i := range 6 {
		res, _ := get(t, p.url+"/api/orders", as.token(t, "orders:read"))
		if res.StatusCode != 503 || res.Header.Get("Retry-After") == "" {
			t.Fatalf("request %d with the authorization server down: %d, Retry-After %q", i, res.StatusCode, res.Header.Get("Retry-After"))
		}
	}
	if body := p.waitReady(t, http.StatusServiceUnavailable); !strings.Contains(body, "circuit breaker") {
		t.Errorf("/readyz with the circuit open: %q", body)
	}
	if res, _ := get(t, p.url+"/api/orders", reader); res.StatusCode != 200 {
		t.Errorf("a cached verdict while the authorization server is down: %d", res.StatusCode)
	}
	as.Heal()
	p.waitReady(t, http.StatusOK)

	if code := p.stop(t); code != exitOK {
		t.Fatalf("exit code %d after cancel:\n%s", code, p.logs)
	}
	logs := p.logs.String()
	if !strings.Contains(logs, `"msg":"tokengate proxy: stopped"`) {
		t.Errorf("no clean stop:\n%s", logs)
	}
	assertNoSecrets(t, "proxy logs", logs, as.api.Secret, reader)
}

func TestProxyStartupCheck(t *testing.T) {
	t.Run("wrong secret stops the command", func(t *testing.T) {
		as := newOrdersAS(t)
		p := startProxyCmd(t, nil, "--issuer", as.Issuer, "--client-id", as.api.ID, "--client-secret", "wrong", "--upstream", "http://127.0.0.1:9", "--route", "/api/")
		select {
		case code := <-p.done:
			p.done <- code
			if code != exitAS || !strings.Contains(p.logs.String(), "the start-up check of the authorization server failed") {
				t.Errorf("exit %d:\n%s", code, p.logs)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("still running:\n%s", p.logs)
		}
	})
	t.Run("unavailable: not ready until it answers", func(t *testing.T) {
		as := newOrdersAS(t)
		as.Fail(providertest.Fault{Status: 503})
		p := startProxyCmd(t, nil, "--issuer", as.Issuer, "--client-id", as.api.ID, "--client-secret", as.api.Secret, "--upstream", "http://127.0.0.1:9", "--route", "/api/")
		if body := p.waitReady(t, http.StatusServiceUnavailable); !strings.Contains(body, "start-up check") {
			t.Errorf("/readyz: %q", body)
		}
		as.Heal()
		p.waitReady(t, http.StatusOK)
	})
}

func TestProxyConfigFile(t *testing.T) {
	as := newOrdersAS(t)
	up := identityEcho(t)
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	good := write("proxy.json", fmt.Sprintf(`{
		"issuer": %q, "client-id": %q, "client-secret": %q,
		"upstream": "http://127.0.0.1:9",
		"route": ["GET /api/orders orders:read", "POST /api/orders orders:write"],
		"public": "GET /health",
		"strip-authorization": true,
		"idle-timeout": "90s"
	}`, as.Issuer, as.api.ID, as.api.Secret))
	// The command line wins over the file: the upstream is the echo.
	p := startProxyCmd(t, nil, "--config", good, "--upstream", up.URL)
	p.waitReady(t, http.StatusOK)
	if res, body := get(t, p.url+"/api/orders", as.token(t, "orders:read")); res.StatusCode != 200 || !strings.Contains(body, `scope=["orders:read"]`) {
		t.Errorf("route from the file: %d %q", res.StatusCode, body)
	}
	if res, _ := get(t, p.url+"/health", ""); res.StatusCode != 200 {
		t.Errorf("public route from the file: %d", res.StatusCode)
	}

	for _, tt := range []struct {
		name, content, want string
	}{
		{"unknown setting", `{"upstrem": "http://x"}`, `unknown setting "upstrem"; did you mean "upstream"?`},
		{"twice", `{"upstream": "http://x", "upstream": "http://y"}`, "duplicate member name"},
		{"not an object", `["upstream"]`, "want one JSON object"},
		{"list for one value", `{"upstream": ["http://x", "http://y"]}`, `"upstream": takes one value`},
		{"object value", `{"route": {"GET": "/"}}`, "want a string, a number, a boolean or a list of strings"},
		{"bad duration", `{"idle-timeout": "-1s"}`, "must not be negative"},
		{"itself", `{"config": "other.json"}`, `unknown setting "config"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, "", nil, "proxy", "--config", write(tt.name+".json", tt.content))
			r.check(t, exitUsage, "", tt.want)
		})
	}
}

func TestProxyUsage(t *testing.T) {
	const as = "https://as.example.com"
	creds := map[string]string{"TOKENGATE_ISSUER": as, "TOKENGATE_CLIENT_ID": "api", "TOKENGATE_CLIENT_SECRET": "s"}
	for _, tt := range []struct {
		name string
		vars map[string]string
		args []string
		want string
	}{
		{"no upstream", creds, []string{"--route", "/a"}, "give --upstream URL"},
		{"both modes", creds, []string{"--auth-only", "--upstream", "http://x", "--route", "/a", "--trusted-proxy", "127.0.0.1"}, "give --auth-only or --upstream, not both"},
		{"auth-only without proxies", creds, []string{"--auth-only", "--route", "/a"}, "--auth-only needs --trusted-proxy"},
		{"proxies without auth-only", creds, []string{"--upstream", "http://x", "--route", "/a", "--trusted-proxy", "10.0.0.0/8"}, "--trusted-proxy only applies to --auth-only"},
		{"bad proxy", creds, []string{"--auth-only", "--route", "/a", "--trusted-proxy", "nginx"}, `--trusted-proxy "nginx": want an address or a CIDR`},
		{"no route", creds, []string{"--upstream", "http://x"}, "give at least one --route"},
		{"bad route", creds, []string{"--upstream", "http://x", "--route", "GET api/orders x"}, "the path must start with /"},
		{"bad upstream", creds, []string{"--upstream", "ftp://x", "--route", "/a"}, `--upstream "ftp://x": want an http or https URL`},
		{"no authorization server", nil, []string{"--upstream", "http://x", "--route", "/a"}, "set --issuer (the endpoint is discovered) or --introspection-url"},
		{"flag named in envconfig's message", creds, []string{"--upstream", "http://x", "--route", "/a", "--jwt-access-tokens", "local"},
			"--jwt-access-tokens=local needs --audience"},
		{"variable named in envconfig's message", map[string]string{"TOKENGATE_ISSUER": as, "TOKENGATE_JWT_ACCESS_TOKENS": "local"}, []string{"--upstream", "http://x", "--route", "/a"},
			"TOKENGATE_JWT_ACCESS_TOKENS=local needs --audience"},
		{"conflicting routes", creds, []string{"--upstream", "http://x", "--route", "GET /a/{x}", "--route", "GET /a/{y}"}, "matches the same requests"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, "", tt.vars, append([]string{"proxy", "--listen", "127.0.0.1:0"}, tt.args...)...)
			r.check(t, exitUsage, "", tt.want)
		})
	}
	r := runCLI(t, "", nil, "proxy", "-h")
	r.check(t, exitOK, "--trusted-proxy CIDR", "")
}

// TestProxyResourceMetadata: with --resource, the proxy serves the RFC 9728
// document itself, and its challenges name it.
func TestProxyResourceMetadata(t *testing.T) {
	as := newOrdersAS(t)
	p := startProxyCmd(t, nil, "--issuer", as.Issuer, "--client-id", as.api.ID, "--client-secret", as.api.Secret,
		"--upstream", "http://127.0.0.1:9", "--route", "GET /api/orders orders:read", "--resource", "https://api.example.com")
	res, body := get(t, p.url+"/.well-known/oauth-protected-resource", "")
	var md map[string]any
	if err := json.Unmarshal([]byte(body), &md); err != nil || res.StatusCode != 200 || md["resource"] != "https://api.example.com" {
		t.Errorf("metadata: %d %q", res.StatusCode, body)
	}
	res, _ = get(t, p.url+"/api/orders", "")
	if want := `Bearer realm="api", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource"`; res.Header.Get("WWW-Authenticate") != want {
		t.Errorf("challenge %q, want %q", res.Header.Get("WWW-Authenticate"), want)
	}
}

// TestProxyProcessGracefulShutdown runs "tokengate proxy" as its own
// process and sends it SIGTERM while a streamed response is in flight: the
// response must finish, and the process exit 0.
func TestProxyProcessGracefulShutdown(t *testing.T) {
	as := newOrdersAS(t)
	started, release := make(chan struct{}), make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "first half, ")
		http.NewResponseController(w).Flush()
		close(started)
		<-release
		io.WriteString(w, "second half")
	}))
	defer up.Close()
	p, listening := startProcess(t, []string{"TOKENGATE_CLIENT_ID=" + as.api.ID, "TOKENGATE_CLIENT_SECRET=" + as.api.Secret}, "tokengate proxy: listening",
		"proxy", "--listen", "127.0.0.1:0", "--log-format", "json", "--issuer", as.Issuer, "--upstream", up.URL, "--route", "GET /api/orders orders:read")
	addr, _ := listening["addr"].(string)
	req, _ := http.NewRequest("GET", "http://"+addr+"/api/orders", nil)
	req.Header.Set("Authorization", "Bearer "+as.token(t, "orders:read"))
	got := make(chan string, 1)
	go func() {
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			got <- err.Error()
			return
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		got <- fmt.Sprint(string(body), err)
	}()
	<-started
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // the signal arrives while the response is in flight
	close(release)
	if body := <-got; body != "first half, second half<nil>" {
		t.Errorf("the response in flight got %q", body)
	}
	if logs, err := p.wait(); err != nil || !strings.Contains(logs, `"msg":"tokengate proxy: stopped"`) {
		t.Errorf("exit %v:\n%s", err, logs)
	}
}
