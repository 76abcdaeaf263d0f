//go:build interop

package interop

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/tokengate/tokengate/interop/internal/interoptest"
	"github.com/tokengate/tokengate/introspect"
	"github.com/tokengate/tokengate/jwtaccess"
	"github.com/tokengate/tokengate/middleware/nethttp"
	"github.com/tokengate/tokengate/provider"
	"github.com/tokengate/tokengate/provider/providertest"
	"github.com/tokengate/tokengate/provider/store"
	"github.com/tokengate/tokengate/rs"
	"github.com/tokengate/tokengate/tokenroute"
)

// ourResource is the resource indicator our provider's tokens are for.
const ourResource = "https://orders.tokengate.test"

// ourIssuer is a running tokengate provider with a client of JWT access
// tokens, a client of opaque ones, and a resource server that introspects.
type ourIssuer struct {
	*providertest.Server
	JWT, Opaque, RS providertest.Client
}

func startOurIssuer(t *testing.T) *ourIssuer {
	t.Helper()
	srv := providertest.New(t)
	scopes := []string{"orders:read", "orders:write"}
	return &ourIssuer{
		Server: srv,
		JWT:    srv.RegisterClient(provider.ClientSpec{Name: "JWT client", Scopes: scopes, Resources: []string{ourResource}, JWTAccessTokens: true}),
		Opaque: srv.RegisterClient(provider.ClientSpec{Name: "opaque client", Scopes: scopes, Resources: []string{ourResource}}),
		RS:     srv.RegisterClient(provider.ClientSpec{Name: "orders API", Introspection: store.IntrospectAny}),
	}
}

// token gets a token for c from the token endpoint (client_credentials).
func (o *ourIssuer) token(t *testing.T, c providertest.Client, scope string) string {
	t.Helper()
	status, _, body, err := interoptest.PostForm(o.TokenURL, interoptest.Client{ID: c.ID, Secret: c.Secret},
		map[string][]string{"grant_type": {"client_credentials"}, "scope": {scope}})
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	if err != nil || status != http.StatusOK || json.Unmarshal(body, &tr) != nil || tr.AccessToken == "" {
		t.Fatalf("token endpoint: %d %s %v", status, body, err)
	}
	return tr.AccessToken
}

func newJWTValidator(t *testing.T, issuer string, audiences ...string) *jwtaccess.Validator {
	t.Helper()
	v, err := jwtaccess.New(jwtaccess.Config{Issuer: issuer, Audiences: audiences})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

// jwtHeader decodes the protected header of a compact JWS.
func jwtHeader(t *testing.T, token string) map[string]any {
	t.Helper()
	seg, _, _ := strings.Cut(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(seg)
	var h map[string]any
	if err != nil || json.Unmarshal(raw, &h) != nil {
		t.Fatalf("%.40q… is not a JWT", token)
	}
	return h
}

// TestJWTAccessTokensOfOurProvider validates the provider's RFC 9068 tokens
// locally, with keys found from its issuer alone, and shows the bound of
// local validation: a revoked token stays valid until its exp, unless the
// route introspects JWTs too.
func TestJWTAccessTokensOfOurProvider(t *testing.T) {
	as := startOurIssuer(t)
	ctx := context.Background()
	v := newJWTValidator(t, as.Issuer, ourResource)
	tok := as.token(t, as.JWT, "orders:read")
	if typ := jwtHeader(t, tok)["typ"]; typ != "at+jwt" {
		t.Fatalf("typ %v, want at+jwt", typ)
	}
	resp, err := v.Introspect(ctx, tok)
	if err != nil {
		t.Fatalf("Introspect: %v", err)
	}
	if resp.ClientID != as.JWT.ID || resp.Scope != "orders:read" || !slices.Contains(resp.Audience, ourResource) ||
		resp.Issuer != as.Issuer || resp.JWTID == "" || time.Until(resp.Expiry) <= 0 {
		t.Errorf("verdict %+v", resp)
	}
	if _, err := newJWTValidator(t, as.Issuer, "https://billing.tokengate.test").Introspect(ctx, tok); !errors.Is(err, jwtaccess.ErrClaims) {
		t.Errorf("a validator for another audience: %v, want ErrClaims", err)
	}
	if _, err := v.Introspect(ctx, as.token(t, as.Opaque, "orders:read")); !errors.Is(err, jwtaccess.ErrMalformed) {
		t.Errorf("an opaque token: %v, want ErrMalformed", err)
	}

	remote, err := introspect.NewClient(introspect.Config{Issuer: as.Issuer, ClientID: as.RS.ID, ClientSecret: as.RS.Secret})
	if err != nil {
		t.Fatal(err)
	}
	strict, err := tokenroute.New(tokenroute.Config{Issuers: []tokenroute.Issuer{{Issuer: as.Issuer, JWT: v, Opaque: remote, IntrospectJWTs: true}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := strict.Introspect(ctx, tok); err != nil {
		t.Fatalf("IntrospectJWTs before revocation: %v", err)
	}
	as.Revoke(tok)
	if _, err := v.Introspect(ctx, tok); err != nil {
		t.Errorf("local validation sees a revocation (%v): the documented bound is exp", err)
	}
	if _, err := strict.Introspect(ctx, tok); !errors.Is(err, introspect.ErrInactive) {
		t.Errorf("IntrospectJWTs after revocation: %v, want ErrInactive", err)
	}
	if err := v.Revoke(resp.JWTID, resp.Expiry); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Introspect(ctx, tok); !errors.Is(err, jwtaccess.ErrRevoked) {
		t.Errorf("after Revoke(jti): %v, want ErrRevoked", err)
	}
}

// TestJWTAccessTokensOfOIDCProvider validates node oidc-provider's RFC 9068
// tokens, issued for a resource indicator configured for JWTs.
func TestJWTAccessTokensOfOIDCProvider(t *testing.T) {
	op := oidcProvider(t)
	ctx := context.Background()
	v := newJWTValidator(t, op.Issuer, op.JWTResource)
	tok := op.TokenForResource(t, "orders:read orders:write", op.JWTResource)
	if h := jwtHeader(t, tok); h["typ"] != "at+jwt" || h["alg"] != "ES256" {
		t.Fatalf("header %v, want typ at+jwt and alg ES256", h)
	}
	resp, err := v.Introspect(ctx, tok)
	if err != nil {
		t.Fatalf("Introspect: %v", err)
	}
	if resp.ClientID != op.API.ID || resp.Scope != "orders:read orders:write" || !slices.Equal(resp.Audience, []string{op.JWTResource}) ||
		resp.Issuer != op.Issuer || resp.JWTID == "" {
		t.Errorf("verdict %+v", resp)
	}
	if _, err := newJWTValidator(t, op.Issuer, op.Resource).Introspect(ctx, tok); !errors.Is(err, jwtaccess.ErrClaims) {
		t.Errorf("a validator for the other resource: %v, want ErrClaims", err)
	}
	if _, err := newJWTValidator(t, op.Issuer+"/", op.JWTResource).Introspect(ctx, tok); err == nil {
		t.Error("a validator for the issuer with a trailing slash accepted the token")
	}
}

// TestTwoIssuersOneGuard protects one API with tokens of both peers, JWT and
// opaque, through one router under one guard in one process.
func TestTwoIssuersOneGuard(t *testing.T) {
	ours := startOurIssuer(t)
	op := oidcProvider(t)

	ourRemote, err := introspect.NewClient(introspect.Config{Issuer: ours.Issuer, ClientID: ours.RS.ID, ClientSecret: ours.RS.Secret})
	if err != nil {
		t.Fatal(err)
	}
	opRemote, err := introspect.NewClient(introspect.Config{Issuer: op.Issuer, ClientID: op.RSBasic.ID, ClientSecret: op.RSBasic.Secret})
	if err != nil {
		t.Fatal(err)
	}
	router, err := tokenroute.New(tokenroute.Config{Issuers: []tokenroute.Issuer{
		{Issuer: ours.Issuer, JWT: newJWTValidator(t, ours.Issuer, ourResource), Opaque: ourRemote, OpaquePrefix: provider.AccessTokenPrefix},
		{Issuer: op.Issuer, JWT: newJWTValidator(t, op.Issuer, op.JWTResource), Opaque: opRemote},
	}})
	if err != nil {
		t.Fatal(err)
	}
	cache, err := introspect.NewCache(router, introspect.CacheConfig{})
	if err != nil {
		t.Fatal(err)
	}
	guard, err := rs.New(rs.Config{Introspector: cache, Audiences: []string{ourResource, op.Resource, op.JWTResource}})
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(nethttp.MustNew(nethttp.Config{Guard: guard})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := rs.PrincipalFrom(r.Context())
		fmt.Fprintf(w, "%s %s", p.Issuer, p.ClientID)
	})))
	defer api.Close()

	// A JWT of an issuer the router does not know, signed by a key of its
	// own: refused without a request anywhere.
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, (&jose.SignerOptions{}).WithType("at+jwt"))
	payload, _ := json.Marshal(map[string]any{"iss": "https://unknown.tokengate.test", "aud": ourResource, "exp": time.Now().Add(time.Hour).Unix()})
	forged, _ := signer.Sign(payload)
	forgedToken, _ := forged.CompactSerialize()

	revoked := ours.token(t, ours.Opaque, "orders:read")
	ours.Revoke(revoked)
	for _, c := range []struct {
		name, token string
		status      int
		body        string
	}{
		{"our JWT", ours.token(t, ours.JWT, "orders:read"), 200, ours.Issuer + " " + ours.JWT.ID},
		{"our opaque token", ours.token(t, ours.Opaque, "orders:read"), 200, " " + ours.Opaque.ID},
		{"oidc-provider's JWT", op.TokenForResource(t, "orders:read", op.JWTResource), 200, op.Issuer + " " + op.API.ID},
		{"oidc-provider's opaque token", op.Token(t, "orders:read"), 200, op.API.ID},
		{"our revoked opaque token", revoked, 401, ""},
		{"a JWT of an unknown issuer", forgedToken, 401, ""},
		{"an opaque token neither knows", "not-a-token", 401, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, api.URL, nil)
			req.Header.Set("Authorization", "Bearer "+c.token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
			if resp.StatusCode != c.status || !strings.Contains(string(body), c.body) {
				t.Fatalf("%d %q, want %d with %q", resp.StatusCode, body, c.status, c.body)
			}
			if c.status == 401 && !strings.Contains(resp.Header.Get("WWW-Authenticate"), "invalid_token") {
				t.Errorf("WWW-Authenticate %q", resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
}
