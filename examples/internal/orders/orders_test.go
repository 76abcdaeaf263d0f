package orders_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/tokengate/tokengate/examples/internal/orders"
	"github.com/tokengate/tokengate/internal/envconfig"
	"github.com/tokengate/tokengate/internal/httpserver"
	"github.com/tokengate/tokengate/middleware/nethttp"
	"github.com/tokengate/tokengate/rs"
)

func TestMainExitCodes(t *testing.T) {
	as := newFakeAS(t)
	tests := []struct {
		name     string
		env      map[string]string
		stopped  bool // Main's context is done before it starts
		wantCode int
		wantOut  []string
	}{
		{name: "empty environment", env: map[string]string{}, stopped: true, wantCode: 2, wantOut: []string{"demo example: configuration error", "TOKENGATE_ISSUER"}},
		{name: "contradictory", env: map[string]string{"TOKENGATE_ISSUER": "https://a", "TOKENGATE_INTROSPECTION_URL": "https://b", "TOKENGATE_BEARER_TOKEN": "t"}, stopped: true, wantCode: 2, wantOut: []string{"only one of"}},
		{
			// Stopped while starting: a clean exit, after logging the skipped
			// audience check.
			name:    "valid, no audience, stopped at once",
			env:     map[string]string{"TOKENGATE_INTROSPECTION_URL": as.URL + "/introspect", "TOKENGATE_CLIENT_ID": "api", "TOKENGATE_CLIENT_SECRET": "s3cret", "ADDR": "127.0.0.1:0"},
			stopped: true, wantCode: 0, wantOut: []string{"audience check is skipped"},
		},
		{
			// Fail fast: the start-up check finds what a first request would.
			name:     "the AS refuses our credentials",
			env:      map[string]string{"TOKENGATE_INTROSPECTION_URL": as.URL + "/introspect", "TOKENGATE_CLIENT_ID": "api", "TOKENGATE_CLIENT_SECRET": "wrong", "ADDR": "127.0.0.1:0"},
			wantCode: 1, wantOut: []string{"demo example: the start-up check of the authorization server failed", "401"},
		},
		{
			name:     "the AS is not there",
			env:      map[string]string{"TOKENGATE_INTROSPECTION_URL": "http://127.0.0.1:1/introspect", "TOKENGATE_BEARER_TOKEN": "t", "ADDR": "127.0.0.1:0"},
			wantCode: 1, wantOut: []string{"demo example: the start-up check of the authorization server failed", "127.0.0.1:1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.stopped {
				cancel()
			}
			var out bytes.Buffer
			built := false
			code := orders.Main(ctx, "demo", func(k string) string { return tt.env[k] }, &out, func(*rs.Guard) http.Handler {
				built = true
				return http.NotFoundHandler()
			})
			if code != tt.wantCode || built {
				t.Errorf("exit code %d, want %d; handler built: %v; output:\n%s", code, tt.wantCode, built, &out)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output does not mention %q:\n%s", w, &out)
				}
			}
		})
	}
}

// fakeAS is an RFC 7662 authorization server on loopback with discovery,
// a JWK Set and, when asked for with Accept, RFC 9701 signed answers.
type fakeAS struct {
	*httptest.Server
	key *rsa.PrivateKey
}

func newFakeAS(t *testing.T) *fakeAS {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	as := &fakeAS{key: key}
	as.Server = httptest.NewServer(http.HandlerFunc(as.serve))
	t.Cleanup(as.Close)
	return as
}

func (as *fakeAS) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/.well-known/oauth-authorization-server":
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": as.URL, "introspection_endpoint": as.URL + "/introspect", "jwks_uri": as.URL + "/jwks"})
		return
	case "/jwks":
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &as.key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
		return
	case "/introspect":
	default:
		http.NotFound(w, r)
		return
	}
	id, secret, ok := r.BasicAuth()
	if r.Method != "POST" || !ok || id != "api" || secret != "s3cret" {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	answer := map[string]any{"active": false}
	exp := time.Now().Add(time.Hour).Unix()
	switch r.PostFormValue("token") {
	case "good":
		answer = map[string]any{"active": true, "sub": "alice", "client_id": "cli", "scope": "orders:read", "aud": "https://api.example.com", "exp": exp}
	case "elsewhere":
		answer = map[string]any{"active": true, "sub": "alice", "client_id": "cli", "scope": "orders:read", "aud": "https://other.example.com", "exp": exp}
	}
	if !strings.Contains(r.Header.Get("Accept"), "application/token-introspection+jwt") {
		_ = json.NewEncoder(w).Encode(answer)
		return
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: as.key},
		(&jose.SignerOptions{}).WithType("token-introspection+jwt").WithHeader("kid", "k1"))
	if err != nil {
		panic(err)
	}
	payload, _ := json.Marshal(map[string]any{"iss": as.URL, "aud": "api", "iat": time.Now().Unix(), "token_introspection": answer})
	jws, err := signer.Sign(payload)
	if err != nil {
		panic(err)
	}
	compact, _ := jws.CompactSerialize()
	w.Header().Set("Content-Type", "application/token-introspection+jwt")
	_, _ = io.WriteString(w, compact)
}

// TestEndToEnd runs the environment contract with the real introspection
// client against a fake authorization server on loopback: plain RFC 7662
// answers by URL, RFC 9701 signed answers by issuer, and RFC 9728 metadata.
func TestEndToEnd(t *testing.T) {
	as := newFakeAS(t)
	const mdPath = "/.well-known/oauth-protected-resource"
	tests := []struct {
		name     string
		env      map[string]string
		resource bool
	}{
		{name: "RFC 7662 JSON by URL", env: map[string]string{"TOKENGATE_INTROSPECTION_URL": as.URL + "/introspect"}},
		{name: "RFC 9701 JWT by issuer, RFC 9728 metadata", env: map[string]string{"TOKENGATE_ISSUER": as.URL, "TOKENGATE_JWT_RESPONSE": "signed", "TOKENGATE_RESOURCE": "https://api.example.com"}, resource: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"TOKENGATE_CLIENT_ID": "api", "TOKENGATE_CLIENT_SECRET": "s3cret", "TOKENGATE_AUDIENCE": "https://api.example.com"}
			for k, v := range tt.env {
				env[k] = v
			}
			cfg, err := envconfig.Load(func(k string) string { return env[k] })
			if err != nil {
				t.Fatal(err)
			}
			svc, err := cfg.Build(slog.New(slog.DiscardHandler), []string{"orders:read", "orders:write"})
			if err != nil {
				t.Fatal(err)
			}
			defer svc.Close()
			api := httptest.NewServer(orders.Routes(svc, nethttp.MustNew(nethttp.Config{Guard: svc.Guard, Require: orders.Read})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				p, _ := rs.PrincipalFrom(r.Context())
				_ = json.NewEncoder(w).Encode(orders.AnswerFor(p))
			}))))
			defer api.Close()
			rm := ""
			if tt.resource {
				rm = `, resource_metadata="https://api.example.com` + mdPath + `"`
			}
			for _, c := range []struct {
				token, challenge string
				status           int
				body             string
			}{
				{"good", "", 200, `{"subject":"alice","client_id":"cli","scopes":["orders:read"]}` + "\n"},
				{"elsewhere", `Bearer realm="tokengate example", error="invalid_token", error_description="the access token is not meant for this resource"` + rm, 401,
					`{"error":"invalid_token","error_description":"the access token is not meant for this resource"}`},
				{"revoked", `Bearer realm="tokengate example", error="invalid_token", error_description="the access token is not active"` + rm, 401,
					`{"error":"invalid_token","error_description":"the access token is not active"}`},
				{"", `Bearer realm="tokengate example"` + rm, 401, ""},
			} {
				req, _ := http.NewRequest("GET", api.URL+orders.Path, nil)
				if c.token != "" {
					req.Header.Set("Authorization", "Bearer "+c.token)
				}
				resp, err := api.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != c.status || string(body) != c.body || resp.Header.Get("WWW-Authenticate") != c.challenge {
					t.Errorf("%q: got %d %q %q\nwant %d %q %q", c.token, resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body, c.status, c.challenge, c.body)
				}
			}
			resp, err := api.Client().Get(api.URL + mdPath)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			want := `{"resource":"https://api.example.com","authorization_servers":["` + as.URL + `"],"scopes_supported":["orders:read","orders:write"],"bearer_methods_supported":["header"]}`
			if tt.resource && (resp.StatusCode != 200 || string(body) != want) {
				t.Errorf("metadata: %d %s\nwant %s", resp.StatusCode, body, want)
			}
			if !tt.resource && resp.StatusCode != 401 {
				t.Errorf("metadata without TOKENGATE_RESOURCE: %d, want 401 (no public route)", resp.StatusCode)
			}
		})
	}
}

// The hardening review found that the example servers set only
// ReadHeaderTimeout, so a copied example took a 1 MB header (and a body sent
// a byte a minute). Main must serve with the limits of "tokengate serve".
func TestExampleServerHasServeLimits(t *testing.T) {
	as := newFakeAS(t)
	env := map[string]string{
		"TOKENGATE_INTROSPECTION_URL": as.URL + "/introspect",
		"TOKENGATE_CLIENT_ID":         "api", "TOKENGATE_CLIENT_SECRET": "s3cret",
		"TOKENGATE_AUDIENCE": "https://api.example.com",
		"ADDR":               "127.0.0.1:0",
	}
	ctx, cancel := context.WithCancel(context.Background())
	// Main's log goes through a pipe: the first line naming the address
	// tells where it listens; the rest is kept for a failure message.
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- orders.Main(ctx, "limits", func(k string) string { return env[k] }, pw, func(g *rs.Guard) http.Handler {
			return nethttp.MustNew(nethttp.Config{Guard: g})(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }))
		})
		pw.Close()
	}()
	addrc, logs := make(chan string, 1), make(chan string, 1)
	go func() {
		var all strings.Builder
		listening := regexp.MustCompile(`msg=listening example=limits addr=(\S+)`)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			all.WriteString(sc.Text() + "\n")
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				addrc <- m[1]
			}
		}
		close(addrc)
		logs <- all.String()
	}()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("exit code %d; output:\n%s", code, <-logs)
		}
	}()
	addr, ok := <-addrc
	if !ok {
		t.Fatal("Main stopped before it listened")
	}
	url := "http://" + addr
	for _, tt := range []struct {
		name   string
		header string
		want   int
	}{
		{"a valid token", "Bearer good", http.StatusOK},
		{"a header beyond httpserver.MaxHeaderBytes", "Bearer good " + strings.Repeat("x", httpserver.MaxHeaderBytes+4096), http.StatusRequestHeaderFieldsTooLarge},
	} {
		req, _ := http.NewRequest("GET", url+orders.Path, nil)
		req.Header.Set("Authorization", tt.header)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != tt.want {
			t.Errorf("%s: status %d, want %d", tt.name, res.StatusCode, tt.want)
		}
	}
}
