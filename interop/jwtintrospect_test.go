//go:build interop

package interop

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"slices"
	"testing"

	"github.com/tokengate/tokengate/interop/internal/interoptest"
	"github.com/tokengate/tokengate/introspect"
	"github.com/tokengate/tokengate/jwtintrospect"
)

// jwtClient is an introspect.Cache and Client for c that asks oidc-provider for RFC
// 9701 answers and verifies them with jwtintrospect.
func jwtClient(t *testing.T, op *interoptest.OIDCProvider, c interoptest.Client, mod func(*jwtintrospect.Config)) *introspect.Cache {
	t.Helper()
	cfg := jwtintrospect.Config{Issuer: op.Issuer, ClientID: c.ID}
	if mod != nil {
		mod(&cfg)
	}
	dec, err := jwtintrospect.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dec.Close() })
	client, err := introspect.New(introspect.Config{Issuer: op.Issuer, ClientID: c.ID, ClientSecret: c.Secret, Decoder: dec})
	if err != nil {
		t.Fatal(err)
	}
	return client
}

func decryptWith(key *rsa.PrivateKey, kid string) func(*jwtintrospect.Config) {
	return func(cfg *jwtintrospect.Config) {
		cfg.DecryptionKeys = []*jwtintrospect.Key{{KeyID: kid, PrivateKey: key}}
	}
}

// verdict is what a resource server decides from: the same for every answer format.
type verdict struct {
	Active                       bool
	Scope, ClientID, Issuer      string
	Subject, TokenType, Username string
	Audience                     string
	Expiry, IssuedAt             int64
}

func verdictOf(r *introspect.Response) verdict {
	aud := slices.Clone(r.Audience)
	slices.Sort(aud)
	return verdict{
		Active: r.Active, Scope: r.Scope, ClientID: r.ClientID, Issuer: r.Issuer, Subject: r.Subject,
		TokenType: r.TokenType, Username: r.Username, Audience: fmtList(aud),
		Expiry: r.Expiry.Unix(), IssuedAt: r.IssuedAt.Unix(),
	}
}

func fmtList(s []string) string {
	out := ""
	for i, v := range s {
		if i > 0 {
			out += " "
		}
		out += v
	}
	return out
}

func TestJWTIntrospectOIDCProvider(t *testing.T) {
	op := oidcProvider(t)
	rsKey, ok := op.EncryptionKey.Key.(*rsa.PrivateKey)
	if !ok {
		t.Fatalf("EncryptionKey is %T, want the generated *rsa.PrivateKey", op.EncryptionKey.Key)
	}
	ctx := context.Background()

	plain, err := introspect.New(introspect.Config{Issuer: op.Issuer, ClientID: op.RSBasic.ID, ClientSecret: op.RSBasic.Secret})
	if err != nil {
		t.Fatal(err)
	}
	clients := map[string]*introspect.Cache{
		"signed":    jwtClient(t, op, op.RSSigned, nil),
		"encrypted": jwtClient(t, op, op.RSEncrypted, decryptWith(rsKey, op.EncryptionKey.KeyID)),
		// oidc-provider signs for any client that asks, registered or not.
		"signed, unregistered": jwtClient(t, op, op.RSBasic, nil),
		"encrypted, required": jwtClient(t, op, op.RSEncrypted, func(cfg *jwtintrospect.Config) {
			decryptWith(rsKey, op.EncryptionKey.KeyID)(cfg)
			cfg.RequireEncryption = true
		}),
		"signed ES256": jwtClient(t, op, opExtra.SignedES256, nil),
		"signed EdDSA": jwtClient(t, op, opExtra.SignedEdDSA, nil),
		"encrypted ECDH-ES+A128KW, A128CBC-HS256": jwtClient(t, op, opExtra.EncryptedECDH, func(cfg *jwtintrospect.Config) {
			cfg.DecryptionKeys = []*jwtintrospect.Key{{KeyID: opExtra.ECKeyID, PrivateKey: opExtra.ECKey}}
			cfg.RequireEncryption = true
		}),
	}

	t.Run("same verdict in every format", func(t *testing.T) {
		token := op.Token(t, "orders:read orders:write")
		want, err := plain.Introspect(ctx, token)
		if err != nil {
			t.Fatal(err)
		}
		for name, c := range clients {
			got, err := c.Introspect(ctx, token)
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			if verdictOf(got) != verdictOf(want) {
				t.Errorf("%s: verdict %+v, plain JSON says %+v", name, verdictOf(got), verdictOf(want))
			}
		}
	})

	t.Run("revoked is inactive in every format", func(t *testing.T) {
		token := op.Token(t, "orders:read")
		op.Revoke(t, token)
		for name, c := range clients {
			if r, err := c.Introspect(ctx, token); !errors.Is(err, introspect.ErrInactive) {
				t.Errorf("%s: %v, %v; want ErrInactive", name, r, err)
			}
		}
	})

	t.Run("rejections", func(t *testing.T) {
		otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		token := op.Token(t, "orders:read")
		for _, tc := range []struct {
			name   string
			client *introspect.Cache
			cause  error
		}{
			{"signed answer when encryption is required", jwtClient(t, op, op.RSSigned, func(cfg *jwtintrospect.Config) {
				decryptWith(rsKey, op.EncryptionKey.KeyID)(cfg)
				cfg.RequireEncryption = true
			}), jwtintrospect.ErrDecrypt},
			{"encrypted to a key we do not hold", jwtClient(t, op, op.RSEncrypted, decryptWith(otherKey, op.EncryptionKey.KeyID)), jwtintrospect.ErrDecrypt},
			{"encrypted with no decryption key", jwtClient(t, op, op.RSEncrypted, nil), jwtintrospect.ErrDecrypt},
			{"signature algorithm not allowed", jwtClient(t, op, op.RSSigned, func(cfg *jwtintrospect.Config) {
				cfg.SigningAlgorithms = []string{"ES256"}
			}), jwtintrospect.ErrSignature},
		} {
			r, err := tc.client.Introspect(ctx, token)
			if !errors.Is(err, tc.cause) || !errors.Is(err, introspect.ErrMalformedResponse) {
				t.Errorf("%s: %v, %v; want %v", tc.name, r, err, tc.cause)
			}
		}
	})

	t.Run("audience is the caller's client id", func(t *testing.T) {
		// The JWT's aud is the introspecting client, not the token's
		// audience: a decoder configured with another client id refuses it.
		dec, err := jwtintrospect.New(jwtintrospect.Config{Issuer: op.Issuer, ClientID: op.RSBasic.ID})
		if err != nil {
			t.Fatal(err)
		}
		defer dec.Close()
		c, err := introspect.New(introspect.Config{Issuer: op.Issuer, ClientID: op.RSSigned.ID, ClientSecret: op.RSSigned.Secret, Decoder: dec})
		if err != nil {
			t.Fatal(err)
		}
		if r, err := c.Introspect(ctx, op.Token(t, "orders:read")); !errors.Is(err, jwtintrospect.ErrClaims) {
			t.Errorf("%v, %v; want ErrClaims", r, err)
		}
	})
}
