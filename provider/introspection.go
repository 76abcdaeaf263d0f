package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/tokengate/tokengate/provider/store"
	"github.com/tokengate/tokengate/tokeninfo"
)

// JWTResponseMediaType is the media type of RFC 9701 introspection answers.
const JWTResponseMediaType = "application/token-introspection+jwt"

// caller is who asks the introspection endpoint.
type caller struct {
	client *Client
	right  store.IntrospectionRight
}

// serveIntrospection is the RFC 7662 endpoint.
func (p *Provider) serveIntrospection(w http.ResponseWriter, r *http.Request) {
	form, oerr := p.readForm(w, r)
	if oerr != nil {
		writeError(w, oerr)
		return
	}
	ctx := r.Context()
	who, oerr := p.introspectionCaller(ctx, r, form)
	if oerr != nil {
		writeError(w, oerr)
		return
	}
	token := form.Get("token")
	if token == "" {
		writeError(w, errInvalidRequest("token is missing"))
		return
	}
	resp, err := p.introspect(ctx, who, token)
	if err != nil {
		p.serverError(w, "introspecting", err)
		return
	}
	if who.client.IntrospectionSignedResponseAlg != "" && acceptsJWT(r) {
		jwt, err := p.jwtResponse(ctx, who.client, resp)
		if err != nil {
			p.serverError(w, "building the RFC 9701 response", err)
			return
		}
		writeBody(w, http.StatusOK, JWTResponseMediaType, []byte(jwt))
		return
	}
	b, err := resp.MarshalJSON()
	if err != nil {
		p.serverError(w, "encoding the response", err)
		return
	}
	writeBody(w, http.StatusOK, "application/json", b)
}

// introspectionCaller authenticates the caller: a client with an
// introspection right (client_secret_basic or client_secret_post), or a
// bearer token carrying the "introspection" scope.
func (p *Provider) introspectionCaller(ctx context.Context, r *http.Request, form map[string][]string) (*caller, *oauthError) {
	authz := r.Header.Values("Authorization")
	if len(authz) == 1 {
		if scheme, tok, _ := strings.Cut(authz[0], " "); strings.EqualFold(scheme, "Bearer") {
			if _, ok := form["client_secret"]; ok {
				return nil, errInvalidRequest("both a bearer token and client_secret_post")
			}
			return p.bearerCaller(ctx, r, strings.TrimSpace(tok))
		}
	}
	client, oerr := p.authenticateClient(ctx, r, form, EndpointIntrospection, false)
	if oerr != nil {
		return nil, oerr
	}
	if client.Introspection == store.IntrospectNone {
		return nil, &oauthError{status: http.StatusForbidden, code: "unauthorized_client",
			description: "the client may not introspect"}
	}
	return &caller{client: client, right: client.Introspection}, nil
}

// bearerCaller authenticates an introspection caller by its bearer token.
// Inactive tokens are counted as failed authentications of no client id
// (""): whether a token is active is what a guesser would learn here.
func (p *Provider) bearerCaller(ctx context.Context, r *http.Request, tok string) (*caller, *oauthError) {
	addr := p.guard.address(r)
	if oerr := p.checkAuth(addr, EndpointIntrospection, ""); oerr != nil {
		return nil, oerr
	}
	invalid := &oauthError{status: http.StatusUnauthorized, code: "invalid_token",
		description: "the bearer token is not active", challenge: `Bearer error="invalid_token"`}
	t, err := p.cfg.Store.Token(ctx, store.Hash(tok))
	if errors.Is(err, store.ErrNotFound) {
		p.authFailed(addr, EndpointIntrospection, "")
		return nil, invalid
	}
	if err != nil {
		return nil, p.errServer("reading token", err)
	}
	if !p.live(t) || t.Kind == store.TokenRefresh {
		p.authFailed(addr, EndpointIntrospection, "")
		return nil, invalid
	}
	if !slices.Contains(strings.Fields(t.Scope), ScopeIntrospection) {
		return nil, &oauthError{status: http.StatusForbidden, code: "insufficient_scope",
			description: "the bearer token lacks the introspection scope",
			challenge:   `Bearer error="insufficient_scope", scope="introspection"`}
	}
	client, err := p.client(ctx, t.ClientID)
	if err != nil {
		return nil, invalid
	}
	return &caller{client: client, right: max(client.Introspection, store.IntrospectOwnAudience)}, nil
}

// live reports whether a stored token is currently usable: for a refresh
// token, also unused and within its grant's lifetime.
func (p *Provider) live(t *store.Token) bool {
	now := p.now()
	if t.Kind == store.TokenRefresh && (!t.UsedAt.IsZero() || !now.Before(t.GrantExpiresAt)) {
		return false
	}
	return !t.Revoked && now.Before(t.ExpiresAt) && !now.Before(t.IssuedAt.Add(-time.Minute))
}

// introspect builds the RFC 7662 answer for token as who may see it.
// Anything who may not see, and any unknown, expired or revoked token, is
// {"active":false} and nothing else.
func (p *Provider) introspect(ctx context.Context, who *caller, token string) (*tokeninfo.Response, error) {
	inactive := &tokeninfo.Response{}
	t, err := p.cfg.Store.Token(ctx, store.Hash(token))
	if errors.Is(err, store.ErrNotFound) {
		return inactive, nil
	}
	if err != nil {
		return nil, err
	}
	// A refresh token is its client's business alone: to anyone else, an
	// API above all, it is no access token.
	refresh := t.Kind == store.TokenRefresh
	if !p.live(t) || (refresh && who.client.ID != t.ClientID) || (!refresh && !visible(who, t)) {
		return inactive, nil
	}
	resp := &tokeninfo.Response{
		Active:    true,
		Scope:     t.Scope,
		ClientID:  t.ClientID,
		TokenType: "Bearer",
		Expiry:    t.ExpiresAt,
		IssuedAt:  t.IssuedAt,
		Subject:   t.Subject,
		Audience:  t.Audience,
		Issuer:    p.issuer,
		JWTID:     t.JWTID,
	}
	if refresh {
		resp.TokenType = "" // not a Bearer access token
	}
	if !t.AuthTime.IsZero() { // a user's token
		client, err := p.client(ctx, t.ClientID)
		if errors.Is(err, store.ErrNotFound) {
			return inactive, nil
		} else if err != nil {
			return nil, err
		}
		resp.Subject = p.subjectFor(client, t.Subject)
		resp.Username = t.Username
		resp.SetExtra("auth_time", json.RawMessage(strconv.FormatInt(t.AuthTime.Unix(), 10)))
		if t.ACR != "" {
			acr, _ := json.Marshal(t.ACR)
			resp.SetExtra("acr", acr)
		}
	}
	if len(t.Claims) > 0 {
		var extra map[string]json.RawMessage
		if err := json.Unmarshal(t.Claims, &extra); err != nil {
			return nil, fmt.Errorf("token claims: %w", err)
		}
		for k, v := range extra {
			resp.SetExtra(k, v)
		}
	}
	if p.cfg.IntrospectionHook != nil {
		if err := p.cfg.IntrospectionHook(ctx, who.client, resp); err != nil {
			return nil, fmt.Errorf("Config.IntrospectionHook: %w", err)
		}
		if !resp.Active {
			return inactive, nil
		}
	}
	return resp, nil
}

// visible applies the audience rule.
func visible(who *caller, t *store.Token) bool {
	if who.right == store.IntrospectAny {
		return true
	}
	if who.right != store.IntrospectOwnAudience {
		return false
	}
	for _, aud := range t.Audience {
		if aud == who.client.ID || slices.Contains(who.client.Resources, aud) {
			return true
		}
	}
	return false
}

// acceptsJWT reports whether the Accept header asks for an RFC 9701 answer.
func acceptsJWT(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept") {
		for part := range strings.SplitSeq(v, ",") {
			mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err == nil && strings.EqualFold(mt, JWTResponseMediaType) && params["q"] != "0" {
				return true
			}
		}
	}
	return false
}

// jwtResponse builds the RFC 9701 §5 answer: a JWS with typ
// token-introspection+jwt whose claims are iss, aud (the caller), iat and
// token_introspection; encrypted to the caller's key (cty JWT) when it
// registered for that.
func (p *Provider) jwtResponse(ctx context.Context, client *Client, resp *tokeninfo.Response) (string, error) {
	ti, err := resp.MarshalJSON()
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(map[string]any{
		"iss":                 p.issuer,
		"aud":                 client.ID,
		"iat":                 p.now().Unix(),
		"token_introspection": json.RawMessage(ti),
	})
	if err != nil {
		return "", err
	}
	jws, err := p.sign(ctx, client.IntrospectionSignedResponseAlg, "token-introspection+jwt", payload)
	if err != nil || client.IntrospectionEncryptedResponseAlg == "" {
		return jws, err
	}
	set := []byte(client.JWKS)
	if client.JWKSURI != "" {
		if set, err = p.clientJWKS(ctx, client.JWKSURI); err != nil {
			return "", err
		}
	}
	key, err := encryptionKey(set, client.IntrospectionEncryptedResponseAlg)
	if err != nil {
		return "", fmt.Errorf("client %s: %w", client.ID, err)
	}
	enc, err := jose.NewEncrypter(jose.ContentEncryption(client.IntrospectionEncryptedResponseEnc),
		jose.Recipient{Algorithm: jose.KeyAlgorithm(client.IntrospectionEncryptedResponseAlg), Key: key.Key, KeyID: key.KeyID},
		(&jose.EncrypterOptions{}).WithContentType("JWT"))
	if err != nil {
		return "", err
	}
	obj, err := enc.Encrypt([]byte(jws))
	if err != nil {
		return "", err
	}
	return obj.CompactSerialize()
}
