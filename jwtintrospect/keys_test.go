package jwtintrospect_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/tokengate/tokengate/jwtintrospect"
)

func pemOf(t testing.TB, typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func TestParseKey(t *testing.T) {
	rsaKey := newRSAKey(t, "rs", 2048)
	weak := newRSAKey(t, "weak", 1024)
	ecKey := newECKey(t, elliptic.P256())
	ed := newEdKey(t)
	must := func(b []byte, err error) []byte {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	jwkJSON := func(k jose.JSONWebKey) []byte { return must(json.Marshal(k)) }
	tests := []struct {
		name    string
		data    []byte
		wantKID string // "" means the RFC 7638 thumbprint
		wantAlg string
		wantErr string
	}{
		{name: "PKCS #8 RSA", data: pemOf(t, "PRIVATE KEY", must(x509.MarshalPKCS8PrivateKey(rsaKey)))},
		{name: "PKCS #1 RSA", data: pemOf(t, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey))},
		{name: "SEC 1 EC", data: pemOf(t, "EC PRIVATE KEY", must(x509.MarshalECPrivateKey(ecKey)))},
		{name: "PKCS #8 EC with surrounding space", data: append(append([]byte("\n  "), pemOf(t, "PRIVATE KEY", must(x509.MarshalPKCS8PrivateKey(ecKey)))...), '\n')},
		{name: "JWK RSA with kid and alg", data: jwkJSON(jose.JSONWebKey{Key: rsaKey, KeyID: "rs-1", Algorithm: "RSA-OAEP-256", Use: "enc"}), wantKID: "rs-1", wantAlg: "RSA-OAEP-256"},
		{name: "JWK EC without kid", data: jwkJSON(jose.JSONWebKey{Key: ecKey})},

		{name: "public JWK", data: jwkJSON(jose.JSONWebKey{Key: &ecKey.PublicKey}), wantErr: "public key"},
		{name: "JWK for signing", data: jwkJSON(jose.JSONWebKey{Key: ecKey, Use: "sig"}), wantErr: `"use": "sig"`},
		{name: "JWK with an alg of another type", data: jwkJSON(jose.JSONWebKey{Key: ecKey, Algorithm: "RSA-OAEP"}), wantErr: "does not fit a EC key"},
		{name: "public PEM", data: pemOf(t, "PUBLIC KEY", must(x509.MarshalPKIXPublicKey(&rsaKey.PublicKey))), wantErr: "not a private key"},
		{name: "encrypted PEM", data: pemOf(t, "ENCRYPTED PRIVATE KEY", []byte{1, 2, 3}), wantErr: "encrypted"},
		{name: "Ed25519 PEM", data: pemOf(t, "PRIVATE KEY", must(x509.MarshalPKCS8PrivateKey(ed))), wantErr: "cannot decrypt"},
		{name: "Ed25519 JWK", data: jwkJSON(jose.JSONWebKey{Key: ed}), wantErr: "cannot decrypt"},
		{name: "RSA 1024", data: pemOf(t, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(weak)), wantErr: "at least 2048"},
		{name: "corrupt PEM body", data: pemOf(t, "PRIVATE KEY", []byte("nonsense")), wantErr: "PEM PRIVATE KEY"},
		{name: "garbage", data: []byte("hello"), wantErr: "neither PEM nor a JWK"},
		{name: "broken JSON", data: []byte(`{"kty":`), wantErr: "not a JWK"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := jwtintrospect.ParseKey(tt.data)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseKey error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseKey: %v", err)
			}
			want := tt.wantKID
			if want == "" {
				jwk := jose.JSONWebKey{Key: k.PrivateKey}
				pub := jwk.Public()
				sum, err := pub.Thumbprint(cryptoSHA256)
				if err != nil {
					t.Fatal(err)
				}
				want = b64(sum)
			}
			if k.KeyID != want || k.Algorithm != tt.wantAlg {
				t.Errorf("ParseKey = kid %q alg %q, want kid %q alg %q", k.KeyID, k.Algorithm, want, tt.wantAlg)
			}
		})
	}
}

func TestLoadKey(t *testing.T) {
	dir := t.TempDir()
	ecKey := newECKey(t, elliptic.P256())
	der, err := x509.MarshalECPrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "rs.pem")
	if err := os.WriteFile(good, pemOf(t, "EC PRIVATE KEY", der), 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.pem")
	if err := os.WriteFile(big, make([]byte, 128<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	k, err := jwtintrospect.LoadKey(good)
	if err != nil {
		t.Fatalf("LoadKey: %v", err)
	}
	if p, ok := k.PrivateKey.(*ecdsa.PrivateKey); !ok || !p.Equal(ecKey) {
		t.Errorf("LoadKey returned %T, not the key written", k.PrivateKey)
	}
	for _, path := range []string{big, filepath.Join(dir, "missing.pem")} {
		if _, err := jwtintrospect.LoadKey(path); err == nil {
			t.Errorf("LoadKey(%s) succeeded, want an error", filepath.Base(path))
		}
	}
}

func TestJWKSHandler(t *testing.T) {
	rsaKey := newRSAKey(t, "rs", 2048)
	ecKey := newECKey(t, elliptic.P256())
	ed := newEdKey(t)
	d := newDecoder(t, jwks(t, jose.JSONWebKey{Key: ed, KeyID: "ed"}), jwtintrospect.Config{
		KeyAlgorithms: []string{"RSA-OAEP-256", "ECDH-ES", "ECDH-ES+A128KW"},
		DecryptionKeys: []*jwtintrospect.Key{
			{KeyID: "r", PrivateKey: rsaKey},
			{KeyID: "e", PrivateKey: ecKey},
			{KeyID: "e-kw", Algorithm: "ECDH-ES+A128KW", PrivateKey: ecKey},
		},
	})
	srv := httptest.NewServer(d.JWKSHandler())
	defer srv.Close()

	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/jwk-set+json" {
		t.Fatalf("GET = %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if strings.Contains(string(body), `"d"`) || strings.Contains(string(body), `"p"`) {
		t.Fatalf("the JWK Set leaks private members: %s", body)
	}
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil {
		t.Fatal(err)
	}
	want := []struct{ kid, kty, alg string }{
		{"r", "RSA", "RSA-OAEP-256"}, // the only listed RSA algorithm
		{"e", "EC", ""},              // two EC algorithms fit: alg left out
		{"e-kw", "EC", "ECDH-ES+A128KW"},
	}
	if len(set.Keys) != len(want) {
		t.Fatalf("got %d keys, want %d: %s", len(set.Keys), len(want), body)
	}
	for i, w := range want {
		k := set.Keys[i]
		alg, _ := k["alg"].(string)
		if k["kid"] != w.kid || k["kty"] != w.kty || alg != w.alg || k["use"] != "enc" {
			t.Errorf("key %d = %v, want kid %s kty %s alg %q use enc", i, k, w.kid, w.kty, w.alg)
		}
	}
	// The published keys are the public halves of the decryption keys.
	var parsed jose.JSONWebKeySet
	if err := json.Unmarshal(body, &parsed); err != nil {
		t.Fatal(err)
	}
	if pub, ok := parsed.Keys[0].Key.(*rsa.PublicKey); !ok || !pub.Equal(&rsaKey.PublicKey) {
		t.Errorf("key r is %T, not the RSA public key", parsed.Keys[0].Key)
	}

	for _, method := range []string{http.MethodPost, http.MethodDelete} {
		req, _ := http.NewRequestWithContext(context.Background(), method, srv.URL, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s = %d, want 405", method, resp.StatusCode)
		}
	}
}

func TestJWKSHandlerWithoutKeys(t *testing.T) {
	d := newDecoder(t, jwks(t, jose.JSONWebKey{Key: newEdKey(t), KeyID: "ed"}), jwtintrospect.Config{})
	rec := httptest.NewRecorder()
	d.JWKSHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/.well-known/jwks.json", nil))
	if rec.Code != http.StatusOK || strings.TrimSpace(rec.Body.String()) != `{"keys":[]}` {
		t.Fatalf("GET = %d %s, want an empty set", rec.Code, rec.Body)
	}
}

// A key read from PEM decrypts answers addressed to its thumbprint kid, as
// published by JWKSHandler.
func TestParsedKeyDecrypts(t *testing.T) {
	asKey := newEdKey(t)
	priv := newECKey(t, elliptic.P384())
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	k, err := jwtintrospect.ParseKey(pemOf(t, "PRIVATE KEY", der))
	if err != nil {
		t.Fatal(err)
	}
	d := newDecoder(t, jwks(t, jose.JSONWebKey{Key: asKey, KeyID: "as"}), jwtintrospect.Config{DecryptionKeys: []*jwtintrospect.Key{k}})
	rec := httptest.NewRecorder()
	d.JWKSHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(rec.Body.Bytes(), &set); err != nil || len(set.Keys) != 1 {
		t.Fatalf("JWK Set %s: %v", rec.Body, err)
	}
	pub := set.Keys[0]
	body := encryptJWE(t, signJWS(t, jose.EdDSA, asKey, "as", "token-introspection+jwt", claims(), nil),
		jose.ECDH_ES_A256KW, jose.A256CBC_HS512, pub.Key, pub.KeyID, nil)
	resp, err := d.Decode(context.Background(), jwtintrospect.MediaType, []byte(body))
	if err != nil || !resp.Active {
		t.Fatalf("Decode = %+v, %v", resp, err)
	}
}
