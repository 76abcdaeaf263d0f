package jwtaccess_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/tokengate/tokengate/jwtaccess"
)

const audience = "https://api.example.com"

var testNow = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func fixedNow() time.Time { return testNow }

// keys are generated once: RSA generation is slow.
var (
	keysOnce sync.Once
	rsaKey   *rsa.PrivateKey
	rsaKey2  *rsa.PrivateKey
	ecKey    *ecdsa.PrivateKey
	edKey    ed25519.PrivateKey
)

func testKeys(t testing.TB) {
	t.Helper()
	keysOnce.Do(func() {
		var err error
		if rsaKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if rsaKey2, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if ecKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			panic(err)
		}
		if _, edKey, err = ed25519.GenerateKey(rand.Reader); err != nil {
			panic(err)
		}
	})
}

// issuerKeys is the JWK Set of the test issuer: kid "rs" (RSA, no alg),
// "rs-only" (RSA pinned to RS256), "ec" (P-256) and "ed" (Ed25519).
func issuerKeys(t testing.TB) []byte {
	testKeys(t)
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &rsaKey.PublicKey, KeyID: "rs", Use: "sig"},
		{Key: &rsaKey2.PublicKey, KeyID: "rs-only", Algorithm: "RS256"},
		{Key: &ecKey.PublicKey, KeyID: "ec"},
		{Key: edKey.Public(), KeyID: "ed"},
	}}
	b, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fakeIssuer is an authorization server on loopback serving RFC 8414
// metadata and a JWK Set; it counts the requests for each.
type fakeIssuer struct {
	*httptest.Server
	jwks      atomic.Pointer[[]byte]
	jwksCalls atomic.Int32
	mdCalls   atomic.Int32
}

func newFakeIssuer(t testing.TB) *fakeIssuer {
	t.Helper()
	f := &fakeIssuer{}
	set := issuerKeys(t)
	f.jwks.Store(&set)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/oauth-authorization-server", func(w http.ResponseWriter, r *http.Request) {
		f.mdCalls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"issuer":%q,"jwks_uri":%q}`, f.URL, f.URL+"/jwks")
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		f.jwksCalls.Add(1)
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Write(*f.jwks.Load())
	})
	f.Server = httptest.NewServer(mux)
	t.Cleanup(f.Close)
	return f
}

func newValidator(t testing.TB, cfg jwtaccess.Config) *jwtaccess.Validator {
	t.Helper()
	if cfg.Audiences == nil {
		cfg.Audiences = []string{audience}
	}
	if cfg.Now == nil {
		cfg.Now = fixedNow
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	v, err := jwtaccess.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

// claims are valid RFC 9068 claims of issuer at testNow.
func claims(issuer string) map[string]any {
	return map[string]any{
		"iss":       issuer,
		"sub":       "alice",
		"aud":       audience,
		"client_id": "app",
		"scope":     "orders:read orders:write",
		"jti":       "at-1",
		"iat":       testNow.Unix(),
		"exp":       testNow.Add(time.Hour).Unix(),
		"auth_time": testNow.Add(-time.Minute).Unix(),
		"acr":       "urn:mace:incommon:iap:silver",
	}
}

// with returns a copy of c with changes; a nil value deletes the claim.
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

// sign returns a compact JWS of payload (a map, or a string used as it is)
// under alg with key, kid and typ (omitted when empty) and extra header
// members.
func sign(t testing.TB, alg jose.SignatureAlgorithm, key any, kid, typ string, payload any, extra map[string]any) string {
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

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// rawJWS builds a JWS by hand from a header and payload and a signature
// function, as an attacker would.
func rawJWS(t testing.TB, header map[string]any, payload any, sig func(input []byte) []byte) string {
	t.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	input := b64(h) + "." + b64(payloadBytes(t, payload))
	return input + "." + b64(sig([]byte(input)))
}
