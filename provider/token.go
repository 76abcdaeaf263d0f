package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tokengate/tokengate/internal/oauthhttp"
	"github.com/tokengate/tokengate/provider/store"
)

// reservedClaims may not be set by Config.TokenClaims.
var reservedClaims = []string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "scope", "client_id",
	"active", "token_type", "username", "cnf"}

// tokenResponse is the RFC 6749 §5.1 answer.
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
	Scope       string `json:"scope,omitempty"`
}

// serveToken is the token endpoint (RFC 6749 §3.2). Only the client
// credentials grant (§4.4) is supported; it issues no refresh token
// (§4.4.3).
func (p *Provider) serveToken(w http.ResponseWriter, r *http.Request) {
	form, oerr := p.readForm(w, r, "resource")
	if oerr != nil {
		writeError(w, oerr)
		return
	}
	client, oerr := p.authenticateClient(r.Context(), r, form, EndpointToken, false)
	if oerr != nil {
		writeError(w, oerr)
		return
	}
	grant := form.Get("grant_type")
	switch {
	case grant == "":
		writeError(w, errInvalidRequest("grant_type is missing"))
		return
	case grant != GrantClientCredentials:
		writeError(w, &oauthError{status: http.StatusBadRequest, code: "unsupported_grant_type",
			description: "only client_credentials is supported"})
		return
	case !slices.Contains(client.GrantTypes, grant):
		writeError(w, &oauthError{status: http.StatusBadRequest, code: "unauthorized_client",
			description: "the client may not use this grant type"})
		return
	}
	scopes, oerr := narrowScope(client, form.Get("scope"), form.Has("scope"))
	if oerr != nil {
		writeError(w, oerr)
		return
	}
	audience, oerr := resourceAudience(client, form["resource"])
	if oerr != nil {
		writeError(w, oerr)
		return
	}
	if wait := p.guard.quota.Take(client.ID); wait > 0 {
		p.observe(Event{Kind: EventQuotaRefused, Endpoint: EndpointToken})
		writeError(w, throttled(wait, "the client's token quota is spent; reuse its tokens until they expire"))
		return
	}
	now := p.now()
	lifetime := p.tokenLifetime(client)
	value, err := p.issue(r.Context(), issuance{client: client, scopes: scopes, audience: audience,
		issuedAt: now, expiresAt: now.Add(lifetime)})
	if errors.Is(err, store.ErrNotFound) {
		// Deleted by another process after this one cached it: it is no
		// client any more.
		p.forgetClient(client.ID)
		writeError(w, &oauthError{status: http.StatusUnauthorized, code: "invalid_client",
			description: "client authentication failed", challenge: basicRealm})
		return
	}
	if err != nil {
		p.serverError(w, "issuing token", err)
		return
	}
	writeJSON(w, http.StatusOK, tokenResponse{
		AccessToken: value,
		TokenType:   "Bearer",
		ExpiresIn:   int64(lifetime / time.Second),
		Scope:       strings.Join(scopes, " "),
	})
}

// narrowScope returns the granted scopes: what was asked, if the client
// may have all of it (else invalid_scope, RFC 6749 §5.2), or when nothing
// was asked everything the client may have but ScopeIntrospection. That one
// is granted only by name (or when it is the client's only scope): a token
// meant for APIs must not let every API it is sent to replay it at the
// introspection endpoint and read other tokens as the client.
func narrowScope(client *Client, requested string, present bool) ([]string, *oauthError) {
	if !present || strings.TrimSpace(requested) == "" {
		if len(client.Scopes) == 1 {
			return slices.Clone(client.Scopes), nil
		}
		return slices.DeleteFunc(slices.Clone(client.Scopes), func(s string) bool { return s == ScopeIntrospection }), nil
	}
	var out []string
	for _, s := range strings.Split(requested, " ") {
		if s == "" {
			continue
		}
		if !validScopeToken(s) {
			return nil, &oauthError{status: http.StatusBadRequest, code: "invalid_scope", description: "malformed scope"}
		}
		if !slices.Contains(client.Scopes, s) {
			return nil, &oauthError{status: http.StatusBadRequest, code: "invalid_scope",
				description: "scope " + truncate(s, 60) + " is not allowed for this client"}
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out, nil
}

// resourceAudience returns the audience for the RFC 8707 resource
// parameters: the resources asked for, which must be registered for the
// client (else invalid_target), or all of the client's resources.
func resourceAudience(client *Client, resources []string) ([]string, *oauthError) {
	if len(resources) == 0 {
		return slices.Clone(client.Resources), nil
	}
	var out []string
	for _, r := range resources {
		if err := oauthhttp.CheckResourceIndicator(r); err != nil {
			return nil, &oauthError{status: http.StatusBadRequest, code: "invalid_target", description: "resource " + truncate(err.Error(), 120)}
		}
		if !slices.Contains(client.Resources, r) {
			return nil, &oauthError{status: http.StatusBadRequest, code: "invalid_target",
				description: "resource " + truncate(r, 100) + " is not registered for this client"}
		}
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out, nil
}

// tokenLifetime is the lifetime of client's access tokens: its own, or
// DefaultTokenLifetime, and never more than MaxTokenLifetime.
func (p *Provider) tokenLifetime(client *Client) time.Duration {
	lifetime := client.TokenLifetime
	if lifetime <= 0 {
		lifetime = p.cfg.DefaultTokenLifetime
	}
	return min(lifetime, p.cfg.MaxTokenLifetime)
}

// issuance is what a token is issued with: by the token endpoint, or by
// Mint, which may also make it already expired or revoked.
type issuance struct {
	client              *Client
	scopes, audience    []string
	issuedAt, expiresAt time.Time
	// revoked stores the token already revoked (Mint, for tests).
	revoked bool
}

// issue creates and stores an access token; it returns the token value.
func (p *Provider) issue(ctx context.Context, req issuance) (string, error) {
	client, scopes, audience := req.client, req.scopes, req.audience
	var claims []byte
	var extra map[string]any
	if p.cfg.TokenClaims != nil {
		var err error
		extra, err = p.cfg.TokenClaims(ctx, &TokenRequest{Client: client, Scopes: slices.Clone(scopes), Audience: slices.Clone(audience)})
		if err != nil {
			return "", fmt.Errorf("Config.TokenClaims: %w", err)
		}
		for k := range extra {
			if slices.Contains(reservedClaims, k) {
				return "", fmt.Errorf("Config.TokenClaims returned the registered claim %q", k)
			}
		}
		if len(extra) > 0 {
			if claims, err = json.Marshal(extra); err != nil {
				return "", fmt.Errorf("Config.TokenClaims: %w", err)
			}
		}
	}
	jti := randomString(16)
	t := &store.Token{
		ClientID:  client.ID,
		Subject:   client.ID, // client credentials: the client acts for itself (RFC 9068 §2.2)
		Scope:     strings.Join(scopes, " "),
		Audience:  audience,
		JWTID:     jti,
		GrantID:   jti,
		Format:    "opaque",
		Claims:    claims,
		IssuedAt:  req.issuedAt,
		ExpiresAt: req.expiresAt,
		Revoked:   req.revoked,
	}
	var value string
	if client.AccessTokenFormat == "jwt" {
		payload := map[string]any{}
		for k, v := range extra {
			payload[k] = v
		}
		payload["iss"] = p.issuer
		payload["sub"] = t.Subject
		if len(audience) == 1 {
			payload["aud"] = audience[0]
		} else {
			payload["aud"] = audience
		}
		payload["exp"] = req.expiresAt.Unix()
		payload["iat"] = req.issuedAt.Unix()
		payload["jti"] = jti
		payload["client_id"] = client.ID
		if t.Scope != "" {
			payload["scope"] = t.Scope
		}
		b, err := json.Marshal(payload)
		if err != nil {
			return "", err
		}
		if value, err = p.sign(ctx, p.cfg.KeyAlgorithms[0], "at+jwt", b); err != nil {
			return "", err
		}
		t.Format = "jwt"
	} else {
		value = AccessTokenPrefix + randomString(32)
	}
	t.Hash = store.Hash(value)
	if err := p.cfg.Store.SaveToken(ctx, t); err != nil {
		return "", err
	}
	p.observe(Event{Kind: EventTokenIssued})
	return value, nil
}

// MintRequest describes a token for [Provider.Mint].
type MintRequest struct {
	// ClientID is the registered client the token is issued to.
	ClientID string
	// Scopes are granted as given; they need not be allowed for the client.
	Scopes []string
	// Audience is set as given; the zero value means the client's resources.
	Audience []string
	// IssuedAt defaults to now, or for an already-expired token to
	// ExpiresAt minus the client's token lifetime.
	IssuedAt time.Time
	// ExpiresAt may be in the past, for an already-expired token. The zero
	// value means IssuedAt plus the client's token lifetime.
	ExpiresAt time.Time
	// Revoked stores the token already revoked.
	Revoked bool
}

// Mint issues a token directly, without a grant and without checking the
// scopes or audience against the client's registration: it is for tests
// (see package providertest) and administrative tools. The client must
// exist.
func (p *Provider) Mint(ctx context.Context, req MintRequest) (string, error) {
	client, err := p.cfg.Store.Client(ctx, req.ClientID)
	if err != nil {
		return "", fmt.Errorf("provider: mint: client %q: %w", req.ClientID, err)
	}
	for _, s := range req.Scopes {
		if !validScopeToken(s) {
			return "", fmt.Errorf("provider: mint: scope %q is not a scope token", s)
		}
	}
	aud := req.Audience
	if aud == nil {
		aud = client.Resources
	}
	lifetime := p.tokenLifetime(client)
	iat, exp := req.IssuedAt, req.ExpiresAt
	switch {
	case iat.IsZero() && !exp.IsZero() && !exp.After(p.now()):
		iat = exp.Add(-lifetime) // an already-expired token was issued before it expired
	case iat.IsZero():
		iat = p.now()
	}
	if exp.IsZero() {
		exp = iat.Add(lifetime)
	}
	v, err := p.issue(ctx, issuance{client: client, scopes: req.Scopes, audience: aud,
		issuedAt: iat, expiresAt: exp, revoked: req.Revoked})
	if err != nil {
		return "", fmt.Errorf("provider: mint: %w", err)
	}
	return v, nil
}

// Revoke revokes token (and what was issued from the same grant) as the
// revocation endpoint does, whoever it was issued to. Unknown tokens are not
// an error.
func (p *Provider) Revoke(ctx context.Context, token string) error {
	t, err := p.cfg.Store.Token(ctx, store.Hash(token))
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("provider: revoke: %w", err)
	}
	if _, err := p.cfg.Store.RevokeGrant(ctx, t.GrantID); err != nil {
		return fmt.Errorf("provider: revoke: %w", err)
	}
	return nil
}
