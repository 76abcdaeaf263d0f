package provider_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tokengate/tokengate/provider"
	"github.com/tokengate/tokengate/provider/store"
)

// signInEnv is a provider that signs people in through a small headless
// test application mounted beside it under /app/: the application reads
// each interaction, records it, and answers it as its script says.
type signInEnv struct {
	*env
	app *fakeApp
}

// fakeApp is the application of a signInEnv: it signs in app.user, grants
// every scope asked and remembers both, unless told otherwise.
type fakeApp struct {
	p *provider.Provider
	// mu guards the fields below.
	mu sync.Mutex
	// login and consent answer the interactions; nil means the defaults.
	login   func(in *provider.Interaction) provider.Login
	consent func(in *provider.Interaction) provider.Consent
	// deny, if set, denies every interaction with that description.
	deny string
	// seen are the interactions read, in order.
	seen []*provider.Interaction
}

func (a *fakeApp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := r.URL.Query().Get("interaction")
	in, err := a.p.Interaction(ctx, id)
	if errors.Is(err, provider.ErrInteractionNotFound) {
		http.Error(w, "no such interaction", http.StatusNotFound)
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	a.mu.Lock()
	a.seen = append(a.seen, in)
	login, consent, deny := a.login, a.consent, a.deny
	a.mu.Unlock()
	var next string
	switch {
	case deny != "":
		next, err = a.p.Deny(ctx, id, deny)
	case in.Kind == provider.InteractionLogin:
		l := provider.Login{Subject: "alice-sub", Username: "alice", AMR: []string{"pwd"}, ACR: "urn:tokengate:pwd"}
		if login != nil {
			l = login(in)
		}
		next, err = a.p.FinishLogin(ctx, id, l)
	default:
		c := provider.Consent{Scopes: in.Scopes, Remember: true}
		if consent != nil {
			c = consent(in)
		}
		next, err = a.p.FinishConsent(ctx, id, c)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// interactions returns the kinds of the interactions the app saw.
func (a *fakeApp) interactions() []provider.InteractionKind {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []provider.InteractionKind
	for _, in := range a.seen {
		out = append(out, in.Kind)
	}
	return out
}

func (a *fakeApp) last() *provider.Interaction {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.seen) == 0 {
		return nil
	}
	return a.seen[len(a.seen)-1]
}

// newSignInEnv starts a provider whose LoginURL is the fake app's.
func newSignInEnv(t testing.TB, st store.Store, opts ...envOption) *signInEnv {
	t.Helper()
	var h atomic.Pointer[provider.Provider]
	app := &fakeApp{}
	mux := http.NewServeMux()
	mux.Handle("/app/", app)
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.Load().ServeHTTP(w, r) }))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	clk := newClock()
	cfg := provider.Config{Issuer: srv.URL, Store: st, Now: clk.Now, AuthFailuresPerMinute: 1000, KeyAlgorithms: []string{provider.AlgES256, provider.AlgEdDSA},
		Logger: slog.New(slog.DiscardHandler), LoginURL: "/app/login"}
	for _, o := range opts {
		o(&cfg)
	}
	p, err := provider.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	h.Store(p)
	app.p = p
	return &signInEnv{env: &env{t: t, p: p, srv: srv, clock: clk, issuer: srv.URL}, app: app}
}

// rp is a relying party's side of one authorization: its client, redirect
// URI and PKCE verifier.
type rp struct {
	client   registered
	redirect string
	verifier string
}

// newRP registers a confidential client that signs users in.
func (e *signInEnv) newRP(spec provider.ClientSpec) rp {
	e.t.Helper()
	if spec.RedirectURIs == nil {
		spec.RedirectURIs = []string{"https://rp.example/cb"}
	}
	if spec.GrantTypes == nil {
		spec.GrantTypes = []string{provider.GrantAuthorizationCode, provider.GrantRefreshToken}
	}
	if spec.Name == "" {
		spec.Name = "Relying Party"
	}
	return rp{client: e.register(spec), redirect: spec.RedirectURIs[0], verifier: strings.Repeat("v", 43)}
}

// challenge is the S256 code challenge of verifier.
func challenge(verifier string) string {
	h := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// authorizeQuery is a valid authorization request of r with extra
// parameters (which replace defaults of the same name).
func (r rp) authorizeQuery(kv ...string) url.Values {
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {r.client.id},
		"redirect_uri":          {r.redirect},
		"scope":                 {"openid profile"},
		"state":                 {"st-123"},
		"nonce":                 {"n-456"},
		"code_challenge":        {challenge(r.verifier)},
		"code_challenge_method": {"S256"},
	}
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	return q
}

// browser is a scripted user agent: a cookie jar, following redirects
// within the issuer's host, stopping at any other.
type browser struct {
	t      testing.TB
	client *http.Client
	issuer *url.URL
}

func (e *signInEnv) newBrowser() *browser {
	jar, _ := cookiejar.New(nil)
	iss, _ := url.Parse(e.issuer)
	b := &browser{t: e.t, issuer: iss}
	b.client = &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if req.URL.Host != iss.Host || len(via) > 10 {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	return b
}

// visit is where a browser navigation ended: the last answer, and the URL
// it pointed to if it redirected off the issuer's host.
type visit struct {
	status   int
	header   http.Header
	body     string
	location *url.URL // set when the last answer redirected elsewhere
}

func (b *browser) get(rawURL string) visit {
	b.t.Helper()
	return b.do(http.MethodGet, rawURL, "")
}

func (b *browser) do(method, rawURL, body string) visit {
	b.t.Helper()
	req, err := http.NewRequest(method, rawURL, strings.NewReader(body))
	if err != nil {
		b.t.Fatal(err)
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	v := visit{status: res.StatusCode, header: res.Header, body: string(raw)}
	if loc := res.Header.Get("Location"); loc != "" && res.StatusCode/100 == 3 {
		v.location, _ = res.Request.URL.Parse(loc)
	}
	return v
}

// authorize sends the browser to the authorization endpoint and returns
// where it ended.
func (e *signInEnv) authorize(b *browser, q url.Values) visit {
	e.t.Helper()
	return b.get(e.issuer + "/authorize?" + q.Encode())
}

// callback checks that v is a redirect to r's redirect URI with the
// provider's iss and the request's state, and returns its query.
func (e *signInEnv) callback(v visit, r rp, state string) url.Values {
	e.t.Helper()
	if v.location == nil {
		e.t.Fatalf("no redirect to the client: %d %s", v.status, v.body)
	}
	want, wantQuery, _ := strings.Cut(r.redirect, "?")
	if got := v.location.Scheme + "://" + v.location.Host + v.location.Path; got != want || !strings.HasPrefix(v.location.RawQuery, wantQuery) {
		e.t.Fatalf("redirected to %s, want %s", v.location, r.redirect)
	}
	q := v.location.Query()
	if q.Get("iss") != e.issuer {
		e.t.Errorf("iss = %q, want %q (RFC 9207)", q.Get("iss"), e.issuer)
	}
	if q.Get("state") != state {
		e.t.Errorf("state = %q, want %q", q.Get("state"), state)
	}
	return q
}

var _ = context.Background

// signIn runs an authorization of r in b to its end and returns the code.
func (e *signInEnv) signIn(b *browser, r rp, kv ...string) string {
	e.t.Helper()
	q := r.authorizeQuery(kv...)
	r.redirect = q.Get("redirect_uri")
	cb := e.callback(e.authorize(b, q), r, q.Get("state"))
	if cb.Get("code") == "" {
		e.t.Fatalf("no code: %v", cb)
	}
	return cb.Get("code")
}

// exchange redeems code as r (with its secret, if it has one) and returns
// the answer; kv replace the default parameters.
func (e *signInEnv) exchange(r rp, code string, kv ...string) answer {
	e.t.Helper()
	v := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {r.redirect},
		"code_verifier": {r.verifier}}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			v.Del(kv[i])
		} else {
			v.Set(kv[i], kv[i+1])
		}
	}
	return e.tokenRequest(r, v)
}

// tokenRequest posts v to the token endpoint as r: Basic for a
// confidential client, client_id in the body for a public one.
func (e *signInEnv) tokenRequest(r rp, v url.Values) answer {
	e.t.Helper()
	rq := req{path: "/token"}
	if r.client.secret != "" {
		rq.basic = basic(r.client.id, r.client.secret)
	} else {
		v.Set("client_id", r.client.id)
	}
	rq.form = v.Encode()
	return e.do(rq)
}

// refresh uses refreshToken as r, with extra parameters.
func (e *signInEnv) refresh(r rp, refreshToken string, kv ...string) answer {
	e.t.Helper()
	v := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return e.tokenRequest(r, v)
}

// tokens decodes a successful token answer.
func (a answer) tokens(t testing.TB) (access, refresh, id string) {
	t.Helper()
	if a.status != http.StatusOK {
		t.Fatalf("token answer %d %s", a.status, a.body)
	}
	m := a.json(t)
	access, _ = m["access_token"].(string)
	refresh, _ = m["refresh_token"].(string)
	id, _ = m["id_token"].(string)
	return access, refresh, id
}

// oauthErr returns the error code of an RFC 6749 §5.2 answer.
func (a answer) oauthErr(t testing.TB) string {
	t.Helper()
	if a.status < 400 {
		t.Fatalf("answer %d %s, want an error", a.status, a.body)
	}
	code, _ := a.json(t)["error"].(string)
	return code
}
