//go:build interop

package interop

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/tokengate/tokengate/interop/internal/interoptest"
)

// Example binaries are built once per test binary into one directory,
// removed by TestMain.
var exampleBuilds struct {
	mu   sync.Mutex // guards dir and bins
	dir  string
	bins map[string]string
}

// exampleBinary builds ./examples/<name> (from the module root, the parent of
// this package's directory) and returns the path of the binary.
func exampleBinary(t *testing.T, name string) string {
	t.Helper()
	exampleBuilds.mu.Lock()
	defer exampleBuilds.mu.Unlock()
	if bin, ok := exampleBuilds.bins[name]; ok {
		return bin
	}
	if exampleBuilds.dir == "" {
		dir, err := os.MkdirTemp("", "tokengate-examples-")
		if err != nil {
			t.Fatal(err)
		}
		exampleBuilds.dir, exampleBuilds.bins = dir, map[string]string{}
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build the examples: %v", err)
	}
	bin := filepath.Join(exampleBuilds.dir, name)
	cmd := exec.Command(goBin, "build", "-o", bin, "./examples/"+name)
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./examples/%s: %v\n%s", name, err, out)
	}
	exampleBuilds.bins[name] = bin
	return bin
}

// writeJWK writes key (with its private members) as a JWK file for
// TOKENGATE_RS_KEY and returns its path.
func writeJWK(t *testing.T, key jose.JSONWebKey) string {
	t.Helper()
	data, err := key.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), key.KeyID+".jwk")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// writePEM writes key as a PKCS #8 PEM file for TOKENGATE_RS_KEY and
// returns its path.
func writePEM(t *testing.T, key any) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "rs-key.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func removeExampleBuilds() {
	if exampleBuilds.dir != "" {
		os.RemoveAll(exampleBuilds.dir)
	}
}

// refusesToStart runs the example bin with env and checks that its start-up
// check of the authorization server fails: exit status 1 and a message that
// says so, before it listens.
func refusesToStart(t *testing.T, bin string, env map[string]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "ADDR=127.0.0.1:0", "NO_PROXY=127.0.0.1,localhost", "no_proxy=127.0.0.1,localhost"}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(string(out), "the start-up check of the authorization server failed") {
		t.Errorf("err %v, output:\n%s\nwant exit status 1 from the start-up check", err, out)
	}
}

// apiCall is one request to an example's /api/orders.
type apiCall struct {
	status    int
	challenge string
	body      []byte
}

func callOrders(t *testing.T, base, method, token string) apiCall {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, base+"/api/orders", nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	return apiCall{resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body}
}

// ordersAnswer is the examples' JSON answer (examples/internal/orders).
type ordersAnswer struct {
	Subject  string   `json:"subject"`
	ClientID string   `json:"client_id"`
	Scopes   []string `json:"scopes"`
}

// exampleCase runs one example configuration against a peer.
type exampleCase struct {
	name string
	env  map[string]string
	// clientID is the client the peer's tokens are issued to.
	clientID string
	token    func(t testing.TB, scope string) string
	revoke   func(t testing.TB, token string)
}

func (ec exampleCase) run(t *testing.T, example, bin string) {
	srv := interoptest.StartServer(t, "examples/"+example, ec.env, bin)
	read := ec.token(t, "orders:read")
	readWrite := ec.token(t, "orders:read orders:write")
	revoked := ec.token(t, "orders:read")
	ec.revoke(t, revoked)

	ok := func(t *testing.T, c apiCall, scopes ...string) {
		t.Helper()
		if c.status != http.StatusOK {
			t.Fatalf("%d %q %s, want 200", c.status, c.challenge, c.body)
		}
		var a ordersAnswer
		if err := json.Unmarshal(c.body, &a); err != nil {
			t.Fatalf("answer %s: %v", c.body, err)
		}
		slices.Sort(a.Scopes)
		if a.ClientID != ec.clientID || !slices.Equal(a.Scopes, scopes) {
			t.Errorf("answer %+v, want client_id %s and scopes %v", a, ec.clientID, scopes)
		}
	}
	refused := func(t *testing.T, c apiCall, status int, wantChallenge ...string) {
		t.Helper()
		if c.status != status {
			t.Errorf("%d %s, want %d", c.status, c.body, status)
		}
		if !strings.HasPrefix(c.challenge, `Bearer realm="tokengate example"`) {
			t.Errorf("WWW-Authenticate %q", c.challenge)
		}
		for _, w := range wantChallenge {
			if !strings.Contains(c.challenge, w) {
				t.Errorf("WWW-Authenticate %q lacks %s", c.challenge, w)
			}
		}
	}

	t.Run("GET with orders:read", func(t *testing.T) { ok(t, callOrders(t, srv.URL, "GET", read), "orders:read") })
	t.Run("POST with orders:write", func(t *testing.T) {
		ok(t, callOrders(t, srv.URL, "POST", readWrite), "orders:read", "orders:write")
	})
	t.Run("POST without orders:write", func(t *testing.T) {
		refused(t, callOrders(t, srv.URL, "POST", read), http.StatusForbidden, `error="insufficient_scope"`, `scope="orders:write"`)
	})
	t.Run("no token", func(t *testing.T) {
		c := callOrders(t, srv.URL, "GET", "")
		refused(t, c, http.StatusUnauthorized)
		if strings.Contains(c.challenge, "error=") {
			t.Errorf("a request without a token got %q; RFC 6750 §3.1 wants no error code", c.challenge)
		}
	})
	t.Run("garbage token", func(t *testing.T) {
		refused(t, callOrders(t, srv.URL, "GET", "garbage"), http.StatusUnauthorized, `error="invalid_token"`)
	})
	t.Run("revoked token", func(t *testing.T) {
		refused(t, callOrders(t, srv.URL, "GET", revoked), http.StatusUnauthorized, `error="invalid_token"`)
	})
}

// TestExamples runs each example (they share one environment contract and
// one API) as a subprocess against both peers.
func TestExamples(t *testing.T) {
	for _, example := range []string{"nethttp", "echo", "gin"} {
		t.Run(example, func(t *testing.T) { testExample(t, example) })
	}
}

func testExample(t *testing.T, example string) {
	bin := exampleBinary(t, example)
	name := "examples/" + example
	op := oidcProvider(t)
	dot := djangoOAuthToolkit(t)

	cases := []exampleCase{
		{
			name: "oidc-provider, issuer, client_secret_basic, audience",
			env: map[string]string{
				"TOKENGATE_ISSUER": op.Issuer, "TOKENGATE_CLIENT_ID": op.RSBasic.ID, "TOKENGATE_CLIENT_SECRET": op.RSBasic.Secret,
				"TOKENGATE_AUDIENCE": op.Resource,
			},
			clientID: op.API.ID, token: op.Token, revoke: op.Revoke,
		},
		{
			name: "oidc-provider, issuer, client_secret_post",
			env: map[string]string{
				"TOKENGATE_ISSUER": op.Issuer, "TOKENGATE_CLIENT_ID": op.RSPost.ID, "TOKENGATE_CLIENT_SECRET": op.RSPost.Secret,
				"TOKENGATE_CLIENT_AUTH": "post",
			},
			clientID: op.API.ID, token: op.Token, revoke: op.Revoke,
		},
		{
			name: "DOT, introspection URL, client_secret_basic",
			env: map[string]string{
				"TOKENGATE_INTROSPECTION_URL": dot.IntrospectionURL, "TOKENGATE_CLIENT_ID": dot.RS.ID, "TOKENGATE_CLIENT_SECRET": dot.RS.Secret,
			},
			clientID: dot.API.ID, token: dot.Token, revoke: dot.Revoke,
		},
		{
			name: "DOT, introspection URL, bearer token",
			env: map[string]string{
				"TOKENGATE_INTROSPECTION_URL": dot.IntrospectionURL, "TOKENGATE_BEARER_TOKEN": dot.IntrospectionToken,
			},
			clientID: dot.API.ID, token: dot.Token, revoke: dot.Revoke,
		},
	}
	// RFC 9701 answers (TOKENGATE_JWT_RESPONSE): the examples verify them with
	// jwtintrospect, decrypting with TOKENGATE_RS_KEY.
	rsaKeyFile := writeJWK(t, op.EncryptionKey)
	ecKeyFile := writeJWK(t, jose.JSONWebKey{Key: opExtra.ECKey, KeyID: opExtra.ECKeyID, Algorithm: "ECDH-ES+A128KW", Use: "enc"})
	jwtEnv := func(c interoptest.Client, mode, keyFile string) map[string]string {
		env := map[string]string{
			"TOKENGATE_ISSUER": op.Issuer, "TOKENGATE_CLIENT_ID": c.ID, "TOKENGATE_CLIENT_SECRET": c.Secret,
			"TOKENGATE_AUDIENCE": op.Resource, "TOKENGATE_JWT_RESPONSE": mode,
		}
		if keyFile != "" {
			env["TOKENGATE_RS_KEY"] = keyFile
		}
		return env
	}
	cases = append(cases,
		exampleCase{name: "oidc-provider, RFC 9701 signed (RS256)", env: jwtEnv(op.RSSigned, "signed", ""),
			clientID: op.API.ID, token: op.Token, revoke: op.Revoke},
		exampleCase{name: "oidc-provider, RFC 9701 signed (EdDSA)", env: jwtEnv(opExtra.SignedEdDSA, "signed", ""),
			clientID: op.API.ID, token: op.Token, revoke: op.Revoke},
		exampleCase{name: "oidc-provider, RFC 9701 encrypted (RSA-OAEP-256, A256GCM)", env: jwtEnv(op.RSEncrypted, "encrypted", rsaKeyFile),
			clientID: op.API.ID, token: op.Token, revoke: op.Revoke},
		exampleCase{name: "oidc-provider, RFC 9701 encrypted (ECDH-ES+A128KW, A128CBC-HS256)", env: jwtEnv(opExtra.EncryptedECDH, "encrypted", ecKeyFile),
			clientID: op.API.ID, token: op.Token, revoke: op.Revoke},
	)

	for _, ec := range cases {
		t.Run(ec.name, func(t *testing.T) { ec.run(t, example, bin) })
	}

	t.Run("RFC 9701: the resource server's JWKS", func(t *testing.T) {
		srv := interoptest.StartServer(t, name, jwtEnv(op.RSEncrypted, "encrypted", rsaKeyFile), bin)
		set := fetchJWKS(t, srv.URL+"/.well-known/jwks.json")
		if len(set.Keys) != 1 || set.Keys[0].KeyID != op.EncryptionKey.KeyID || !set.Keys[0].IsPublic() || set.Keys[0].Use != "enc" {
			t.Errorf("JWKS %+v, want the public half of %q with use enc", set.Keys, op.EncryptionKey.KeyID)
		}
	})

	t.Run("RFC 9701: a PEM key and the kid the AS was given", func(t *testing.T) {
		// A key read from PEM has no kid of its own: jwtintrospect gives it
		// its RFC 7638 thumbprint. The AS puts the kid it was registered with
		// in the JWE header, so the two must agree.
		pemFile := writePEM(t, opExtra.ECKey)
		srv := interoptest.StartServer(t, name, jwtEnv(opExtra.EncryptedECDHThumbprint, "encrypted", pemFile), bin)
		if c := callOrders(t, srv.URL, "GET", op.Token(t, "orders:read")); c.status != http.StatusOK {
			t.Errorf("registered under the thumbprint: %d %s, want 200", c.status, c.body)
		}
		// Registered under another kid, the answers cannot be decrypted:
		// the start-up check says so (and requests would get 503).
		refusesToStart(t, bin, jwtEnv(opExtra.EncryptedECDH, "encrypted", pemFile))
	})

	t.Run("RFC 9701: encryption required but the AS only signs", func(t *testing.T) {
		refusesToStart(t, bin, jwtEnv(op.RSSigned, "encrypted", rsaKeyFile))
	})

	t.Run("oidc-provider, token for another audience", func(t *testing.T) {
		srv := interoptest.StartServer(t, name, map[string]string{
			"TOKENGATE_ISSUER": op.Issuer, "TOKENGATE_CLIENT_ID": op.RSBasic.ID, "TOKENGATE_CLIENT_SECRET": op.RSBasic.Secret,
			"TOKENGATE_AUDIENCE": "https://another-api.example",
		}, bin)
		c := callOrders(t, srv.URL, "GET", op.Token(t, "orders:read"))
		if c.status != http.StatusUnauthorized || !strings.Contains(c.challenge, `error="invalid_token"`) {
			t.Errorf("%d %q %s, want 401 invalid_token", c.status, c.challenge, c.body)
		}
	})

	t.Run("DOT with an audience configured refuses every token", func(t *testing.T) {
		// DOT's answers carry no aud, so TOKENGATE_AUDIENCE must stay unset.
		srv := interoptest.StartServer(t, name, map[string]string{
			"TOKENGATE_INTROSPECTION_URL": dot.IntrospectionURL, "TOKENGATE_CLIENT_ID": dot.RS.ID, "TOKENGATE_CLIENT_SECRET": dot.RS.Secret,
			"TOKENGATE_AUDIENCE": dot.BaseURL,
		}, bin)
		c := callOrders(t, srv.URL, "GET", dot.Token(t, "orders:read"))
		if c.status != http.StatusUnauthorized || !strings.Contains(c.challenge, `error="invalid_token"`) {
			t.Errorf("%d %q %s, want 401 invalid_token", c.status, c.challenge, c.body)
		}
	})

	t.Run("wrong resource-server credentials: the example refuses to start", func(t *testing.T) {
		// Our configuration is wrong, not a caller's token: the start-up
		// check finds it (requests would get 503, never a pass).
		for name, env := range map[string]map[string]string{
			"oidc-provider": {"TOKENGATE_ISSUER": op.Issuer, "TOKENGATE_CLIENT_ID": op.RSBasic.ID, "TOKENGATE_CLIENT_SECRET": "wrong"},
			"DOT":           {"TOKENGATE_INTROSPECTION_URL": dot.IntrospectionURL, "TOKENGATE_BEARER_TOKEN": "wrong"},
		} {
			t.Run(name, func(t *testing.T) { refusesToStart(t, bin, env) })
		}
	})

	t.Run("bad configuration exits non-zero", func(t *testing.T) {
		cmd := exec.Command(bin)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "TOKENGATE_ISSUER=" + op.Issuer, "TOKENGATE_INTROSPECTION_URL=" + op.IntrospectionURL}
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() == 0 || !strings.Contains(string(out), "TOKENGATE_") {
			t.Errorf("err %v, output %s: want a non-zero exit naming the settings", err, out)
		}
	})
}
