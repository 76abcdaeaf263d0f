package jwtintrospect_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/tokengate/tokengate/introspect"
	"github.com/tokengate/tokengate/jwtintrospect"
)

var updateSeeds = flag.Bool("update-fuzz-seeds", false, "rewrite testdata/fuzz/FuzzDecode from the fixed fuzz keys")

// Fixed keys, so that the seed corpus stays valid: the AS signs with
// fuzzSigner, the RS decrypts with fuzzDecrypter.
func fuzzKeys(t testing.TB) (ed25519.PrivateKey, *ecdsa.PrivateKey) {
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = byte(i)
	}
	signer := ed25519.NewKeyFromSeed(seed)
	d := make([]byte, 32)
	for i := range d {
		d[i] = byte(0x40 + i)
	}
	dec, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d)
	if err != nil {
		t.Fatal(err)
	}
	return signer, dec
}

func fuzzDecoder(t testing.TB) *jwtintrospect.Decoder {
	signer, dec := fuzzKeys(t)
	d, err := jwtintrospect.New(jwtintrospect.Config{
		Issuer:         testIssuer,
		ClientID:       testClientID,
		JWKS:           jwks(t, jose.JSONWebKey{Key: signer, KeyID: "fuzz-ed"}),
		DecryptionKeys: []*jwtintrospect.Key{{KeyID: "fuzz-rs", PrivateKey: dec}},
		Now:            fixedNow,
		Logger:         slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// fuzzSeeds are valid and nearly valid responses for the fixed keys.
func fuzzSeeds(t testing.TB) map[string]string {
	signer, dec := fuzzKeys(t)
	const typ = "token-introspection+jwt"
	c := claims()
	signed := signJWS(t, jose.EdDSA, signer, "fuzz-ed", typ, c, nil)
	return map[string]string{
		"signed":          signed,
		"inactive":        signJWS(t, jose.EdDSA, signer, "fuzz-ed", typ, with(c, map[string]any{"token_introspection": map[string]any{"active": false}}), nil),
		"encrypted":       encryptJWE(t, signed, jose.ECDH_ES_A128KW, jose.A128GCM, &dec.PublicKey, "fuzz-rs", nil),
		"encrypted-cbc":   encryptJWE(t, signed, jose.ECDH_ES, jose.A128CBC_HS256, &dec.PublicKey, "fuzz-rs", nil),
		"alg-none":        unsignedJWS(t, map[string]any{"alg": "none", "typ": typ}, c),
		"wrong-aud":       signJWS(t, jose.EdDSA, signer, "fuzz-ed", typ, with(c, map[string]any{"aud": []any{"x", 1}}), nil),
		"no-kid":          signJWS(t, jose.EdDSA, signer, "", typ, c, nil),
		"unknown-kid":     signJWS(t, jose.EdDSA, signer, "other", typ, c, nil),
		"compressed":      encryptJWE(t, signed, jose.ECDH_ES, jose.A128GCM, &dec.PublicKey, "fuzz-rs", (&jose.EncrypterOptions{Compression: jose.DEFLATE}).WithContentType("JWT")),
		"five-empty-dots": "....",
		// Issue 9, finding 3: case variants and duplicates of claim names.
		"case-folded-claims": signJWS(t, jose.EdDSA, signer, "fuzz-ed", typ, fmt.Sprintf(
			`{"iss":%q,"iat":%d,"aud":"other-rs","AUD":%q,"token_introspection":{"active":false},"TOKEN_INTROSPECTION":{"active":true,"scope":"read write","sub":"alice"}}`,
			testIssuer, testNow.Unix(), testClientID), nil),
	}
}

// TestFuzzSeedsAreCurrent checks the committed corpus: the valid seeds still
// verify, so the fuzzer starts from deep inside Decode. Run with
// -update-fuzz-seeds to rewrite it after changing the fixed keys or claims.
func TestFuzzSeedsAreCurrent(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzDecode")
	if *updateSeeds {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, body := range fuzzSeeds(t) {
			content := fmt.Sprintf("go test fuzz v1\nstring(%q)\n[]byte(%q)\n", jwtintrospect.MediaType, body)
			if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	d := fuzzDecoder(t)
	defer d.Close()
	for _, name := range []string{"signed", "encrypted", "encrypted-cbc", "no-kid"} {
		raw, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("%v (run go test -run TestFuzzSeedsAreCurrent -update-fuzz-seeds)", err)
		}
		var ct string
		var body []byte
		if _, err := fmt.Sscanf(string(raw), "go test fuzz v1\nstring(%q)\n[]byte(%q)\n", &ct, &body); err != nil {
			t.Fatalf("seed %s: %v", name, err)
		}
		if _, err := d.Decode(context.Background(), ct, body); err != nil {
			t.Errorf("seed %s no longer verifies: %v", name, err)
		}
	}
}

// FuzzDecode feeds arbitrary bodies and content types to Decode: it must
// never panic, and must either return a response or an error that fails
// closed (introspect.ErrMalformedResponse).
func FuzzDecode(f *testing.F) {
	for _, body := range fuzzSeeds(f) {
		f.Add(jwtintrospect.MediaType, []byte(body))
	}
	f.Add("application/json", []byte(`{"active":true}`))
	d := fuzzDecoder(f)
	defer d.Close()
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		resp, err := d.Decode(context.Background(), contentType, body)
		if err != nil {
			if resp != nil {
				t.Fatalf("Decode returned both a response and %v", err)
			}
			if !errors.Is(err, introspect.ErrMalformedResponse) {
				t.Fatalf("Decode error %v does not fail closed", err)
			}
			return
		}
		if resp == nil {
			t.Fatal("Decode returned neither a response nor an error")
		}
	})
}
