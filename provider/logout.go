package provider

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"unicode/utf8"

	"github.com/go-jose/go-jose/v4"
	"github.com/tokengate/tokengate/provider/store"
)

// EndSessionURL returns the URL of the end_session_endpoint (OpenID
// Connect RP-Initiated Logout 1.0 §2).
func (p *Provider) EndSessionURL() string { return p.issuer + pathEndSession }

// logoutParams may appear once each in a logout request.
var logoutParams = []string{"id_token_hint", "logout_hint", "client_id", "post_logout_redirect_uri", "state",
	"ui_locales", "csrf_token", "decision"}

// serveEndSession is the end_session_endpoint (OpenID Connect
// RP-Initiated Logout 1.0), GET and POST. It ends the browser's provider
// session at once when an ID token the provider issued to a client shows
// that the request comes from a client of the signed-in user
// (id_token_hint); otherwise it asks the user first, with a form that
// carries a CSRF token derived from the session and posts back here. It
// then sends the browser to post_logout_redirect_uri with state — only
// to one registered for the client, never elsewhere — or shows that the
// user is signed out.
func (p *Provider) serveEndSession(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q, ok := p.logoutRequest(w, r)
	if !ok {
		return
	}
	var client *Client
	var hintSubject string
	if hint := q.Get("id_token_hint"); hint != "" {
		clientID, sub, err := p.verifyIDTokenHint(ctx, hint)
		if err == nil {
			client, err = p.client(ctx, clientID)
		}
		if err != nil {
			p.errorPage(w, r, http.StatusBadRequest, pageBadLogout)
			return
		}
		hintSubject = sub
	}
	if id := q.Get("client_id"); id != "" {
		switch {
		case client != nil && client.ID != id:
			p.errorPage(w, r, http.StatusBadRequest, pageBadLogout)
			return
		case client == nil:
			c, err := p.client(ctx, id)
			if err != nil {
				p.errorPage(w, r, http.StatusBadRequest, pageBadLogout)
				return
			}
			client = c
		}
	}
	target := q.Get("post_logout_redirect_uri")
	if target != "" && (client == nil || !slices.Contains(client.PostLogoutRedirectURIs, target)) {
		p.errorPage(w, r, http.StatusBadRequest, pageBadLogout)
		return
	}
	sess, sessionID := p.currentSessionAndID(r)
	clientID := ""
	if client != nil {
		clientID = client.ID
	}
	if r.Method == http.MethodPost && q.Has("decision") {
		// The user's answer on the confirmation page.
		if sess != nil && !store.Equal([]byte(q.Get("csrf_token")), []byte(logoutCSRFToken(sessionID))) {
			p.errorPage(w, r, http.StatusForbidden, pageForbidden)
			return
		}
		if q.Get("decision") != "logout" {
			p.writePage(w, http.StatusOK, TemplateLoggedOut, LoggedOutPage{SignedOut: false})
			return
		}
	} else if sess != nil && (hintSubject == "" || hintSubject != p.subjectFor(client, sess.Subject)) {
		page := LogoutPage{Action: p.EndSessionURL(), Fields: []HiddenField{{"csrf_token", logoutCSRFToken(sessionID)}}}
		if client != nil {
			page.ClientName = client.Name
			page.Fields = append(page.Fields, HiddenField{"client_id", client.ID})
		}
		if target != "" {
			page.Fields = append(page.Fields, HiddenField{"post_logout_redirect_uri", target})
		}
		if q.Has("state") {
			page.Fields = append(page.Fields, HiddenField{"state", q.Get("state")})
		}
		p.writePage(w, http.StatusOK, TemplateLogout, page)
		return
	}
	p.setCookie(w, p.sessionCookieName(), "", -1)
	if sess != nil {
		if err := p.cfg.Store.DeleteSession(ctx, sess.Hash); err != nil {
			p.failPage(w, r, "ending session", err)
			return
		}
		p.observe(Event{Kind: EventLogout})
		if p.cfg.AfterEndSession != nil {
			p.cfg.AfterEndSession(ctx, sess.Subject, clientID)
		}
	}
	if target == "" {
		p.writePage(w, http.StatusOK, TemplateLoggedOut, LoggedOutPage{SignedOut: true})
		return
	}
	v := url.Values{}
	if q.Get("state") != "" {
		v.Set("state", q.Get("state"))
	}
	noStore(w)
	w.Header().Set("Referrer-Policy", "no-referrer")
	seeOther(w, appendQuery(target, v))
}

// logoutRequest reads a logout request's parameters, from the query of a
// GET or the form body of a POST; it answers with an error page and false
// if they cannot be read.
func (p *Provider) logoutRequest(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	q, status := browserParams(w, r)
	if status != 0 {
		p.errorPage(w, r, status, pageBadLogout)
		return nil, false
	}
	for _, name := range logoutParams {
		if len(q[name]) > 1 || !utf8.ValidString(q.Get(name)) {
			p.errorPage(w, r, http.StatusBadRequest, pageBadLogout)
			return nil, false
		}
	}
	return q, true
}

// verifyIDTokenHint checks that hint is an ID token this provider signed
// (with a key of its JWK Set, expired or not: RP-Initiated Logout §2
// accepts an expired one), and returns its audience and subject.
func (p *Provider) verifyIDTokenHint(ctx context.Context, hint string) (clientID, subject string, err error) {
	if len(hint) > 16<<10 {
		return "", "", errors.New("id_token_hint too large")
	}
	jws, err := jose.ParseSigned(hint, []jose.SignatureAlgorithm{jose.RS256, jose.PS256, jose.ES256, jose.EdDSA})
	if err != nil {
		return "", "", err
	}
	if len(jws.Signatures) != 1 {
		return "", "", errors.New("not one signature")
	}
	h := jws.Signatures[0].Protected
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ != "JWT" {
		return "", "", fmt.Errorf("typ %q is not an ID token's", typ)
	}
	_, set := p.currentKeys(ctx)
	var keys jose.JSONWebKeySet
	if err := json.Unmarshal(set, &keys); err != nil {
		return "", "", err
	}
	found := keys.Key(h.KeyID)
	if len(found) != 1 {
		return "", "", errors.New("unknown key")
	}
	payload, err := jws.Verify(found[0])
	if err != nil {
		return "", "", err
	}
	var claims struct {
		Issuer   string          `json:"iss"`
		Subject  string          `json:"sub"`
		Audience json.RawMessage `json:"aud"`
		AZP      string          `json:"azp"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		return "", "", err
	}
	// Our ID tokens name one audience, the client, also as azp.
	var aud string
	if json.Unmarshal(claims.Audience, &aud) != nil || claims.Issuer != p.issuer || aud == "" || claims.AZP != aud || claims.Subject == "" {
		return "", "", errors.New("not an ID token of this provider")
	}
	return aud, claims.Subject, nil
}

// logoutCSRFToken is the CSRF token of the logout confirmation of the
// session sessionID: only a page this provider served to the browser
// holding the session knows it.
func logoutCSRFToken(sessionID string) string {
	h := sha256.Sum256([]byte("tokengate logout\x00" + sessionID))
	return base64.RawURLEncoding.EncodeToString(h[:])
}
