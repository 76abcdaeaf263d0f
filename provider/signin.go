package provider

import (
	"fmt"
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
