package jwtintrospect_test

import (
	"bytes"
	"context"
	"crypto/elliptic"
	"errors"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/tokengate/tokengate/jwtintrospect"
)

func TestDecodeEncrypted(t *testing.T) {
	asKey := newEdKey(t)
	set := jwks(t, jose.JSONWebKey{Key: asKey, KeyID: "as-ed"})
	rsRSA := newRSAKey(t, "rs", 2048)
	rsRSANext := newRSAKey(t, "rs-next", 2048)
	rsEC := newECKey(t, elliptic.P256())
	strangerEC := newECKey(t, elliptic.P256())
	keys := []*jwtintrospect.Key{
		{KeyID: "rs-rsa", PrivateKey: rsRSA},
		{KeyID: "rs-rsa-next", PrivateKey: rsRSANext},
		{KeyID: "rs-ec", PrivateKey: rsEC},
	}
	d := newDecoder(t, set, jwtintrospect.Config{DecryptionKeys: keys})

	c := claims()
	const typ = "token-introspection+jwt"
	inner := signJWS(t, jose.EdDSA, asKey, "as-ed", typ, c, nil)
	unsigned := unsignedJWS(t, map[string]any{"alg": "none", "typ": typ}, c)
	rsaPub, ecPub := &rsRSA.PublicKey, &rsEC.PublicKey
	enc := func(plain string, alg jose.KeyAlgorithm, e jose.ContentEncryption, pub any, kid string) string {
		return encryptJWE(t, plain, alg, e, pub, kid, nil)
	}
	// noCty returns fresh options: their With* methods modify the receiver.
	noCty := func() *jose.EncrypterOptions { return &jose.EncrypterOptions{} }
	zip := (&jose.EncrypterOptions{Compression: jose.DEFLATE}).WithContentType("JWT")
	bomb := strings.Repeat("0", 2<<20) // 2 MiB, twice the size cap, deflated to about 2 KiB
	bombJWE := encryptJWE(t, bomb, jose.RSA_OAEP_256, jose.A128GCM, rsaPub, "rs-rsa", zip)
	if len(bombJWE) > 64<<10 {
		t.Fatalf("the compression bomb is %d bytes; it should be small", len(bombJWE))
	}
	good := enc(inner, jose.RSA_OAEP_256, jose.A256GCM, rsaPub, "rs-rsa")
	parts := strings.Split(good, ".")
	parts[3] = parts[3][:len(parts[3])-4] + "AAAA"
	tampered := strings.Join(parts, ".")

	cases := []decodeCase{
		{name: "valid plain JWS still accepted", body: inner},
		{name: "valid RSA-OAEP-256 A256GCM", body: good},
		{name: "valid RSA-OAEP A128CBC-HS256", body: enc(inner, jose.RSA_OAEP, jose.A128CBC_HS256, rsaPub, "rs-rsa")},
		{name: "valid RSA-OAEP-256 A256CBC-HS512", body: enc(inner, jose.RSA_OAEP_256, jose.A256CBC_HS512, rsaPub, "rs-rsa")},
		{name: "valid ECDH-ES A128GCM", body: enc(inner, jose.ECDH_ES, jose.A128GCM, ecPub, "rs-ec")},
		{name: "valid ECDH-ES+A128KW A256GCM", body: enc(inner, jose.ECDH_ES_A128KW, jose.A256GCM, ecPub, "rs-ec")},
		{name: "valid ECDH-ES+A256KW A128CBC-HS256", body: enc(inner, jose.ECDH_ES_A256KW, jose.A128CBC_HS256, ecPub, "rs-ec")},
		{name: "valid rotated key chosen by kid", body: enc(inner, jose.RSA_OAEP_256, jose.A128GCM, &rsRSANext.PublicKey, "rs-rsa-next")},
		{name: "valid without kid tries the keys", body: enc(inner, jose.RSA_OAEP_256, jose.A128GCM, &rsRSANext.PublicKey, "")},
		{name: "valid without cty", body: encryptJWE(t, inner, jose.RSA_OAEP_256, jose.A128GCM, rsaPub, "rs-rsa", noCty())},
		{name: "valid with JWE typ JWT", body: encryptJWE(t, inner, jose.RSA_OAEP_256, jose.A128GCM, rsaPub, "rs-rsa", noCty().WithContentType("jwt").WithType("JWT"))},

		{name: "RSA1_5 outside the allowlist", body: enc(inner, jose.RSA1_5, jose.A128GCM, rsaPub, "rs-rsa"), want: jwtintrospect.ErrDecrypt},
		{name: "A128KW outside the allowlist", body: enc(inner, jose.A128KW, jose.A128GCM, bytes.Repeat([]byte{1}, 16), "rs-rsa"), want: jwtintrospect.ErrDecrypt},
		{name: "dir outside the allowlist", body: enc(inner, jose.DIRECT, jose.A128GCM, bytes.Repeat([]byte{1}, 16), ""), want: jwtintrospect.ErrDecrypt},
		{name: "PBES2 outside the allowlist", body: enc(inner, jose.PBES2_HS256_A128KW, jose.A128GCM, []byte("password"), ""), want: jwtintrospect.ErrDecrypt},
		{name: "A192GCM outside the default enc allowlist", body: enc(inner, jose.RSA_OAEP_256, jose.A192GCM, rsaPub, "rs-rsa"), want: jwtintrospect.ErrDecrypt},
		{name: "inner JWS unsigned", body: enc(unsigned, jose.RSA_OAEP_256, jose.A128GCM, rsaPub, "rs-rsa"), want: jwtintrospect.ErrSignature},
		{name: "inner plain JSON claims", body: encryptJWE(t, string(payloadBytes(t, c)), jose.RSA_OAEP_256, jose.A128GCM, rsaPub, "rs-rsa", noCty()), want: jwtintrospect.ErrSignature},
		{name: "inner JWS with a wrong typ", body: enc(signJWS(t, jose.EdDSA, asKey, "as-ed", "JWT", c, nil), jose.RSA_OAEP_256, jose.A128GCM, rsaPub, "rs-rsa"), want: jwtintrospect.ErrFormat},
		{name: "inner JWS with wrong aud", body: enc(signJWS(t, jose.EdDSA, asKey, "as-ed", typ, with(c, map[string]any{"aud": "x"}), nil), jose.RSA_OAEP_256, jose.A128GCM, rsaPub, "rs-rsa"), want: jwtintrospect.ErrClaims},
		{name: "nested JWE", body: enc(good, jose.RSA_OAEP_256, jose.A128GCM, rsaPub, "rs-rsa"), want: jwtintrospect.ErrSignature},
		{name: "cty json", body: encryptJWE(t, inner, jose.RSA_OAEP_256, jose.A128GCM, rsaPub, "rs-rsa", noCty().WithContentType("json")), want: jwtintrospect.ErrDecrypt},
		{name: "JWE typ at+jwt", body: encryptJWE(t, inner, jose.RSA_OAEP_256, jose.A128GCM, rsaPub, "rs-rsa", noCty().WithType("at+jwt")), want: jwtintrospect.ErrFormat},
		{name: "compression bomb", body: bombJWE, want: jwtintrospect.ErrDecrypt},
		{name: "compressed valid JWS", body: encryptJWE(t, inner, jose.RSA_OAEP_256, jose.A128GCM, rsaPub, "rs-rsa", zip), want: jwtintrospect.ErrDecrypt},
		{name: "unknown kid", body: enc(inner, jose.RSA_OAEP_256, jose.A128GCM, rsaPub, "nobody"), want: jwtintrospect.ErrDecrypt},
		{name: "EC alg naming an RSA kid", body: enc(inner, jose.ECDH_ES, jose.A128GCM, ecPub, "rs-rsa"), want: jwtintrospect.ErrDecrypt},
		{name: "encrypted to a stranger's key", body: enc(inner, jose.ECDH_ES, jose.A128GCM, &strangerEC.PublicKey, "rs-ec"), want: jwtintrospect.ErrDecrypt},
		{name: "tampered ciphertext", body: tampered, want: jwtintrospect.ErrDecrypt},
		{name: "crit in the JWE header", body: encryptJWE(t, inner, jose.RSA_OAEP_256, jose.A128GCM, rsaPub, "rs-rsa", noCty().WithHeader("crit", []string{"x"}).WithHeader("x", 1)), want: jwtintrospect.ErrFormat},
	}
	for _, c := range cases {
		c.run(t, d)
	}
}

func TestDecodeRequireEncryption(t *testing.T) {
	asKey := newEdKey(t)
	rsKey := newECKey(t, elliptic.P256())
	d := newDecoder(t, jwks(t, jose.JSONWebKey{Key: asKey, KeyID: "as-ed"}), jwtintrospect.Config{
		DecryptionKeys:    []*jwtintrospect.Key{{KeyID: "rs", PrivateKey: rsKey}},
		RequireEncryption: true,
		KeyAlgorithms:     []string{"ECDH-ES+A256KW"},
		ContentEncryption: []string{"A256GCM"},
	})
	inner := signJWS(t, jose.EdDSA, asKey, "as-ed", "token-introspection+jwt", claims(), nil)
	cases := []decodeCase{
		{name: "encrypted", body: encryptJWE(t, inner, jose.ECDH_ES_A256KW, jose.A256GCM, &rsKey.PublicKey, "rs", nil)},
		{name: "signed only", body: inner, want: jwtintrospect.ErrDecrypt},
		{name: "ECDH-ES not listed", body: encryptJWE(t, inner, jose.ECDH_ES, jose.A256GCM, &rsKey.PublicKey, "rs", nil), want: jwtintrospect.ErrDecrypt},
		{name: "A128GCM not listed", body: encryptJWE(t, inner, jose.ECDH_ES_A256KW, jose.A128GCM, &rsKey.PublicKey, "rs", nil), want: jwtintrospect.ErrDecrypt},
	}
	for _, c := range cases {
		c.run(t, d)
	}
}

func TestDecodeEncryptedWithoutKeys(t *testing.T) {
	asKey := newEdKey(t)
	rsKey := newECKey(t, elliptic.P256())
	d := newDecoder(t, jwks(t, jose.JSONWebKey{Key: asKey, KeyID: "as-ed"}), jwtintrospect.Config{})
	inner := signJWS(t, jose.EdDSA, asKey, "as-ed", "token-introspection+jwt", claims(), nil)
	_, err := d.Decode(context.Background(), jwtintrospect.MediaType,
		[]byte(encryptJWE(t, inner, jose.ECDH_ES, jose.A128GCM, &rsKey.PublicKey, "rs", nil)))
	if !errors.Is(err, jwtintrospect.ErrDecrypt) {
		t.Fatalf("Decode error = %v, want ErrDecrypt", err)
	}
}
