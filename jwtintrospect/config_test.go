package jwtintrospect_test

import (
	"crypto/elliptic"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/tokengate/tokengate/jwtintrospect"
)

func TestNewRejectsBadConfig(t *testing.T) {
	ed := newEdKey(t)
	set := jwks(t, jose.JSONWebKey{Key: ed, KeyID: "ed"})
	rsaKey := newRSAKey(t, "rs", 2048)
	weak := newRSAKey(t, "weak", 1024)
	ecKey := newECKey(t, elliptic.P256())
	p224 := newECKey(t, elliptic.P224())
	secret := []byte("0123456789abcdef0123456789abcdef")
	base := func(c jwtintrospect.Config) jwtintrospect.Config {
		if c.Issuer == "" {
			c.Issuer = testIssuer
		}
		if c.ClientID == "" {
			c.ClientID = testClientID
		}
		if c.JWKS == nil && c.JWKSURL == "" {
			c.JWKS = set
		}
		return c
	}
	tests := []struct {
		name string
		cfg  jwtintrospect.Config
		want string // a fragment of the error, naming what to fix
	}{
		{"no issuer", jwtintrospect.Config{ClientID: testClientID, JWKS: set}, "Config.Issuer"},
		{"no client id", jwtintrospect.Config{Issuer: testIssuer, JWKS: set}, "Config.ClientID"},
		{"alg none allowed", base(jwtintrospect.Config{SigningAlgorithms: []string{"RS256", "none"}}), `"none"`},
		{"unknown alg", base(jwtintrospect.Config{SigningAlgorithms: []string{"RS257"}}), `"RS257" is not supported`},
		{"empty alg list", base(jwtintrospect.Config{SigningAlgorithms: []string{}}), "SigningAlgorithms is empty"},
		{"HS256 without secret", base(jwtintrospect.Config{SigningAlgorithms: []string{"RS256", "HS256"}}), "HMACSecret is empty"},
		{"HS512 secret too short", base(jwtintrospect.Config{SigningAlgorithms: []string{"HS512"}, HMACSecret: secret, JWKS: nil}), "HS512 needs at least 64"},
		{"secret without HS alg", base(jwtintrospect.Config{HMACSecret: secret}), "lists no HS256"},
		{"HMAC only with a JWK Set", base(jwtintrospect.Config{SigningAlgorithms: []string{"HS256"}, HMACSecret: secret}), "allows only HMAC"},
		{"both JWKSURL and JWKS", base(jwtintrospect.Config{JWKSURL: "https://as.example.com/jwks", JWKS: set}), "only one of Config.JWKSURL and Config.JWKS"},
		{"plain http JWKSURL", jwtintrospect.Config{Issuer: testIssuer, ClientID: testClientID, JWKSURL: "http://as.example.com/jwks"}, "InsecureAllowHTTPJWKSURL"},
		{"relative JWKSURL", jwtintrospect.Config{Issuer: testIssuer, ClientID: testClientID, JWKSURL: "/jwks"}, "Config.JWKSURL"},
		{"issuer not a URL and nothing to discover from", jwtintrospect.Config{Issuer: "as", ClientID: testClientID}, "cannot be discovered from Config.Issuer"},
		{"JWKS not a set", base(jwtintrospect.Config{JWKS: []byte(`[1]`)}), "Config.JWKS"},
		{"JWKS empty", base(jwtintrospect.Config{JWKS: []byte(`{"keys":[]}`)}), "no usable key"},
		{"JWKS with a key twice", base(jwtintrospect.Config{JWKS: []byte(`{"keys":[],"keys":` + string(set)[len(`{"keys":`):])}), "duplicate member name"},
		{"JWKS with KEYS", base(jwtintrospect.Config{JWKS: []byte(`{"KEYS":` + string(set)[len(`{"keys":`):])}), "only when case is ignored"},
		{"negative skew", base(jwtintrospect.Config{ClockSkew: -1}), "must not be negative"},
		{"encryption required without keys", base(jwtintrospect.Config{RequireEncryption: true}), "Config.DecryptionKeys is empty"},
		{"enc algs without keys", base(jwtintrospect.Config{ContentEncryption: []string{"A128GCM"}}), "Config.DecryptionKeys is empty"},
		{"nil key", base(jwtintrospect.Config{DecryptionKeys: []*jwtintrospect.Key{nil}}), "DecryptionKeys[0] is nil"},
		{"Ed25519 decryption key", base(jwtintrospect.Config{DecryptionKeys: []*jwtintrospect.Key{{KeyID: "a", PrivateKey: ed}}}), "cannot decrypt"},
		{"weak RSA decryption key", base(jwtintrospect.Config{DecryptionKeys: []*jwtintrospect.Key{{KeyID: "a", PrivateKey: weak}}}), "at least 2048"},
		{"P-224 decryption key", base(jwtintrospect.Config{DecryptionKeys: []*jwtintrospect.Key{{KeyID: "a", PrivateKey: p224}}}), "unsupported curve"},
		{"public key as decryption key", base(jwtintrospect.Config{DecryptionKeys: []*jwtintrospect.Key{{KeyID: "a", PrivateKey: &rsaKey.PublicKey}}}), "unsupported private key type"},
		{"duplicate kid", base(jwtintrospect.Config{DecryptionKeys: []*jwtintrospect.Key{{KeyID: "a", PrivateKey: rsaKey}, {KeyID: "a", PrivateKey: ecKey}}}), `"a" appears twice`},
		{"RSA alg with only an EC key", base(jwtintrospect.Config{KeyAlgorithms: []string{"RSA-OAEP-256"}, DecryptionKeys: []*jwtintrospect.Key{{KeyID: "a", PrivateKey: ecKey}}}), "holds no RSA key"},
		{"EC alg with only an RSA key", base(jwtintrospect.Config{KeyAlgorithms: []string{"ECDH-ES"}, DecryptionKeys: []*jwtintrospect.Key{{KeyID: "a", PrivateKey: rsaKey}}}), "holds no EC key"},
		{"key fitting no listed alg", base(jwtintrospect.Config{KeyAlgorithms: []string{"RSA-OAEP-256"}, DecryptionKeys: []*jwtintrospect.Key{{KeyID: "r", PrivateKey: rsaKey}, {KeyID: "e", PrivateKey: ecKey}}}), `DecryptionKeys[1] (kid "e") fits none of Config.KeyAlgorithms`},
		{"key pinned to an unlisted alg", base(jwtintrospect.Config{KeyAlgorithms: []string{"RSA-OAEP-256"}, DecryptionKeys: []*jwtintrospect.Key{{KeyID: "r", Algorithm: "RSA-OAEP", PrivateKey: rsaKey}}}), "fits none of Config.KeyAlgorithms"},
		{"key pinned to an alg of another type", base(jwtintrospect.Config{DecryptionKeys: []*jwtintrospect.Key{{KeyID: "r", Algorithm: "ECDH-ES", PrivateKey: rsaKey}}}), "does not fit a RSA key"},
		{"RSA1_5", base(jwtintrospect.Config{KeyAlgorithms: []string{"RSA1_5"}, DecryptionKeys: []*jwtintrospect.Key{{KeyID: "a", PrivateKey: rsaKey}}}), "RSA1_5 is not supported"},
		{"dir", base(jwtintrospect.Config{KeyAlgorithms: []string{"dir"}, DecryptionKeys: []*jwtintrospect.Key{{KeyID: "a", PrivateKey: rsaKey}}}), `"dir" is not supported`},
		{"unknown enc", base(jwtintrospect.Config{ContentEncryption: []string{"A512GCM"}, DecryptionKeys: []*jwtintrospect.Key{{KeyID: "a", PrivateKey: rsaKey}}}), `"A512GCM" is not supported`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := jwtintrospect.New(tt.cfg)
			if err == nil {
				d.Close()
				t.Fatalf("New accepted the config, want an error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New error = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestNewAcceptsGoodConfig(t *testing.T) {
	ed := newEdKey(t)
	set := jwks(t, jose.JSONWebKey{Key: ed, KeyID: "ed"})
	rsaKey := newRSAKey(t, "rs", 2048)
	ecKey := newECKey(t, elliptic.P384())
	secret := []byte("0123456789abcdef0123456789abcdef")
	tests := []struct {
		name string
		cfg  jwtintrospect.Config
	}{
		{"static JWKS", jwtintrospect.Config{JWKS: set}},
		{"JWKS URL", jwtintrospect.Config{JWKSURL: "https://as.example.com/jwks"}},
		{"JWKS URL on loopback over http", jwtintrospect.Config{JWKSURL: "http://127.0.0.1:8080/jwks"}},
		{"plain http allowed explicitly", jwtintrospect.Config{JWKSURL: "http://as:8080/jwks", InsecureAllowHTTPJWKSURL: true}},
		{"discovery from the issuer", jwtintrospect.Config{}},
		{"HMAC only", jwtintrospect.Config{SigningAlgorithms: []string{"HS256"}, HMACSecret: secret}},
		{"both key types", jwtintrospect.Config{JWKS: set, RequireEncryption: true, DecryptionKeys: []*jwtintrospect.Key{{KeyID: "r", PrivateKey: rsaKey}, {KeyID: "e", PrivateKey: ecKey}}}},
		{"A192 variants listed", jwtintrospect.Config{JWKS: set, KeyAlgorithms: []string{"ECDH-ES+A192KW"}, ContentEncryption: []string{"A192GCM", "A192CBC-HS384"}, DecryptionKeys: []*jwtintrospect.Key{{KeyID: "e", PrivateKey: ecKey}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Issuer, tt.cfg.ClientID = testIssuer, testClientID
			d, err := jwtintrospect.New(tt.cfg)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if got := d.Accept(); got != "application/token-introspection+jwt" {
				t.Errorf("Accept() = %q", got)
			}
			d.Close()
		})
	}
}
