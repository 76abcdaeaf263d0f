package provider

import (
	"errors"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/tokengate/tokengate/provider/store"
)

// EndpointUserinfo names the userinfo endpoint in [Event.Endpoint].
const EndpointUserinfo = "userinfo"

// serveUserinfo is the userinfo endpoint (OpenID Connect Core §5.3), GET
// and POST, with the access token as a Bearer credential (RFC 6750 §2.1),
// or for POST in the form body (§2.2), never in the URL. It answers "sub"
// and the claims the token's scopes grant. Failures are RFC 6750 §3
// answers; unknown tokens are throttled per address like failed client
// authentication, so that the endpoint is no oracle for guessing tokens.
func (p *Provider) serveUserinfo(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "invalid_request"})
		return
	}
	token, oerr := p.userinfoToken(w, r)
	if oerr != nil {
		writeError(w, oerr)
		return
	}
	ctx := r.Context()
	addr := p.guard.address(r)
	if oerr := p.checkAuth(addr, EndpointUserinfo, ""); oerr != nil {
		writeError(w, oerr)
		return
	}
	invalid := &oauthError{status: http.StatusUnauthorized, code: "invalid_token",
		description: "the access token is not active", challenge: `Bearer error="invalid_token"`}
	t, err := p.cfg.Store.Token(ctx, store.Hash(token))
	switch {
	case errors.Is(err, store.ErrNotFound):
		p.authFailed(addr, EndpointUserinfo, "")
		writeError(w, invalid)
		return
	case err != nil:
		p.serverError(w, "reading token", err)
		return
	case !p.live(t) || t.Kind == store.TokenRefresh || t.AuthTime.IsZero():
		// Refresh tokens and clients' own tokens are no user's access
		// token.
		p.authFailed(addr, EndpointUserinfo, "")
		writeError(w, invalid)
		return
	}
	scopes := strings.Fields(t.Scope)
	if !slices.Contains(scopes, "openid") {
		writeError(w, &oauthError{status: http.StatusForbidden, code: "insufficient_scope",
			description: "the access token lacks the openid scope",
			challenge:   `Bearer error="insufficient_scope", scope="openid"`})
		return
	}
	client, err := p.client(ctx, t.ClientID)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, invalid)
		return
	} else if err != nil {
		p.serverError(w, "reading client", err)
		return
	}
	claims, err := p.userClaims(ctx, t.Subject, scopes)
	if err != nil {
		p.serverError(w, "reading the user's claims", err)
		return
	}
	claims["sub"] = p.subjectFor(client, t.Subject)
	writeJSON(w, http.StatusOK, claims)
}

// userinfoToken reads the access token of a userinfo request: from the
// Authorization header, or from a POST's form body, not both.
func (p *Provider) userinfoToken(w http.ResponseWriter, r *http.Request) (string, *oauthError) {
	const challenge = `Bearer`
	authz := r.Header.Values("Authorization")
	var fromBody string
	var hasBody bool
	if r.Method == http.MethodPost {
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/x-www-form-urlencoded" {
			body, err := readBounded(w, r, p.cfg.MaxBodyBytes)
			if err != nil {
				return "", err
			}
			form, perr := url.ParseQuery(string(body))
			if perr != nil || len(form["access_token"]) > 1 {
				return "", errInvalidRequest("malformed form body")
			}
			fromBody, hasBody = form.Get("access_token"), form.Has("access_token")
		}
	}
	switch {
	case len(authz) > 1:
		return "", errInvalidRequest("more than one Authorization header")
	case len(authz) == 1 && hasBody:
		return "", errInvalidRequest("the access token was sent twice (RFC 6750 §2)")
	case len(authz) == 1:
		scheme, tok, _ := strings.Cut(authz[0], " ")
		tok = strings.TrimSpace(tok)
		if !strings.EqualFold(scheme, "Bearer") || tok == "" {
			return "", &oauthError{status: http.StatusUnauthorized, code: "invalid_token",
				description: "use the Bearer scheme", challenge: `Bearer error="invalid_token"`}
		}
		return tok, nil
	case hasBody && fromBody != "":
		return fromBody, nil
	}
	// No credentials: a bare challenge (RFC 6750 §3.1).
	return "", &oauthError{status: http.StatusUnauthorized, code: "invalid_request",
		description: "an access token is required", challenge: challenge}
}
