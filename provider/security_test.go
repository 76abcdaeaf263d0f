package provider_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/provider"
	"github.com/tokengate/tokengate/provider/store"
)

// TestNoOpenRedirect: until the client and the redirect URI are known to
// match its registration, every error is a page, never a redirect (RFC
// 6749 §4.1.2.1, RFC 9700 §4.1.3: exact matching; the port of an http
// loopback IP only may differ, RFC 8252 §7.3).
func TestNoOpenRedirect(t *testing.T) {
	e := newSignInEnv(t, store.NewMemory())
	r := e.newRP(provider.ClientSpec{RedirectURIs: []string{"https://rp.example/cb?app=1", "http://127.0.0.1/native", "http://localhost:8080/cb"}})
	two := e.newRP(provider.ClientSpec{RedirectURIs: []string{"https://a.example/cb", "https://b.example/cb"}})
	cc := e.register(provider.ClientSpec{Scopes: []string{"x"}})
	b := e.newBrowser()
	for _, tc := range []struct {
		name string
		q    url.Values
	}{
		{"unknown client", r.authorizeQuery("client_id", "tgc_nope")},
		{"no client", r.authorizeQuery("client_id", "")},
		{"client of client credentials only", r.authorizeQuery("client_id", cc.id)},
		{"unregistered host", r.authorizeQuery("redirect_uri", "https://evil.example/cb?app=1")},
		{"other path", r.authorizeQuery("redirect_uri", "https://rp.example/cb/../evil?app=1")},
		{"other query", r.authorizeQuery("redirect_uri", "https://rp.example/cb?app=2")},
		{"query dropped", r.authorizeQuery("redirect_uri", "https://rp.example/cb")},
		{"fragment added", r.authorizeQuery("redirect_uri", "https://rp.example/cb?app=1#x")},
		{"http instead of https", r.authorizeQuery("redirect_uri", "http://rp.example/cb?app=1")},
		{"user info", r.authorizeQuery("redirect_uri", "https://evil.example@rp.example/cb?app=1")},
		{"port on a non-loopback host", r.authorizeQuery("redirect_uri", "https://rp.example:444/cb?app=1")},
		{"localhost is not a loopback IP (RFC 8252 §8.3)", r.authorizeQuery("redirect_uri", "http://localhost:9090/cb")},
		{"loopback, other path", r.authorizeQuery("redirect_uri", "http://127.0.0.1:5000/other")},
		{"loopback, other IP", r.authorizeQuery("redirect_uri", "http://127.0.0.2:5000/native")},
		{"loopback, bad port", r.authorizeQuery("redirect_uri", "http://127.0.0.1:0x50/native")},
		{"redirect_uri twice", func() url.Values {
			q := r.authorizeQuery()
			q["redirect_uri"] = []string{r.redirect, "https://evil.example/"}
			return q
		}()},
		{"client_id twice", func() url.Values {
			q := r.authorizeQuery()
			q["client_id"] = []string{r.client.id, r.client.id}
			return q
		}()},
		{"no redirect_uri, two registered", func() url.Values { q := two.authorizeQuery(); q.Del("redirect_uri"); return q }()},
		{"redirect_uri not UTF-8", r.authorizeQuery("redirect_uri", "https://rp.example/cb?app=\xff")},
	} {
		v := e.authorize(b, tc.q)
		if v.location != nil || v.status < 400 || v.status >= 500 || !strings.Contains(v.header.Get("Content-Type"), "text/html") {
			t.Errorf("%s: %d to %v, want an error page", tc.name, v.status, v.location)
		}
	}
	// The port of a loopback IP may differ; the registered one works as is.
	for _, uri := range []string{"http://127.0.0.1:53127/native", "http://127.0.0.1/native", "http://localhost:8080/cb", "https://rp.example/cb?app=1"} {
		q := r.authorizeQuery("redirect_uri", uri)
		r2 := r
		r2.redirect = uri
		if cb := e.callback(e.authorize(b, q), r2, "st-123"); cb.Get("code") == "" || (strings.Contains(uri, "app=1") && cb.Get("app") != "1") {
			t.Errorf("%s: no code", uri)
		}
		if got := e.exchange(r, e.signIn(b, r, "redirect_uri", uri), "redirect_uri", uri); got.status != http.StatusOK {
			t.Errorf("%s: redeeming: %d %s", uri, got.status, got.body)
		}
	}
}

// TestAuthorizationErrorsRedirected: once client and redirect URI are
// known good, errors go back to the client (RFC 6749 §4.1.2.1) with the
// state and iss (RFC 9207): PKCE required with S256 (no downgrade to
// plain), response_type=code only, unknown prompt values and request
// objects refused, prompt=none without a session or without consent.
func TestAuthorizationErrorsRedirected(t *testing.T) {
	e := newSignInEnv(t, store.NewMemory())
	r := e.newRP(provider.ClientSpec{Scopes: []string{"orders:read"}})
	b := e.newBrowser()
	for _, tc := range []struct {
		name string
		q    url.Values
		want string
	}{
		{"no PKCE", r.authorizeQuery("code_challenge", ""), "invalid_request"},
		{"PKCE plain", r.authorizeQuery("code_challenge_method", "plain", "code_challenge", strings.Repeat("p", 43)), "invalid_request"},
		{"PKCE without method (plain by default)", func() url.Values { q := r.authorizeQuery(); q.Del("code_challenge_method"); return q }(), "invalid_request"},
		{"PKCE challenge not S256", r.authorizeQuery("code_challenge", "short"), "invalid_request"},
		{"implicit", r.authorizeQuery("response_type", "token"), "unsupported_response_type"},
		{"hybrid", r.authorizeQuery("response_type", "code id_token"), "unsupported_response_type"},
		{"no response_type", func() url.Values { q := r.authorizeQuery(); q.Del("response_type"); return q }(), "invalid_request"},
		{"response_mode fragment", r.authorizeQuery("response_mode", "fragment"), "invalid_request"},
		{"unknown prompt", r.authorizeQuery("prompt", "login select_account"), "invalid_request"},
		{"prompt none with login", r.authorizeQuery("prompt", "none login"), "invalid_request"},
		{"request object", r.authorizeQuery("request", "eyJhbGciOiJub25lIn0.e30."), "request_not_supported"},
		{"request_uri", r.authorizeQuery("request_uri", "urn:ietf:params:oauth:request_uri:x"), "request_uri_not_supported"},
		{"scope not allowed", r.authorizeQuery("scope", "openid orders:write"), "invalid_scope"},
		{"malformed scope", r.authorizeQuery("scope", "openid \"x\""), "invalid_scope"},
		{"max_age negative", r.authorizeQuery("max_age", "-1"), "invalid_request"},
		{"nonce twice", func() url.Values { q := r.authorizeQuery(); q["nonce"] = []string{"a", "b"}; return q }(), "invalid_request"},
		{"nonce not UTF-8", r.authorizeQuery("nonce", "\xc3\x28"), "invalid_request"},
		{"NUL in login_hint", r.authorizeQuery("login_hint", "a\x00b"), "invalid_request"},
		{"resource not registered", r.authorizeQuery("resource", "https://api.example/"), "invalid_target"},
		{"prompt none, not signed in", r.authorizeQuery("prompt", "none"), "login_required"},
	} {
		cb := e.callback(e.authorize(b, tc.q), r, "st-123")
		if cb.Get("error") != tc.want || cb.Has("code") {
			t.Errorf("%s: %v, want error %s", tc.name, cb, tc.want)
		}
	}
	// state twice: the error carries no state at all.
	q := r.authorizeQuery()
	q["state"] = []string{"a", "b"}
	if cb := e.callback(e.authorize(b, q), r, ""); cb.Get("error") != "invalid_request" {
		t.Errorf("state twice: %v", cb)
	}
	// Signed in, but no consent yet: consent_required.
	e.app.consent = func(in *provider.Interaction) provider.Consent { return provider.Consent{Scopes: in.Scopes} } // not remembered
	e.signIn(b, r)
	if cb := e.callback(e.authorize(b, r.authorizeQuery("prompt", "none")), r, "st-123"); cb.Get("error") != "consent_required" {
		t.Errorf("prompt=none without stored consent: %v", cb)
	}
	// The application denies: access_denied.
	e.app.deny = "the user said no"
	if cb := e.callback(e.authorize(b, r.authorizeQuery()), r, "st-123"); cb.Get("error") != "access_denied" || cb.Get("error_description") != "the user said no" {
		t.Errorf("denied: %v", cb)
	}
}

// TestReauthentication: prompt=login and a max_age older than the session
// ask the application to sign the user in again, and a new login always
// starts a new session under a new id (no session fixation): the old id
// is worth nothing afterwards.
func TestReauthentication(t *testing.T) {
	e := newSignInEnv(t, store.NewMemory())
	r := e.newRP(provider.ClientSpec{})
	b := e.newBrowser()
	e.signIn(b, r)
	issuer, _ := url.Parse(e.issuer)
	sessionCookie := func() string {
		for _, c := range b.client.Jar.Cookies(issuer) {
			if c.Name == "tg_session" {
				return c.Value
			}
		}
		return ""
	}
	first := sessionCookie()
	e.signIn(b, r) // SSO: same session
	if got := e.app.interactions(); len(got) != 2 || sessionCookie() != first {
		t.Fatalf("interactions %v; session changed %v", got, sessionCookie() != first)
	}
	e.signIn(b, r, "prompt", "login")
	if got := e.app.interactions(); len(got) != 3 || got[2] != provider.InteractionLogin {
		t.Errorf("prompt=login: interactions %v, want a third, a login", got)
	}
	if in := e.app.last(); in.Subject != "alice-sub" || in.Prompt[0] != "login" {
		t.Errorf("re-authentication interaction: %+v", in)
	}
	second := sessionCookie()
	if second == "" || second == first {
		t.Fatal("the session id did not change at login")
	}
	old := e.newBrowser()
	old.client.Jar.SetCookies(issuer, []*http.Cookie{{Name: "tg_session", Value: first, Path: "/"}})
	if e.signedIn(old, r) {
		t.Error("the session id from before the login still works")
	}
	e.clock.Add(10 * time.Minute)
	e.signIn(b, r, "max_age", "3600")
	if n := len(e.app.interactions()); n != 3 {
		t.Errorf("max_age within the session's age asked again (%d interactions)", n)
	}
	e.signIn(b, r, "max_age", "300")
	if got := e.app.interactions(); len(got) != 4 || got[3] != provider.InteractionLogin {
		t.Errorf("max_age older than the authentication: interactions %v, want a login", got)
	}
}

// TestInteractionBoundToBrowser: an interaction finished in another
// browser than the one that started it does not resume: an attacker cannot
// have a victim sign in to the attacker's authorization request.
func TestInteractionBoundToBrowser(t *testing.T) {
	e := newSignInEnv(t, store.NewMemory())
	r := e.newRP(provider.ClientSpec{})
	attacker := e.newBrowser()
	attacker.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	v := e.authorize(attacker, r.authorizeQuery())
	if v.location == nil || v.location.Path != "/app/login" {
		t.Fatalf("no redirect to the login page: %d %v", v.status, v.location)
	}
	victim := e.newBrowser()
	got := victim.get(v.location.String()) // the app signs the victim in, then resume
	if got.status != http.StatusForbidden || got.location != nil || !strings.Contains(got.body, "started elsewhere") {
		t.Errorf("resume in another browser: %d %v %s", got.status, got.location, got.body)
	}
}

// TestPageHeaders: every HTML page the provider serves is never cached
// and never framed, and every answer of the authorization flow and the
// token endpoint is never cached.
func TestPageHeaders(t *testing.T) {
	e := newSignInEnv(t, store.NewMemory())
	r := e.newRP(provider.ClientSpec{PostLogoutRedirectURIs: []string{"https://rp.example/bye"}})
	b := e.newBrowser()
	e.signIn(b, r)
	pages := map[string]visit{
		"error page":        e.authorize(b, r.authorizeQuery("client_id", "nope")),
		"logout question":   b.get(e.issuer + "/logout"),
		"resume error page": b.get(e.issuer + "/authorize/resume?interaction=nope"),
	}
	fields := formFields(pages["logout question"].body)
	fields.Set("decision", "logout")
	pages["signed out"] = b.do(http.MethodPost, e.issuer+"/logout", fields.Encode())
	for name, v := range pages {
		h := v.header
		if h.Get("Cache-Control") != "no-store" || h.Get("X-Frame-Options") != "DENY" ||
			!strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") ||
			!strings.HasPrefix(h.Get("Content-Type"), "text/html") || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: headers %v", name, h)
		}
	}
	b.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	for _, v := range []visit{e.authorize(b, r.authorizeQuery()), e.authorize(b, r.authorizeQuery("prompt", "nope"))} {
		if v.status != http.StatusSeeOther || v.header.Get("Cache-Control") != "no-store" {
			t.Errorf("authorization redirect: %d, Cache-Control %q", v.status, v.header.Get("Cache-Control"))
		}
	}
}

// TestCookies: the session and browser cookies are HttpOnly, SameSite=Lax,
// host-only; with an https issuer they are Secure and __Host- prefixed.
func TestCookies(t *testing.T) {
	ctx := context.Background()
	p, err := provider.New(provider.Config{Issuer: "https://auth.example", LoginURL: "https://auth.example/signin",
		KeyAlgorithms: []string{provider.AlgEdDSA}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, _, err := p.Admin().RegisterClient(ctx, provider.ClientSpec{RedirectURIs: []string{"https://rp.example/cb"}})
	if err != nil {
		t.Fatal(err)
	}
	r := rp{client: registered{id: c.ID}, redirect: "https://rp.example/cb", verifier: strings.Repeat("v", 43)}
	w := httptest.NewRecorder()
	p.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "https://auth.example/authorize?"+r.authorizeQuery().Encode(), nil))
	loc, _ := url.Parse(w.Header().Get("Location"))
	if w.Code != http.StatusSeeOther || loc.Host != "auth.example" || loc.Path != "/signin" {
		t.Fatalf("authorize: %d %v", w.Code, loc)
	}
	check := func(res *http.Response, name string) *http.Cookie {
		t.Helper()
		for _, c := range res.Cookies() {
			if c.Name == name {
				if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.Domain != "" || c.Path != "/" {
					t.Errorf("cookie %s: %+v", name, c)
				}
				return c
			}
		}
		t.Fatalf("no cookie %s in %v", name, res.Header["Set-Cookie"])
		return nil
	}
	browserCookie := check(w.Result(), "__Host-tg_browser")
	next, err := p.FinishLogin(ctx, loc.Query().Get("interaction"), provider.Login{Subject: "alice", Remember: true})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, next, nil)
	req.AddCookie(browserCookie)
	w = httptest.NewRecorder()
	p.ServeHTTP(w, req)
	if s := check(w.Result(), "__Host-tg_session"); s.MaxAge != int(provider.DefaultSessionLifetime/time.Second) {
		t.Errorf("remembered session cookie Max-Age %d", s.MaxAge)
	}
}

// TestNoSecretsInLogs: a whole sign-in, with failures on the way (a
// replayed code, a reused refresh token, a store that fails), logs at
// debug level none of the code, tokens, session, browser or interaction
// ids.
func TestNoSecretsInLogs(t *testing.T) {
	var logs bytes.Buffer
	flaky := &failingStore{Store: store.NewMemory()}
	e := newSignInEnv(t, flaky, func(c *provider.Config) {
		c.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	r := e.newRP(provider.ClientSpec{})
	b := e.newBrowser()
	code := e.signIn(b, r, "scope", "openid offline_access")
	access, refresh, id := e.exchange(r, code).tokens(t)
	e.exchange(r, code)
	code2 := e.signIn(b, r, "scope", "openid offline_access")
	_, refresh2, _ := e.exchange(r, code2).tokens(t)
	e.refresh(r, refresh2)
	e.refresh(r, refresh2)
	flaky.fail = true
	e.authorize(b, r.authorizeQuery())
	e.do(req{method: http.MethodGet, path: "/userinfo", rawAuth: "Bearer " + access})
	flaky.fail = false
	secrets := []string{code, code2, access, refresh, refresh2, id}
	issuer, _ := url.Parse(e.issuer)
	for _, c := range b.client.Jar.Cookies(issuer) {
		secrets = append(secrets, c.Value)
	}
	for _, in := range e.app.seen {
		secrets = append(secrets, in.ID)
	}
	if logs.Len() == 0 {
		t.Fatal("nothing was logged: the test shows nothing")
	}
	for _, s := range secrets {
		if len(s) > 8 && strings.Contains(logs.String(), s) {
			t.Errorf("a secret %.12s… is in the logs:\n%s", s, logs.String())
		}
	}
}

// failingStore fails every read of sessions and tokens while fail is set.
type failingStore struct {
	store.Store
	fail bool
}

func (f *failingStore) Session(ctx context.Context, hash []byte) (*store.Session, error) {
	if f.fail {
		return nil, errStoreDown
	}
	return f.Store.Session(ctx, hash)
}

func (f *failingStore) Token(ctx context.Context, hash []byte) (*store.Token, error) {
	if f.fail {
		return nil, errStoreDown
	}
	return f.Store.Token(ctx, hash)
}

var errStoreDown = &net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}

// TestBadInputNeverServerError: every new endpoint answers bad input —
// oversized, duplicated parameters, invalid UTF-8, unknown prompt values,
// request objects, wrong methods and content types — with an RFC error or
// an error page, never a 500.
func TestBadInputNeverServerError(t *testing.T) {
	e := newSignInEnv(t, sqliteStore(t))
	r := e.newRP(provider.ClientSpec{PostLogoutRedirectURIs: []string{"https://rp.example/bye"}})
	b := e.newBrowser()
	b.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	good := r.authorizeQuery().Encode()
	huge := strings.Repeat("a", 20<<10)
	for _, path := range []string{"/authorize", "/authorize/resume", "/userinfo", "/logout", "/token"} {
		for _, tc := range []struct {
			name, method, contentType, body string
		}{
			{"oversized query", http.MethodGet, "", good + "&state=" + huge},
			{"oversized body", http.MethodPost, "application/x-www-form-urlencoded", good + "&state=" + huge + huge + huge + huge},
			{"duplicated parameters", http.MethodGet, "", good + "&" + good},
			{"invalid UTF-8", http.MethodGet, "", good + "&login_hint=%ff%fe&interaction=%ff&post_logout_redirect_uri=%ff"},
			{"malformed escape", http.MethodGet, "", good + "&scope=%zz"},
			{"NUL", http.MethodGet, "", good + "&state=a%00b"},
			{"unknown prompt", http.MethodGet, "", good + "&prompt=select_account"},
			{"request object", http.MethodPost, "application/x-www-form-urlencoded", good + "&request=e30"},
			{"request_uri", http.MethodGet, "", good + "&request_uri=https%3A%2F%2Fevil.example%2F"},
			{"wrong method", http.MethodPut, "", good},
			{"wrong content type", http.MethodPost, "application/json", `{"client_id":"x"}`},
			{"code grant, duplicated", http.MethodPost, "application/x-www-form-urlencoded", "grant_type=authorization_code&code=a&code=b"},
			{"userinfo, two tokens", http.MethodPost, "application/x-www-form-urlencoded", "access_token=a&access_token=b"},
		} {
			target := e.issuer + path
			body := ""
			if tc.method == http.MethodGet || tc.method == http.MethodPut {
				target += "?" + tc.body
			} else {
				body = tc.body
			}
			req, _ := http.NewRequest(tc.method, target, strings.NewReader(body))
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			if path == "/token" {
				req.SetBasicAuth(r.client.id, r.client.secret)
			}
			res, err := b.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			ct := res.Header.Get("Content-Type")
			switch {
			case res.StatusCode >= 500:
				t.Errorf("%s %s: %d", path, tc.name, res.StatusCode)
			case res.StatusCode == http.StatusSeeOther:
				if loc, _ := url.Parse(res.Header.Get("Location")); loc == nil || loc.Host != "rp.example" || loc.Query().Get("error") == "" {
					t.Errorf("%s %s: redirected to %v", path, tc.name, loc)
				}
			case res.StatusCode >= 400 && !strings.HasPrefix(ct, "text/html") && !strings.HasPrefix(ct, "application/json") &&
				!strings.HasPrefix(ct, "text/plain"):
				t.Errorf("%s %s: %d with %q", path, tc.name, res.StatusCode, ct)
			}
		}
	}
}
