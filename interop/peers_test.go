//go:build interop

package interop

// These tests pin down, with raw HTTP, what each peer actually sends: the
// facts docs/interop.md records and the client tests rely on. When a peer
// upgrade changes one of them, a test here says which.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/tokengate/tokengate/interop/internal/interoptest"
)

// rawAuth authenticates a raw introspection request.
type rawAuth func(h http.Header, form url.Values)

func basicHeader(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))
}

// basic is client_secret_basic done right (RFC 6749 §2.3.1).
func basic(c interoptest.Client) rawAuth {
	return func(h http.Header, _ url.Values) {
		h.Set("Authorization", basicHeader(url.QueryEscape(c.ID), url.QueryEscape(c.Secret)))
	}
}

// basicRaw sends the id and secret without form-urlencoding them first.
func basicRaw(c interoptest.Client) rawAuth {
	return func(h http.Header, _ url.Values) { h.Set("Authorization", basicHeader(c.ID, c.Secret)) }
}

func post(c interoptest.Client) rawAuth {
	return func(_ http.Header, form url.Values) {
		form.Set("client_id", c.ID)
		form.Set("client_secret", c.Secret)
	}
}

func bearer(token string) rawAuth {
	return func(h http.Header, _ url.Values) { h.Set("Authorization", "Bearer "+token) }
}

type rawAnswer struct {
	status int
	header http.Header
	body   []byte
}

// introspectRaw POSTs token to endpoint as RFC 7662 §2.1 says.
func introspectRaw(t *testing.T, endpoint string, auth rawAuth, token, accept string) rawAnswer {
	t.Helper()
	form := url.Values{"token": {token}}
	header := http.Header{}
	auth(header, form)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	// A body of known length: Django's development server reads a chunked
	// request body as empty.
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	maps.Copy(req.Header, header)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", accept)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	return rawAnswer{resp.StatusCode, resp.Header, body}
}

// object decodes a JSON object answer, failing t on anything else.
func (a rawAnswer) object(t *testing.T) map[string]any {
	t.Helper()
	if a.status != http.StatusOK {
		t.Fatalf("status %d, want 200; body %s", a.status, a.body)
	}
	var m map[string]any
	if err := json.Unmarshal(a.body, &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", a.body, err)
	}
	return m
}

func getJSON(t *testing.T, u string) map[string]any {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", u, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	return m
}

func getStatus(t *testing.T, u string) int {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func sortedKeys(m map[string]any) []string { return slices.Sorted(maps.Keys(m)) }

func TestOIDCProviderPeer(t *testing.T) {
	op := oidcProvider(t)
	token := op.Token(t, "orders:read orders:write")

	t.Run("discovery", func(t *testing.T) {
		// oidc-provider 9 serves the same document at both well-known
		// locations (RFC 8414 and OpenID Connect Discovery).
		md := getJSON(t, op.Issuer+"/.well-known/oauth-authorization-server")
		if oidc := getJSON(t, op.Issuer+"/.well-known/openid-configuration"); !maps.Equal(stringify(md), stringify(oidc)) {
			t.Errorf("the two discovery documents differ:\n%v\n%v", md, oidc)
		}
		for k, want := range map[string]string{
			"issuer": op.Issuer, "token_endpoint": op.TokenURL, "introspection_endpoint": op.IntrospectionURL,
			"revocation_endpoint": op.RevocationURL, "jwks_uri": op.JWKSURL,
		} {
			if md[k] != want {
				t.Errorf("%s = %v, want %s", k, md[k], want)
			}
		}
		// RFC 8414 §2: when absent, client_secret_basic is the default.
		if v, ok := md["introspection_endpoint_auth_methods_supported"]; ok {
			t.Errorf("introspection_endpoint_auth_methods_supported is now advertised: %v", v)
		}
	})

	t.Run("plain answer", func(t *testing.T) {
		for name, auth := range map[string]rawAuth{"basic": basic(op.RSBasic), "post": post(op.RSPost)} {
			m := introspectRaw(t, op.IntrospectionURL, auth, token, "application/json").object(t)
			want := []string{"active", "aud", "client_id", "exp", "iat", "iss", "scope", "token_type"}
			if got := sortedKeys(m); !slices.Equal(got, want) {
				t.Errorf("%s: members %v, want %v", name, got, want)
			}
			if m["active"] != true || m["client_id"] != op.API.ID || m["scope"] != op.Scopes ||
				m["aud"] != op.Resource || m["iss"] != op.Issuer || m["token_type"] != "Bearer" {
				t.Errorf("%s: answer %v", name, m)
			}
		}
	})

	t.Run("token without scope has no scope member", func(t *testing.T) {
		m := introspectRaw(t, op.IntrospectionURL, basic(op.RSBasic), op.Token(t, ""), "application/json").object(t)
		if _, ok := m["scope"]; ok || m["active"] != true {
			t.Errorf("answer %v, want active without scope", m)
		}
	})

	t.Run("inactive answers are bare", func(t *testing.T) {
		revoked := op.Token(t, "orders:read")
		op.Revoke(t, revoked)
		for name, tok := range map[string]string{"revoked": revoked, "garbage": "not-a-token", "empty-ish": "x"} {
			a := introspectRaw(t, op.IntrospectionURL, basic(op.RSBasic), tok, "application/json")
			if a.status != http.StatusOK || string(a.body) != `{"active":false}` {
				t.Errorf("%s: %d %s, want 200 {\"active\":false}", name, a.status, a.body)
			}
		}
	})

	t.Run("client authentication failures", func(t *testing.T) {
		wrong := op.RSBasic
		wrong.Secret += "x"
		a := introspectRaw(t, op.IntrospectionURL, basic(wrong), token, "application/json")
		if a.status != http.StatusUnauthorized || !strings.Contains(string(a.body), `"invalid_client"`) ||
			!strings.HasPrefix(a.header.Get("WWW-Authenticate"), "Basic") {
			t.Errorf("wrong secret: %d %q %s", a.status, a.header.Get("WWW-Authenticate"), a.body)
		}
		// A secret sent raw (not form-urlencoded) is decoded anyway and so
		// no longer matches: "%2B" becomes "+", and "+" becomes a space.
		a = introspectRaw(t, op.IntrospectionURL, basicRaw(op.RSBasic), token, "application/json")
		if a.status != http.StatusUnauthorized {
			t.Errorf("raw basic secret: %d %s, want 401", a.status, a.body)
		}
		// Only printable ASCII may appear in decoded credentials (VSCHAR).
		nonASCII := interoptest.Client{ID: op.RSBasic.ID, Secret: "sécret"}
		a = introspectRaw(t, op.IntrospectionURL, basic(nonASCII), token, "application/json")
		if a.status != http.StatusBadRequest || !strings.Contains(string(a.body), "not properly encoded") {
			t.Errorf("non-ASCII basic secret: %d %s, want 400 invalid_request", a.status, a.body)
		}
		// The client registered for encrypted answers may not ask for JSON.
		a = introspectRaw(t, op.IntrospectionURL, basic(op.RSEncrypted), token, "application/json")
		if a.status != http.StatusBadRequest || !strings.Contains(string(a.body), `"invalid_request"`) {
			t.Errorf("encrypted client asking for JSON: %d %s, want 400 invalid_request", a.status, a.body)
		}
	})

	t.Run("only the token's client may revoke it", func(t *testing.T) {
		tok := op.Token(t, "orders:read")
		status, _, body, err := interoptest.PostForm(op.RevocationURL, op.RSBasic, url.Values{"token": {tok}})
		if err != nil || status != http.StatusBadRequest || !strings.Contains(string(body), `"invalid_request"`) {
			t.Errorf("revocation by another client: %d %s %v, want 400 invalid_request", status, body, err)
		}
		if m := introspectRaw(t, op.IntrospectionURL, basic(op.RSBasic), tok, "application/json").object(t); m["active"] != true {
			t.Errorf("token no longer active: %v", m)
		}
	})

	t.Run("JWT answers", func(t *testing.T) {
		plain := introspectRaw(t, op.IntrospectionURL, basic(op.RSBasic), token, "application/json").object(t)
		keys := fetchJWKS(t, op.JWKSURL)
		// RSBasic has no introspection_signed_response_alg registered and
		// still gets a signed answer when it asks for one.
		for _, c := range []interoptest.Client{op.RSBasic, op.RSSigned, op.RSEncrypted} {
			a := introspectRaw(t, op.IntrospectionURL, basic(c), token, "application/token-introspection+jwt")
			if a.status != http.StatusOK || !strings.HasPrefix(a.header.Get("Content-Type"), "application/token-introspection+jwt") {
				t.Fatalf("%s: %d %q %s", c.ID, a.status, a.header.Get("Content-Type"), a.body)
			}
			compact := string(a.body)
			if c == op.RSEncrypted {
				jwe, err := jose.ParseEncrypted(compact, []jose.KeyAlgorithm{jose.RSA_OAEP_256}, []jose.ContentEncryption{jose.A256GCM})
				if err != nil {
					t.Fatalf("%s: %v", c.ID, err)
				}
				if jwe.Header.KeyID != op.EncryptionKey.KeyID || jwe.Header.ExtraHeaders["cty"] != "JWT" {
					t.Errorf("%s: JWE header %+v", c.ID, jwe.Header)
				}
				inner, err := jwe.Decrypt(op.EncryptionKey.Key)
				if err != nil {
					t.Fatalf("%s: decrypt: %v", c.ID, err)
				}
				compact = string(inner)
			}
			jws, err := jose.ParseSigned(compact, []jose.SignatureAlgorithm{jose.RS256})
			if err != nil {
				t.Fatalf("%s: %v", c.ID, err)
			}
			h := jws.Signatures[0].Header
			if h.ExtraHeaders["typ"] != "token-introspection+jwt" {
				t.Errorf("%s: typ %v", c.ID, h.ExtraHeaders["typ"])
			}
			matching := keys.Key(h.KeyID)
			if len(matching) != 1 {
				t.Fatalf("%s: kid %q not in the JWKS", c.ID, h.KeyID)
			}
			payload, err := jws.Verify(matching[0])
			if err != nil {
				t.Fatalf("%s: verify: %v", c.ID, err)
			}
			var claims map[string]any
			if err := json.Unmarshal(payload, &claims); err != nil {
				t.Fatal(err)
			}
			// RFC 9701 §5: iss is the AS, aud the caller; no exp, no jti.
			if got := sortedKeys(claims); !slices.Equal(got, []string{"aud", "iat", "iss", "token_introspection"}) {
				t.Errorf("%s: claims %v", c.ID, got)
			}
			if claims["iss"] != op.Issuer || claims["aud"] != c.ID {
				t.Errorf("%s: iss %v aud %v", c.ID, claims["iss"], claims["aud"])
			}
			ti, _ := claims["token_introspection"].(map[string]any)
			if !maps.Equal(stringify(ti), stringify(plain)) {
				t.Errorf("%s: token_introspection %v, plain answer %v", c.ID, ti, plain)
			}
		}
	})
}

func TestOIDCProviderPeerSigningAlgs(t *testing.T) {
	op := oidcProvider(t)
	token := op.Token(t, "orders:read")
	for c, alg := range map[interoptest.Client]jose.SignatureAlgorithm{
		op.RSSigned: jose.RS256, opExtra.SignedES256: jose.ES256, opExtra.SignedEdDSA: jose.EdDSA,
	} {
		a := introspectRaw(t, op.IntrospectionURL, basic(c), token, "application/token-introspection+jwt")
		jws, err := jose.ParseSigned(string(a.body), []jose.SignatureAlgorithm{alg})
		if err != nil {
			t.Errorf("%s: %v (status %d)", c.ID, err, a.status)
			continue
		}
		if got := jws.Signatures[0].Header.Algorithm; got != string(alg) {
			t.Errorf("%s: alg %s, want the registered %s", c.ID, got, alg)
		}
	}
	a := introspectRaw(t, op.IntrospectionURL, basic(opExtra.EncryptedECDH), token, "application/token-introspection+jwt")
	jwe, err := jose.ParseEncrypted(string(a.body), []jose.KeyAlgorithm{jose.ECDH_ES_A128KW}, []jose.ContentEncryption{jose.A128CBC_HS256})
	if err != nil {
		t.Fatalf("ECDH-ES+A128KW client: %v (status %d %s)", err, a.status, a.body)
	}
	if jwe.Header.KeyID != opExtra.ECKeyID {
		t.Errorf("kid %q, want %q", jwe.Header.KeyID, opExtra.ECKeyID)
	}
}

func fetchJWKS(t *testing.T, u string) jose.JSONWebKeySet {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	return set
}

// stringify makes a decoded JSON object comparable with maps.Equal.
func stringify(m map[string]any) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		b, _ := json.Marshal(v)
		out[k] = string(b)
	}
	return out
}

func TestDOTPeer(t *testing.T) {
	dot := djangoOAuthToolkit(t)
	token := dot.Token(t, "orders:read orders:write")

	t.Run("no discovery", func(t *testing.T) {
		for _, p := range []string{"/.well-known/oauth-authorization-server", "/.well-known/openid-configuration", "/o/.well-known/openid-configuration/"} {
			if got := getStatus(t, dot.BaseURL+p); got != http.StatusNotFound {
				t.Errorf("GET %s: %d, want 404", p, got)
			}
		}
	})

	t.Run("answer shape", func(t *testing.T) {
		for name, auth := range map[string]rawAuth{
			"basic":  basic(dot.RS),
			"post":   post(dot.RS),
			"bearer": bearer(dot.IntrospectionToken),
			// Any client DOT can authenticate may introspect any token.
			"the token's own client": basic(dot.API),
		} {
			a := introspectRaw(t, dot.IntrospectionURL, auth, token, "application/json")
			m := a.object(t)
			if got := sortedKeys(m); !slices.Equal(got, []string{"active", "client_id", "exp", "scope"}) {
				t.Errorf("%s: members %v", name, got)
			}
			if m["active"] != true || m["client_id"] != dot.API.ID || m["scope"] != "orders:read orders:write" {
				t.Errorf("%s: answer %v", name, m)
			}
			if ct := a.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("%s: Content-Type %q", name, ct)
			}
		}
		m := introspectRaw(t, dot.IntrospectionURL, basic(dot.RS), dot.UserToken, "application/json").object(t)
		if m["username"] != "alice" {
			t.Errorf("user token: %v, want username alice", m)
		}
		// With no scope asked for, DOT grants DEFAULT_SCOPES.
		m = introspectRaw(t, dot.IntrospectionURL, basic(dot.RS), dot.Token(t, ""), "application/json").object(t)
		if m["scope"] != "orders:read" {
			t.Errorf("token without scope: %v, want scope orders:read", m)
		}
	})

	t.Run("inactive answers", func(t *testing.T) {
		revoked := dot.Token(t, "orders:read")
		dot.Revoke(t, revoked)
		for name, tok := range map[string]string{"revoked": revoked, "garbage": "not-a-token"} {
			a := introspectRaw(t, dot.IntrospectionURL, basic(dot.RS), tok, "application/json")
			if a.status != http.StatusOK || string(a.body) != `{"active": false}` {
				t.Errorf("%s: %d %s", name, a.status, a.body)
			}
		}
	})

	t.Run("rejected callers get a bare 403", func(t *testing.T) {
		wrong := dot.RS
		wrong.Secret += "x"
		for name, auth := range map[string]rawAuth{
			"wrong secret":      basic(wrong),
			"raw basic":         basicRaw(dot.RS), // its secret needs encoding
			"bearer w/o scope":  bearer(token),
			"no authentication": func(http.Header, url.Values) {},
			"unknown bearer":    bearer("nope"),
			"wrong post secret": post(wrong),
		} {
			a := introspectRaw(t, dot.IntrospectionURL, auth, token, "application/json")
			if a.status != http.StatusForbidden || len(a.body) != 0 || a.header.Get("WWW-Authenticate") != "" {
				t.Errorf("%s: %d %q %q, want a bare 403", name, a.status, a.header.Get("WWW-Authenticate"), a.body)
			}
		}
	})

	t.Run("introspection scope by client_credentials", func(t *testing.T) {
		status, _, body, err := interoptest.PostForm(dot.TokenURL, dot.RS, url.Values{"grant_type": {"client_credentials"}, "scope": {"introspection"}})
		if err != nil || status != http.StatusOK {
			t.Fatalf("%d %s %v", status, body, err)
		}
		var tr struct {
			AccessToken string `json:"access_token"`
		}
		if err := json.Unmarshal(body, &tr); err != nil {
			t.Fatal(err)
		}
		m := introspectRaw(t, dot.IntrospectionURL, bearer(tr.AccessToken), token, "application/json").object(t)
		if m["active"] != true {
			t.Errorf("answer %v", m)
		}
	})
}
