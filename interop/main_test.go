//go:build interop

package interop

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/tokengate/tokengate/interop/internal/interoptest"
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

// rsJWKS are resource-server clients of the shared oidc-provider registered
// with a jwks_uri instead of inline jwks, as django-lasuite deployments are:
// the AS fetches the resource server's public keys from a loopback server of
// ours (which OIDCProviderOptions.FetchAllow lets it do), one path per
// client. TestJWTIntrospectRSJWKSURI installs each path's handler, a
// jwtintrospect.Decoder's JWKSHandler, before the client's first
// introspection; until then the path answers 503.
var rsJWKS struct {
	// Server is allowed to oidc-provider; RefusedServer is another loopback
	// server that is not, so oidc-provider's SSRF protection still applies.
	Server, RefusedServer *httptest.Server
	// Rotation and RotationReversed encrypt with ECDH-ES+A128KW/A256GCM,
	// RSA with RSA-OAEP-256/A256GCM; Refused's jwks_uri is on RefusedServer.
	Rotation, RotationReversed, RSA, Refused jwksURIClient
	// ECKeys are the two resource-server keys of the rotation, generated
	// once per test binary: oidc-provider caches what it fetched.
	ECKeys [2]*ecdsa.PrivateKey
}

// jwksURIClient is a resource-server client whose jwks_uri is served by
// Handler, counting the requests.
type jwksURIClient struct {
	interoptest.Client
	Handler atomic.Pointer[http.Handler]
	Fetches atomic.Int64
}

func (c *jwksURIClient) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.Fetches.Add(1)
	h := c.Handler.Load()
	if h == nil {
		http.Error(w, "jwks not installed yet", http.StatusServiceUnavailable)
		return
	}
	(*h).ServeHTTP(w, r)
}

// jwksURIClients registers the rsJWKS clients and starts their servers.
func jwksURIClients() ([]map[string]any, error) {
	for i := range rsJWKS.ECKeys {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		rsJWKS.ECKeys[i] = key
	}
	mux := http.NewServeMux()
	rsJWKS.Server = httptest.NewServer(mux)
	rsJWKS.RefusedServer = httptest.NewServer(&rsJWKS.Refused)
	var clients []map[string]any
	for _, c := range []struct {
		client     *jwksURIClient
		id, base   string
		sig, alg   string
		registered bool
	}{
		{&rsJWKS.Rotation, "rs-jwks-uri-rotation", rsJWKS.Server.URL, "ES256", "ECDH-ES+A128KW", true},
		{&rsJWKS.RotationReversed, "rs-jwks-uri-rotation-reversed", rsJWKS.Server.URL, "ES256", "ECDH-ES+A128KW", true},
		{&rsJWKS.RSA, "rs-jwks-uri-rsa", rsJWKS.Server.URL, "RS256", "RSA-OAEP-256", true},
		{&rsJWKS.Refused, "rs-jwks-uri-refused", rsJWKS.RefusedServer.URL, "ES256", "ECDH-ES+A128KW", false},
	} {
		c.client.Client = interoptest.Client{ID: c.id, Secret: rand.Text()}
		path := "/" + c.id + "/.well-known/jwks.json"
		if c.registered {
			mux.Handle("GET "+path, c.client)
		}
		clients = append(clients, map[string]any{
			"client_id": c.id, "client_secret": c.client.Secret,
			"grant_types": []string{}, "response_types": []string{}, "redirect_uris": []string{},
			"introspection_signed_response_alg":    c.sig,
			"introspection_encrypted_response_alg": c.alg,
			"introspection_encrypted_response_enc": "A256GCM",
			"jwks_uri":                             c.base + path,
		})
	}
	return clients, nil
}

// opSignIn is who signs in at the shared oidc-provider through its pages:
// a confidential client with the authorization_code and refresh_token
// grants, and a user.
var opSignIn struct {
	Client      interoptest.Client
	RedirectURI string
	User        interoptest.User
}

func launchOIDCProvider() (*interoptest.OIDCProvider, error) {
	opSignIn.Client = interoptest.Client{ID: "rp-code", Secret: rand.Text()}
	// Never opened: the user agent stops at it.
	opSignIn.RedirectURI = "http://127.0.0.1:9/callback"
	opSignIn.User = interoptest.User{Subject: "sub-alice", Username: "alice", Password: rand.Text(), Name: "Alice Liddell", Email: "alice@example.com"}
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
	extra := []map[string]any{
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
	}
	byURI, err := jwksURIClients()
	if err != nil {
		return nil, err
	}
	extra = append(extra, byURI...)
	extra = append(extra, map[string]any{
		"client_id": opSignIn.Client.ID, "client_secret": opSignIn.Client.Secret,
		"grant_types": []string{"authorization_code", "refresh_token"}, "response_types": []string{"code"},
		"redirect_uris": []string{opSignIn.RedirectURI}, "scope": "openid profile email offline_access orders:read",
	})
	return interoptest.LaunchOIDCProvider(interoptest.OIDCProviderOptions{
		Users:        []interoptest.User{opSignIn.User},
		ExtraClients: extra,
		FetchAllow:   []string{rsJWKS.Server.URL},
	})
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
	for _, srv := range []*httptest.Server{rsJWKS.Server, rsJWKS.RefusedServer} {
		if srv != nil {
			srv.Close()
		}
	}
	os.Exit(code)
}
