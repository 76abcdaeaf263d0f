package jwtintrospect_test

import (
	"context"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/tokengate/tokengate/introspect"
	"github.com/tokengate/tokengate/jwtintrospect"
)

// newDecoder returns a Decoder trusting the keys in set, at testNow, with
// cfg's other fields.
func newDecoder(t testing.TB, set []byte, cfg jwtintrospect.Config) *jwtintrospect.Decoder {
	t.Helper()
	cfg.Issuer = testIssuer
	cfg.ClientID = testClientID
	if cfg.JWKSURL == "" && set != nil {
		cfg.JWKS = set
	}
	cfg.Now = fixedNow
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	d, err := jwtintrospect.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// decodeCase is one response and the error cause expected for it (nil for
// success).
type decodeCase struct {
	name        string
	contentType string // defaults to the RFC 9701 media type
	body        string
	want        error
}

func (c decodeCase) run(t *testing.T, d *jwtintrospect.Decoder) {
	t.Run(c.name, func(t *testing.T) {
		ct := c.contentType
		if ct == "" {
			ct = jwtintrospect.MediaType
		}
		resp, err := d.Decode(context.Background(), ct, []byte(c.body))
		if c.want == nil {
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !resp.Active || resp.Scope != "read write" || resp.Subject != "alice" {
				t.Fatalf("Decode = %+v, want the active response for alice", resp)
			}
			return
		}
		if err == nil {
			t.Fatalf("Decode accepted the response, want %v", c.want)
		}
		if resp != nil {
			t.Errorf("Decode returned a response with error %v", err)
		}
		t.Logf("rejected: %v", err)
		if !errors.Is(err, c.want) {
			t.Errorf("Decode error = %v, want %v", err, c.want)
		}
		if !errors.Is(err, introspect.ErrMalformedResponse) {
			t.Errorf("Decode error = %v, does not match introspect.ErrMalformedResponse", err)
		}
	})
}

func TestDecodeSigned(t *testing.T) {
	asKey := newRSAKey(t, "as", 2048)
	otherKey := newRSAKey(t, "other", 2048)
	weakKey := newRSAKey(t, "weak", 1024)
	ecKey := newECKey(t, elliptic.P256())
	set := jwks(t,
		jose.JSONWebKey{Key: asKey, KeyID: testKID, Use: "sig"},
		jose.JSONWebKey{Key: ecKey, KeyID: "as-ec"},
		jose.JSONWebKey{Key: otherKey, KeyID: "enc-only", Use: "enc"},
		jose.JSONWebKey{Key: otherKey, KeyID: "ps-only", Algorithm: "PS256"},
		jose.JSONWebKey{Key: weakKey, KeyID: "weak"},
	)
	d := newDecoder(t, set, jwtintrospect.Config{})
	c := claims()
	const typ = "token-introspection+jwt"
	good := signJWS(t, jose.RS256, asKey, testKID, typ, c, nil)
	pubDER, err := x509.MarshalPKIXPublicKey(&asKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	ti := c["token_introspection"].(map[string]any)

	cases := []decodeCase{
		{name: "valid RS256", body: good},
		{name: "valid PS256", body: signJWS(t, jose.PS256, asKey, testKID, typ, c, nil)},
		{name: "valid ES256", body: signJWS(t, jose.ES256, ecKey, "as-ec", typ, c, nil)},
		{name: "valid with trailing newline", body: good + "\n"},
		{name: "valid with charset parameter", contentType: "application/token-introspection+jwt; charset=utf-8", body: good},
		{name: "valid typ with application/ prefix", body: signJWS(t, jose.RS256, asKey, testKID, "application/token-introspection+jwt", c, nil)},
		{name: "valid typ in another case", body: signJWS(t, jose.RS256, asKey, testKID, "Token-Introspection+JWT", c, nil)},
		{name: "valid aud array", body: signJWS(t, jose.RS256, asKey, testKID, typ, with(c, map[string]any{"aud": []string{"x", testClientID}}), nil)},
		{name: "valid without kid tries the keys", body: signJWS(t, jose.RS256, asKey, "", typ, c, nil)},
		{name: "valid iat within skew ahead", body: signJWS(t, jose.RS256, asKey, testKID, typ, with(c, map[string]any{"iat": testNow.Add(20 * time.Second).Unix()}), nil)},

		{name: "content type application/json", contentType: "application/json", body: good, want: jwtintrospect.ErrFormat},
		{name: "content type application/jwt", contentType: "application/jwt", body: good, want: jwtintrospect.ErrFormat},
		{name: "empty body", body: "", want: jwtintrospect.ErrFormat},
		{name: "plain JSON body", body: `{"active":true}`, want: jwtintrospect.ErrFormat},
		{name: "too few segments", body: "a.b", want: jwtintrospect.ErrFormat},
		{name: "header not base64", body: "!!!." + strings.SplitN(good, ".", 2)[1], want: jwtintrospect.ErrFormat},
		{name: "10 MB body", body: good + strings.Repeat("A", 10<<20), want: jwtintrospect.ErrFormat},

		{name: "alg none", body: unsignedJWS(t, map[string]any{"alg": "none", "typ": typ, "kid": testKID}, c), want: jwtintrospect.ErrSignature},
		{name: "alg None", body: unsignedJWS(t, map[string]any{"alg": "None", "typ": typ}, c), want: jwtintrospect.ErrSignature},
		{name: "alg none with a signature", body: unsignedJWS(t, map[string]any{"alg": "none", "typ": typ}, c) + "c2ln", want: jwtintrospect.ErrSignature},
		{name: "alg missing", body: unsignedJWS(t, map[string]any{"typ": typ}, c) + "c2ln", want: jwtintrospect.ErrSignature},
		{name: "HS256 with the AS public key PEM as secret", body: hmacJWS(t, pubPEM, testKID, c), want: jwtintrospect.ErrSignature},
		{name: "HS256 with the AS modulus as secret", body: hmacJWS(t, asKey.N.Bytes(), "", c), want: jwtintrospect.ErrSignature},
		{name: "RS384 not in the allowlist", body: signJWS(t, jose.RS384, asKey, testKID, typ, c, nil), want: jwtintrospect.ErrSignature},

		{name: "typ JWT", body: signJWS(t, jose.RS256, asKey, testKID, "JWT", c, nil), want: jwtintrospect.ErrFormat},
		{name: "typ at+jwt", body: signJWS(t, jose.RS256, asKey, testKID, "at+jwt", c, nil), want: jwtintrospect.ErrFormat},
		{name: "typ missing", body: signJWS(t, jose.RS256, asKey, testKID, "", c, nil), want: jwtintrospect.ErrFormat},
		{name: "typ with a suffix", body: signJWS(t, jose.RS256, asKey, testKID, "token-introspection+jwt2", c, nil), want: jwtintrospect.ErrFormat},
		{name: "typ not a string", body: signJWS(t, jose.RS256, asKey, testKID, "", c, map[string]any{"typ": 1}), want: jwtintrospect.ErrFormat},
		{name: "crit header", body: signJWS(t, jose.RS256, asKey, testKID, typ, c, map[string]any{"crit": []string{"exp"}, "exp": 1}), want: jwtintrospect.ErrFormat},

		{name: "tampered payload", body: tamper(t, good, with(c, map[string]any{"token_introspection": with(ti, map[string]any{"scope": "admin"})})), want: jwtintrospect.ErrSignature},
		{name: "tampered signature", body: good[:len(good)-4] + "AAAA", want: jwtintrospect.ErrSignature},
		{name: "signed by another key under the AS kid", body: signJWS(t, jose.RS256, otherKey, testKID, typ, c, nil), want: jwtintrospect.ErrSignature},
		{name: "unknown kid", body: signJWS(t, jose.RS256, otherKey, "nobody", typ, c, nil), want: jwtintrospect.ErrSignature},
		{name: "RS256 naming an EC key", body: signJWS(t, jose.RS256, asKey, "as-ec", typ, c, nil), want: jwtintrospect.ErrSignature},
		{name: "key with use enc", body: signJWS(t, jose.RS256, otherKey, "enc-only", typ, c, nil), want: jwtintrospect.ErrSignature},
		{name: "key pinned to another alg", body: signJWS(t, jose.RS256, otherKey, "ps-only", typ, c, nil), want: jwtintrospect.ErrSignature},
		{name: "RSA key under 2048 bits", body: signJWS(t, jose.RS256, weakKey, "weak", typ, c, nil), want: jwtintrospect.ErrSignature},

		{name: "wrong iss", body: signJWS(t, jose.RS256, asKey, testKID, typ, with(c, map[string]any{"iss": "https://evil.example.com"}), nil), want: jwtintrospect.ErrClaims},
		{name: "iss with a trailing slash", body: signJWS(t, jose.RS256, asKey, testKID, typ, with(c, map[string]any{"iss": testIssuer + "/"}), nil), want: jwtintrospect.ErrClaims},
		{name: "missing iss", body: signJWS(t, jose.RS256, asKey, testKID, typ, with(c, map[string]any{"iss": nil}), nil), want: jwtintrospect.ErrClaims},
		{name: "wrong aud", body: signJWS(t, jose.RS256, asKey, testKID, typ, with(c, map[string]any{"aud": "other-rs"}), nil), want: jwtintrospect.ErrClaims},
		{name: "aud array without us", body: signJWS(t, jose.RS256, asKey, testKID, typ, with(c, map[string]any{"aud": []string{"a", "b"}}), nil), want: jwtintrospect.ErrClaims},
		{name: "missing aud", body: signJWS(t, jose.RS256, asKey, testKID, typ, with(c, map[string]any{"aud": nil}), nil), want: jwtintrospect.ErrClaims},
		{name: "aud a number", body: signJWS(t, jose.RS256, asKey, testKID, typ, with(c, map[string]any{"aud": 7}), nil), want: jwtintrospect.ErrClaims},
		{name: "missing iat", body: signJWS(t, jose.RS256, asKey, testKID, typ, with(c, map[string]any{"iat": nil}), nil), want: jwtintrospect.ErrClaims},
		{name: "iat a string", body: signJWS(t, jose.RS256, asKey, testKID, typ, with(c, map[string]any{"iat": "yesterday"}), nil), want: jwtintrospect.ErrClaims},
		{name: "future iat", body: signJWS(t, jose.RS256, asKey, testKID, typ, with(c, map[string]any{"iat": testNow.Add(time.Hour).Unix()}), nil), want: jwtintrospect.ErrClaims},
		{name: "iat older than MaxAge", body: signJWS(t, jose.RS256, asKey, testKID, typ, with(c, map[string]any{"iat": testNow.Add(-time.Hour).Unix()}), nil), want: jwtintrospect.ErrClaims},
		{name: "expired response", body: signJWS(t, jose.RS256, asKey, testKID, typ, with(c, map[string]any{"exp": testNow.Add(-time.Minute).Unix()}), nil), want: jwtintrospect.ErrClaims},
		{name: "response not yet valid", body: signJWS(t, jose.RS256, asKey, testKID, typ, with(c, map[string]any{"nbf": testNow.Add(time.Hour).Unix()}), nil), want: jwtintrospect.ErrClaims},
		{name: "missing token_introspection", body: signJWS(t, jose.RS256, asKey, testKID, typ, with(c, map[string]any{"token_introspection": nil}), nil), want: jwtintrospect.ErrClaims},
		{name: "token_introspection a string", body: signJWS(t, jose.RS256, asKey, testKID, typ, with(c, map[string]any{"token_introspection": `{"active":true}`}), nil), want: jwtintrospect.ErrClaims},
		{name: "token_introspection without active", body: signJWS(t, jose.RS256, asKey, testKID, typ, with(c, map[string]any{"token_introspection": with(ti, map[string]any{"active": nil})}), nil), want: jwtintrospect.ErrClaims},
		{name: "token_introspection with a bad exp", body: signJWS(t, jose.RS256, asKey, testKID, typ, with(c, map[string]any{"token_introspection": with(ti, map[string]any{"exp": "soon"})}), nil), want: jwtintrospect.ErrClaims},
		{name: "payload not JSON", body: signJWS(t, jose.RS256, asKey, testKID, typ, "not json", nil), want: jwtintrospect.ErrClaims},
	}
	for _, c := range cases {
		c.run(t, d)
	}
}

func TestDecodeInactive(t *testing.T) {
	key := newEdKey(t)
	d := newDecoder(t, jwks(t, jose.JSONWebKey{Key: key, KeyID: "ed"}), jwtintrospect.Config{})
	body := signJWS(t, jose.EdDSA, key, "ed", "token-introspection+jwt",
		with(claims(), map[string]any{"token_introspection": map[string]any{"active": false}}), nil)
	resp, err := d.Decode(context.Background(), jwtintrospect.MediaType, []byte(body))
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if resp.Active {
		t.Fatalf("Decode = %+v, want Active false", resp)
	}
}

func TestDecodeHMAC(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef-shared")
	asKey := newRSAKey(t, "as", 2048)
	d := newDecoder(t, jwks(t, jose.JSONWebKey{Key: asKey, KeyID: testKID}), jwtintrospect.Config{
		SigningAlgorithms: []string{"RS256", "HS256"},
		HMACSecret:        secret,
	})
	pubDER, err := x509.MarshalPKIXPublicKey(&asKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	c := claims()
	cases := []decodeCase{
		{name: "valid HS256 with the shared secret", body: hmacJWS(t, secret, "", c)},
		{name: "valid RS256 still", body: signJWS(t, jose.RS256, asKey, testKID, "token-introspection+jwt", c, nil)},
		{name: "HS256 with the AS public key PEM as secret", body: hmacJWS(t, pubPEM, testKID, c), want: jwtintrospect.ErrSignature},
		{name: "HS256 with the AS public key DER as secret", body: hmacJWS(t, pubDER, testKID, c), want: jwtintrospect.ErrSignature},
		{name: "HS256 with another secret", body: hmacJWS(t, []byte("0123456789abcdef0123456789abcdef-guess"), "", c), want: jwtintrospect.ErrSignature},
		{name: "HS384 not listed", body: signJWS(t, jose.HS384, append(secret, secret...), "", "token-introspection+jwt", c, nil), want: jwtintrospect.ErrSignature},
	}
	for _, c := range cases {
		c.run(t, d)
	}
}

// TestCaseFoldedClaimNames is finding 3 of the hardening review (issue 9):
// claim and header names are matched exactly, and a name given twice is
// refused. encoding/json alone matched "AUD" to "aud" and let the last of
// two case variants win, so a response with an inactive
// token_introspection beside an active TOKEN_INTROSPECTION, for another
// audience beside AUD naming this resource server, was taken as active.
func TestCaseFoldedClaimNames(t *testing.T) {
	key := newEdKey(t)
	d := newDecoder(t, jwks(t, jose.JSONWebKey{Key: key, KeyID: "ed"}), jwtintrospect.Config{})
	const typ = "token-introspection+jwt"
	iat := testNow.Unix()
	active := `{"active":true,"scope":"read write","sub":"alice"}`
	payload := func(members string) string {
		return fmt.Sprintf(`{"iss":%q,"iat":%d,%s}`, testIssuer, iat, members)
	}
	signed := func(members string) string { return signJWS(t, jose.EdDSA, key, "ed", typ, payload(members), nil) }
	header := func(h string) string {
		return signRawEd25519(t, key, h, payload(`"aud":"`+testClientID+`","token_introspection":`+active))
	}

	cases := []decodeCase{
		{name: "the reproduction", body: signed(`"aud":"other-rs","AUD":"` + testClientID + `","token_introspection":{"active":false},"TOKEN_INTROSPECTION":` + active), want: jwtintrospect.ErrClaims},
		{name: "AUD alone", body: signed(`"AUD":"` + testClientID + `","token_introspection":` + active), want: jwtintrospect.ErrClaims},
		{name: "TOKEN_INTROSPECTION alone", body: signed(`"aud":"` + testClientID + `","TOKEN_INTROSPECTION":` + active), want: jwtintrospect.ErrClaims},
		{name: "iss spelt with a long s", body: signed(`"iſs":"https://evil.example.com","aud":"` + testClientID + `","token_introspection":` + active), want: jwtintrospect.ErrClaims},
		{name: "a dotless i makes another name", body: signed(`"ıss":"https://evil.example.com","aud":"` + testClientID + `","token_introspection":` + active)},
		{name: "aud twice", body: signed(`"aud":"other-rs","aud":"` + testClientID + `","token_introspection":` + active), want: jwtintrospect.ErrClaims},
		{name: "token_introspection twice", body: signed(`"aud":"` + testClientID + `","token_introspection":{"active":false},"token_introspection":` + active), want: jwtintrospect.ErrClaims},
		{name: "active twice inside token_introspection", body: signed(`"aud":"` + testClientID + `","token_introspection":{"active":false,"active":true,"scope":"read write","sub":"alice"}`), want: jwtintrospect.ErrClaims},
		{name: "duplicate spelt with an escape", body: signed(`"aud":"other-rs","\u0061ud":"` + testClientID + `","token_introspection":` + active), want: jwtintrospect.ErrClaims},
		{name: "header kid twice", body: header(`{"alg":"EdDSA","typ":"` + typ + `","kid":"other","kid":"ed"}`), want: jwtintrospect.ErrFormat},
		{name: "header typ twice", body: header(`{"alg":"EdDSA","typ":"JWT","typ":"` + typ + `","kid":"ed"}`), want: jwtintrospect.ErrFormat},
		{name: "header TYP is not typ", body: header(`{"alg":"EdDSA","TYP":"` + typ + `","kid":"ed"}`), want: jwtintrospect.ErrFormat},
		{name: "exact names accepted", body: header(`{"alg":"EdDSA","typ":"` + typ + `","kid":"ed"}`)},
	}
	for _, c := range cases {
		c.run(t, d)
	}
}
