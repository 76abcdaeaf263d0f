package provider

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/tokengate/tokengate/provider/store"
	"github.com/tokengate/tokengate/secevent"
)

// userGrant is one authorization of a user: what its authorization code
// carried, and what every token descended from it keeps.
type userGrant struct {
	// id is the grant id every token of it carries.
	id                string
	subject, username string
	authTime          time.Time
	acr               string
	amr               []string
	// scopes are the grant's scopes; a refresh may narrow what one access
	// token carries, not these.
	scopes   []string
	audience []string
	// nonce is the OpenID Connect nonce, for the first ID token only.
	nonce string
	// expiresAt ends the grant: no refresh token outlives it.
	expiresAt time.Time
}

func errInvalidGrant(description string) *oauthError {
	return &oauthError{status: http.StatusBadRequest, code: "invalid_grant", description: description}
}

// codeGrant redeems an authorization code (RFC 6749 §4.1.3) with its PKCE
// verifier (RFC 7636 §4.5). Every check is made before the code is
// redeemed, so that a request with a wrong verifier or redirect URI —
// someone else's, injecting a stolen code — does not use up the client's
// code. A code presented after it was redeemed revokes every token issued
// from it (RFC 6749 §4.1.2).
func (p *Provider) codeGrant(ctx context.Context, client *Client, form url.Values) (*tokenResponse, *oauthError) {
	code, verifier := form.Get("code"), form.Get("code_verifier")
	switch {
	case code == "":
		return nil, errInvalidRequest("code is missing")
	case verifier == "":
		return nil, errInvalidRequest("code_verifier is required (PKCE, RFC 7636)")
	case !validVerifier(verifier):
		return nil, errInvalidGrant("code_verifier is not 43 to 128 unreserved characters (RFC 7636 §4.1)")
	}
	hash := store.Hash(code)
	c, err := p.cfg.Store.Code(ctx, hash)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, errInvalidGrant("the code is unknown or expired")
	case err != nil:
		return nil, p.errServer("reading code", err)
	case c.ClientID != client.ID:
		return nil, errInvalidGrant("the code is unknown or expired")
	case !c.UsedAt.IsZero():
		return nil, p.reused(ctx, c.GrantID, secevent.ReasonGrantRevoked, "the code was used already; the tokens issued from it are revoked")
	case !p.now().Before(c.ExpiresAt):
		return nil, errInvalidGrant("the code is unknown or expired")
	case form.Get("redirect_uri") != c.RedirectURI:
		return nil, errInvalidGrant("redirect_uri differs from the authorization request's")
	case !store.Equal(s256(verifier), decodeChallenge(c.CodeChallenge)):
		return nil, errInvalidGrant("code_verifier does not match the code_challenge")
	}
	audience := c.Audience
	if rs := form["resource"]; len(rs) > 0 {
		// RFC 8707 §2.2: a token for some of the resources granted.
		for _, r := range rs {
			if !slices.Contains(c.Audience, r) {
				return nil, &oauthError{status: http.StatusBadRequest, code: "invalid_target",
					description: "resource " + truncate(r, 100) + " was not granted"}
			}
		}
		audience = slices.Compact(slices.Clone(rs))
	}
	now := p.now()
	g := &userGrant{id: c.GrantID, subject: c.Subject, username: c.Username, authTime: c.AuthTime, acr: c.ACR,
		amr: c.AMR, scopes: strings.Fields(c.Scope), audience: c.Audience, nonce: c.Nonce,
		expiresAt: now.Add(p.cfg.RefreshTokenLifetime)}
	resp, tokens, oerr := p.userTokens(ctx, client, g, g.scopes, audience, p.refreshAllowed(client, g.scopes), false)
	if oerr != nil {
		return nil, oerr
	}
	switch err := p.cfg.Store.RedeemCode(ctx, hash, now, tokens...); {
	case errors.Is(err, store.ErrUsed):
		// Redeemed by a concurrent request since it was read.
		return nil, p.reused(ctx, c.GrantID, secevent.ReasonGrantRevoked, "the code was used already; the tokens issued from it are revoked")
	case errors.Is(err, store.ErrNotFound):
		return nil, errInvalidGrant("the code is unknown or expired")
	case err != nil:
		return nil, p.errServer("redeeming code", err)
	}
	p.observeIssued(len(tokens))
	return resp, nil
}

// refreshGrant exchanges a refresh token for a new access token and a new
// refresh token (RFC 6749 §6): refresh tokens rotate on every use, and one
// presented again after its use revokes the whole grant, since either the
// client or a thief holds a stolen copy (RFC 9700 §4.14.2). The scope may
// be narrowed for the new access token; the grant keeps its scope.
func (p *Provider) refreshGrant(ctx context.Context, client *Client, form url.Values) (*tokenResponse, *oauthError) {
	value := form.Get("refresh_token")
	if value == "" {
		return nil, errInvalidRequest("refresh_token is missing")
	}
	hash := store.Hash(value)
	t, err := p.cfg.Store.Token(ctx, hash)
	now := p.now()
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, errInvalidGrant("the refresh token is unknown, expired or revoked")
	case err != nil:
		return nil, p.errServer("reading refresh token", err)
	case t.Kind != store.TokenRefresh || t.ClientID != client.ID:
		return nil, errInvalidGrant("the refresh token is unknown, expired or revoked")
	case !t.UsedAt.IsZero():
		return nil, p.reused(ctx, t.GrantID, secevent.ReasonRefreshTokenReuse, "the refresh token was used already; its grant is revoked")
	case t.Revoked || !now.Before(t.ExpiresAt) || !now.Before(t.GrantExpiresAt):
		return nil, errInvalidGrant("the refresh token is unknown, expired or revoked")
	}
	g := &userGrant{id: t.GrantID, subject: t.Subject, username: t.Username, authTime: t.AuthTime, acr: t.ACR,
		amr: t.AMR, scopes: strings.Fields(t.Scope), audience: t.Audience, expiresAt: t.GrantExpiresAt}
	scopes := g.scopes
	if form.Has("scope") && strings.TrimSpace(form.Get("scope")) != "" {
		scopes = nil
		for s := range strings.SplitSeq(form.Get("scope"), " ") {
			switch {
			case s == "" || slices.Contains(scopes, s):
			case !slices.Contains(g.scopes, s):
				return nil, &oauthError{status: http.StatusBadRequest, code: "invalid_scope",
					description: "scope " + truncate(s, 60) + " was not granted"}
			default:
				scopes = append(scopes, s)
			}
		}
	}
	resp, tokens, oerr := p.userTokens(ctx, client, g, scopes, g.audience, true, true)
	if oerr != nil {
		return nil, oerr
	}
	switch err := p.cfg.Store.RotateToken(ctx, hash, now, tokens...); {
	case errors.Is(err, store.ErrUsed):
		// Used or revoked by a concurrent request since it was read.
		return nil, p.reused(ctx, t.GrantID, secevent.ReasonRefreshTokenReuse, "the refresh token was used already; its grant is revoked")
	case errors.Is(err, store.ErrNotFound):
		return nil, errInvalidGrant("the refresh token is unknown, expired or revoked")
	case err != nil:
		return nil, p.errServer("rotating refresh token", err)
	}
	p.observeIssued(len(tokens))
	return resp, nil
}

// reused revokes the grant whose code or refresh token was presented
// again, and answers invalid_grant; reason goes into the revocation events.
func (p *Provider) reused(ctx context.Context, grantID, reason, description string) *oauthError {
	if _, err := p.cfg.Store.RevokeGrant(ctx, grantID, reason); err != nil {
		return p.errServer("revoking a grant after reuse", err)
	}
	p.events.notify()
	p.observe(Event{Kind: EventReuseDetected, Endpoint: EndpointToken})
	p.cfg.Logger.Warn("provider: a used code or refresh token was presented again; its grant is revoked")
	return errInvalidGrant(description)
}

// refreshAllowed reports whether a grant of scopes to client gets refresh
// tokens: the client may use the refresh_token grant and, for an OpenID
// Connect grant, the user granted offline_access (OpenID Connect Core §11).
func (p *Provider) refreshAllowed(client *Client, scopes []string) bool {
	return slices.Contains(client.GrantTypes, GrantRefreshToken) &&
		(!slices.Contains(scopes, "openid") || slices.Contains(scopes, "offline_access"))
}

// userTokens makes, without storing them, the tokens of a user's grant g
// for client: an access token for scopes and audience, a refresh token if
// withRefresh, and an ID token if scopes include openid.
func (p *Provider) userTokens(ctx context.Context, client *Client, g *userGrant, scopes, audience []string,
	withRefresh, refreshing bool) (*tokenResponse, []*store.Token, *oauthError) {
	now := p.now()
	lifetime := p.tokenLifetime(client)
	at, atRec, err := p.newToken(ctx, issuance{client: client, scopes: scopes, audience: audience,
		issuedAt: now, expiresAt: now.Add(lifetime), user: g})
	if err != nil {
		return nil, nil, p.errServer("issuing token", err)
	}
	resp := &tokenResponse{AccessToken: at, TokenType: "Bearer", ExpiresIn: int64(lifetime / time.Second),
		Scope: strings.Join(scopes, " ")}
	tokens := []*store.Token{atRec}
	if withRefresh {
		rt, rtRec, err := p.newToken(ctx, issuance{client: client, scopes: g.scopes, audience: g.audience,
			issuedAt: now, expiresAt: earliest(now.Add(p.cfg.RefreshTokenIdleLifetime), g.expiresAt), user: g, refresh: true})
		if err != nil {
			return nil, nil, p.errServer("issuing refresh token", err)
		}
		resp.RefreshToken = rt
		tokens = append(tokens, rtRec)
	}
	if slices.Contains(scopes, "openid") {
		if resp.IDToken, err = p.idToken(ctx, client, g, scopes, at, refreshing); err != nil {
			return nil, nil, p.errServer("issuing ID token", err)
		}
	}
	return resp, tokens, nil
}

func (p *Provider) observeIssued(n int) {
	for range n {
		p.observe(Event{Kind: EventTokenIssued})
	}
}

// validVerifier reports whether v is a PKCE code verifier (RFC 7636
// §4.1): 43 to 128 characters of [A-Z] / [a-z] / [0-9] / "-" / "." / "_" /
// "~".
func validVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; !isBase64URL(c) && c != '.' && c != '~' {
			return false
		}
	}
	return true
}

// s256 is the S256 transformation of a verifier, before base64url.
func s256(verifier string) []byte {
	h := sha256.Sum256([]byte(verifier))
	return h[:]
}

// decodeChallenge decodes a stored S256 challenge; a corrupt one decodes
// to nothing, which matches no verifier.
func decodeChallenge(c string) []byte {
	b, _ := base64.RawURLEncoding.DecodeString(c)
	return b
}

// earliest returns the earlier of a and b.
func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
