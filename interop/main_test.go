//go:build interop

package interop

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/tokengate/tokengate/internal/interoptest"
)

// Each peer starts at most once per test binary, on first use, and stops in
// TestMain.
var peers struct {
	opOnce sync.Once
	op     *interoptest.OIDCProvider
	opErr  error

	dotOnce sync.Once
	dot     *interoptest.DOT
	dotErr  error
}

// opExtra are resource-server clients of the shared oidc-provider beyond the
// built-in ones: RFC 9701 answers signed with ES256 and EdDSA, and encrypted
// with ECDH-ES+A128KW / A128CBC-HS256 to an EC P-256 key.
var opExtra struct {
	SignedES256, SignedEdDSA, EncryptedECDH interoptest.Client
	// ECKey is EncryptedECDH's decryption key; ECKeyID its kid.
	ECKey   *ecdsa.PrivateKey
	ECKeyID string
	// EncryptedECDHThumbprint encrypts to ECKey too, registered under the
	// kid jwtintrospect gives a key read from PEM: its RFC 7638 SHA-256
	// thumbprint (ECKeyThumbprint).
	EncryptedECDHThumbprint interoptest.Client
	ECKeyThumbprint         string
}

func launchOIDCProvider() (*interoptest.OIDCProvider, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	opExtra.ECKey, opExtra.ECKeyID = key, "rs-ec-1"
	opExtra.SignedES256 = interoptest.Client{ID: "rs-signed-es256", Secret: rand.Text()}
	opExtra.SignedEdDSA = interoptest.Client{ID: "rs-signed-eddsa", Secret: rand.Text()}
	opExtra.EncryptedECDH = interoptest.Client{ID: "rs-encrypted-ecdh", Secret: rand.Text()}
	rs := func(c interoptest.Client, meta map[string]any) map[string]any {
		meta["client_id"], meta["client_secret"] = c.ID, c.Secret
		meta["grant_types"], meta["response_types"], meta["redirect_uris"] = []string{}, []string{}, []string{}
		return meta
	}
	opExtra.EncryptedECDHThumbprint = interoptest.Client{ID: "rs-encrypted-ecdh-thumbprint", Secret: rand.Text()}
	pub := jose.JSONWebKey{Key: &key.PublicKey, KeyID: opExtra.ECKeyID, Algorithm: "ECDH-ES+A128KW", Use: "enc"}
	sum, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, err
	}
	opExtra.ECKeyThumbprint = base64.RawURLEncoding.EncodeToString(sum)
	pubThumb := pub
	pubThumb.KeyID = opExtra.ECKeyThumbprint
	return interoptest.LaunchOIDCProvider(interoptest.OIDCProviderOptions{ExtraClients: []map[string]any{
		rs(opExtra.SignedES256, map[string]any{"introspection_signed_response_alg": "ES256"}),
		rs(opExtra.SignedEdDSA, map[string]any{"introspection_signed_response_alg": "EdDSA"}),
		rs(opExtra.EncryptedECDH, map[string]any{
			"introspection_signed_response_alg":    "ES256",
			"introspection_encrypted_response_alg": "ECDH-ES+A128KW",
			"introspection_encrypted_response_enc": "A128CBC-HS256",
			"jwks":                                 jose.JSONWebKeySet{Keys: []jose.JSONWebKey{pub}},
		}),
		rs(opExtra.EncryptedECDHThumbprint, map[string]any{
			"introspection_signed_response_alg":    "ES256",
			"introspection_encrypted_response_alg": "ECDH-ES+A128KW",
			"introspection_encrypted_response_enc": "A128CBC-HS256",
			"jwks":                                 jose.JSONWebKeySet{Keys: []jose.JSONWebKey{pubThumb}},
		}),
	}})
}

func oidcProvider(t testing.TB) *interoptest.OIDCProvider {
	t.Helper()
	peers.opOnce.Do(func() { peers.op, peers.opErr = launchOIDCProvider() })
	if peers.opErr != nil {
		t.Fatal(peers.opErr)
	}
	return peers.op
}

func djangoOAuthToolkit(t testing.TB) *interoptest.DOT {
	t.Helper()
	peers.dotOnce.Do(func() { peers.dot, peers.dotErr = interoptest.LaunchDOT() })
	if peers.dotErr != nil {
		t.Fatal(peers.dotErr)
	}
	return peers.dot
}

func TestMain(m *testing.M) {
	code := m.Run()
	if peers.op != nil {
		if code != 0 {
			fmt.Fprintf(os.Stderr, "--- oidc-provider output:\n%s\n", peers.op.Logs())
		}
		peers.op.Close()
	}
	if peers.dot != nil {
		if code != 0 {
			fmt.Fprintf(os.Stderr, "--- Django OAuth Toolkit output:\n%s\n", peers.dot.Logs())
		}
		peers.dot.Close()
	}
	removeExampleBuilds()
	os.Exit(code)
}
