package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/tokengate/tokengate/internal/oauthhttp"
	"github.com/tokengate/tokengate/provider/store"
	"github.com/tokengate/tokengate/secevent"
)

// reservedClaims may not be set by Config.TokenClaims.
var reservedClaims = []string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "scope", "client_id",
	"active", "token_type", "username", "cnf"}

// tokenResponse is the RFC 6749 §5.1 answer, with an ID token for OpenID
// Connect (Core §3.1.3.3).
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	Scope        string `json:"scope,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
}

// serveToken is the token endpoint (RFC 6749 §3.2): the client credentials
// grant (§4.4; no refresh token, §4.4.3), the authorization code grant
// (§4.1.3, with PKCE) and the refresh token grant (§6). Public clients
// identify themselves with client_id alone, and only for the latter two.
func (p *Provider) serveToken(w http.ResponseWriter, r *http.Request) {
	form, oerr := p.readForm(w, r, "resource")
	if oerr != nil {
		writeError(w, oerr)
		return
	}
	grant := form.Get("grant_type")
	userGrant := grant == GrantAuthorizationCode || grant == GrantRefreshToken
	client, oerr := p.authenticateClient(r.Context(), r, form, EndpointToken, userGrant)
	if oerr != nil {
		writeError(w, oerr)
		return
	}
	switch {
	case grant == "":
		writeError(w, errInvalidRequest("grant_type is missing"))
		return
	case grant != GrantClientCredentials && !userGrant:
		writeError(w, &oauthError{status: http.StatusBadRequest, code: "unsupported_grant_type",
			description: "grant_type must be client_credentials, authorization_code or refresh_token"})
		return
	case !slices.Contains(client.GrantTypes, grant):
		writeError(w, &oauthError{status: http.StatusBadRequest, code: "unauthorized_client",
			description: "the client may not use this grant type"})
		return
	}
	if wait := p.guard.quota.Take(client.ID); wait > 0 {
		p.observe(Event{Kind: EventQuotaRefused, Endpoint: EndpointToken})
		writeError(w, throttled(wait, "the client's token quota is spent; reuse its tokens until they expire"))
		return
	}
	var resp *tokenResponse
	switch grant {
	case GrantAuthorizationCode:
		resp, oerr = p.codeGrant(r.Context(), client, form)
	case GrantRefreshToken:
		resp, oerr = p.refreshGrant(r.Context(), client, form)
	default:
		resp, oerr = p.clientCredentialsGrant(r.Context(), client, form)
	}
	if oerr != nil {
		if oerr.code == "invalid_client" {
			// Deleted by another process after this one cached it: it is
			// no client any more.
			p.forgetClient(client.ID)
		}
		writeError(w, oerr)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// errServer is the answer to a failure of the provider's own, which it
// logs without the request's secrets.
func (p *Provider) errServer(what string, err error) *oauthError {
	if p.unavailable(what, err) {
		return errUnavailable
	}
	p.cfg.Logger.Error("provider: "+what, "err", err)
	return &oauthError{status: http.StatusInternalServerError, code: "server_error"}
}

// unavailable reports whether err means the store is away for now
// (restarting, unreachable), the one failure every endpoint and page
// answers as "try again" rather than as its own fault. Every request fails
// alike until the store is back, so it logs one line per lograte.Every.
func (p *Provider) unavailable(what string, err error) bool {
	if !errors.Is(err, store.ErrUnavailable) {
		return false
	}
	if ok, suppressed := p.unavailableLog.Allow(p.now()); ok {
		p.cfg.Logger.Warn("provider: the store is unavailable; answering 503", "while", what, "err", err, "suppressed", suppressed)
	}
	return true
}

// errUnavailable is the answer while the store is unavailable: 503 and
// temporarily_unavailable (as for throttling), to be retried.
var errUnavailable = &oauthError{status: http.StatusServiceUnavailable, code: "temporarily_unavailable",
	description: "the authorization server is unavailable; try again", retryAfter: "1"}

// errClientGone is the answer when the client was deleted, maybe by
// another process, after it authenticated.
var errClientGone = &oauthError{status: http.StatusUnauthorized, code: "invalid_client",
	description: "client authentication failed", challenge: basicRealm}

// clientCredentialsGrant issues a client its own token (RFC 6749 §4.4).
func (p *Provider) clientCredentialsGrant(ctx context.Context, client *Client, form url.Values) (*tokenResponse, *oauthError) {
	scopes, oerr := narrowScope(client, form.Get("scope"), form.Has("scope"))
	if oerr != nil {
		return nil, oerr
	}
	audience, oerr := resourceAudience(client, form["resource"])
	if oerr != nil {
		return nil, oerr
	}
	now := p.now()
	lifetime := p.tokenLifetime(client)
	value, err := p.issue(ctx, issuance{client: client, scopes: scopes, audience: audience,
		issuedAt: now, expiresAt: now.Add(lifetime)})
	if errors.Is(err, store.ErrNotFound) {
		return nil, errClientGone
	}
	if err != nil {
		return nil, p.errServer("issuing token", err)
	}
	return &tokenResponse{AccessToken: value, TokenType: "Bearer", ExpiresIn: int64(lifetime / time.Second),
		Scope: strings.Join(scopes, " ")}, nil
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
	// user is the grant of a user's token; nil for the client's own.
	user *userGrant
	// refresh issues a refresh token (of user) instead of an access token.
	refresh bool
}

// issue creates and stores an access token; it returns the token value.
func (p *Provider) issue(ctx context.Context, req issuance) (string, error) {
	value, t, err := p.newToken(ctx, req)
	if err != nil {
		return "", err
	}
	if err := p.cfg.Store.SaveToken(ctx, t); err != nil {
		return "", err
	}
	p.observe(Event{Kind: EventTokenIssued})
	return value, nil
}

// newToken creates a token, without storing it: it returns its value and
// the record to store.
func (p *Provider) newToken(ctx context.Context, req issuance) (string, *store.Token, error) {
	client, scopes, audience := req.client, req.scopes, req.audience
	jti := newID(req.issuedAt)
	t := &store.Token{
		ClientID:  client.ID,
		Subject:   client.ID, // client credentials: the client acts for itself (RFC 9068 §2.2)
		Scope:     strings.Join(scopes, " "),
		Audience:  audience,
		JWTID:     jti,
		GrantID:   jti,
		Format:    "opaque",
		Kind:      store.TokenAccess,
		IssuedAt:  req.issuedAt,
		ExpiresAt: req.expiresAt,
		Revoked:   req.revoked,
	}
	sub := t.Subject // as the token's holders see it
	if u := req.user; u != nil {
		t.Subject, t.Username, t.GrantID = u.subject, u.username, u.id
		t.AuthTime, t.ACR, t.AMR = u.authTime, u.acr, u.amr
		sub = p.subjectFor(client, u.subject)
		if req.refresh {
			t.Kind, t.GrantExpiresAt = store.TokenRefresh, u.expiresAt
			value := RefreshTokenPrefix + randomString(32)
			t.Hash = store.Hash(value)
			return value, t, nil
		}
	}
	var extra map[string]any
	if p.cfg.TokenClaims != nil {
		var err error
		tr := &TokenRequest{Client: client, Scopes: slices.Clone(scopes), Audience: slices.Clone(audience)}
		if req.user != nil {
			tr.Subject = sub
		}
		extra, err = p.cfg.TokenClaims(ctx, tr)
		if err != nil {
			return "", nil, fmt.Errorf("Config.TokenClaims: %w", err)
		}
		for k := range extra {
			if slices.Contains(reservedClaims, k) {
				return "", nil, fmt.Errorf("Config.TokenClaims returned the registered claim %q", k)
			}
		}
		if len(extra) > 0 {
			if t.Claims, err = json.Marshal(extra); err != nil {
				return "", nil, fmt.Errorf("Config.TokenClaims: %w", err)
			}
		}
	}
	var value string
	if client.AccessTokenFormat == "jwt" {
		payload := map[string]any{}
		for k, v := range extra {
			payload[k] = v
		}
		payload["iss"] = p.issuer
		payload["sub"] = sub
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
		if u := req.user; u != nil { // RFC 9068 §2.2.1
			payload["auth_time"] = u.authTime.Unix()
			if u.acr != "" {
				payload["acr"] = u.acr
			}
			if len(u.amr) > 0 {
				payload["amr"] = u.amr
			}
		}
		b, err := json.Marshal(payload)
		if err != nil {
			return "", nil, err
		}
		if value, err = p.sign(ctx, p.cfg.KeyAlgorithms[0], "at+jwt", b); err != nil {
			return "", nil, err
		}
		t.Format = "jwt"
	} else {
		value = AccessTokenPrefix + randomString(32)
	}
	t.Hash = store.Hash(value)
	return value, t, nil
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
	if _, err := p.cfg.Store.RevokeGrant(ctx, t.GrantID, secevent.ReasonAdmin); err != nil {
		return fmt.Errorf("provider: revoke: %w", err)
	}
	p.events.notify()
	return nil
}
