package jwtaccess_test

import (
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/tokengate/tokengate/introspect"
	"github.com/tokengate/tokengate/jwtaccess"
)

const issuer = "https://as.example.com"

// pinnedValidator trusts the test issuer's keys, pinned.
func pinnedValidator(t testing.TB) *jwtaccess.Validator {
	return newValidator(t, jwtaccess.Config{Issuer: issuer, JWKS: issuerKeys(t)})
}

// tokenCase is one token and the cause it must be refused for (nil: it is
// accepted).
type tokenCase struct {
	name  string
	token string
	want  error
}

func (c tokenCase) run(t *testing.T, v *jwtaccess.Validator) {
	t.Run(c.name, func(t *testing.T) {
		resp, err := v.Introspect(context.Background(), c.token)
		if c.want == nil {
			if err != nil {
				t.Fatalf("Introspect: %v", err)
			}
			if !resp.Active || resp.Subject != "alice" {
				t.Fatalf("Introspect = %+v, want alice's verdict", resp)
			}
			return
		}
		if resp != nil || !errors.Is(err, c.want) {
			t.Fatalf("Introspect = %v, %v; want %v", resp, err, c.want)
		}
		if !errors.Is(err, introspect.ErrInactive) {
			t.Fatalf("error %v is not introspect.ErrInactive: the guard would not answer invalid_token", err)
		}
	})
}

func TestValidTokens(t *testing.T) {
	v := pinnedValidator(t)
	c := claims(issuer)
	for _, tc := range []tokenCase{
		{name: "RS256", token: sign(t, jose.RS256, rsaKey, "rs", "at+jwt", c, nil)},
		{name: "PS256 with an RSA key without alg", token: sign(t, jose.PS256, rsaKey, "rs", "at+jwt", c, nil)},
		{name: "RS512", token: sign(t, jose.RS512, rsaKey, "rs", "at+jwt", c, nil)},
		{name: "ES256", token: sign(t, jose.ES256, ecKey, "ec", "at+jwt", c, nil)},
		{name: "EdDSA", token: sign(t, jose.EdDSA, edKey, "ed", "at+jwt", c, nil)},
		{name: "typ application/at+jwt", token: sign(t, jose.ES256, ecKey, "ec", "application/at+jwt", c, nil)},
		{name: "typ in another case", token: sign(t, jose.ES256, ecKey, "ec", "AT+JWT", c, nil)},
		{name: "no kid: the keys that fit are tried", token: sign(t, jose.ES256, ecKey, "", "at+jwt", c, nil)},
		{name: "aud an array holding ours", token: sign(t, jose.ES256, ecKey, "ec", "at+jwt", with(c, map[string]any{"aud": []string{"https://other", audience}}), nil)},
		{name: "without iat, nbf, jti, scope", token: sign(t, jose.ES256, ecKey, "ec", "at+jwt", with(c, map[string]any{"iat": nil, "jti": nil, "scope": nil}), nil)},
		{name: "exp within the skew", token: sign(t, jose.ES256, ecKey, "ec", "at+jwt", with(c, map[string]any{"exp": testNow.Add(-10 * time.Second).Unix()}), nil)},
		{name: "nbf within the skew", token: sign(t, jose.ES256, ecKey, "ec", "at+jwt", with(c, map[string]any{"nbf": testNow.Add(10 * time.Second).Unix()}), nil)},
		{name: "fractional times", token: sign(t, jose.ES256, ecKey, "ec", "at+jwt", with(c, map[string]any{"exp": float64(testNow.Add(time.Hour).Unix()) + 0.5}), nil)},
	} {
		tc.run(t, v)
	}
}

func TestClaimsMapIntoTheVerdict(t *testing.T) {
	v := pinnedValidator(t)
	c := with(claims(issuer), map[string]any{"cnf": map[string]any{"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}, "roles": []string{"admin"}})
	resp, err := v.Introspect(context.Background(), sign(t, jose.ES256, ecKey, "ec", "at+jwt", c, nil))
	if err != nil {
		t.Fatal(err)
	}
	want := introspect.Response{
		Active: true, Scope: "orders:read orders:write", ClientID: "app", Subject: "alice",
		Expiry: testNow.Add(time.Hour), IssuedAt: testNow, Audience: []string{audience}, Issuer: issuer, JWTID: "at-1",
	}
	if resp.Active != want.Active || resp.Scope != want.Scope || resp.ClientID != want.ClientID || resp.Subject != want.Subject ||
		!resp.Expiry.Equal(want.Expiry) || !resp.IssuedAt.Equal(want.IssuedAt) || !slices.Equal(resp.Audience, want.Audience) ||
		resp.Issuer != want.Issuer || resp.JWTID != want.JWTID || !resp.NotBefore.IsZero() || resp.TokenType != "" {
		t.Fatalf("verdict = %+v\nwant      %+v", resp, want)
	}
	if string(resp.Confirmation) != `{"jkt":"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}` {
		t.Errorf("cnf = %s", resp.Confirmation)
	}
	var acr string
	var authTime int64
	var roles []string
	if resp.Claim("acr", &acr) != nil || resp.Claim("auth_time", &authTime) != nil || resp.Claim("roles", &roles) != nil ||
		acr != "urn:mace:incommon:iap:silver" || authTime != testNow.Add(-time.Minute).Unix() || !slices.Equal(roles, []string{"admin"}) {
		t.Errorf("extras: acr %q, auth_time %d, roles %v", acr, authTime, roles)
	}
	names := resp.ExtraNames()
	slices.Sort(names)
	if !slices.Equal(names, []string{"acr", "auth_time", "roles"}) {
		t.Errorf("extra members %v, want acr, auth_time, roles only", names)
	}
}

// TestBadInput holds the bad inputs of issue 12, each by name.
func TestBadInput(t *testing.T) {
	v := pinnedValidator(t)
	c := claims(issuer)
	good := sign(t, jose.ES256, ecKey, "ec", "at+jwt", c, nil)
	pubDER, err := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	pubJWK, err := json.Marshal(jose.JSONWebKey{Key: &rsaKey.PublicKey, KeyID: "rs", Use: "sig"})
	if err != nil {
		t.Fatal(err)
	}
	hs256 := func(secret []byte) func([]byte) []byte {
		return func(in []byte) []byte { m := hmac.New(sha256.New, secret); m.Write(in); return m.Sum(nil) }
	}
	rs256 := func(in []byte) []byte {
		sum := sha256.Sum256(in)
		sig, err := rsa.SignPKCS1v15(rand.Reader, rsaKey, crypto.SHA256, sum[:])
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
	ps256 := func(in []byte) []byte {
		sum := sha256.Sum256(in)
		sig, err := rsa.SignPSS(rand.Reader, rsaKey, crypto.SHA256, sum[:], nil)
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
	hdr := func(alg, kid string) map[string]any { return map[string]any{"alg": alg, "kid": kid, "typ": "at+jwt"} }
	jwe := func() string {
		e, err := jose.NewEncrypter(jose.A128GCM, jose.Recipient{Algorithm: jose.ECDH_ES, Key: &ecKey.PublicKey, KeyID: "ec"},
			(&jose.EncrypterOptions{}).WithType("at+jwt").WithContentType("JWT"))
		if err != nil {
			t.Fatal(err)
		}
		obj, err := e.Encrypt([]byte(good))
		if err != nil {
			t.Fatal(err)
		}
		s, _ := obj.CompactSerialize()
		return s
	}()

	for _, tc := range []tokenCase{
		{name: "alg none", token: rawJWS(t, hdr("none", "ec"), c, func([]byte) []byte { return nil }), want: jwtaccess.ErrSignature},
		{name: "alg None with a signature", token: rawJWS(t, hdr("None", "ec"), c, func([]byte) []byte { return []byte("sig") }), want: jwtaccess.ErrSignature},
		{name: "HS256 keyed with the issuer's RSA public key as PEM", token: rawJWS(t, hdr("HS256", "rs"), c, hs256(pubPEM)), want: jwtaccess.ErrSignature},
		{name: "HS256 keyed with the issuer's RSA public key as JWK", token: rawJWS(t, hdr("HS256", "rs"), c, hs256(pubJWK)), want: jwtaccess.ErrSignature},
		{name: "HS256 keyed with the issuer's RSA public key as DER", token: rawJWS(t, hdr("HS256", ""), c, hs256(pubDER)), want: jwtaccess.ErrSignature},
		{name: "RS256 signature labelled PS256", token: rawJWS(t, hdr("PS256", "rs"), c, rs256), want: jwtaccess.ErrSignature},
		{name: "PS256 signature labelled RS256", token: rawJWS(t, hdr("RS256", "rs"), c, ps256), want: jwtaccess.ErrSignature},
		{name: "PS256 under a key whose alg is RS256", token: sign(t, jose.PS256, rsaKey2, "rs-only", "at+jwt", c, nil), want: jwtaccess.ErrSignature},
		{name: "ES256 naming an RSA key", token: sign(t, jose.ES256, ecKey, "rs", "at+jwt", c, nil), want: jwtaccess.ErrSignature},
		{name: "kid with a path", token: sign(t, jose.ES256, ecKey, "../../etc/passwd", "at+jwt", c, nil), want: jwtaccess.ErrSignature},
		{name: "kid with SQL", token: sign(t, jose.ES256, ecKey, "ec' OR '1'='1", "at+jwt", c, nil), want: jwtaccess.ErrSignature},
		{name: "kid with a NUL", token: sign(t, jose.ES256, ecKey, "ec\x00", "at+jwt", c, nil), want: jwtaccess.ErrSignature},
		{name: "ID token (typ JWT) from the same issuer", token: sign(t, jose.ES256, ecKey, "ec", "JWT", with(c, map[string]any{"aud": "app", "nonce": "n"}), nil), want: jwtaccess.ErrType},
		{name: "ID token with our audience", token: sign(t, jose.ES256, ecKey, "ec", "JWT", c, nil), want: jwtaccess.ErrType},
		{name: "no typ", token: sign(t, jose.ES256, ecKey, "ec", "", c, nil), want: jwtaccess.ErrType},
		{name: "logout token", token: sign(t, jose.ES256, ecKey, "ec", "logout+jwt", c, nil), want: jwtaccess.ErrType},
		{name: "typ at+jwt with a suffix", token: sign(t, jose.ES256, ecKey, "ec", "at+jwt2", c, nil), want: jwtaccess.ErrType},
		{name: "crit header", token: sign(t, jose.ES256, ecKey, "ec", "at+jwt", c, map[string]any{"crit": []string{"exp"}, "exp": 1}), want: jwtaccess.ErrMalformed},
		{name: "expired", token: sign(t, jose.ES256, ecKey, "ec", "at+jwt", with(c, map[string]any{"exp": testNow.Add(-time.Minute).Unix()}), nil), want: jwtaccess.ErrClaims},
		{name: "not yet valid", token: sign(t, jose.ES256, ecKey, "ec", "at+jwt", with(c, map[string]any{"nbf": testNow.Add(time.Minute).Unix()}), nil), want: jwtaccess.ErrClaims},
		{name: "issued in the future", token: sign(t, jose.ES256, ecKey, "ec", "at+jwt", with(c, map[string]any{"iat": testNow.Add(time.Minute).Unix()}), nil), want: jwtaccess.ErrClaims},
		{name: "without exp", token: sign(t, jose.ES256, ecKey, "ec", "at+jwt", with(c, map[string]any{"exp": nil}), nil), want: jwtaccess.ErrClaims},
		{name: "exp a string", token: sign(t, jose.ES256, ecKey, "ec", "at+jwt", with(c, map[string]any{"exp": fmt.Sprint(testNow.Add(time.Hour).Unix())}), nil), want: jwtaccess.ErrClaims},
		{name: "wrong aud", token: sign(t, jose.ES256, ecKey, "ec", "at+jwt", with(c, map[string]any{"aud": "https://other.example.com"}), nil), want: jwtaccess.ErrClaims},
		{name: "aud missing", token: sign(t, jose.ES256, ecKey, "ec", "at+jwt", with(c, map[string]any{"aud": nil}), nil), want: jwtaccess.ErrClaims},
		{name: "aud a number", token: sign(t, jose.ES256, ecKey, "ec", "at+jwt", with(c, map[string]any{"aud": 1}), nil), want: jwtaccess.ErrClaims},
		{name: "wrong iss", token: sign(t, jose.ES256, ecKey, "ec", "at+jwt", with(c, map[string]any{"iss": "https://evil.example.com"}), nil), want: jwtaccess.ErrClaims},
		{name: "iss a prefix of the right one", token: sign(t, jose.ES256, ecKey, "ec", "at+jwt", with(c, map[string]any{"iss": issuer[:len(issuer)-4]}), nil), want: jwtaccess.ErrClaims},
		{name: "iss extending the right one", token: sign(t, jose.ES256, ecKey, "ec", "at+jwt", with(c, map[string]any{"iss": issuer + ".evil.com"}), nil), want: jwtaccess.ErrClaims},
		{name: "iss with a trailing slash", token: sign(t, jose.ES256, ecKey, "ec", "at+jwt", with(c, map[string]any{"iss": issuer + "/"}), nil), want: jwtaccess.ErrClaims},
		{name: "iss missing", token: sign(t, jose.ES256, ecKey, "ec", "at+jwt", with(c, map[string]any{"iss": nil}), nil), want: jwtaccess.ErrClaims},
		{name: "AUD beside aud", token: sign(t, jose.ES256, ecKey, "ec", "at+jwt", fmt.Sprintf(`{"iss":%q,"sub":"alice","aud":"https://other","AUD":%q,"exp":%d}`, issuer, audience, testNow.Add(time.Hour).Unix()), nil), want: jwtaccess.ErrClaims},
		{name: "aud twice", token: sign(t, jose.ES256, ecKey, "ec", "at+jwt", fmt.Sprintf(`{"iss":%q,"sub":"alice","aud":"https://other","aud":%q,"exp":%d}`, issuer, audience, testNow.Add(time.Hour).Unix()), nil), want: jwtaccess.ErrClaims},
		{name: "1 MB token", token: good + strings.Repeat("A", 1<<20), want: jwtaccess.ErrMalformed},
		{name: "1 MB claim", token: sign(t, jose.ES256, ecKey, "ec", "at+jwt", with(c, map[string]any{"pad": strings.Repeat("x", 1<<20)}), nil), want: jwtaccess.ErrMalformed},
		{name: "nested JWT as the payload", token: sign(t, jose.ES256, ecKey, "ec", "at+jwt", good, nil), want: jwtaccess.ErrClaims},
		{name: "nested JWT with cty JWT", token: sign(t, jose.ES256, ecKey, "ec", "at+jwt", good, map[string]any{"cty": "JWT"}), want: jwtaccess.ErrClaims},
		{name: "invalid base64 in the header", token: "e!J." + strings.SplitN(good, ".", 2)[1], want: jwtaccess.ErrMalformed},
		{name: "invalid base64 in the signature", token: good + "*", want: jwtaccess.ErrMalformed},
		{name: "base64 with padding", token: strings.Replace(good, ".", "=.", 1), want: jwtaccess.ErrMalformed},
		{name: "header not JSON", token: b64([]byte("alg")) + "." + strings.SplitN(good, ".", 2)[1], want: jwtaccess.ErrMalformed},
		{name: "two segments", token: "a.b", want: jwtaccess.ErrMalformed},
		{name: "four segments", token: good + ".x", want: jwtaccess.ErrMalformed},
		{name: "empty", token: "", want: jwtaccess.ErrMalformed},
		{name: "JWE as an access token", token: jwe, want: jwtaccess.ErrMalformed},
		{name: "tampered payload", token: strings.Split(good, ".")[0] + "." + b64(payloadBytes(t, with(c, map[string]any{"scope": "admin"}))) + "." + strings.Split(good, ".")[2], want: jwtaccess.ErrSignature},
		{name: "signed by a key the issuer does not have", token: sign(t, jose.RS256, rsaKey2, "rs", "at+jwt", c, nil), want: jwtaccess.ErrSignature},
	} {
		tc.run(t, v)
	}
}

// TestForeignKeyHeadersIgnored: a token naming its own key (jwk), or where
// to fetch one (jku, x5u), is verified with the issuer's keys only, and
// nothing it names is fetched.
func TestForeignKeyHeadersIgnored(t *testing.T) {
	var fetched atomic.Int32
	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fetched.Add(1) }))
	defer attacker.Close()
	v := pinnedValidator(t)
	c := claims(issuer)
	evilKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	evilJWK := jose.JSONWebKey{Key: &evilKey.PublicKey, KeyID: "evil"}
	for _, tc := range []tokenCase{
		{name: "jwk header with the signer's own key", token: sign(t, jose.RS256, evilKey, "", "at+jwt", c, map[string]any{"jwk": evilJWK}), want: jwtaccess.ErrSignature},
		{name: "jwk header under the issuer's kid", token: sign(t, jose.RS256, evilKey, "rs", "at+jwt", c, map[string]any{"jwk": evilJWK}), want: jwtaccess.ErrSignature},
		{name: "jku header", token: sign(t, jose.RS256, evilKey, "evil", "at+jwt", c, map[string]any{"jku": attacker.URL + "/jwks"}), want: jwtaccess.ErrSignature},
		{name: "x5u header", token: sign(t, jose.RS256, evilKey, "evil", "at+jwt", c, map[string]any{"x5u": attacker.URL + "/cert"}), want: jwtaccess.ErrSignature},
		{name: "jku header on a good token changes nothing", token: sign(t, jose.ES256, ecKey, "ec", "at+jwt", c, map[string]any{"jku": attacker.URL + "/jwks"})},
	} {
		tc.run(t, v)
	}
	if n := fetched.Load(); n != 0 {
		t.Fatalf("%d requests reached the URL a token named", n)
	}
}

func TestKeysFromTheIssuersMetadata(t *testing.T) {
	as := newFakeIssuer(t)
	clk := testNow
	v := newValidator(t, jwtaccess.Config{Issuer: as.URL, Now: func() time.Time { return clk }})
	ctx := context.Background()
	c := claims(as.URL)
	if _, err := v.Introspect(ctx, sign(t, jose.ES256, ecKey, "ec", "at+jwt", c, nil)); err != nil {
		t.Fatalf("Introspect: %v", err)
	}
	if as.mdCalls.Load() != 1 || as.jwksCalls.Load() != 1 {
		t.Fatalf("%d metadata and %d key set fetches, want 1 and 1", as.mdCalls.Load(), as.jwksCalls.Load())
	}
	for range 5 {
		if _, err := v.Introspect(ctx, sign(t, jose.EdDSA, edKey, "ed", "at+jwt", c, nil)); err != nil {
			t.Fatalf("Introspect: %v", err)
		}
	}
	if as.jwksCalls.Load() != 1 {
		t.Fatalf("%d key set fetches for known keys, want 1", as.jwksCalls.Load())
	}

	// Rotation: a new kid is fetched once; an unknown one is then invalid.
	newKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	set, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &newKey.PublicKey, KeyID: "rotated"}}})
	as.jwks.Store(&set)
	if _, err := v.Introspect(ctx, sign(t, jose.RS256, newKey, "rotated", "at+jwt", c, nil)); err != nil {
		t.Fatalf("Introspect with the rotated key: %v", err)
	}
	// A key dropped from the set no longer verifies. Within the rate limit
	// its kid is not called invalid, only unavailable: the set may have
	// changed since the last fetch.
	dropped := sign(t, jose.ES256, ecKey, "ec", "at+jwt", c, nil)
	_, err = v.Introspect(ctx, dropped)
	if !errors.Is(err, introspect.ErrUnavailable) || errors.Is(err, introspect.ErrInactive) {
		t.Fatalf("dropped kid within the rate limit = %v, want ErrUnavailable only", err)
	}
	if n := as.jwksCalls.Load(); n != 2 {
		t.Fatalf("%d key set fetches, want 2", n)
	}
	clk = clk.Add(time.Minute)
	if _, err = v.Introspect(ctx, dropped); !errors.Is(err, jwtaccess.ErrSignature) {
		t.Fatalf("dropped kid after a refresh = %v, want ErrSignature", err)
	}
	if n := as.jwksCalls.Load(); n != 3 {
		t.Fatalf("%d key set fetches, want 3", n)
	}
}

func TestUnreachableIssuerIsUnavailable(t *testing.T) {
	as := newFakeIssuer(t)
	url := as.URL
	as.Close()
	v := newValidator(t, jwtaccess.Config{Issuer: url})
	_, err := v.Introspect(context.Background(), sign(t, jose.ES256, ecKey, "ec", "at+jwt", claims(url), nil))
	if !errors.Is(err, introspect.ErrUnavailable) || errors.Is(err, introspect.ErrInactive) {
		t.Fatalf("Introspect = %v, want ErrUnavailable only (fail closed, and not cached as inactive)", err)
	}
}

func TestRevoke(t *testing.T) {
	clk := testNow
	v := newValidator(t, jwtaccess.Config{Issuer: issuer, JWKS: issuerKeys(t), MaxRevocations: 2, Now: func() time.Time { return clk }})
	ctx := context.Background()
	exp := testNow.Add(time.Hour)
	tok := sign(t, jose.ES256, ecKey, "ec", "at+jwt", claims(issuer), nil)
	if err := v.Revoke("at-1", exp); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Introspect(ctx, tok); !errors.Is(err, jwtaccess.ErrRevoked) {
		t.Fatalf("revoked token: %v, want ErrRevoked", err)
	}
	other := sign(t, jose.ES256, ecKey, "ec", "at+jwt", with(claims(issuer), map[string]any{"jti": "at-2"}), nil)
	if _, err := v.Introspect(ctx, other); err != nil {
		t.Fatalf("another jti: %v", err)
	}
	if err := v.Revoke("at-2", exp); err != nil {
		t.Fatal(err)
	}
	if err := v.Revoke("at-3", exp); !errors.Is(err, jwtaccess.ErrRevocationsFull) {
		t.Fatalf("a third live revocation with MaxRevocations 2: %v, want ErrRevocationsFull", err)
	}
	// Revocations leave once their token has expired (plus skew), making
	// room.
	clk = exp.Add(jwtaccess.DefaultClockSkew + time.Second)
	if err := v.Revoke("at-3", clk.Add(time.Hour)); err != nil {
		t.Fatalf("Revoke after the others expired: %v", err)
	}
}

func TestCacheIdentity(t *testing.T) {
	set := issuerKeys(t)
	id := func(cfg jwtaccess.Config) string {
		cfg.JWKS = set
		return newValidator(t, cfg).CacheIdentity()
	}
	base := id(jwtaccess.Config{Issuer: issuer})
	if base != id(jwtaccess.Config{Issuer: issuer}) {
		t.Fatal("two validators of one configuration have different identities")
	}
	for name, cfg := range map[string]jwtaccess.Config{
		"another issuer":   {Issuer: "https://as2.example.com"},
		"another audience": {Issuer: issuer, Audiences: []string{"https://other"}},
		"fewer algorithms": {Issuer: issuer, Algorithms: []string{"ES256"}},
	} {
		if id(cfg) == base {
			t.Errorf("%s: same cache identity", name)
		}
	}
	if !strings.HasPrefix(base, "jwtaccess:") {
		t.Errorf("identity %q", base)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	set := issuerKeys(t)
	for _, tt := range []struct {
		name string
		cfg  jwtaccess.Config
		want string
	}{
		{"no issuer", jwtaccess.Config{Audiences: []string{audience}, JWKS: set}, "Config.Issuer"},
		{"no audience", jwtaccess.Config{Issuer: issuer, JWKS: set}, "Config.Audiences"},
		{"empty audience", jwtaccess.Config{Issuer: issuer, Audiences: []string{""}, JWKS: set}, "Config.Audiences"},
		{"HS256", jwtaccess.Config{Issuer: issuer, Audiences: []string{audience}, JWKS: set, Algorithms: []string{"HS256"}}, "not an asymmetric"},
		{"none", jwtaccess.Config{Issuer: issuer, Audiences: []string{audience}, JWKS: set, Algorithms: []string{"none"}}, "not an asymmetric"},
		{"empty algorithms", jwtaccess.Config{Issuer: issuer, Audiences: []string{audience}, JWKS: set, Algorithms: []string{}}, "Config.Algorithms"},
		{"negative skew", jwtaccess.Config{Issuer: issuer, Audiences: []string{audience}, JWKS: set, ClockSkew: -1}, "negative"},
		{"both key sources", jwtaccess.Config{Issuer: issuer, Audiences: []string{audience}, JWKS: set, JWKSURL: issuer + "/jwks"}, "only one"},
		{"plain http issuer", jwtaccess.Config{Issuer: "http://as.example.com", Audiences: []string{audience}}, "InsecureAllowHTTPJWKSURL"},
		{"plain http JWKSURL", jwtaccess.Config{Issuer: issuer, Audiences: []string{audience}, JWKSURL: "http://as.example.com/jwks"}, "InsecureAllowHTTPJWKSURL"},
		{"pinned set with kid twice", jwtaccess.Config{Issuer: issuer, Audiences: []string{audience}, JWKS: []byte(strings.Replace(string(set), `"kid":"ec"`, `"kid":"ec","kid":"x"`, 1))}, "duplicate"},
		{"empty pinned set", jwtaccess.Config{Issuer: issuer, Audiences: []string{audience}, JWKS: []byte(`{"keys":[]}`)}, "no usable key"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := jwtaccess.New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New = %v, want an error naming %q", err, tt.want)
			}
		})
	}
}
