package provider

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"
)

// setSignInDefaults fills in and checks the fields of signing people in.
func (cfg *Config) setSignInDefaults() error {
	for _, f := range []struct {
		name string
		url  *string
	}{{"LoginURL", &cfg.LoginURL}, {"ConsentURL", &cfg.ConsentURL}} {
		if *f.url == "" {
			continue
		}
		u, err := url.Parse(*f.url)
		switch {
		case err != nil:
			return fmt.Errorf("provider: Config.%s: %w", f.name, err)
		case u.Fragment != "" || strings.Contains(*f.url, "#"):
			return fmt.Errorf("provider: Config.%s %q must not have a fragment", f.name, *f.url)
		case u.Scheme == "" && u.Host == "" && strings.HasPrefix(u.Path, "/") && !strings.HasPrefix(*f.url, "//"):
			// A path on the issuer's host.
		case (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && u.User == nil:
		default:
			return fmt.Errorf("provider: Config.%s %q must be an absolute http(s) URL or a path starting with /", f.name, *f.url)
		}
	}
	if cfg.ConsentURL == "" {
		cfg.ConsentURL = cfg.LoginURL
	}
	if cfg.LoginURL == "" && cfg.ConsentURL != "" {
		return fmt.Errorf("provider: Config.ConsentURL is set without LoginURL")
	}
	for scope, claims := range cfg.ScopeClaims {
		if !validScopeToken(scope) || slices.Contains(oidcScopes, scope) {
			return fmt.Errorf("provider: Config.ScopeClaims: %q is not a scope of the application's own", scope)
		}
		for _, c := range claims {
			if c == "" || slices.Contains(registeredIDTokenClaims, c) {
				return fmt.Errorf("provider: Config.ScopeClaims[%q]: %q may not be a scope's claim", scope, c)
			}
		}
	}
	for _, d := range []struct {
		field *time.Duration
		def   time.Duration
	}{
		{&cfg.CodeLifetime, DefaultCodeLifetime},
		{&cfg.InteractionLifetime, DefaultInteractionLifetime},
		{&cfg.SessionLifetime, DefaultSessionLifetime},
		{&cfg.ConsentLifetime, DefaultConsentLifetime},
		{&cfg.RefreshTokenIdleLifetime, DefaultRefreshTokenIdleLifetime},
		{&cfg.RefreshTokenLifetime, DefaultRefreshTokenLifetime},
		{&cfg.IDTokenLifetime, min(DefaultIDTokenLifetime, cfg.MaxTokenLifetime)},
	} {
		if *d.field == 0 {
			*d.field = d.def
		}
	}
	if cfg.IDTokenLifetime > cfg.MaxTokenLifetime {
		return fmt.Errorf("provider: Config.IDTokenLifetime %v exceeds MaxTokenLifetime %v", cfg.IDTokenLifetime, cfg.MaxTokenLifetime)
	}
	if cfg.RefreshTokenIdleLifetime > cfg.RefreshTokenLifetime {
		return fmt.Errorf("provider: Config.RefreshTokenIdleLifetime %v exceeds RefreshTokenLifetime %v",
			cfg.RefreshTokenIdleLifetime, cfg.RefreshTokenLifetime)
	}
	return nil
}

// registeredIDTokenClaims are the claims of an ID token that the provider
// sets and Config.IDTokenClaims may not touch.
var registeredIDTokenClaims = []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr",
	"azp", "at_hash", "c_hash", "sid", "jti", "nbf"}

// sectorIdentifier returns the sector of a pairwise client (OpenID Connect
// Core §8.1): the host its redirect URIs share. Clients of one sector see
// the same pairwise subjects.
func sectorIdentifier(c *Client) (string, error) {
	var host string
	for _, raw := range c.RedirectURIs {
		u, err := url.Parse(raw)
		if err != nil {
			return "", err
		}
		h := u.Hostname()
		if h == "" {
			h = u.Scheme // a private-use scheme names the app
		}
		if host != "" && h != host {
			return "", fmt.Errorf("a pairwise client's redirect URIs must share one host (OpenID Connect Core §8.1), not %s and %s", host, h)
		}
		host = h
	}
	if host == "" {
		return "", fmt.Errorf("a pairwise client needs a redirect URI")
	}
	return host, nil
}

// signInMetadata are the members of the metadata (RFC 8414 §2, OpenID
// Connect Discovery 1.0 §3) about signing people in.
func (p *Provider) signInMetadata() map[string]any {
	scopes := slices.Clone(oidcScopes)
	claims := []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp", "at_hash"}
	for _, s := range []string{"profile", "email", "address", "phone"} {
		claims = append(claims, standardScopeClaims[s]...)
	}
	for _, s := range slices.Sorted(maps.Keys(p.cfg.ScopeClaims)) {
		scopes = append(scopes, s)
		for _, c := range p.cfg.ScopeClaims[s] {
			if !slices.Contains(claims, c) {
				claims = append(claims, c)
			}
		}
	}
	return map[string]any{
		"authorization_endpoint":                         p.AuthorizationURL(),
		"userinfo_endpoint":                              p.UserinfoURL(),
		"end_session_endpoint":                           p.EndSessionURL(),
		"response_types_supported":                       []string{"code"},
		"response_modes_supported":                       []string{"query"},
		"grant_types_supported":                          []string{GrantAuthorizationCode, GrantRefreshToken, GrantClientCredentials},
		"code_challenge_methods_supported":               []string{"S256"},
		"token_endpoint_auth_methods_supported":          []string{"client_secret_basic", "client_secret_post", "none"},
		"subject_types_supported":                        []string{"public", "pairwise"},
		"id_token_signing_alg_values_supported":          signingAlgs(p.cfg.KeyAlgorithms),
		"scopes_supported":                               scopes,
		"claims_supported":                               claims,
		"claim_types_supported":                          []string{"normal"},
		"prompt_values_supported":                        []string{"none", "login", "consent"},
		"authorization_response_iss_parameter_supported": true,
		"request_parameter_supported":                    false,
		"request_uri_parameter_supported":                false,
		"claims_parameter_supported":                     false,
	}
}
