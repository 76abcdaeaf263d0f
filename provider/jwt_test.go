package provider_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"github.com/tokengate/tokengate/internal/discovery"
	"github.com/tokengate/tokengate/jwtintrospect"
	"github.com/tokengate/tokengate/provider"
	"github.com/tokengate/tokengate/provider/store"
)

func publicJWKS(t testing.TB, kid string, key any) string {
	t.Helper()
	b, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key, KeyID: kid, Use: "enc"}}})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestJWTIntrospectionResponse(t *testing.T) {
	e := newEnv(t, store.NewMemory(), func(c *provider.Config) {
		c.KeyAlgorithms = []string{provider.AlgRS256, provider.AlgES256, provider.AlgEdDSA}
	})
	app := e.register(provider.ClientSpec{Scopes: []string{"read"}, Resources: []string{"https://api.example/"}})
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwksSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(publicJWKS(t, "ec-1", &ecKey.PublicKey)))
	}))
	t.Cleanup(jwksSrv.Close)

	tests := []struct {
		name    string
		spec    provider.ClientSpec
		decrypt *jwtintrospect.Key
	}{
		{name: "RS256", spec: provider.ClientSpec{IntrospectionSignedResponseAlg: "RS256"}},
		{name: "PS256", spec: provider.ClientSpec{IntrospectionSignedResponseAlg: "PS256"}},
		{name: "ES256", spec: provider.ClientSpec{IntrospectionSignedResponseAlg: "ES256"}},
		{name: "EdDSA", spec: provider.ClientSpec{IntrospectionSignedResponseAlg: "EdDSA"}},
		{name: "RSA-OAEP-256 A256GCM inline jwks", spec: provider.ClientSpec{IntrospectionSignedResponseAlg: "ES256",
			IntrospectionEncryptedResponseAlg: "RSA-OAEP-256", IntrospectionEncryptedResponseEnc: "A256GCM", JWKS: publicJWKS(t, "rsa-1", &rsaKey.PublicKey)},
			decrypt: &jwtintrospect.Key{KeyID: "rsa-1", PrivateKey: rsaKey}},
		{name: "RSA-OAEP default enc and sig", spec: provider.ClientSpec{
			IntrospectionEncryptedResponseAlg: "RSA-OAEP", JWKS: publicJWKS(t, "rsa-1", &rsaKey.PublicKey)},
			decrypt: &jwtintrospect.Key{KeyID: "rsa-1", PrivateKey: rsaKey}},
		{name: "ECDH-ES+A128KW jwks_uri", spec: provider.ClientSpec{IntrospectionSignedResponseAlg: "EdDSA",
			IntrospectionEncryptedResponseAlg: "ECDH-ES+A128KW", IntrospectionEncryptedResponseEnc: "A128CBC-HS256", JWKSURI: jwksSrv.URL},
			decrypt: &jwtintrospect.Key{KeyID: "ec-1", PrivateKey: ecKey}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.spec.Introspection = store.IntrospectOwnAudience
			tt.spec.Resources = []string{"https://api.example/"}
			rs := e.register(tt.spec)
			tok := e.token(app)
			a := e.do(req{path: "/introspect", basic: basic(rs.id, rs.secret), form: form("token", tok), accept: provider.JWTResponseMediaType})
			if a.status != 200 || a.header.Get("Content-Type") != provider.JWTResponseMediaType || a.header.Get("Cache-Control") != "no-store" {
				t.Fatalf("answer %d %v %s", a.status, a.header, a.body)
			}
			// By hand: the JOSE headers and claims RFC 9701 §5 asks for.
			jws := a.body
			if tt.decrypt != nil {
				jwe, err := jose.ParseEncryptedCompact(a.body, []jose.KeyAlgorithm{jose.KeyAlgorithm(rs.client.IntrospectionEncryptedResponseAlg)},
					[]jose.ContentEncryption{jose.ContentEncryption(rs.client.IntrospectionEncryptedResponseEnc)})
				if err != nil {
					t.Fatal(err)
				}
				if jwe.Header.ExtraHeaders["cty"] != "JWT" || jwe.Header.KeyID != tt.decrypt.KeyID {
					t.Errorf("JWE header = %+v, want cty JWT and kid %s", jwe.Header, tt.decrypt.KeyID)
				}
				plain, err := jwe.Decrypt(tt.decrypt.PrivateKey)
				if err != nil {
					t.Fatal(err)
				}
				jws = string(plain)
			}
			sig, err := jose.ParseSignedCompact(jws, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(rs.client.IntrospectionSignedResponseAlg)})
			if err != nil {
				t.Fatal(err)
			}
			h := sig.Signatures[0].Header
			if h.ExtraHeaders["typ"] != "token-introspection+jwt" || h.KeyID == "" {
				t.Errorf("JWS header = %+v", h)
			}
			var claims map[string]any
			json.Unmarshal(sig.UnsafePayloadWithoutVerification(), &claims)
			ti, _ := claims["token_introspection"].(map[string]any)
			if claims["iss"] != e.issuer || claims["aud"] != rs.id || claims["iat"] != float64(e.clock.Now().Unix()) || ti["active"] != true || ti["client_id"] != app.id {
				t.Errorf("claims = %v", claims)
			}

			// And with our own verifier.
			cfg := jwtintrospect.Config{Issuer: e.issuer, ClientID: rs.id, JWKSURL: e.issuer + "/jwks.json", HTTPClient: e.srv.Client(), Now: e.clock.Now}
			if tt.decrypt != nil {
				cfg.DecryptionKeys = []*jwtintrospect.Key{tt.decrypt}
				cfg.RequireEncryption = true
			}
			dec, err := jwtintrospect.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer dec.Close()
			resp, err := dec.Decode(context.Background(), a.header.Get("Content-Type"), []byte(a.body))
			if err != nil {
				t.Fatalf("jwtintrospect: %v", err)
			}
			if !resp.Active || resp.ClientID != app.id || resp.Scope != "read" {
				t.Errorf("decoded = %+v", resp)
			}
			// An inactive verdict is a JWT too, carrying only active:false.
			a = e.do(req{path: "/introspect", basic: basic(rs.id, rs.secret), form: form("token", "tg_at_nope"), accept: provider.JWTResponseMediaType})
			resp, err = dec.Decode(context.Background(), a.header.Get("Content-Type"), []byte(a.body))
			if err != nil || resp.Active {
				t.Errorf("inactive verdict: %+v, %v", resp, err)
			}
			// Without the Accept header, plain JSON.
			if a := e.introspect(rs, tok); a.header.Get("Content-Type") != "application/json" {
				t.Errorf("without Accept: Content-Type %q", a.header.Get("Content-Type"))
			}
		})
	}
	t.Run("not registered for JWT", func(t *testing.T) {
		rs := e.register(provider.ClientSpec{Introspection: store.IntrospectAny})
		a := e.do(req{path: "/introspect", basic: basic(rs.id, rs.secret), form: form("token", e.token(app)), accept: provider.JWTResponseMediaType})
		if a.header.Get("Content-Type") != "application/json" {
			t.Errorf("Content-Type = %q, want plain JSON", a.header.Get("Content-Type"))
		}
	})
}

func TestJWTAccessTokens(t *testing.T) {
	e := newEnv(t, store.NewMemory(), func(c *provider.Config) {
		c.KeyAlgorithms = []string{provider.AlgRS256, provider.AlgES256}
		c.TokenClaims = func(context.Context, *provider.TokenRequest) (map[string]any, error) {
			return map[string]any{"tenant": "acme"}, nil
		}
	})
	api := "https://api.example/"
	app := e.register(provider.ClientSpec{Scopes: []string{"read"}, Resources: []string{api}, JWTAccessTokens: true})
	rs := e.register(provider.ClientSpec{Introspection: store.IntrospectOwnAudience, Resources: []string{api}})
	tok := e.token(app)
	if strings.Count(tok, ".") != 2 {
		t.Fatalf("token %q is not a JWS", tok)
	}
	sig, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	if typ := sig.Signatures[0].Header.ExtraHeaders["typ"]; typ != "at+jwt" {
		t.Errorf("typ = %v, want at+jwt (RFC 9068 §2.1)", typ)
	}
	// go-oidc verifies it against our discovery document and JWK Set.
	ctx := oidc.ClientContext(context.Background(), e.srv.Client())
	op, err := oidc.NewProvider(ctx, e.issuer)
	if err != nil {
		t.Fatal(err)
	}
	v := op.Verifier(&oidc.Config{ClientID: api, Now: e.clock.Now})
	idt, err := v.Verify(ctx, tok)
	if err != nil {
		t.Fatalf("go-oidc: %v", err)
	}
	var claims struct {
		ClientID string `json:"client_id"`
		Scope    string `json:"scope"`
		JTI      string `json:"jti"`
		Tenant   string `json:"tenant"`
	}
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if idt.Subject != app.id || claims.ClientID != app.id || claims.Scope != "read" || claims.JTI == "" || claims.Tenant != "acme" {
		t.Errorf("claims = %+v sub %s", claims, idt.Subject)
	}
	if !idt.Expiry.Equal(e.clock.Now().Add(provider.DefaultTokenLifetime)) {
		t.Errorf("exp = %v", idt.Expiry)
	}
	// Introspection and revocation work on JWT access tokens too.
	if a := e.introspect(rs, tok); !strings.Contains(a.body, `"tenant":"acme"`) || !strings.Contains(a.body, `"active":true`) {
		t.Errorf("introspection: %s", a.body)
	}
	e.do(req{path: "/revoke", basic: basic(app.id, app.secret), form: form("token", tok)})
	if a := e.introspect(rs, tok); a.body != `{"active":false}` {
		t.Errorf("after revocation: %s", a.body)
	}
}

func TestKeyRotation(t *testing.T) {
	st := store.NewMemory()
	e := newEnv(t, st)
	jwksKids := func() []string {
		var set jose.JSONWebKeySet
		a := e.do(req{method: "GET", path: "/jwks.json"})
		if err := json.Unmarshal([]byte(a.body), &set); err != nil {
			t.Fatal(err)
		}
		var kids []string
		for _, k := range set.Keys {
			if !k.IsPublic() || k.Use != "sig" {
				t.Errorf("JWKS key %s: public %v use %q", k.KeyID, k.IsPublic(), k.Use)
			}
			kids = append(kids, k.KeyID)
		}
		return kids
	}
	before := jwksKids()
	if len(before) != 2 {
		t.Fatalf("JWKS = %v, want 2 keys (ES256, EdDSA)", before)
	}
	// A second provider on the same store reuses the persisted keys.
	p2, err := provider.New(provider.Config{Issuer: e.issuer, Store: st, Now: e.clock.Now, KeyAlgorithms: []string{provider.AlgES256, provider.AlgEdDSA}})
	if err != nil {
		t.Fatal(err)
	}
	defer p2.Close()
	keys, _ := st.Keys(context.Background())
	if len(keys) != 2 {
		t.Fatalf("restart generated new keys: %d in store", len(keys))
	}
	if err := p2.Admin().RotateKeys(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The first provider sees the rotation after KeyRefreshInterval.
	if got := jwksKids(); len(got) != 2 {
		t.Errorf("before refresh: JWKS = %v", got)
	}
	e.clock.Add(provider.DefaultKeyRefreshInterval)
	after := jwksKids()
	if len(after) != 4 {
		t.Fatalf("after rotation: JWKS = %v, want new and retired keys", after)
	}
	// The retired keys go once everything they signed has expired.
	e.clock.Add(provider.DefaultMaxTokenLifetime + 5*time.Minute)
	if got := jwksKids(); len(got) != 2 || got[0] == before[0] || got[1] == before[1] {
		t.Errorf("after expiry: JWKS = %v, want only the new keys (old: %v)", got, before)
	}
}

func TestMetadata(t *testing.T) {
	e := newEnv(t, store.NewMemory())
	for _, path := range []string{"/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"} {
		a := e.do(req{method: "GET", path: path})
		if a.status != 200 || a.header.Get("Content-Type") != "application/json" {
			t.Fatalf("%s: %d", path, a.status)
		}
		m := a.json(t)
		want := map[string]any{
			"issuer": e.issuer, "token_endpoint": e.issuer + "/token", "introspection_endpoint": e.issuer + "/introspect",
			"revocation_endpoint": e.issuer + "/revoke", "jwks_uri": e.issuer + "/jwks.json",
			"revocation_events_endpoint": e.issuer + "/events",
		}
		for k, v := range want {
			if m[k] != v {
				t.Errorf("%s: %s = %v, want %v", path, k, m[k], v)
			}
		}
		if g, _ := m["grant_types_supported"].([]any); len(g) != 1 || g[0] != "client_credentials" {
			t.Errorf("grant_types_supported = %v", m["grant_types_supported"])
		}
		if _, ok := m["authorization_endpoint"]; ok {
			t.Error("advertises an authorization endpoint it does not have")
		}
	}
	if a := e.do(req{method: "POST", path: "/.well-known/oauth-authorization-server"}); a.status != 405 {
		t.Errorf("POST metadata: %d", a.status)
	}
	if a := e.do(req{method: "GET", path: "/nope"}); a.status != 404 {
		t.Errorf("unknown path: %d", a.status)
	}
	md, err := discovery.Fetch(context.Background(), e.srv.Client(), e.issuer, 0)
	if err != nil {
		t.Fatal(err)
	}
	if md.IntrospectionEndpoint != e.issuer+"/introspect" || md.JWKSURI != e.issuer+"/jwks.json" ||
		strings.Join(md.IntrospectionEndpointAuthMethodsSupported, " ") != "client_secret_basic client_secret_post" {
		t.Errorf("discovery.Fetch = %+v", md)
	}
	ctx := oidc.ClientContext(context.Background(), e.srv.Client())
	op, err := oidc.NewProvider(ctx, e.issuer)
	if err != nil {
		t.Fatalf("go-oidc: %v", err)
	}
	if op.Endpoint().TokenURL != e.issuer+"/token" {
		t.Errorf("go-oidc token URL = %q", op.Endpoint().TokenURL)
	}
	var extra struct {
		Introspection string `json:"introspection_endpoint"`
	}
	if err := op.Claims(&extra); err != nil || extra.Introspection != e.issuer+"/introspect" {
		t.Errorf("go-oidc claims: %+v %v", extra, err)
	}
}

func TestIssuerWithPath(t *testing.T) {
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	p, err := provider.New(provider.Config{Issuer: srv.URL + "/tenant-a", KeyAlgorithms: []string{provider.AlgEdDSA}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	mux.Handle("/", p)
	for _, path := range []string{"/.well-known/oauth-authorization-server/tenant-a", "/tenant-a/.well-known/openid-configuration", "/tenant-a/jwks.json"} {
		res, err := srv.Client().Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Errorf("%s: %d", path, res.StatusCode)
		}
	}
	res, _ := srv.Client().Get(srv.URL + "/.well-known/oauth-authorization-server")
	res.Body.Close()
	if res.StatusCode != 404 {
		t.Errorf("root metadata of a path issuer: %d, want 404", res.StatusCode)
	}
}

func TestNewValidation(t *testing.T) {
	iss := "https://as.example"
	tests := []struct {
		name    string
		cfg     provider.Config
		mention string // in the error
	}{
		{"no issuer", provider.Config{}, ""},
		{"relative issuer", provider.Config{Issuer: "/x"}, ""},
		{"issuer with query", provider.Config{Issuer: "https://as.example/?a=b"}, ""},
		{"issuer with fragment", provider.Config{Issuer: "https://as.example/#f"}, ""},
		{"http non-loopback", provider.Config{Issuer: "http://as.example"}, ""},
		{"bad key algorithm", provider.Config{Issuer: "https://as.example", KeyAlgorithms: []string{"HS256"}}, ""},
		{"PS256 as family", provider.Config{Issuer: "https://as.example", KeyAlgorithms: []string{"PS256"}}, ""},
		{"default above max", provider.Config{Issuer: "https://as.example", DefaultTokenLifetime: 2 * time.Hour, MaxTokenLifetime: time.Hour}, ""},
		// One rule in every Config of the module: a negative duration or
		// size is an error naming the field, never silently the default.
		{"negative DefaultTokenLifetime", provider.Config{Issuer: iss, DefaultTokenLifetime: -1}, "DefaultTokenLifetime"},
		{"negative MaxTokenLifetime", provider.Config{Issuer: iss, MaxTokenLifetime: -time.Hour}, "MaxTokenLifetime"},
		{"negative KeyRefreshInterval", provider.Config{Issuer: iss, KeyRefreshInterval: -1}, "KeyRefreshInterval"},
		{"negative SweepInterval", provider.Config{Issuer: iss, SweepInterval: -1}, "SweepInterval"},
		{"negative SweepBatchSize", provider.Config{Issuer: iss, SweepBatchSize: -1}, "SweepBatchSize"},
		{"negative MaxBodyBytes", provider.Config{Issuer: iss, MaxBodyBytes: -1}, "MaxBodyBytes"},
		{"negative ClientCacheTTL", provider.Config{Issuer: iss, ClientCacheTTL: -1}, "ClientCacheTTL"},
		{"negative MaxHeldPolls", provider.Config{Issuer: iss, MaxHeldPolls: -1}, "MaxHeldPolls"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := provider.New(tt.cfg)
			if err == nil {
				p.Close()
				t.Fatal("New succeeded")
			}
			if !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("error %q does not name %s", err, tt.mention)
			}
		})
	}
	p, err := provider.New(provider.Config{Issuer: "http://as.example", InsecureAllowHTTPIssuer: true, KeyAlgorithms: []string{provider.AlgEdDSA}})
	if err != nil {
		t.Fatalf("InsecureAllowHTTPIssuer: %v", err)
	}
	p.Close()
}

// TestJWTResponseKeyFailure: when the client's jwks_uri cannot be read, the
// answer is a server error, never a plain or unencrypted verdict.
func TestJWTResponseKeyFailure(t *testing.T) {
	e := newEnv(t, store.NewMemory())
	gone := httptest.NewServer(http.NotFoundHandler())
	defer gone.Close()
	rs := e.register(provider.ClientSpec{Introspection: store.IntrospectAny, IntrospectionEncryptedResponseAlg: "ECDH-ES", JWKSURI: gone.URL})
	app := e.register(provider.ClientSpec{})
	a := e.do(req{path: "/introspect", basic: basic(rs.id, rs.secret), form: form("token", e.token(app)), accept: provider.JWTResponseMediaType})
	if a.status != 500 || a.json(t)["error"] != "server_error" || strings.Contains(a.body, "active") {
		t.Errorf("answer %d %s, want 500 server_error", a.status, a.body)
	}
}

// TestJWKSURIRedirectRefused: the provider fetches a client's jwks_uri
// itself, so a redirect there would let whoever answers at that URL point the
// provider at any address it can reach (including plain http on loopback),
// and pick the key the answer is encrypted to. Redirects are not followed.
func TestJWKSURIRedirectRefused(t *testing.T) {
	e := newEnv(t, store.NewMemory())
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var internalHits atomic.Int32
	internal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		internalHits.Add(1)
		w.Write([]byte(publicJWKS(t, "ec-1", &ecKey.PublicKey)))
	}))
	defer internal.Close()
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, internal.URL+"/admin", http.StatusFound)
	}))
	defer redirector.Close()
	rs := e.register(provider.ClientSpec{Introspection: store.IntrospectAny, IntrospectionEncryptedResponseAlg: "ECDH-ES", JWKSURI: redirector.URL})
	app := e.register(provider.ClientSpec{})
	a := e.do(req{path: "/introspect", basic: basic(rs.id, rs.secret), form: form("token", e.token(app)), accept: provider.JWTResponseMediaType})
	if a.status != 500 || strings.Contains(a.body, "active") {
		t.Errorf("answer %d %s, want 500 server_error", a.status, a.body)
	}
	if n := internalHits.Load(); n != 0 {
		t.Errorf("the redirect was followed: the target was fetched %d times", n)
	}
}

func TestGrantNotAllowed(t *testing.T) {
	e := newEnv(t, store.NewMemory())
	if err := e.p.Store().CreateClient(context.Background(), &store.Client{ID: "no-grants", SecretHash: store.Hash("s")}); err != nil {
		t.Fatal(err)
	}
	a := e.do(req{path: "/token", basic: basic("no-grants", "s"), form: "grant_type=client_credentials"})
	if a.status != 400 || a.json(t)["error"] != "unauthorized_client" {
		t.Errorf("answer %d %s, want unauthorized_client", a.status, a.body)
	}
}
