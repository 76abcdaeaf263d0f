package provider

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tokengate/tokengate/internal/oauthhttp"
	"github.com/tokengate/tokengate/provider/store"
)

// Grant types of signing people in.
const (
	// GrantAuthorizationCode is the authorization code grant (RFC 6749 §4.1).
	GrantAuthorizationCode = "authorization_code"
	// GrantRefreshToken is the refresh token grant (RFC 6749 §6).
	GrantRefreshToken = "refresh_token"
)

// maxAuthorizationRequestBytes bounds an authorization request's query
// string or form body.
const maxAuthorizationRequestBytes = 16 << 10

// authRequest is a validated authorization request (RFC 6749 §4.1.1,
// OpenID Connect Core §3.1.2.1), as kept in an interaction.
type authRequest struct {
	ClientID string `json:"client_id"`
	// RedirectURI is the redirect_uri as sent, "" if the request had none;
	// the token request must repeat it (RFC 6749 §4.1.3).
	RedirectURI string `json:"redirect_uri,omitempty"`
	// Redirect is where the answer goes: RedirectURI, or the client's only
	// registered one.
	Redirect      string   `json:"redirect"`
	Scopes        []string `json:"scopes,omitempty"`
	State         string   `json:"state,omitempty"`
	Nonce         string   `json:"nonce,omitempty"`
	CodeChallenge string   `json:"code_challenge"`
	Prompt        []string `json:"prompt,omitempty"`
	// MaxAge is max_age in seconds, -1 if the request had none.
	MaxAge    int64    `json:"max_age"`
	LoginHint string   `json:"login_hint,omitempty"`
	UILocales []string `json:"ui_locales,omitempty"`
	ACRValues []string `json:"acr_values,omitempty"`
	Resources []string `json:"resources,omitempty"`
	// noState is set when state was sent more than once: the error answer
	// then carries none.
	noState bool
}

// openID reports whether the request is an OpenID Connect one.
func (ar *authRequest) openID() bool { return slices.Contains(ar.Scopes, "openid") }

// authorization is an authorization request on its way: who the client
// is, the browser's session, and what happened in this request so far.
type authorization struct {
	req     *authRequest
	client  *Client
	session *store.Session
	// loggedIn: the user signed in during this request.
	loggedIn bool
	// consented: the scopes the user granted during this request; nil if
	// the user was not asked.
	consented []string
}

// params are the parameters of an authorization request, each with its
// values.
type params = url.Values

// parseParams parses an authorization request's query string or form body.
// It refuses more than maxAuthorizationRequestBytes and malformed encoding;
// duplicated parameters and invalid UTF-8 are left to the validation, which
// answers them with an error the client can see when it may.
func parseParams(raw string) (params, error) {
	if len(raw) > maxAuthorizationRequestBytes {
		return nil, errors.New("request too large")
	}
	return url.ParseQuery(raw)
}

// browserParams reads the parameters a browser sends: the query of a GET
// (or HEAD), or the form body of a POST, at most
// maxAuthorizationRequestBytes. When they cannot be read it returns the
// HTTP status to answer with (405, 413 or 400).
func browserParams(w http.ResponseWriter, r *http.Request) (params, int) {
	var raw string
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		raw = r.URL.RawQuery
	case http.MethodPost:
		mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || mt != "application/x-www-form-urlencoded" {
			return nil, http.StatusBadRequest
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, maxAuthorizationRequestBytes+1))
		if err != nil {
			return nil, http.StatusBadRequest
		}
		raw = string(body)
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		return nil, http.StatusMethodNotAllowed
	}
	if len(raw) > maxAuthorizationRequestBytes {
		return nil, http.StatusRequestEntityTooLarge
	}
	q, err := parseParams(raw)
	if err != nil {
		return nil, http.StatusBadRequest
	}
	return q, 0
}

// serveAuthorize is the authorization endpoint (RFC 6749 §3.1), GET and
// POST (OpenID Connect Core §3.1.2.1).
func (p *Provider) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	q, status := browserParams(w, r)
	switch status {
	case 0:
	case http.StatusRequestEntityTooLarge:
		p.errorPage(w, r, status, pageTooLarge)
		return
	default:
		p.errorPage(w, r, status, pageBadRequest)
		return
	}
	if p.cfg.LoginURL == "" {
		// A machine-only provider: nobody can sign in.
		p.errorPage(w, r, http.StatusBadRequest, pageNoSignIn)
		return
	}
	client, ar, page := p.checkClientAndRedirect(r.Context(), q)
	if page != nil {
		p.answerPage(w, r, page)
		return
	}
	if code, desc := validateAuthRequest(q, client, ar, p.scopeAllowed); code != "" {
		p.redirectError(w, r, ar, code, desc)
		return
	}
	p.authorize(w, r, &authorization{req: ar, client: client, session: p.currentSession(r)})
}

// pageError is an error answered with a page, never a redirect.
type pageError struct {
	status int
	page   page
}

// checkClientAndRedirect finds the client and where to answer it. Until
// both are known and match the registration, nothing may be redirected
// (RFC 6749 §4.1.2.1): an unknown client or redirect URI gets a page.
func (p *Provider) checkClientAndRedirect(ctx context.Context, q params) (*Client, *authRequest, *pageError) {
	bad := &pageError{status: http.StatusBadRequest, page: pageBadRequest}
	ids := q["client_id"]
	if len(ids) != 1 || ids[0] == "" || len(ids[0]) > 200 || !utf8.ValidString(ids[0]) {
		return nil, nil, bad
	}
	client, err := p.client(ctx, ids[0])
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, nil, &pageError{status: http.StatusBadRequest, page: pageUnknownClient}
	case err != nil:
		return nil, nil, p.serverPage("reading client", err)
	case !slices.Contains(client.GrantTypes, GrantAuthorizationCode) || len(client.RedirectURIs) == 0:
		return nil, nil, &pageError{status: http.StatusBadRequest, page: pageUnknownClient}
	}
	ar := &authRequest{ClientID: client.ID, MaxAge: -1}
	switch uris := q["redirect_uri"]; {
	case len(uris) > 1:
		return nil, nil, bad
	case len(uris) == 0:
		// RFC 6749 §3.1.2.3 allows leaving it out when one is registered;
		// OpenID Connect Core §3.1.2.1 requires it, which the validation
		// checks once errors can be redirected.
		if len(client.RedirectURIs) != 1 {
			return nil, nil, &pageError{status: http.StatusBadRequest, page: pageBadRedirect}
		}
		ar.Redirect = client.RedirectURIs[0]
	default:
		if !redirectRegistered(client.RedirectURIs, uris[0]) {
			return nil, nil, &pageError{status: http.StatusBadRequest, page: pageBadRedirect}
		}
		ar.RedirectURI, ar.Redirect = uris[0], uris[0]
	}
	return client, ar, nil
}

// redirectRegistered reports whether uri is one of the registered redirect
// URIs, compared exactly (RFC 9700 §4.1.3) — except that for a loopback IP
// address with http the port may differ (RFC 8252 §7.3): a native app
// listens on whatever port the system gives it.
func redirectRegistered(registered []string, uri string) bool {
	if len(uri) > maxRedirectURIBytes || !utf8.ValidString(uri) {
		return false
	}
	if slices.Contains(registered, uri) {
		return true
	}
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "http" || !isLoopbackIP(u.Hostname()) || u.User != nil {
		return false
	}
	for _, reg := range registered {
		ru, err := url.Parse(reg)
		if err != nil || ru.Scheme != "http" || !isLoopbackIP(ru.Hostname()) {
			continue
		}
		if ru.Hostname() == u.Hostname() && ru.EscapedPath() == u.EscapedPath() && ru.RawQuery == u.RawQuery &&
			ru.ForceQuery == u.ForceQuery && !strings.Contains(uri, "#") && validPort(u.Port()) {
			return true
		}
	}
	return false
}

// validPort reports whether port is empty or a decimal port number.
func validPort(port string) bool {
	if port == "" {
		return true
	}
	n, err := strconv.Atoi(port)
	return err == nil && n > 0 && n < 65536 && port[0] != '0'
}

// isLoopbackIP reports whether host is a literal loopback IP address, the
// hosts of RFC 8252 §7.3 ("localhost" is not one: §8.3).
func isLoopbackIP(host string) bool {
	return host != "" && !strings.EqualFold(host, "localhost") && oauthhttp.IsLoopback(host)
}

// maxRedirectURIBytes bounds a redirect URI.
const maxRedirectURIBytes = 2000

// singleParams are the authorization request parameters that may appear
// once at most (RFC 6749 §3.1); resource may appear several times (RFC
// 8707 §2).
var singleParams = []string{"response_type", "client_id", "redirect_uri", "scope", "state", "nonce",
	"code_challenge", "code_challenge_method", "prompt", "max_age", "login_hint", "ui_locales", "acr_values",
	"response_mode", "request", "request_uri", "id_token_hint", "display", "claims", "registration", "claims_locales"}

// Bounds of the authorization request's strings.
const (
	maxStateBytes = 2000
	maxNonceBytes = 500
	maxHintBytes  = 500
)

// validateAuthRequest checks the request's other parameters into ar, for a
// client and redirect URI already known good; it returns the RFC 6749
// §4.1.2.1 error code and description to redirect with, or "".
func validateAuthRequest(q params, client *Client, ar *authRequest, allowed func(*Client, string) bool) (code, description string) {
	if states := q["state"]; len(states) > 1 {
		ar.noState = true
		return "invalid_request", "state appears more than once"
	} else if len(states) == 1 {
		if len(states[0]) > maxStateBytes || !utf8.ValidString(states[0]) {
			ar.noState = true
			return "invalid_request", "state is too long or not UTF-8"
		}
		ar.State = states[0]
	}
	// OpenID Connect Core §6: request objects are not supported, and say so.
	if q.Has("request") {
		return "request_not_supported", "request objects are not supported"
	}
	if q.Has("request_uri") {
		return "request_uri_not_supported", "request_uri is not supported"
	}
	for _, name := range singleParams {
		if len(q[name]) > 1 {
			return "invalid_request", "parameter " + name + " appears more than once"
		}
	}
	for name, values := range q {
		for _, v := range values {
			if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
				return "invalid_request", "parameter " + truncate(name, 40) + " is not valid UTF-8"
			}
		}
	}
	switch rt := q.Get("response_type"); {
	case !q.Has("response_type"):
		return "invalid_request", "response_type is missing"
	case rt != "code":
		// Implicit and hybrid flows are not offered (RFC 9700 §2.1.2).
		return "unsupported_response_type", "only response_type=code is supported"
	}
	if rm := q.Get("response_mode"); q.Has("response_mode") && rm != "query" {
		return "invalid_request", "only response_mode=query is supported"
	}
	// PKCE with S256 for every client (RFC 9700 §2.1.1); plain is refused,
	// and so is a missing method, which RFC 7636 §4.3 reads as plain.
	switch challenge, method := q.Get("code_challenge"), q.Get("code_challenge_method"); {
	case challenge == "":
		return "invalid_request", "code_challenge is required (PKCE, RFC 7636, with S256)"
	case method != "S256":
		return "invalid_request", "code_challenge_method must be S256"
	case !validS256Challenge(challenge):
		return "invalid_request", "code_challenge is not a base64url SHA-256 digest"
	default:
		ar.CodeChallenge = challenge
	}
	if scope := q.Get("scope"); strings.TrimSpace(scope) != "" {
		for s := range strings.SplitSeq(scope, " ") {
			switch {
			case s == "":
			case !validScopeToken(s):
				return "invalid_scope", "malformed scope"
			case !allowed(client, s):
				return "invalid_scope", "scope " + truncate(s, 60) + " is not allowed for this client"
			case !slices.Contains(ar.Scopes, s):
				ar.Scopes = append(ar.Scopes, s)
			}
		}
	} else {
		ar.Scopes, _ = narrowScope(client, "", false)
	}
	if ar.openID() && ar.RedirectURI == "" {
		return "invalid_request", "redirect_uri is required (OpenID Connect Core §3.1.2.1)"
	}
	if prompt := q.Get("prompt"); q.Has("prompt") {
		for v := range strings.SplitSeq(prompt, " ") {
			switch v {
			case "":
			case "none", "login", "consent":
				if !slices.Contains(ar.Prompt, v) {
					ar.Prompt = append(ar.Prompt, v)
				}
			default:
				return "invalid_request", "prompt " + truncate(v, 40) + " is not supported (none, login, consent)"
			}
		}
		if slices.Contains(ar.Prompt, "none") && len(ar.Prompt) > 1 {
			return "invalid_request", "prompt=none cannot be combined with other values"
		}
	}
	if q.Has("max_age") {
		n, err := strconv.ParseInt(q.Get("max_age"), 10, 64)
		if err != nil || n < 0 || n > 1<<40 {
			return "invalid_request", "max_age must be a non-negative number of seconds"
		}
		ar.MaxAge = n
	}
	ar.Nonce = q.Get("nonce")
	ar.LoginHint = q.Get("login_hint")
	if len(ar.Nonce) > maxNonceBytes || len(ar.LoginHint) > maxHintBytes ||
		len(q.Get("ui_locales")) > maxHintBytes || len(q.Get("acr_values")) > maxHintBytes {
		return "invalid_request", "nonce, login_hint, ui_locales or acr_values is too long"
	}
	ar.UILocales = strings.Fields(q.Get("ui_locales"))
	ar.ACRValues = strings.Fields(q.Get("acr_values"))
	if len(q["resource"]) > 0 {
		aud, oerr := resourceAudience(client, q["resource"])
		if oerr != nil {
			return oerr.code, oerr.description
		}
		ar.Resources = aud
	}
	return "", ""
}

// validS256Challenge reports whether c is BASE64URL(SHA-256(verifier)):
// 43 characters of the base64url alphabet.
func validS256Challenge(c string) bool {
	if len(c) != 43 {
		return false
	}
	for i := 0; i < len(c); i++ {
		if !isBase64URL(c[i]) {
			return false
		}
	}
	return true
}

func isBase64URL(b byte) bool {
	return b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '-' || b == '_'
}

// oidcScopes are the scopes of OpenID Connect Core §5.4 and §11 that every
// client of the authorization code grant may ask for.
var oidcScopes = []string{"openid", "profile", "email", "address", "phone", "offline_access"}

// scopeAllowed reports whether client may ask for scope in an
// authorization request: one it is registered for, an OpenID Connect
// scope, or one of Config.ScopeClaims.
func (p *Provider) scopeAllowed(client *Client, scope string) bool {
	if slices.Contains(client.Scopes, scope) || slices.Contains(oidcScopes, scope) {
		return true
	}
	_, ok := p.cfg.ScopeClaims[scope]
	return ok
}

// authorize goes on with an authorization request: it asks the
// application to sign the user in or to ask for consent if it must, and
// otherwise sends the browser back to the client with a code.
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request, a *authorization) {
	ar := a.req
	if p.needsLogin(a) {
		if slices.Contains(ar.Prompt, "none") {
			p.redirectError(w, r, ar, "login_required", "the user is not signed in")
			return
		}
		rec := &interactionRecord{Auth: ar}
		if a.session != nil {
			rec.Subject = a.session.Subject
		}
		p.startInteraction(w, r, InteractionLogin, rec)
		return
	}
	granted, ask, err := p.consentFor(r.Context(), a)
	if err != nil {
		p.redirectServerError(w, r, ar, "reading consent", err)
		return
	}
	if ask {
		if slices.Contains(ar.Prompt, "none") {
			p.redirectError(w, r, ar, "consent_required", "the user has not consented")
			return
		}
		p.startInteraction(w, r, InteractionConsent, &interactionRecord{Auth: ar, Subject: a.session.Subject,
			LoggedIn: a.loggedIn, Granted: granted})
		return
	}
	code, err := p.issueCode(r.Context(), a, granted)
	if err != nil {
		p.redirectServerError(w, r, ar, "issuing code", err)
		return
	}
	p.redirectResponse(w, r, ar, url.Values{"code": {code}})
}

// needsLogin reports whether the user must sign in (again): there is no
// session, or the client asked for prompt=login or a max_age the session
// is older than — unless the user just signed in.
func (p *Provider) needsLogin(a *authorization) bool {
	switch {
	case a.loggedIn:
		return false
	case a.session == nil:
		return true
	case slices.Contains(a.req.Prompt, "login"):
		return true
	case a.req.MaxAge >= 0:
		return p.now().Sub(a.session.AuthTime) > secondsDuration(a.req.MaxAge)
	}
	return false
}

// redirectResponse sends the browser to the client's redirect URI with
// values, state and iss (RFC 9207) added to its query.
func (p *Provider) redirectResponse(w http.ResponseWriter, r *http.Request, ar *authRequest, values url.Values) {
	if ar.State != "" && !ar.noState {
		values.Set("state", ar.State)
	}
	values.Set("iss", p.issuer)
	noStore(w)
	w.Header().Set("Referrer-Policy", "no-referrer")
	seeOther(w, appendQuery(ar.Redirect, values))
}

// appendQuery adds values to the query of target, keeping the query it
// has as it is (RFC 6749 §3.1.2).
func appendQuery(target string, values url.Values) string {
	if len(values) == 0 {
		return target
	}
	switch {
	case !strings.Contains(target, "?"):
		return target + "?" + values.Encode()
	case strings.HasSuffix(target, "?") || strings.HasSuffix(target, "&"):
		return target + values.Encode()
	default:
		return target + "&" + values.Encode()
	}
}

// redirectServerError sends the browser to the client with the RFC 6749
// §4.1.2.1 error for a failure of the provider's own: temporarily_unavailable
// while the store is unavailable, otherwise server_error (logged).
func (p *Provider) redirectServerError(w http.ResponseWriter, r *http.Request, ar *authRequest, what string, err error) {
	code := "server_error"
	if p.unavailable(what, err) {
		code = "temporarily_unavailable"
	} else {
		p.cfg.Logger.Error("provider: "+what, "err", err)
	}
	p.redirectError(w, r, ar, code, "")
}

// redirectError sends the browser to the client with an RFC 6749
// §4.1.2.1 error.
func (p *Provider) redirectError(w http.ResponseWriter, r *http.Request, ar *authRequest, code, description string) {
	v := url.Values{"error": {code}}
	if description != "" {
		v.Set("error_description", description)
	}
	p.redirectResponse(w, r, ar, v)
}

// issueCode stores an authorization code for a, granting scopes, and
// returns it.
func (p *Provider) issueCode(ctx context.Context, a *authorization, scopes []string) (string, error) {
	ar, sess := a.req, a.session
	aud := ar.Resources
	if aud == nil {
		aud = slices.Clone(a.client.Resources)
	}
	now := p.now()
	code := randomString(32)
	c := &store.Code{
		Hash:          store.Hash(code),
		ClientID:      a.client.ID,
		GrantID:       newID(now),
		Subject:       sess.Subject,
		Username:      sess.Username,
		RedirectURI:   ar.RedirectURI,
		Scope:         strings.Join(scopes, " "),
		Audience:      aud,
		CodeChallenge: ar.CodeChallenge,
		Nonce:         ar.Nonce,
		AuthTime:      sess.AuthTime,
		ACR:           sess.ACR,
		AMR:           sess.AMR,
		IssuedAt:      now,
		ExpiresAt:     now.Add(p.cfg.CodeLifetime),
	}
	if err := p.cfg.Store.SaveCode(ctx, c); err != nil {
		return "", fmt.Errorf("saving code: %w", err)
	}
	return code, nil
}
