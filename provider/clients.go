package provider

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/tokengate/tokengate/internal/oauthhttp"
	"github.com/tokengate/tokengate/provider/store"
)

// Prefixes of generated values, so that secret scanners can recognise them.
const (
	ClientIDPrefix     = "tgc_"
	ClientSecretPrefix = "tg_cs_"
	AccessTokenPrefix  = "tg_at_"
	RefreshTokenPrefix = "tg_rt_"
)

// GrantClientCredentials is the client credentials grant type (RFC 6749 §4.4).
const GrantClientCredentials = "client_credentials"

// ScopeIntrospection is the scope that lets a bearer token authenticate a
// caller of the introspection endpoint.
const ScopeIntrospection = "introspection"

// Supported RFC 9701 encryption algorithms.
var (
	encryptionAlgs = []string{"RSA-OAEP", "RSA-OAEP-256", "ECDH-ES", "ECDH-ES+A128KW", "ECDH-ES+A256KW"}
	encryptionEncs = []string{"A128CBC-HS256", "A256CBC-HS512", "A128GCM", "A256GCM"}
)

// ClientSpec is what [Admin.RegisterClient] registers.
type ClientSpec struct {
	// Name is a human-readable label.
	Name string
	// Public registers a public client, which has no secret (RFC 6749
	// §2.1): a native or browser app, which proves itself with PKCE alone.
	// Public clients cannot use client_credentials nor introspect.
	Public bool
	// Scopes the client may obtain; a token request without scope gets
	// them all, except ScopeIntrospection unless it is the only one: a
	// token for APIs should not also open the introspection endpoint, so
	// it has to be asked for by name.
	Scopes []string
	// GrantTypes the client may use: GrantClientCredentials,
	// GrantAuthorizationCode, GrantRefreshToken. Defaults to
	// authorization_code when RedirectURIs are given, else to
	// client_credentials for a confidential client. refresh_token needs
	// authorization_code; with it, the client receives refresh tokens
	// (for an OpenID Connect request, only when offline_access was
	// granted).
	GrantTypes []string
	// Resources are the resource indicators (RFC 8707: absolute URIs
	// without fragment) the client may ask tokens for; a request without
	// resource gets them all as audience. They are also the audiences whose
	// tokens the client may introspect with store.IntrospectOwnAudience.
	Resources []string
	// TokenLifetime of the client's access tokens. The zero value means
	// Config.DefaultTokenLifetime; it may not exceed Config.MaxTokenLifetime.
	TokenLifetime time.Duration
	// Introspection is the client's right to introspect; the zero value
	// forbids it.
	Introspection store.IntrospectionRight
	// JWTAccessTokens issues RFC 9068 JWT access tokens instead of opaque
	// ones. It requires at least one Resource (the JWT's aud).
	JWTAccessTokens bool

	// IntrospectionSignedResponseAlg (RFC 9701 §6) makes introspection
	// answers to this client signed JWTs when it asks for them with
	// Accept: application/token-introspection+jwt. One of RS256, PS256,
	// ES256, EdDSA that the provider has keys for. Defaults to RS256 (or the
	// first key algorithm) when IntrospectionEncryptedResponseAlg is set.
	IntrospectionSignedResponseAlg string
	// IntrospectionEncryptedResponseAlg and IntrospectionEncryptedResponseEnc
	// make those answers encrypted to the client's key from JWKS or JWKSURI:
	// alg one of RSA-OAEP, RSA-OAEP-256, ECDH-ES, ECDH-ES+A128KW,
	// ECDH-ES+A256KW; enc one of A128CBC-HS256 (the default), A256CBC-HS512,
	// A128GCM, A256GCM.
	IntrospectionEncryptedResponseAlg string
	IntrospectionEncryptedResponseEnc string
	// JWKS is the client's public JWK Set (JSON); JWKSURI where to fetch it
	// (https, or http on loopback). Set at most one.
	JWKS    string
	JWKSURI string

	// RedirectURIs are where authorization responses may be sent (RFC 6749
	// §3.1.2), required for the authorization_code grant and compared
	// exactly (RFC 9700 §4.1.3), except the port of an http loopback IP
	// address (RFC 8252 §7.3). Each is absolute, without fragment: https,
	// http on a loopback host, or a private-use scheme of a native app
	// with a dot in it (com.example.app:/callback, RFC 8252 §7.1).
	RedirectURIs []string
	// PostLogoutRedirectURIs are where the browser may be sent after
	// RP-initiated logout, under the same rules.
	PostLogoutRedirectURIs []string
	// FirstParty marks a client the operator trusts: its users are not
	// asked for consent (unless it asks for prompt=consent itself).
	FirstParty bool
	// IDTokenSignedResponseAlg is the JWS algorithm of its ID tokens: one
	// of RS256, PS256, ES256, EdDSA that the provider has keys for.
	// Defaults to RS256, or the provider's first key family when it keeps
	// no RSA key.
	IDTokenSignedResponseAlg string
	// IDTokenIncludeClaims puts the user's claims that the granted scopes
	// name (profile, email, …) into the ID token too, not only the userinfo
	// answer (django-oidc-provider's OIDC_IDTOKEN_INCLUDE_CLAIMS).
	IDTokenIncludeClaims bool
	// PairwiseSubject gives the client a "sub" of its own for each user
	// (OpenID Connect Core §8.1), so that clients cannot correlate users;
	// its redirect URIs must then share one host, the sector.
	PairwiseSubject bool
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidClient}, args...)...)
}

// clientFromSpec validates spec against the settings s and returns the
// client to store, without id or secret.
func clientFromSpec(spec ClientSpec, s *store.Settings) (*Client, error) {
	c := &Client{
		Name:                              spec.Name,
		Resources:                         slices.Clone(spec.Resources),
		TokenLifetime:                     spec.TokenLifetime,
		Introspection:                     spec.Introspection,
		IntrospectionSignedResponseAlg:    spec.IntrospectionSignedResponseAlg,
		IntrospectionEncryptedResponseAlg: spec.IntrospectionEncryptedResponseAlg,
		IntrospectionEncryptedResponseEnc: spec.IntrospectionEncryptedResponseEnc,
		JWKS:                              spec.JWKS,
		JWKSURI:                           spec.JWKSURI,
	}
	if len(spec.Name) > 200 {
		return nil, invalid("Name is longer than 200 bytes")
	}
	for _, s := range spec.Scopes {
		if !validScopeToken(s) {
			return nil, invalid("scope %q is not an RFC 6749 §3.3 scope token", s)
		}
		if !slices.Contains(c.Scopes, s) {
			c.Scopes = append(c.Scopes, s)
		}
	}
	c.GrantTypes = slices.Compact(slices.Clone(spec.GrantTypes))
	if len(c.GrantTypes) == 0 {
		switch {
		case len(spec.RedirectURIs) > 0:
			c.GrantTypes = []string{GrantAuthorizationCode}
		case !spec.Public:
			c.GrantTypes = []string{GrantClientCredentials}
		}
	}
	for _, g := range c.GrantTypes {
		switch g {
		case GrantClientCredentials:
			if spec.Public {
				return nil, invalid("a public client cannot use client_credentials (RFC 6749 §4.4)")
			}
		case GrantAuthorizationCode:
		case GrantRefreshToken:
			if !slices.Contains(c.GrantTypes, GrantAuthorizationCode) {
				return nil, invalid("refresh_token needs the authorization_code grant")
			}
		default:
			return nil, invalid("grant type %q is not supported (client_credentials, authorization_code, refresh_token)", g)
		}
	}
	if err := signInFromSpec(c, spec, s); err != nil {
		return nil, err
	}
	for _, r := range c.Resources {
		if err := oauthhttp.CheckResourceIndicator(r); err != nil {
			return nil, invalid("resource: %v", err)
		}
	}
	if c.TokenLifetime < 0 || c.TokenLifetime > s.MaxTokenLifetime {
		return nil, invalid("TokenLifetime %v is outside (0, %v]", c.TokenLifetime, s.MaxTokenLifetime)
	}
	if c.Introspection < store.IntrospectNone || c.Introspection > store.IntrospectAny {
		return nil, invalid("Introspection %d is not a known right", c.Introspection)
	}
	if spec.Public && c.Introspection != store.IntrospectNone {
		return nil, invalid("a public client cannot introspect: it cannot authenticate")
	}
	if spec.JWTAccessTokens {
		if len(c.Resources) == 0 {
			return nil, invalid("JWT access tokens need at least one resource for their aud (RFC 9068 §2.2)")
		}
		c.AccessTokenFormat = "jwt"
	}
	if err := validateJWTResponse(c, s.KeyAlgorithms); err != nil {
		return nil, err
	}
	return c, nil
}

// validateJWTResponse checks c's RFC 9701 registration against the key
// families fams, filling in the defaults of RFC 9701 §6.
func validateJWTResponse(c *Client, fams []string) error {
	if c.IntrospectionEncryptedResponseEnc != "" && c.IntrospectionEncryptedResponseAlg == "" {
		return invalid("IntrospectionEncryptedResponseEnc needs IntrospectionEncryptedResponseAlg")
	}
	if c.IntrospectionEncryptedResponseAlg != "" {
		if c.IntrospectionSignedResponseAlg == "" {
			c.IntrospectionSignedResponseAlg = fams[0]
			if slices.Contains(fams, AlgRS256) {
				c.IntrospectionSignedResponseAlg = AlgRS256 // RFC 9701 §6 default
			}
		}
		if c.IntrospectionEncryptedResponseEnc == "" {
			c.IntrospectionEncryptedResponseEnc = "A128CBC-HS256" // RFC 9701 §6 default
		}
		if !slices.Contains(encryptionAlgs, c.IntrospectionEncryptedResponseAlg) {
			return invalid("IntrospectionEncryptedResponseAlg %q is not one of %v", c.IntrospectionEncryptedResponseAlg, encryptionAlgs)
		}
		if !slices.Contains(encryptionEncs, c.IntrospectionEncryptedResponseEnc) {
			return invalid("IntrospectionEncryptedResponseEnc %q is not one of %v", c.IntrospectionEncryptedResponseEnc, encryptionEncs)
		}
		switch {
		case c.JWKS != "" && c.JWKSURI != "":
			return invalid("set only one of JWKS and JWKSURI")
		case c.JWKS != "":
			if _, err := encryptionKey([]byte(c.JWKS), c.IntrospectionEncryptedResponseAlg); err != nil {
				return invalid("JWKS: %v", err)
			}
		case c.JWKSURI != "":
			if err := oauthhttp.CheckURL(c.JWKSURI, false, ""); err != nil {
				return invalid("JWKSURI: %v", err)
			}
		default:
			return invalid("encrypted introspection responses need JWKS or JWKSURI")
		}
	} else if c.JWKS != "" || c.JWKSURI != "" {
		return invalid("JWKS and JWKSURI are only used with IntrospectionEncryptedResponseAlg")
	}
	if alg := c.IntrospectionSignedResponseAlg; alg != "" {
		if algs := signingAlgs(fams); !slices.Contains(algs, alg) {
			return invalid("IntrospectionSignedResponseAlg %q is not one of %v", alg, algs)
		}
		if c.Introspection == store.IntrospectNone {
			return invalid("IntrospectionSignedResponseAlg is set but the client may not introspect")
		}
	}
	return nil
}

// signInFromSpec validates and copies spec's fields of signing people in.
func signInFromSpec(c *Client, spec ClientSpec, s *store.Settings) error {
	code := slices.Contains(c.GrantTypes, GrantAuthorizationCode)
	switch {
	case code && len(spec.RedirectURIs) == 0:
		return invalid("the authorization_code grant needs at least one redirect URI")
	case !code && (len(spec.RedirectURIs) > 0 || len(spec.PostLogoutRedirectURIs) > 0):
		return invalid("redirect URIs are only for the authorization_code grant")
	case !code && (spec.FirstParty || spec.IDTokenSignedResponseAlg != "" || spec.IDTokenIncludeClaims || spec.PairwiseSubject):
		return invalid("FirstParty and the ID token settings are only for the authorization_code grant")
	}
	for _, l := range []struct {
		name string
		uris []string
		dst  *[]string
	}{{"redirect URI", spec.RedirectURIs, &c.RedirectURIs}, {"post-logout redirect URI", spec.PostLogoutRedirectURIs, &c.PostLogoutRedirectURIs}} {
		for _, u := range l.uris {
			if err := checkRedirectURI(u); err != nil {
				return invalid("%s: %v", l.name, err)
			}
			if !slices.Contains(*l.dst, u) {
				*l.dst = append(*l.dst, u)
			}
		}
	}
	c.FirstParty, c.IDTokenIncludeClaims, c.PairwiseSubject = spec.FirstParty, spec.IDTokenIncludeClaims, spec.PairwiseSubject
	if c.PairwiseSubject {
		if _, err := sectorIdentifier(c); err != nil {
			return invalid("%v", err)
		}
	}
	if alg := spec.IDTokenSignedResponseAlg; alg != "" {
		if algs := signingAlgs(s.KeyAlgorithms); !slices.Contains(algs, alg) {
			return invalid("IDTokenSignedResponseAlg %q is not one of %v", alg, algs)
		}
		c.IDTokenSignedResponseAlg = alg
	}
	return nil
}

// checkRedirectURI accepts a redirect URI to register: absolute, without
// fragment or user info, at most maxRedirectURIBytes, and https, http on a
// loopback host (RFC 8252 §7.3), or a private-use scheme with a dot (RFC
// 8252 §7.1) — never a scheme a browser runs or reads locally.
func checkRedirectURI(raw string) error {
	if len(raw) > maxRedirectURIBytes {
		return fmt.Errorf("longer than %d bytes", maxRedirectURIBytes)
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil || !u.IsAbs():
		return fmt.Errorf("%q is not an absolute URI", raw)
	case strings.Contains(raw, "#"):
		return fmt.Errorf("%q must not have a fragment (RFC 6749 §3.1.2)", raw)
	case u.User != nil:
		return fmt.Errorf("%q must not carry user info", u.Redacted())
	case u.Scheme == "https":
		if u.Host == "" {
			return fmt.Errorf("%q has no host", raw)
		}
	case u.Scheme == "http":
		if !oauthhttp.IsLoopback(u.Hostname()) {
			return fmt.Errorf("%q is plain http on a host that is not loopback; use https", raw)
		}
	case strings.Contains(u.Scheme, "."):
		// A private-use scheme of a native app: reverse domain name.
	default:
		return fmt.Errorf("%q: scheme must be https, http on loopback, or a private-use scheme with a dot", raw)
	}
	return nil
}

// validScopeToken reports whether s is a scope-token (RFC 6749 §3.3):
// 1*( %x21 / %x23-5B / %x5D-7E ).
func validScopeToken(s string) bool {
	if s == "" || len(s) > 200 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == 0x21 || (c >= 0x23 && c <= 0x5B) || (c >= 0x5D && c <= 0x7E)) {
			return false
		}
	}
	return true
}
