package jwtintrospect_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

const (
	testIssuer   = "https://as.example.com"
	testClientID = "rs-client"
	testKID      = "as-rsa"
)

// testNow is the fixed clock of every test.
var testNow = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func fixedNow() time.Time { return testNow }

// Keys are generated once per test binary: RSA generation is slow under -race.
var (
	rsaKeys   = map[string]*rsa.PrivateKey{}
	rsaKeysMu sync.Mutex
)

// newRSAKey returns the RSA key named name, generating it on first use.
func newRSAKey(t testing.TB, name string, bits int) *rsa.PrivateKey {
	t.Helper()
	rsaKeysMu.Lock()
	defer rsaKeysMu.Unlock()
	if k, ok := rsaKeys[name]; ok {
		return k
	}
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	rsaKeys[name] = k
	return k
}

func newECKey(t testing.TB, curve elliptic.Curve) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newEdKey(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// jwks renders a JWK Set of the public halves of keys, named by kid.
func jwks(t testing.TB, keys ...jose.JSONWebKey) []byte {
	t.Helper()
	set := jose.JSONWebKeySet{}
	for _, k := range keys {
		if s, ok := k.Key.(crypto.Signer); ok {
			k.Key = s.Public()
		}
		set.Keys = append(set.Keys, k)
	}
	b, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// claims returns valid RFC 9701 claims at testNow, with an active
// token_introspection.
func claims() map[string]any {
	return map[string]any{
		"iss": testIssuer,
		"aud": testClientID,
		"iat": testNow.Unix(),
		"jti": "resp-1",
		"token_introspection": map[string]any{
			"active":     true,
			"scope":      "read write",
			"client_id":  "app",
			"sub":        "alice",
			"exp":        testNow.Add(time.Hour).Unix(),
			"iss":        testIssuer,
			"aud":        "https://api.example.com",
			"token_type": "Bearer",
		},
	}
}

// with returns a copy of claims with changes applied; a nil value deletes.
func with(c map[string]any, changes map[string]any) map[string]any {
	out := make(map[string]any, len(c))
	for k, v := range c {
		out[k] = v
	}
	for k, v := range changes {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

// signJWS signs claims (a map, or a string taken as the raw payload) with
// key under alg, with the given kid and typ (omitted when empty) and extra
// header members.
func signJWS(t testing.TB, alg jose.SignatureAlgorithm, key any, kid, typ string, payload any, extra map[string]any) string {
	t.Helper()
	opts := &jose.SignerOptions{}
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	for k, v := range extra {
		opts = opts.WithHeader(jose.HeaderKey(k), v)
	}
	sk := jose.SigningKey{Algorithm: alg, Key: key}
	if kid != "" {
		sk.Key = jose.JSONWebKey{Key: key, KeyID: kid}
	}
	signer, err := jose.NewSigner(sk, opts)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := signer.Sign(payloadBytes(t, payload))
	if err != nil {
		t.Fatal(err)
	}
	s, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func payloadBytes(t testing.TB, payload any) []byte {
	if s, ok := payload.(string); ok {
		return []byte(s)
	}
	b, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// unsignedJWS builds an "alg": "none" JWS by hand, as an attacker would.
func unsignedJWS(t testing.TB, header map[string]any, payload any) string {
	t.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	return b64(h) + "." + b64(payloadBytes(t, payload)) + "."
}

// hmacJWS builds an HS256 JWS by hand with secret as the key, whatever its
// length, as an attacker would.
func hmacJWS(t testing.TB, secret []byte, kid string, payload any) string {
	t.Helper()
	hdr := map[string]any{"alg": "HS256", "typ": "token-introspection+jwt"}
	if kid != "" {
		hdr["kid"] = kid
	}
	h, _ := json.Marshal(hdr)
	input := b64(h) + "." + b64(payloadBytes(t, payload))
	return input + "." + b64(hmacSHA256(secret, []byte(input)))
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// tamper replaces the payload of a compact JWS with payload, keeping the
// header and signature.
func tamper(t testing.TB, jws string, payload any) string {
	t.Helper()
	parts := strings.Split(jws, ".")
	parts[1] = b64(payloadBytes(t, payload))
	return strings.Join(parts, ".")
}

// encryptJWE encrypts plaintext to pub under alg/enc, with kid and extra
// header members (cty defaults to JWT; set it to "" in extra to omit).
func encryptJWE(t testing.TB, plaintext string, alg jose.KeyAlgorithm, enc jose.ContentEncryption, pub any, kid string, opts *jose.EncrypterOptions) string {
	t.Helper()
	if opts == nil {
		opts = (&jose.EncrypterOptions{}).WithContentType("JWT")
	}
	e, err := jose.NewEncrypter(enc, jose.Recipient{Algorithm: alg, Key: pub, KeyID: kid}, opts)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := e.Encrypt([]byte(plaintext))
	if err != nil {
		t.Fatal(err)
	}
	s, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func hmacSHA256(key, msg []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	return m.Sum(nil)
}

const cryptoSHA256 = crypto.SHA256

// signRawEd25519 signs a header and payload given as raw JSON, which may
// hold what a map cannot (a name twice), as a hostile server would.
func signRawEd25519(t testing.TB, key ed25519.PrivateKey, header, payload string) string {
	t.Helper()
	input := b64([]byte(header)) + "." + b64([]byte(payload))
	return input + "." + b64(ed25519.Sign(key, []byte(input)))
}
