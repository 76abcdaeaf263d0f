package interoptest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

// OIDCProviderOptions configures [LaunchOIDCProvider]. The zero value is ready to use.
type OIDCProviderOptions struct {
	// EncryptionKey is the resource server's public key, registered as the
	// jwks of the RSEncrypted client so that the AS encrypts introspection
	// answers to it. If nil, an RSA-2048 key is generated and its private
	// half is in [OIDCProvider.EncryptionKey].
	EncryptionKey *jose.JSONWebKey
	// EncryptionAlg and EncryptionEnc are the RSEncrypted client's
	// introspection_encrypted_response_alg and _enc. They default to
	// RSA-OAEP-256 and A256GCM.
	EncryptionAlg string
	EncryptionEnc string
	// SigningAlg is the introspection_signed_response_alg of the RSSigned
	// and RSEncrypted clients. Defaults to RS256.
	SigningAlg string
	// ExtraClients are registered as given, in RFC 7591 metadata names
	// (client_id and client_secret included), next to the built-in ones.
	// A resource-server client needs "grant_types": [], "response_types": []
	// and "redirect_uris": [].
	ExtraClients []map[string]any
	// Users sign in through oidc-provider's minimal login and consent
	// pages (server.js), which post the fields of tokengate's built-in
	// pages, so that a [UserAgent] drives both. A client that signs them
	// in is one of ExtraClients with the authorization_code grant; its
	// access tokens are for userinfo, its refresh tokens rotate.
	Users []User
	// FetchAllow are loopback origins ("http://127.0.0.1:PORT", such as an
	// httptest.Server's URL) that oidc-provider may fetch from, typically a
	// client's jwks_uri served by the test. oidc-provider 9 refuses to fetch
	// from loopback and other special-use addresses (its SSRF protection);
	// the zero value keeps that refusal for every address.
	FetchAllow []string
}

// User is a person who signs in at a peer.
type User struct {
	Subject  string `json:"sub"`
	Username string `json:"username"`
	Password string `json:"password"`
	Name     string `json:"name,omitempty"`
	Email    string `json:"email,omitempty"`
}

// OIDCProvider is a running node oidc-provider 9.x: an OpenID Provider with
// discovery, client_credentials, introspection (plain, signed and
// signed-then-encrypted, RFC 9701) and revocation.
type OIDCProvider struct {
	// Issuer is http://127.0.0.1:PORT; discovery is under it.
	Issuer string
	// The endpoints (TokenURL, IntrospectionURL, RevocationURL) and API,
	// which gets tokens with client_credentials and may revoke them.
	authServer
	JWKSURL string
	// Resource is the resource indicator (RFC 8707) every client_credentials
	// token is issued for: the "aud" of its introspection answer.
	Resource string
	// Scopes are the scopes the resource accepts: "orders:read orders:write".
	Scopes string
	// JWTResource is a second resource indicator, with the same scopes,
	// whose access tokens are RFC 9068 JWTs (typ at+jwt, ES256): ask for
	// one with TokenForResource.
	JWTResource string

	// RSBasic introspects with client_secret_basic. Its secret contains
	// characters that must be form-urlencoded (RFC 6749 §2.3.1).
	RSBasic Client
	// RSPost introspects with client_secret_post.
	RSPost Client
	// RSSigned is registered with introspection_signed_response_alg.
	RSSigned Client
	// RSEncrypted is registered with introspection_signed_response_alg and
	// introspection_encrypted_response_alg/_enc, and the jwks of EncryptionKey.
	// oidc-provider refuses its plain JSON requests.
	RSEncrypted Client
	// EncryptionKey is the key answers to RSEncrypted are encrypted to: the
	// private key when it was generated, else the public key from the options.
	EncryptionKey jose.JSONWebKey

	peer
}

// StartOIDCProvider launches oidc-provider for the duration of t. It fails t
// if the peer is not installed or does not start.
func StartOIDCProvider(t testing.TB, opts OIDCProviderOptions) *OIDCProvider {
	t.Helper()
	p, err := LaunchOIDCProvider(opts)
	return startPeer(t, "oidc-provider", p, err)
}

// LaunchOIDCProvider starts oidc-provider (interop/testdata/oidc-provider,
// installed by scripts/setup-peers.sh) on a free loopback port and waits
// until it serves its discovery document. The caller must Close it.
func LaunchOIDCProvider(opts OIDCProviderOptions) (*OIDCProvider, error) {
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(root, "interop", "testdata", "oidc-provider")
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("%w: node is not on PATH", ErrNotInstalled)
	}
	if err := checkOIDCProviderInstalled(dir); err != nil {
		return nil, err
	}
	if opts.EncryptionAlg == "" {
		opts.EncryptionAlg = "RSA-OAEP-256"
	}
	if opts.EncryptionEnc == "" {
		opts.EncryptionEnc = "A256GCM"
	}
	if opts.SigningAlg == "" {
		opts.SigningAlg = "RS256"
	}

	p := &OIDCProvider{
		Resource:    "urn:tokengate:orders",
		JWTResource: "urn:tokengate:orders-jwt",
		Scopes:      "orders:read orders:write",
		RSBasic:     Client{ID: "rs-basic", Secret: randomSecret(specialASCII)},
		RSPost:      Client{ID: "rs-post", Secret: randomSecret("")},
		RSSigned:    Client{ID: "rs-signed", Secret: randomSecret("")},
		RSEncrypted: Client{ID: "rs-encrypted", Secret: randomSecret("")},
	}
	p.API = Client{ID: "api-client", Secret: randomSecret("")}
	if opts.EncryptionKey != nil {
		p.EncryptionKey = *opts.EncryptionKey
	} else {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, fmt.Errorf("interoptest: %w", err)
		}
		p.EncryptionKey = jose.JSONWebKey{Key: key, KeyID: "rs-enc-1", Algorithm: opts.EncryptionAlg, Use: "enc"}
	}
	pub := p.EncryptionKey.Public()
	if !pub.Valid() {
		return nil, errors.New("interoptest: OIDCProviderOptions.EncryptionKey is not a valid key")
	}

	rs := func(c Client, extra map[string]any) map[string]any {
		m := map[string]any{
			"client_id": c.ID, "client_secret": c.Secret,
			"grant_types": []string{}, "response_types": []string{}, "redirect_uris": []string{},
			"token_endpoint_auth_method": "client_secret_basic",
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	clients := []map[string]any{
		{
			"client_id": p.API.ID, "client_secret": p.API.Secret,
			"grant_types": []string{"client_credentials"}, "response_types": []string{}, "redirect_uris": []string{},
			"scope": p.Scopes,
		},
		rs(p.RSBasic, nil),
		rs(p.RSPost, map[string]any{"token_endpoint_auth_method": "client_secret_post"}),
		rs(p.RSSigned, map[string]any{"introspection_signed_response_alg": opts.SigningAlg}),
		rs(p.RSEncrypted, map[string]any{
			"introspection_signed_response_alg":    opts.SigningAlg,
			"introspection_encrypted_response_alg": opts.EncryptionAlg,
			"introspection_encrypted_response_enc": opts.EncryptionEnc,
			"jwks":                                 jose.JSONWebKeySet{Keys: []jose.JSONWebKey{pub}},
		}),
	}
	clients = append(clients, opts.ExtraClients...)
	clientsJSON, err := json.Marshal(clients)
	if err != nil {
		return nil, fmt.Errorf("interoptest: %w", err)
	}
	usersJSON, err := json.Marshal(opts.Users)
	if err != nil {
		return nil, fmt.Errorf("interoptest: %w", err)
	}

	proc, port, err := launch(func(port string) (*process, error) {
		env := map[string]string{
			"OP_PORT":         port,
			"OP_CLIENTS":      string(clientsJSON),
			"OP_RESOURCE":     p.Resource,
			"OP_SCOPES":       p.Scopes,
			"OP_JWT_RESOURCE": p.JWTResource,
			"OP_USERS":        string(usersJSON),
		}
		if len(opts.FetchAllow) > 0 {
			env["OP_FETCH_ALLOW"] = strings.Join(opts.FetchAllow, " ")
		}
		return startProcess("oidc-provider", dir, env, []string{"NODE_OPTIONS", "OP_FETCH_ALLOW"}, node, "server.js")
	}, func(port string) string { return "http://127.0.0.1:" + port + "/.well-known/openid-configuration" }, 200)
	if err != nil {
		return nil, err
	}
	p.proc, p.Issuer = proc, "http://127.0.0.1:"+port
	// The endpoints oidc-provider 9 mounts by default (routes.*), which its
	// discovery document also advertises.
	p.TokenURL = p.Issuer + "/token"
	p.IntrospectionURL = p.Issuer + "/token/introspection"
	p.RevocationURL = p.Issuer + "/token/revocation"
	p.JWKSURL = p.Issuer + "/jwks"
	return p, nil
}

func checkOIDCProviderInstalled(dir string) error {
	data, err := os.ReadFile(filepath.Join(dir, "node_modules", "oidc-provider", "package.json"))
	if err != nil {
		return fmt.Errorf("%w: %s has no node_modules/oidc-provider", ErrNotInstalled, dir)
	}
	var pkg struct {
		Version string `json:"version"`
	}
	if json.Unmarshal(data, &pkg) != nil || !strings.HasPrefix(pkg.Version, "9.") {
		return fmt.Errorf("%w: oidc-provider in %s is %q, want 9.x", ErrNotInstalled, dir, pkg.Version)
	}
	return nil
}
