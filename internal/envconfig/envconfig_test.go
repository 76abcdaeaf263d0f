package envconfig_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/tokengate/tokengate/internal/envconfig"
	"github.com/tokengate/tokengate/introspect"
	"github.com/tokengate/tokengate/scopes"
)

func TestLoad(t *testing.T) {
	const url = "https://as.example.com/introspect"
	keyFile := writeKey(t)
	tests := []struct {
		name    string
		env     map[string]string
		wantErr []string // substrings of the error, one per problem
		check   func(t *testing.T, c *envconfig.Config)
	}{
		{
			name: "url and basic",
			env:  map[string]string{"TOKENGATE_INTROSPECTION_URL": url, "TOKENGATE_CLIENT_ID": "api", "TOKENGATE_CLIENT_SECRET": "s:e%c+r é", "TOKENGATE_AUDIENCE": "https://api.example.com"},
			check: func(t *testing.T, c *envconfig.Config) {
				i := c.Introspect
				if i.IntrospectionURL != url || i.Issuer != "" || i.ClientID != "api" || i.ClientSecret != "s:e%c+r é" || i.AuthStyle != introspect.AuthStyleBasic || i.TokenSource != nil {
					t.Errorf("introspect config = %+v", i)
				}
				if c.Guard.SkipAudienceCheck || len(c.Guard.Audiences) != 1 || c.Guard.Audiences[0] != "https://api.example.com" {
					t.Errorf("guard config = %+v", c.Guard)
				}
				if c.Addr != "127.0.0.1:8080" || len(c.Notes) != 0 {
					t.Errorf("addr %q, notes %q", c.Addr, c.Notes)
				}
			},
		},
		{
			name: "issuer, post, two audiences, addr",
			env: map[string]string{"TOKENGATE_ISSUER": "https://as.example.com", "TOKENGATE_CLIENT_ID": "api", "TOKENGATE_CLIENT_SECRET": "x",
				"TOKENGATE_CLIENT_AUTH": "post", "TOKENGATE_AUDIENCE": "a, b", "ADDR": "127.0.0.1:9999"},
			check: func(t *testing.T, c *envconfig.Config) {
				if c.Introspect.Issuer != "https://as.example.com" || c.Introspect.AuthStyle != introspect.AuthStylePost {
					t.Errorf("introspect config = %+v", c.Introspect)
				}
				if strings.Join(c.Guard.Audiences, "|") != "a|b" || c.Addr != "127.0.0.1:9999" {
					t.Errorf("audiences %q, addr %q", c.Guard.Audiences, c.Addr)
				}
			},
		},
		{
			name: "bearer token, no audience",
			env:  map[string]string{"TOKENGATE_INTROSPECTION_URL": url, "TOKENGATE_BEARER_TOKEN": "rs-token"},
			check: func(t *testing.T, c *envconfig.Config) {
				if c.Introspect.TokenSource == nil || c.Introspect.ClientID != "" {
					t.Fatalf("introspect config = %+v", c.Introspect)
				}
				tok, err := c.Introspect.TokenSource.Token()
				if err != nil || tok.AccessToken != "rs-token" {
					t.Errorf("token source gives %v, %v", tok, err)
				}
				if !c.Guard.SkipAudienceCheck || len(c.Notes) != 1 || !strings.Contains(c.Notes[0], "audience check is skipped") {
					t.Errorf("skip %v, notes %q", c.Guard.SkipAudienceCheck, c.Notes)
				}
			},
		},
		{name: "nothing", env: map[string]string{}, wantErr: []string{"TOKENGATE_ISSUER", "TOKENGATE_BEARER_TOKEN"}},
		{name: "both endpoints", env: map[string]string{"TOKENGATE_ISSUER": "https://a", "TOKENGATE_INTROSPECTION_URL": url, "TOKENGATE_BEARER_TOKEN": "t"}, wantErr: []string{"only one of"}},
		{name: "relative url", env: map[string]string{"TOKENGATE_INTROSPECTION_URL": "/introspect", "TOKENGATE_BEARER_TOKEN": "t"}, wantErr: []string{"TOKENGATE_INTROSPECTION_URL"}},
		{name: "bad issuer", env: map[string]string{"TOKENGATE_ISSUER": "as.example.com", "TOKENGATE_BEARER_TOKEN": "t"}, wantErr: []string{"TOKENGATE_ISSUER"}},
		{name: "bearer and client", env: map[string]string{"TOKENGATE_ISSUER": "https://a", "TOKENGATE_BEARER_TOKEN": "t", "TOKENGATE_CLIENT_ID": "x"}, wantErr: []string{"not both"}},
		{name: "id without secret", env: map[string]string{"TOKENGATE_ISSUER": "https://a", "TOKENGATE_CLIENT_ID": "x"}, wantErr: []string{"TOKENGATE_CLIENT_SECRET is not"}},
		{name: "secret without id", env: map[string]string{"TOKENGATE_ISSUER": "https://a", "TOKENGATE_CLIENT_SECRET": "x"}, wantErr: []string{"TOKENGATE_CLIENT_ID is not"}},
		{name: "bad auth style", env: map[string]string{"TOKENGATE_ISSUER": "https://a", "TOKENGATE_CLIENT_ID": "x", "TOKENGATE_CLIENT_SECRET": "y", "TOKENGATE_CLIENT_AUTH": "jwt"}, wantErr: []string{"want basic or post"}},
		{name: "auth style with bearer", env: map[string]string{"TOKENGATE_ISSUER": "https://a", "TOKENGATE_BEARER_TOKEN": "t", "TOKENGATE_CLIENT_AUTH": "post"}, wantErr: []string{"not to TOKENGATE_BEARER_TOKEN"}},
		{
			name: "jwt answers",
			env:  map[string]string{"TOKENGATE_ISSUER": "https://as.example.com", "TOKENGATE_CLIENT_ID": "api", "TOKENGATE_CLIENT_SECRET": "x", "TOKENGATE_JWT_RESPONSE": "signed"},
			check: func(t *testing.T, c *envconfig.Config) {
				if c.JWT == nil || c.JWT.Issuer != "https://as.example.com" || c.JWT.ClientID != "api" || len(c.JWT.DecryptionKeys) != 0 || c.JWT.RequireEncryption {
					t.Errorf("jwt config = %+v", c.JWT)
				}
			},
		},
		{
			name: "encrypted answers with the RS key",
			env:  map[string]string{"TOKENGATE_ISSUER": "https://as.example.com", "TOKENGATE_CLIENT_ID": "api", "TOKENGATE_CLIENT_SECRET": "x", "TOKENGATE_JWT_RESPONSE": "encrypted", "TOKENGATE_RS_KEY": keyFile},
			check: func(t *testing.T, c *envconfig.Config) {
				if c.JWT == nil || len(c.JWT.DecryptionKeys) != 1 || c.JWT.DecryptionKeys[0].KeyID == "" || !c.JWT.RequireEncryption {
					t.Errorf("jwt config = %+v", c.JWT)
				}
			},
		},
		{
			name: "resource metadata",
			env:  map[string]string{"TOKENGATE_ISSUER": "https://as.example.com", "TOKENGATE_BEARER_TOKEN": "t", "TOKENGATE_RESOURCE": "https://api.example.com/v1"},
			check: func(t *testing.T, c *envconfig.Config) {
				if c.Resource != "https://api.example.com/v1" || c.Guard.ResourceMetadataURL != "https://api.example.com/.well-known/oauth-protected-resource/v1" || c.JWT != nil {
					t.Errorf("resource %q, metadata URL %q, jwt %v", c.Resource, c.Guard.ResourceMetadataURL, c.JWT)
				}
			},
		},
		{name: "jwt without issuer", env: map[string]string{"TOKENGATE_INTROSPECTION_URL": url, "TOKENGATE_CLIENT_ID": "a", "TOKENGATE_CLIENT_SECRET": "b", "TOKENGATE_JWT_RESPONSE": "signed"}, wantErr: []string{"need TOKENGATE_ISSUER"}},
		{name: "jwt without client id", env: map[string]string{"TOKENGATE_ISSUER": "https://a", "TOKENGATE_BEARER_TOKEN": "t", "TOKENGATE_JWT_RESPONSE": "encrypted", "TOKENGATE_RS_KEY": keyFile}, wantErr: []string{"need TOKENGATE_CLIENT_ID"}},
		{name: "jwt flag garbage", env: map[string]string{"TOKENGATE_ISSUER": "https://a", "TOKENGATE_BEARER_TOKEN": "t", "TOKENGATE_JWT_RESPONSE": "maybe"}, wantErr: []string{"want signed, encrypted or json"}},
		{name: "encrypted without key", env: map[string]string{"TOKENGATE_ISSUER": "https://a", "TOKENGATE_CLIENT_ID": "a", "TOKENGATE_CLIENT_SECRET": "b", "TOKENGATE_JWT_RESPONSE": "encrypted"}, wantErr: []string{"needs TOKENGATE_RS_KEY"}},
		{name: "key without jwt answers", env: map[string]string{"TOKENGATE_ISSUER": "https://a", "TOKENGATE_CLIENT_ID": "a", "TOKENGATE_CLIENT_SECRET": "b", "TOKENGATE_RS_KEY": keyFile}, wantErr: []string{"TOKENGATE_JWT_RESPONSE is not"}},
		{name: "missing key file", env: map[string]string{"TOKENGATE_ISSUER": "https://a", "TOKENGATE_CLIENT_ID": "a", "TOKENGATE_CLIENT_SECRET": "b", "TOKENGATE_JWT_RESPONSE": "encrypted", "TOKENGATE_RS_KEY": "/nonexistent/key.pem"}, wantErr: []string{"TOKENGATE_RS_KEY"}},
		{name: "resource over http", env: map[string]string{"TOKENGATE_ISSUER": "https://a", "TOKENGATE_BEARER_TOKEN": "t", "TOKENGATE_RESOURCE": "http://api.example.com"}, wantErr: []string{"TOKENGATE_RESOURCE"}},
		{
			name: "JWT access tokens local, two issuers, credentials",
			env: map[string]string{"TOKENGATE_ISSUER": "https://a.example.com, https://b.example.com", "TOKENGATE_JWT_ACCESS_TOKENS": "local",
				"TOKENGATE_CLIENT_ID": "api", "TOKENGATE_CLIENT_SECRET": "x", "TOKENGATE_AUDIENCE": "https://api.example.com"},
			check: func(t *testing.T, c *envconfig.Config) {
				if strings.Join(c.Issuers, "|") != "https://a.example.com|https://b.example.com" || !c.JWTAccessTokens || c.NoIntrospection || len(c.Notes) != 0 {
					t.Errorf("issuers %q, jwt %v, no introspection %v, notes %q", c.Issuers, c.JWTAccessTokens, c.NoIntrospection, c.Notes)
				}
			},
		},
		{
			name: "JWT access tokens only",
			env:  map[string]string{"TOKENGATE_ISSUER": "https://a.example.com", "TOKENGATE_JWT_ACCESS_TOKENS": "LOCAL", "TOKENGATE_AUDIENCE": "https://api.example.com"},
			check: func(t *testing.T, c *envconfig.Config) {
				if !c.JWTAccessTokens || !c.NoIntrospection || len(c.Notes) != 1 || !strings.Contains(c.Notes[0], "only JWT access tokens are accepted") {
					t.Errorf("jwt %v, no introspection %v, notes %q", c.JWTAccessTokens, c.NoIntrospection, c.Notes)
				}
			},
		},
		{name: "JWT access tokens without audience", env: map[string]string{"TOKENGATE_ISSUER": "https://a", "TOKENGATE_JWT_ACCESS_TOKENS": "local"}, wantErr: []string{"needs TOKENGATE_AUDIENCE"}},
		{name: "JWT access tokens without issuer", env: map[string]string{"TOKENGATE_INTROSPECTION_URL": url, "TOKENGATE_BEARER_TOKEN": "t", "TOKENGATE_JWT_ACCESS_TOKENS": "local", "TOKENGATE_AUDIENCE": "a"}, wantErr: []string{"needs TOKENGATE_ISSUER"}},
		{name: "JWT access tokens garbage", env: map[string]string{"TOKENGATE_ISSUER": "https://a", "TOKENGATE_BEARER_TOKEN": "t", "TOKENGATE_JWT_ACCESS_TOKENS": "remote"}, wantErr: []string{"want local or introspect"}},
		{name: "issuer twice", env: map[string]string{"TOKENGATE_ISSUER": "https://a,https://a", "TOKENGATE_BEARER_TOKEN": "t"}, wantErr: []string{"lists https://a twice"}},
		{name: "RFC 9701 answers with two issuers", env: map[string]string{"TOKENGATE_ISSUER": "https://a,https://b", "TOKENGATE_CLIENT_ID": "a", "TOKENGATE_CLIENT_SECRET": "b", "TOKENGATE_JWT_RESPONSE": "signed"}, wantErr: []string{"exactly one"}},
		{name: "every problem at once", env: map[string]string{"TOKENGATE_CLIENT_AUTH": "jwt", "TOKENGATE_CLIENT_ID": "x"}, wantErr: []string{"TOKENGATE_ISSUER", "TOKENGATE_CLIENT_SECRET is not"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := envconfig.Load(func(k string) string { return tt.env[k] })
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("Load accepted %v", tt.env)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not mention %q", err, w)
					}
				}
				if c != nil {
					t.Error("config returned with an error")
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			tt.check(t, c)
		})
	}
}

// writeKey writes a fresh P-256 private key as PKCS #8 PEM.
func writeKey(t *testing.T) string {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "rs-key.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestBuildPublicRoutes checks what Build serves without token: nothing by
// default; the RFC 9728 document, naming our JWK Set, and the JWK Set of the
// decryption key when configured. Build does no network I/O.
func TestBuildPublicRoutes(t *testing.T) {
	base := map[string]string{"TOKENGATE_ISSUER": "https://as.example.com", "TOKENGATE_CLIENT_ID": "api", "TOKENGATE_CLIENT_SECRET": "x"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	key := writeKey(t)
	tests := []struct {
		name  string
		env   map[string]string
		paths map[string]string // path -> substring of the body
	}{
		{name: "plain", env: base, paths: map[string]string{}},
		{name: "jwt without key", env: with("TOKENGATE_JWT_RESPONSE", "signed"), paths: map[string]string{}},
		{
			name: "key and resource", env: with("TOKENGATE_JWT_RESPONSE", "encrypted", "TOKENGATE_RS_KEY", key, "TOKENGATE_RESOURCE", "https://api.example.com"),
			paths: map[string]string{
				"/.well-known/jwks.json":                `"use":"enc"`,
				"/.well-known/oauth-protected-resource": `"jwks_uri":"https://api.example.com/.well-known/jwks.json"`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := envconfig.Load(func(k string) string { return tt.env[k] })
			if err != nil {
				t.Fatal(err)
			}
			svc, err := cfg.Build(slog.New(slog.DiscardHandler), []string{"orders:read"})
			if err != nil {
				t.Fatal(err)
			}
			defer svc.Close()
			if svc.Guard == nil || len(svc.Public) != len(tt.paths) {
				t.Fatalf("guard %v, public routes %v", svc.Guard, svc.Public)
			}
			for path, want := range tt.paths {
				h, ok := svc.Public[path]
				if !ok {
					t.Fatalf("no public route %s", path)
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
				if rec.Code != 200 || !strings.Contains(rec.Body.String(), want) {
					t.Errorf("%s: %d %s, want it to contain %s", path, rec.Code, rec.Body, want)
				}
			}
		})
	}
}

// TestBuildJWTAccessTokens builds the guard of TOKENGATE_JWT_ACCESS_TOKENS=local
// over two issuers on loopback: each one's JWT is accepted with its own
// keys, found from its metadata, and a JWT of an issuer not listed is
// refused.
func TestBuildJWTAccessTokens(t *testing.T) {
	type issuer struct {
		srv *httptest.Server
		key *ecdsa.PrivateKey
	}
	newIssuer := func() issuer {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		var srv *httptest.Server
		srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/.well-known/oauth-authorization-server":
				fmt.Fprintf(w, `{"issuer":%q,"jwks_uri":%q}`, srv.URL, srv.URL+"/jwks")
			case "/jwks":
				json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k"}}})
			default:
				http.NotFound(w, r)
			}
		}))
		t.Cleanup(srv.Close)
		return issuer{srv, key}
	}
	a, b, stranger := newIssuer(), newIssuer(), newIssuer()
	mint := func(is issuer) string {
		signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: is.key, KeyID: "k"}}, (&jose.SignerOptions{}).WithType("at+jwt"))
		payload, _ := json.Marshal(map[string]any{"iss": is.srv.URL, "aud": "https://api.example.com", "sub": "alice", "exp": time.Now().Add(time.Hour).Unix()})
		jws, _ := signer.Sign(payload)
		tok, _ := jws.CompactSerialize()
		return tok
	}
	env := map[string]string{"TOKENGATE_ISSUER": a.srv.URL + "," + b.srv.URL, "TOKENGATE_JWT_ACCESS_TOKENS": "local", "TOKENGATE_AUDIENCE": "https://api.example.com"}
	cfg, err := envconfig.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	svc, err := cfg.Build(slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	for _, c := range []struct {
		name  string
		token string
		ok    bool
	}{{"first issuer", mint(a), true}, {"second issuer", mint(b), true}, {"issuer not listed", mint(stranger), false}, {"opaque token", "opaque", false}} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", "Bearer "+c.token)
		p, err := svc.Guard.Check(r, scopes.Requirement{})
		if (err == nil) != c.ok || (c.ok && p.Subject != "alice") {
			t.Errorf("%s: %v, %v; want accepted %v", c.name, p, err, c.ok)
		}
	}
}

// countingObserver counts the calls to the authorization server it is told of.
type countingObserver struct{ calls atomic.Int64 }

func (o *countingObserver) Observe(e introspect.Event) {
	if e.Kind == introspect.EventASCall {
		o.calls.Add(1)
	}
}

// TestBuildClientObserver: each introspection client reports to an observer
// of its own, one issuer or several.
func TestBuildClientObserver(t *testing.T) {
	as := func() *httptest.Server {
		var srv *httptest.Server
		srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/.well-known/oauth-authorization-server":
				fmt.Fprintf(w, `{"issuer":%q,"introspection_endpoint":%q}`, srv.URL, srv.URL+"/introspect")
			case "/introspect":
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, `{"active":false}`)
			default:
				http.NotFound(w, r)
			}
		}))
		t.Cleanup(srv.Close)
		return srv
	}
	a, b := as(), as()
	for _, tt := range []struct {
		name    string
		issuers string
	}{
		{"one issuer", a.URL},
		{"two issuers", a.URL + "," + b.URL},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"TOKENGATE_ISSUER": tt.issuers, "TOKENGATE_CLIENT_ID": "api", "TOKENGATE_CLIENT_SECRET": "s"}
			cfg, err := envconfig.Load(func(k string) string { return env[k] })
			if err != nil {
				t.Fatal(err)
			}
			var observers []*countingObserver
			cfg.ClientObserver = func() introspect.Observer {
				o := &countingObserver{}
				observers = append(observers, o)
				return o
			}
			svc, err := cfg.Build(slog.New(slog.DiscardHandler), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer svc.Close()
			if err := svc.Ping(context.Background()); err != nil {
				t.Fatal(err)
			}
			if want := strings.Count(tt.issuers, ",") + 1; len(observers) != want {
				t.Fatalf("%d observers, want one per client: %d", len(observers), want)
			}
			for i, o := range observers {
				if n := o.calls.Load(); n != 1 {
					t.Errorf("observer %d saw %d calls, want its client's ping", i, n)
				}
			}
		})
	}
}
