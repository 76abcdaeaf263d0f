//go:build interop

package interop

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/tokengate/tokengate/interop/internal/interoptest"
	"github.com/tokengate/tokengate/introspect"
	"github.com/tokengate/tokengate/jwtintrospect"
)

// kidRecorder is the introspect.Decoder of a jwksURIClient: it notes the
// "kid" of each JWE before its jwtintrospect.Decoder decrypts it.
type kidRecorder struct {
	*jwtintrospect.Decoder
	mu   sync.Mutex // guards kids
	kids []string
}

func (r *kidRecorder) Decode(ctx context.Context, contentType string, body []byte) (*introspect.Response, error) {
	kid := "(not a JWE)"
	if parts := strings.Split(string(body), "."); len(parts) == 5 {
		var h struct {
			Kid string `json:"kid"`
		}
		raw, err := base64.RawURLEncoding.DecodeString(parts[0])
		if err == nil && json.Unmarshal(raw, &h) == nil {
			kid = h.Kid
		}
	}
	r.mu.Lock()
	r.kids = append(r.kids, kid)
	r.mu.Unlock()
	return r.Decoder.Decode(ctx, contentType, body)
}

func (r *kidRecorder) seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.kids)
}

// pemKey reads priv back from PEM, as TOKENGATE_RS_KEY would: its kid is
// then its RFC 7638 thumbprint.
func pemKey(t *testing.T, priv any) *jwtintrospect.Key {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	k, err := jwtintrospect.ParseKey(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestJWTIntrospectRSJWKSURI registers resource servers at oidc-provider
// with a jwks_uri served by jwtintrospect's Decoder.JWKSHandler, as a
// django-lasuite deployment does, instead of inline jwks: oidc-provider
// fetches the public keys from it and encrypts its RFC 9701 answers to one
// of them, named by kid; the Decoder holding the keys of a rotation picks
// the right one.
func TestJWTIntrospectRSJWKSURI(t *testing.T) {
	op := oidcProvider(t)
	ctx := context.Background()
	rsaPriv, ok := op.EncryptionKey.Key.(*rsa.PrivateKey)
	if !ok {
		t.Fatalf("EncryptionKey is %T, want the generated *rsa.PrivateKey", op.EncryptionKey.Key)
	}
	ecA, ecB, rsaKey := pemKey(t, rsJWKS.ECKeys[0]), pemKey(t, rsJWKS.ECKeys[1]), pemKey(t, rsaPriv)

	newClient := func(t *testing.T, c interoptest.Client, keys ...*jwtintrospect.Key) (*introspect.Client, *kidRecorder) {
		t.Helper()
		dec, err := jwtintrospect.New(jwtintrospect.Config{
			Issuer:            op.Issuer,
			ClientID:          c.ID,
			DecryptionKeys:    keys,
			RequireEncryption: true,
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { dec.Close() })
		rec := &kidRecorder{Decoder: dec}
		client, err := introspect.NewClient(introspect.Config{
			Issuer: op.Issuer, ClientID: c.ID, ClientSecret: c.Secret, Decoder: rec,
		})
		if err != nil {
			t.Fatal(err)
		}
		return client, rec
	}
	// publish serves dec's public JWK Set at c's jwks_uri.
	publish := func(c *jwksURIClient, dec *kidRecorder) {
		h := dec.JWKSHandler()
		c.Handler.Store(&h)
	}

	plain, err := introspect.NewClient(introspect.Config{
		Issuer: op.Issuer, ClientID: op.RSBasic.ID, ClientSecret: op.RSBasic.Secret,
	})
	if err != nil {
		t.Fatal(err)
	}
	token := op.Token(t, "orders:read orders:write")
	want, err := plain.Introspect(ctx, token)
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name   string
		client *jwksURIClient
		// keys are the Decoder's, in the order its JWK Set lists them.
		keys    []*jwtintrospect.Key
		wantKID string
	}{
		{"ECDH-ES+A128KW, two keys: the first listed is used", &rsJWKS.Rotation, []*jwtintrospect.Key{ecA, ecB}, ecA.KeyID},
		{"ECDH-ES+A128KW, the same two keys the other way round", &rsJWKS.RotationReversed, []*jwtintrospect.Key{ecB, ecA}, ecB.KeyID},
		{"RSA-OAEP-256: the only RSA key, listed after an EC one", &rsJWKS.RSA, []*jwtintrospect.Key{ecA, rsaKey}, rsaKey.KeyID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client, rec := newClient(t, tc.client.Client, tc.keys...)
			publish(tc.client, rec)
			for range 2 {
				got, err := client.Introspect(ctx, token)
				if err != nil {
					t.Fatalf("encrypted to a key from our jwks_uri (fetched %d times): %v", tc.client.Fetches.Load(), err)
				}
				if verdictOf(got) != verdictOf(want) {
					t.Errorf("verdict %+v, plain JSON says %+v", verdictOf(got), verdictOf(want))
				}
			}
			if kids := rec.seen(); !slices.Equal(kids, []string{tc.wantKID, tc.wantKID}) {
				t.Errorf("JWE kids %q, want %q twice (the first key in the JWK Set that fits the alg)", kids, tc.wantKID)
			}
			// oidc-provider keeps the fetched set for the Cache-Control
			// max-age JWKSHandler sends (300 s; at least 60 s).
			if n := tc.client.Fetches.Load(); n != 1 {
				t.Errorf("jwks_uri fetched %d times; want once, then cached", n)
			}

			// Exactly the key named by the kid was used: a Decoder holding
			// only it decrypts, one holding only another key refuses.
			for _, k := range tc.keys {
				c, _ := newClient(t, tc.client.Client, k)
				_, err := c.Introspect(ctx, token)
				switch {
				case k.KeyID == tc.wantKID && err != nil:
					t.Errorf("decoder holding only %s: %v", k.KeyID, err)
				case k.KeyID != tc.wantKID && !(errors.Is(err, jwtintrospect.ErrDecrypt) && errors.Is(err, introspect.ErrMalformedResponse)):
					t.Errorf("decoder holding only %s: %v; want ErrDecrypt", k.KeyID, err)
				}
			}
		})
	}

	// What every deployment gets from oidc-provider 9 by default, and the
	// test peer keeps for any origin outside OIDCProviderOptions.FetchAllow:
	// the connection to a loopback (or private) address is cut before a
	// request is sent, and the introspection fails.
	t.Run("a loopback jwks_uri not in FetchAllow is never fetched", func(t *testing.T) {
		client, rec := newClient(t, rsJWKS.Refused.Client, ecA)
		publish(&rsJWKS.Refused, rec)
		r, err := client.Introspect(ctx, token)
		var asErr *introspect.Error
		if !errors.As(err, &asErr) || asErr.StatusCode != http.StatusBadRequest || asErr.Code != "invalid_client_metadata" {
			t.Errorf("%v, %v; want 400 invalid_client_metadata", r, err)
		}
		if errors.Is(err, introspect.ErrInactive) {
			t.Errorf("%v is a verdict on the token; the AS could not answer at all", err)
		}
		if n := rsJWKS.Refused.Fetches.Load(); n != 0 {
			t.Errorf("jwks_uri on %s fetched %d times; oidc-provider's SSRF protection should refuse loopback", rsJWKS.RefusedServer.URL, n)
		}
	})
}
