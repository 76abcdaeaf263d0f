package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// demoApp is the demo's relying party: a small web app on golang.org/x/oauth2
// and github.com/coreos/go-oidc/v3, as a team would write one. "Sign in"
// sends the browser to the authorization server with the authorization
// code flow, PKCE (S256), a state and a nonce; the callback checks the
// state and the RFC 9207 iss, redeems the code, verifies the ID token
// (signature, issuer, audience, expiry, nonce, at_hash), and calls the
// orders API with the user's access token. The page then shows the user's
// name from the ID token and the API's answer. The app keeps no token: its
// server-side session holds what the page shows, and while a sign-in is
// under way, its state, nonce and PKCE verifier.
type demoApp struct {
	issuer       string
	clientID     string
	clientSecret string
	appURL       string // http://127.0.0.1:PORT, also the post-logout redirect
	apiURL       string
	httpClient   *http.Client
	logger       *slog.Logger

	// discovered is filled by the first request that finds the
	// authorization server's metadata (the server starts with the app).
	discoverMu sync.Mutex // guards discovered
	discovered *demoDiscovery

	// sessionsMu guards sessions, keyed by the SHA-256 of the cookie value.
	sessionsMu sync.Mutex
	sessions   map[[32]byte]*demoSession
}

// demoDiscovery is what the app learnt from the authorization server's
// metadata.
type demoDiscovery struct {
	oauth      oauth2.Config
	verifier   *oidc.IDTokenVerifier
	endSession string
}

// demoSession is one browser's session at the app.
type demoSession struct {
	created time.Time
	// While signing in:
	state, nonce, pkceVerifier string
	// Once signed in: what the page shows.
	name, subject, username string
	apiStatus               int
	apiAnswer               string
	// problem is what went wrong with the last sign-in, in words.
	problem string
}

const (
	demoCookie      = "tokengate_demo_app"
	demoMaxSessions = 1000
	demoSessionTTL  = time.Hour
	demoMaxAPIBody  = 64 << 10
)

func newDemoApp(issuer, clientID, clientSecret, appURL, apiURL string, logger *slog.Logger) *demoApp {
	return &demoApp{
		issuer: issuer, clientID: clientID, clientSecret: clientSecret, appURL: appURL, apiURL: apiURL,
		httpClient: &http.Client{Timeout: 10 * time.Second},
		logger:     logger,
		sessions:   map[[32]byte]*demoSession{},
	}
}

// discover reads the authorization server's OpenID metadata once.
func (a *demoApp) discover(ctx context.Context) (*demoDiscovery, error) {
	a.discoverMu.Lock()
	defer a.discoverMu.Unlock()
	if a.discovered != nil {
		return a.discovered, nil
	}
	ctx = oidc.ClientContext(ctx, a.httpClient)
	p, err := oidc.NewProvider(ctx, a.issuer)
	if err != nil {
		return nil, err
	}
	var extra struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := p.Claims(&extra); err != nil {
		return nil, err
	}
	a.discovered = &demoDiscovery{
		oauth: oauth2.Config{
			ClientID:     a.clientID,
			ClientSecret: a.clientSecret,
			Endpoint:     p.Endpoint(),
			RedirectURL:  a.appURL + "/callback",
			Scopes:       []string{oidc.ScopeOpenID, "profile", "orders:read"},
		},
		// The key set lives as long as the demo: a context that is not
		// the request's.
		verifier:   p.VerifierContext(oidc.ClientContext(context.Background(), a.httpClient), &oidc.Config{ClientID: a.clientID}),
		endSession: extra.EndSession,
	}
	return a.discovered, nil
}

func (a *demoApp) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.home)
	mux.HandleFunc("GET /login", a.login)
	mux.HandleFunc("GET /callback", a.callback)
	mux.HandleFunc("GET /logout", a.logout)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Frame-Options", "DENY")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'")
		w.Header().Set("Referrer-Policy", "no-referrer")
		mux.ServeHTTP(w, r)
	})
}

// session returns the browser's session, or nil; with take, the session
// is also forgotten (a sign-in's state is good for one callback).
func (a *demoApp) session(r *http.Request, take bool) *demoSession {
	c, err := r.Cookie(demoCookie)
	if err != nil {
		return nil
	}
	key := sha256.Sum256([]byte(c.Value))
	a.sessionsMu.Lock()
	defer a.sessionsMu.Unlock()
	s := a.sessions[key]
	if take {
		delete(a.sessions, key)
	}
	if s == nil || time.Since(s.created) > demoSessionTTL {
		return nil
	}
	return s
}

// newSession starts a session under a new cookie, forgetting the oldest
// sessions when there are too many.
func (a *demoApp) newSession(w http.ResponseWriter, s *demoSession) {
	id := rand.Text()
	s.created = time.Now()
	a.sessionsMu.Lock()
	if len(a.sessions) >= demoMaxSessions {
		for k, old := range a.sessions {
			if time.Since(old.created) > demoSessionTTL || len(a.sessions) >= demoMaxSessions {
				delete(a.sessions, k)
			}
		}
	}
	a.sessions[sha256.Sum256([]byte(id))] = s
	a.sessionsMu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: demoCookie, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

func (a *demoApp) home(w http.ResponseWriter, r *http.Request) {
	s := a.session(r, false)
	if s == nil {
		s = &demoSession{}
	}
	a.render(w, http.StatusOK, s)
}

func (a *demoApp) login(w http.ResponseWriter, r *http.Request) {
	d, err := a.discover(r.Context())
	if err != nil {
		a.logger.Error("demo app: discovery", "err", err)
		a.render(w, http.StatusBadGateway, &demoSession{problem: "The authorization server did not answer. Is the demo still running?"})
		return
	}
	s := &demoSession{state: rand.Text(), nonce: rand.Text(), pkceVerifier: oauth2.GenerateVerifier()}
	a.newSession(w, s)
	http.Redirect(w, r, d.oauth.AuthCodeURL(s.state, oauth2.S256ChallengeOption(s.pkceVerifier), oidc.Nonce(s.nonce)), http.StatusSeeOther)
}

// callback is the redirect URI: it finishes the sign-in the session
// started.
func (a *demoApp) callback(w http.ResponseWriter, r *http.Request) {
	s := a.session(r, true)
	q := r.URL.Query()
	if s == nil || s.state == "" || subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(s.state)) != 1 {
		a.render(w, http.StatusBadRequest, &demoSession{problem: "This sign-in was not started here, or is already finished. Sign in again."})
		return
	}
	result := &demoSession{}
	defer func() { a.newSession(w, result); http.Redirect(w, r, "/", http.StatusSeeOther) }()
	if q.Get("iss") != a.issuer { // RFC 9207: the answer comes from the server we asked
		result.problem = "The answer did not come from the authorization server the sign-in started at."
		return
	}
	if e := q.Get("error"); e != "" {
		result.problem = "The sign-in did not finish: " + e
		if e == "access_denied" {
			result.problem = "You did not allow the demo app access, or cancelled the sign-in."
		}
		return
	}
	if err := a.finishSignIn(r.Context(), s, q.Get("code"), result); err != nil {
		a.logger.Error("demo app: sign-in", "err", err)
		result.problem = "The sign-in failed: " + err.Error()
	}
}

// finishSignIn redeems code, verifies the ID token and calls the API.
func (a *demoApp) finishSignIn(ctx context.Context, s *demoSession, code string, result *demoSession) error {
	d, err := a.discover(ctx)
	if err != nil {
		return err
	}
	ctx = oidc.ClientContext(ctx, a.httpClient)
	tok, err := d.oauth.Exchange(ctx, code, oauth2.VerifierOption(s.pkceVerifier))
	if err != nil {
		return fmt.Errorf("redeeming the code: %w", err)
	}
	rawID, _ := tok.Extra("id_token").(string)
	if rawID == "" {
		return errors.New("no ID token")
	}
	idToken, err := d.verifier.Verify(ctx, rawID)
	if err != nil {
		return fmt.Errorf("the ID token: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(idToken.Nonce), []byte(s.nonce)) != 1 {
		return errors.New("the ID token's nonce is not this sign-in's")
	}
	if err := idToken.VerifyAccessToken(tok.AccessToken); err != nil {
		return fmt.Errorf("the ID token's at_hash: %w", err)
	}
	var claims struct {
		Name              string `json:"name"`
		PreferredUsername string `json:"preferred_username"`
	}
	if err := idToken.Claims(&claims); err != nil {
		return err
	}
	result.subject, result.name, result.username = idToken.Subject, claims.Name, claims.PreferredUsername

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.apiURL+"/api/orders", nil)
	if err != nil {
		return err
	}
	tok.SetAuthHeader(req)
	resp, err := a.httpClient.Do(req)
	if err != nil {
		return fmt.Errorf("calling the orders API: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, demoMaxAPIBody))
	if err != nil {
		return fmt.Errorf("reading the orders API's answer: %w", err)
	}
	result.apiStatus, result.apiAnswer = resp.StatusCode, string(body)
	return nil
}

// logout forgets the session and asks the authorization server to end its
// own (RP-initiated logout): it confirms with the user, as the app sends no
// ID token, and comes back here.
func (a *demoApp) logout(w http.ResponseWriter, r *http.Request) {
	a.session(r, true)
	http.SetCookie(w, &http.Cookie{Name: demoCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	d, err := a.discover(r.Context())
	if err != nil || d.endSession == "" {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	q := url.Values{"client_id": {a.clientID}, "post_logout_redirect_uri": {a.appURL + "/"}}
	http.Redirect(w, r, d.endSession+"?"+q.Encode(), http.StatusSeeOther)
}

var demoAppPage = template.Must(template.New("app").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tokengate demo app</title>
<style>
body { font-family: system-ui, sans-serif; line-height: 1.5; max-width: 44rem; margin: 2rem auto; padding: 0 1rem; }
.button { display: inline-block; padding: .6rem 1.2rem; border-radius: 4px; background: #1d4ed8; color: #fff; text-decoration: none; }
pre { background: #8882; padding: 1rem; overflow-x: auto; border-radius: 4px; }
.problem { color: #b91c1c; }
</style>
</head>
<body>
<h1>tokengate demo app</h1>
{{with .Problem}}<p class="problem" role="alert">{{.}}</p>{{end}}
{{if .Subject}}
<p id="greeting">Signed in as <strong id="name">{{.Name}}</strong>{{with .Username}} ({{.}}){{end}}.</p>
<p>The orders API answered <strong id="api-status">{{.APIStatus}}</strong> to <code>GET /api/orders</code> with your access token:</p>
<pre id="api-answer">{{.APIAnswer}}</pre>
<p><a class="button" href="/logout">Sign out</a></p>
{{else}}
<p>This web app signs you in at the demo's authorization server (OpenID Connect,
authorization code flow with PKCE) and calls the orders API with your token.</p>
<p><a class="button" id="sign-in" href="/login">Sign in</a></p>
{{end}}
</body>
</html>
`))

func (a *demoApp) render(w http.ResponseWriter, status int, s *demoSession) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	name := s.name
	if name == "" {
		name = s.username
	}
	demoAppPage.Execute(w, map[string]any{
		"Problem": s.problem, "Subject": s.subject, "Name": name, "Username": s.username,
		"APIStatus": s.apiStatus, "APIAnswer": s.apiAnswer,
	})
}
