package signin_test

import (
	"bytes"
	"context"
	"errors"
	"html"
	"html/template"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/tokengate/tokengate/provider"
	"github.com/tokengate/tokengate/provider/signin"
	"github.com/tokengate/tokengate/provider/users"
)

// fakeProvider is the provider's interaction API with interactions the
// test sets up; it records how each one was finished.
type fakeProvider struct {
	issuer string
	mu     sync.Mutex // guards the fields below
	open   map[string]*provider.Interaction
	logins map[string]provider.Login
	grants map[string]provider.Consent
	denied map[string]string
	// err, if set, is what every call fails with.
	err error
}

func newFakeProvider() *fakeProvider {
	return &fakeProvider{issuer: "http://127.0.0.1:9096", open: map[string]*provider.Interaction{},
		logins: map[string]provider.Login{}, grants: map[string]provider.Consent{}, denied: map[string]string{}}
}

func (f *fakeProvider) Issuer() string { return f.issuer }

func (f *fakeProvider) add(it *provider.Interaction) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.open[it.ID] = it
}

func (f *fakeProvider) Interaction(_ context.Context, id string) (*provider.Interaction, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	it := f.open[id]
	if it == nil {
		return nil, provider.ErrInteractionNotFound
	}
	c := *it
	return &c, nil
}

// end finishes id, once.
func (f *fakeProvider) end(id string, record func()) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return "", f.err
	}
	if f.open[id] == nil {
		return "", provider.ErrInteractionNotFound
	}
	delete(f.open, id)
	record()
	return f.issuer + "/authorize/resume?interaction=" + id, nil
}

func (f *fakeProvider) FinishLogin(_ context.Context, id string, l provider.Login) (string, error) {
	return f.end(id, func() { f.logins[id] = l })
}

func (f *fakeProvider) FinishConsent(_ context.Context, id string, c provider.Consent) (string, error) {
	return f.end(id, func() { f.grants[id] = c })
}

func (f *fakeProvider) Deny(_ context.Context, id, description string) (string, error) {
	return f.end(id, func() { f.denied[id] = description })
}

// setup is a Handler on a fake provider, with the users alice (password
// "correct horse", name "Alice Liddell") and bob.
type setup struct {
	h     *signin.Handler
	p     *fakeProvider
	dir   *users.Directory
	alice *users.User
	logs  *bytes.Buffer
}

func newSetup(t *testing.T, cfg signin.Config) *setup {
	t.Helper()
	p := newFakeProvider()
	dir, err := users.New(users.Config{Store: users.NewMemory(), Params: users.Params{MemoryKiB: 8, Passes: 1, Lanes: 1}, FailuresPerMinute: 3})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	alice, err := dir.Create(ctx, "alice", "correct horse", users.Profile{Name: "Alice Liddell"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dir.Create(ctx, "bob", "battery staple", users.Profile{}); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	if cfg.Provider == nil {
		cfg.Provider = p
	}
	cfg.Users = dir
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	h, err := signin.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &setup{h: h, p: p, dir: dir, alice: alice, logs: &logs}
}

func loginInteraction(id string) *provider.Interaction {
	return &provider.Interaction{ID: id, Kind: provider.InteractionLogin, Scopes: []string{"openid", "profile"},
		Client: provider.InteractionClient{ID: "tgc_app", Name: "Orders <App>"}}
}

func consentInteraction(id, subject string) *provider.Interaction {
	return &provider.Interaction{ID: id, Kind: provider.InteractionConsent, Subject: subject,
		Scopes: []string{"openid", "email", "orders:read"}, NewScopes: []string{"email", "orders:read"},
		Client: provider.InteractionClient{ID: "tgc_app", Name: "Orders <App>"}}
}

// browser holds the cookies a browser would keep for the sign-in pages.
type browser struct {
	t       *testing.T
	h       http.Handler
	cookies map[string]*http.Cookie
}

func (s *setup) browser(t *testing.T) *browser {
	return &browser{t: t, h: s.h, cookies: map[string]*http.Cookie{}}
}

func (b *browser) do(r *http.Request) *httptest.ResponseRecorder {
	b.t.Helper()
	for _, c := range b.cookies {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	b.h.ServeHTTP(w, r)
	for _, c := range w.Result().Cookies() {
		b.cookies[c.Name] = c
	}
	return w
}

func (b *browser) get(target string) *httptest.ResponseRecorder {
	return b.do(httptest.NewRequest(http.MethodGet, target, nil))
}

func (b *browser) post(target string, form url.Values) *httptest.ResponseRecorder {
	return b.postRaw(target, form.Encode())
}

func (b *browser) postRaw(target, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, target, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(r)
}

// loginForm opens the login page of interaction id and returns its form
// filled in with username and password.
func (b *browser) loginForm(id, username, password string) url.Values {
	b.t.Helper()
	form := formOf(b.t, b.get("/signin?interaction="+id).Body.String())
	form.Set("username", username)
	form.Set("password", password)
	return form
}

var hiddenField = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`)

// formOf returns the hidden fields of the page's form.
func formOf(t *testing.T, page string) url.Values {
	t.Helper()
	v := url.Values{}
	for _, m := range hiddenField.FindAllStringSubmatch(page, -1) {
		v.Set(m[1], html.UnescapeString(m[2]))
	}
	if v.Get("interaction") == "" || v.Get("csrf_token") == "" {
		t.Fatalf("no hidden interaction and csrf_token in the page:\n%s", page)
	}
	return v
}

// checkPageHeaders asserts what every page must carry.
func checkPageHeaders(t *testing.T, w *httptest.ResponseRecorder) {
	t.Helper()
	h := w.Header()
	for name, want := range map[string]string{
		"Cache-Control":          "no-store",
		"X-Frame-Options":        "DENY",
		"X-Content-Type-Options": "nosniff",
		"Referrer-Policy":        "no-referrer",
	} {
		if got := h.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "script-src") {
		t.Errorf("Content-Security-Policy = %q, want frame-ancestors 'none' and no scripts", csp)
	}
	if w.Code != http.StatusSeeOther && !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		t.Errorf("Content-Type = %q", h.Get("Content-Type"))
	}
}

func TestLoginPage(t *testing.T) {
	s := newSetup(t, signin.Config{})
	s.p.add(loginInteraction("i1"))
	b := s.browser(t)
	w := b.get("/signin?interaction=i1")
	if w.Code != http.StatusOK {
		t.Fatalf("GET = %d\n%s", w.Code, w.Body)
	}
	checkPageHeaders(t, w)
	page := w.Body.String()
	for _, want := range []string{
		`<html lang="en">`,
		`<label for="username">Username</label>`,
		`<input id="username" name="username" type="text" value="" autocomplete="username"`,
		`<label for="password">Password</label>`,
		`<input id="password" name="password" type="password" autocomplete="current-password" required`,
		`<form method="post" action="/signin">`,
		`<link rel="stylesheet" href="/signin/style.css">`,
		`Orders &lt;App&gt;`, // the client's name, escaped
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the login page lacks %s", want)
		}
	}
	if strings.Contains(page, "<script") {
		t.Error("the login page has a script")
	}
	c := b.cookies["tokengate_signin"]
	if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Domain != "" {
		t.Errorf("CSRF cookie = %+v, want host-only, HttpOnly, SameSite=Strict", c)
	}
	// A second tab keeps the same cookie, so the first tab's form still works.
	before := c.Value
	b.get("/signin?interaction=i1")
	if b.cookies["tokengate_signin"].Value != before {
		t.Error("a second page replaced the CSRF cookie")
	}
	css := b.get("/signin/style.css")
	if css.Code != http.StatusOK || !strings.HasPrefix(css.Header().Get("Content-Type"), "text/css") {
		t.Errorf("style.css = %d %s", css.Code, css.Header().Get("Content-Type"))
	}
}

func TestLoginSucceeds(t *testing.T) {
	s := newSetup(t, signin.Config{})
	s.p.add(loginInteraction("i1"))
	b := s.browser(t)
	form := b.loginForm("i1", "alice", "correct horse")
	form.Set("remember", "1")
	w := b.post("/signin", form)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "http://127.0.0.1:9096/authorize/resume?interaction=i1" {
		t.Fatalf("POST = %d, Location %q\n%s", w.Code, w.Header().Get("Location"), w.Body)
	}
	checkPageHeaders(t, w)
	l := s.p.logins["i1"]
	if l.Subject != s.alice.Subject || l.Username != "alice" || !l.Remember || len(l.AMR) != 1 || l.AMR[0] != "pwd" || l.AuthTime.IsZero() {
		t.Errorf("FinishLogin got %+v", l)
	}
	// The interaction is finished: the form cannot be sent again.
	if w := b.post("/signin", form); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "expired or is already finished") {
		t.Errorf("the same form again = %d\n%s", w.Code, w.Body)
	}
}

func TestLoginFails(t *testing.T) {
	s := newSetup(t, signin.Config{})
	attempt := func(b *browser, id, username, password string) *httptest.ResponseRecorder {
		t.Helper()
		s.p.add(loginInteraction(id))
		return b.post("/signin", b.loginForm(id, username, password))
	}
	b := s.browser(t)
	wrong := attempt(b, "i1", "alice", "wrong horse")
	unknown := attempt(b, "i1", "mallory", "wrong horse")
	for _, w := range []*httptest.ResponseRecorder{wrong, unknown} {
		if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "Wrong username or password.") {
			t.Errorf("a failed sign-in = %d\n%s", w.Code, w.Body)
		}
		checkPageHeaders(t, w)
	}
	// The two answers differ only in the username they fill back in.
	if strings.ReplaceAll(unknown.Body.String(), "mallory", "alice") != wrong.Body.String() {
		t.Errorf("a wrong password and an unknown user are answered differently:\n%s\n---\n%s", wrong.Body, unknown.Body)
	}
	if strings.Contains(wrong.Body.String(), "wrong horse") {
		t.Error("the page shows the password back")
	}
	if len(s.p.logins) != 0 {
		t.Errorf("FinishLogin was called: %v", s.p.logins)
	}
	// FailuresPerMinute is 3: the third failure spends the budget of
	// (alice, this address); then even the right password waits.
	attempt(b, "i1", "alice", "wrong again")
	attempt(b, "i1", "alice", "and again")
	w := attempt(b, "i1", "alice", "correct horse")
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" ||
		!strings.Contains(w.Body.String(), "Too many failed sign-in attempts. Try again in 20 seconds.") {
		t.Errorf("over the budget = %d, Retry-After %q\n%s", w.Code, w.Header().Get("Retry-After"), w.Body)
	}
	// The same words for a user who does not exist.
	for range 3 {
		attempt(b, "i1", "nobody", "guess")
	}
	if w := attempt(b, "i1", "nobody", "guess"); w.Code != http.StatusTooManyRequests ||
		!strings.Contains(w.Body.String(), "Too many failed sign-in attempts. Try again in 20 seconds.") {
		t.Errorf("an unknown user over the budget = %d\n%s", w.Code, w.Body)
	}
	// Alice from elsewhere is not locked out.
	s.p.add(loginInteraction("i2"))
	other := s.browser(t)
	form := other.loginForm("i2", "alice", "correct horse")
	r := httptest.NewRequest(http.MethodPost, "/signin", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.RemoteAddr = "203.0.113.50:4711"
	if w := other.do(r); w.Code != http.StatusSeeOther {
		t.Errorf("alice from another address = %d\n%s", w.Code, w.Body)
	}
}

func TestCancelAndConsent(t *testing.T) {
	s := newSetup(t, signin.Config{ScopeDescriptions: map[string]string{"orders:read": "See your orders"}})
	b := s.browser(t)

	s.p.add(loginInteraction("login"))
	form := formOf(t, b.get("/signin?interaction=login").Body.String())
	form.Set("action", "cancel")
	if w := b.post("/signin", form); w.Code != http.StatusSeeOther || s.p.denied["login"] == "" {
		t.Errorf("cancel = %d, denied %q", w.Code, s.p.denied["login"])
	}

	for _, c := range []struct {
		decision string
		wantCode int
		check    func(id string) bool
	}{
		{"approve", http.StatusSeeOther, func(id string) bool {
			g, ok := s.p.grants[id]
			return ok && strings.Join(g.Scopes, " ") == "openid email orders:read" && g.Remember
		}},
		{"deny", http.StatusSeeOther, func(id string) bool { return s.p.denied[id] == "the user denied access" }},
		{"maybe", http.StatusBadRequest, func(id string) bool { return s.p.open[id] != nil }},
		{"", http.StatusBadRequest, func(id string) bool { return s.p.open[id] != nil }},
	} {
		t.Run("decision="+c.decision, func(t *testing.T) {
			id := "consent-" + c.decision
			s.p.add(consentInteraction(id, s.alice.Subject))
			w := b.get("/signin?interaction=" + id)
			checkPageHeaders(t, w)
			page := w.Body.String()
			for _, want := range []string{
				"<strong>Orders &lt;App&gt;</strong> asks to:",
				"<li>See your email address <span class=\"scope\">(email)</span></li>",
				"<li>See your orders <span class=\"scope\">(orders:read)</span></li>",
				"You are signed in as <strong>Alice Liddell</strong>.",
				`<button type="submit" name="decision" value="approve">Allow</button>`,
				`<button type="submit" name="decision" value="deny" class="secondary">Deny</button>`,
			} {
				if !strings.Contains(page, want) {
					t.Errorf("the consent page lacks %s\n%s", want, page)
				}
			}
			if strings.Contains(page, "(openid)") {
				t.Error("the consent page asks again for a scope granted before")
			}
			form := formOf(t, page)
			form.Set("decision", c.decision)
			if w := b.post("/signin", form); w.Code != c.wantCode || !c.check(id) {
				t.Errorf("POST decision=%s = %d\n%s", c.decision, w.Code, w.Body)
			}
		})
	}
}

// TestBadInput: every request the pages cannot use gets an error page in
// words with the page headers, never a server error, and finishes nothing.
func TestBadInput(t *testing.T) {
	s := newSetup(t, signin.Config{})
	s.p.add(loginInteraction("i1"))
	s.p.add(loginInteraction("i2"))
	b := s.browser(t)
	form := b.loginForm("i1", "alice", "correct horse")
	otherToken := formOf(t, b.get("/signin?interaction=i2").Body.String()).Get("csrf_token")
	with := func(k, v string) url.Values {
		f := url.Values{}
		for key, vs := range form {
			f[key] = append([]string(nil), vs...)
		}
		f.Set(k, v)
		return f
	}
	encoded := form.Encode()
	for _, c := range []struct {
		name     string
		req      func() *http.Request
		noCookie bool
		want     int
		wantText string
	}{
		{"no interaction", func() *http.Request { return httptest.NewRequest("GET", "/signin", nil) }, false, 400, "Go back to the application"},
		{"unknown interaction", func() *http.Request { return httptest.NewRequest("GET", "/signin?interaction=nope", nil) }, false, 400, "expired"},
		{"interaction twice", func() *http.Request { return httptest.NewRequest("GET", "/signin?interaction=i1&interaction=i2", nil) }, false, 400, "Go back"},
		{"PUT", func() *http.Request { return httptest.NewRequest("PUT", "/signin", nil) }, false, 405, "viewed or sent"},
		{"no CSRF cookie", func() *http.Request { return formRequest(encoded) }, true, 403, "This form has expired"},
		{"no CSRF token", func() *http.Request { return formRequest(with("csrf_token", "").Encode()) }, false, 403, "This form has expired"},
		{"another interaction's token", func() *http.Request { return formRequest(with("csrf_token", otherToken).Encode()) }, false, 403, "This form has expired"},
		{"token of another interaction's form", func() *http.Request { return formRequest(with("interaction", "i2").Encode()) }, false, 403, "This form has expired"},
		{"a field twice", func() *http.Request { return formRequest(encoded + "&password=other") }, false, 400, "could not be read"},
		{"invalid UTF-8", func() *http.Request { return formRequest(encoded + "&x=%ff") }, false, 400, "could not be read"},
		{"malformed", func() *http.Request { return formRequest(encoded + "&%zz") }, false, 400, "could not be read"},
		{"oversized", func() *http.Request { return formRequest(encoded + "&x=" + strings.Repeat("a", 20<<10)) }, false, 400, "could not be read"},
		{"not a form", func() *http.Request {
			r := formRequest(encoded)
			r.Header.Set("Content-Type", "application/json")
			return r
		}, false, 400, "could not be read"},
		{"from another site", func() *http.Request {
			r := formRequest(encoded)
			r.Header.Set("Sec-Fetch-Site", "cross-site")
			return r
		}, false, 403, "sent from another site"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := c.req()
			if !c.noCookie {
				for _, ck := range b.cookies {
					r.AddCookie(ck)
				}
			}
			w := httptest.NewRecorder()
			s.h.ServeHTTP(w, r)
			if w.Code != c.want || !strings.Contains(w.Body.String(), c.wantText) {
				t.Errorf("%d, want %d with %q\n%s", w.Code, c.want, c.wantText, w.Body)
			}
			checkPageHeaders(t, w)
			if len(s.p.logins) != 0 {
				t.Fatalf("FinishLogin was called: %v", s.p.logins)
			}
		})
	}
}

func formRequest(body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/signin", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

// TestFailingProvider: a provider that cannot answer gets a page that says
// so (503), and the log says why without a password, username,
// interaction id or cookie.
func TestFailingProvider(t *testing.T) {
	s := newSetup(t, signin.Config{})
	s.p.add(loginInteraction("secret-interaction-id"))
	b := s.browser(t)
	form := b.loginForm("secret-interaction-id", "alice", "correct horse")
	s.p.err = errors.New("database is locked")
	w := b.post("/signin", form)
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "not possible right now") {
		t.Errorf("= %d\n%s", w.Code, w.Body)
	}
	logs := s.logs.String()
	if !strings.Contains(logs, "database is locked") {
		t.Errorf("the log does not say why: %q", logs)
	}
	for _, secret := range []string{"correct horse", "alice", "secret-interaction-id", b.cookies["tokengate_signin"].Value, form.Get("csrf_token")} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log holds %q: %s", secret, logs)
		}
	}
}

func TestSecureIssuer(t *testing.T) {
	p := newFakeProvider()
	p.issuer = "https://login.example.com"
	s := newSetup(t, signin.Config{Provider: p})
	p.add(loginInteraction("i1"))
	b := s.browser(t)
	b.get("/signin?interaction=i1")
	c := b.cookies["__Host-tokengate_signin"]
	if c == nil || !c.Secure || c.Path != "/" || c.Domain != "" {
		t.Errorf("on https the CSRF cookie is %+v, want __Host- prefixed and Secure", c)
	}
}

func TestTemplates(t *testing.T) {
	custom := template.Must(template.New("login").Parse(`{{define "login"}}<p>Welcome to {{.Client.Name}}</p>` +
		`<form method="post" action="{{.Action}}"><input type="hidden" name="interaction" value="{{.Interaction}}">` +
		`<input type="hidden" name="csrf_token" value="{{.CSRFToken}}"></form>{{end}}`))
	s := newSetup(t, signin.Config{Templates: custom})
	s.p.add(loginInteraction("i1"))
	s.p.add(consentInteraction("c1", "x"))
	b := s.browser(t)
	w := b.get("/signin?interaction=i1")
	if !strings.Contains(w.Body.String(), "<p>Welcome to Orders &lt;App&gt;</p>") {
		t.Errorf("the overriding login template was not used:\n%s", w.Body)
	}
	checkPageHeaders(t, w)
	if w := b.get("/signin?interaction=c1"); !strings.Contains(w.Body.String(), "Allow access?") {
		t.Errorf("the built-in consent page is gone:\n%s", w.Body)
	}

	broken := template.Must(template.New("error").Parse(`{{define "error"}}{{.NoSuchField}}{{end}}`))
	dir, _ := users.New(users.Config{Store: users.NewMemory()})
	if _, err := signin.New(signin.Config{Provider: newFakeProvider(), Users: dir, Templates: broken}); err == nil ||
		!strings.Contains(err.Error(), `template "error"`) {
		t.Errorf("New with a template that cannot render = %v", err)
	}
}
