package jwtintrospect_test

import (
	"context"
	"crypto/elliptic"
	"log/slog"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/tokengate/tokengate/jwtintrospect"
)

// BenchmarkDecode measures Decode (parse, verify, check claims, and for
// encrypted responses decrypt first) per signing key type and, for
// encrypted responses, per decryption key type. The JWK Set is static: no
// network in the loop.
func BenchmarkDecode(b *testing.B) {
	signers := []struct {
		name string
		alg  jose.SignatureAlgorithm
		key  any
	}{
		{"RS256-RSA2048", jose.RS256, newRSAKey(b, "as", 2048)},
		{"ES256-P256", jose.ES256, newECKey(b, elliptic.P256())},
		{"EdDSA-Ed25519", jose.EdDSA, newEdKey(b)},
	}
	rsRSA := newRSAKey(b, "rs", 2048)
	rsEC := newECKey(b, elliptic.P256())
	encrypters := []struct {
		name string
		alg  jose.KeyAlgorithm
		key  *jwtintrospect.Key
		pub  any
	}{
		{"none", "", nil, nil},
		{"RSA-OAEP-256-RSA2048", jose.RSA_OAEP_256, &jwtintrospect.Key{KeyID: "rs", PrivateKey: rsRSA}, &rsRSA.PublicKey},
		{"ECDH-ES+A128KW-P256", jose.ECDH_ES_A128KW, &jwtintrospect.Key{KeyID: "rs", PrivateKey: rsEC}, &rsEC.PublicKey},
	}
	for _, e := range encrypters {
		for _, s := range signers {
			cfg := jwtintrospect.Config{
				Issuer:   testIssuer,
				ClientID: testClientID,
				JWKS:     jwks(b, jose.JSONWebKey{Key: s.key, KeyID: "as"}),
				Now:      fixedNow,
				Logger:   slog.New(slog.DiscardHandler),
			}
			name := "signed/" + s.name
			body := signJWS(b, s.alg, s.key, "as", "token-introspection+jwt", claims(), nil)
			if e.key != nil {
				name = "encrypted/" + e.name + "/" + s.name
				cfg.DecryptionKeys = []*jwtintrospect.Key{e.key}
				body = encryptJWE(b, body, e.alg, jose.A128GCM, e.pub, "rs", nil)
			}
			d, err := jwtintrospect.New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			b.Run(name, func(b *testing.B) {
				ctx := context.Background()
				raw := []byte(body)
				b.ReportAllocs()
				for b.Loop() {
					if _, err := d.Decode(ctx, jwtintrospect.MediaType, raw); err != nil {
						b.Fatal(err)
					}
				}
			})
			d.Close()
		}
	}
}
