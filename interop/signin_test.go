//go:build interop

package interop

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/oauth2"

	"github.com/tokengate/tokengate/interop/internal/interoptest"
	"github.com/tokengate/tokengate/provider"
	"github.com/tokengate/tokengate/provider/signin"
	"github.com/tokengate/tokengate/provider/store"
	"github.com/tokengate/tokengate/provider/store/sqlite"
	"github.com/tokengate/tokengate/provider/users"
	userssqlite "github.com/tokengate/tokengate/provider/users/sqlite"
)

// signInServer is our provider with its built-in sign-in pages and users,
// on one SQLite file, as "tokengate serve" runs them.
type signInServer struct {
	URL      string // the issuer
	Provider *provider.Provider
	Users    *users.Directory
	// Alice signs in with Password.
	Alice    *users.User
	Password string
}

func startSignInServer(t testing.TB) *signInServer {
	t.Helper()
	return startSignInServerWith(t, signInOptions{})
}

// signInOptions vary startSignInServerWith.
type signInOptions struct {
	// Params hash the passwords; the zero value means the default.
	Params users.Params
	// Provider configures the provider; its Issuer, Store, LoginURL and
	// Claims are set by startSignInServerWith.
	Provider provider.Config
	// Memory keeps everything in memory instead of one SQLite file.
	Memory bool
}

func startSignInServerWith(t testing.TB, opts signInOptions) *signInServer {
	t.Helper()
	var st store.Store = store.NewMemory()
	var us users.Store = users.NewMemory()
	if !opts.Memory {
		path := filepath.Join(t.TempDir(), "tokengate.db")
		sst, err := sqlite.Open(sqlite.Config{Path: path})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sst.Close() })
		sus, err := userssqlite.Open(userssqlite.Config{Path: path})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sus.Close() })
		st, us = sst, sus
	}
	dir, err := users.New(users.Config{Store: us, Params: opts.Params})
	if err != nil {
		t.Fatal(err)
	}
	s := &signInServer{Users: dir, Password: rand.Text()}
	if s.Alice, err = dir.Create(context.Background(), "alice", s.Password, users.Profile{Name: "Alice Liddell", Email: "alice@example.com"}); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	cfg := opts.Provider
	cfg.Issuer, cfg.Store, cfg.LoginURL, cfg.Claims = srv.URL, st, srv.URL+"/signin", dir.Claims
	if s.Provider, err = provider.New(cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Provider.Close() })
	pages, err := signin.New(signin.Config{Provider: s.Provider, Users: dir})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/signin", pages)
	mux.Handle("/signin/", pages)
	mux.Handle("/", s.Provider)
	return s
}

// callbackServer is a relying party's redirect URI that records what the
// browser brings back.
type callbackServer struct {
	*httptest.Server
	mu    sync.Mutex // guards query
	query url.Values
}

func startCallback(t testing.TB) *callbackServer {
	c := &callbackServer{}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/callback" {
			http.NotFound(w, r) // the browser's /favicon.ico
			return
		}
		c.mu.Lock()
		c.query = r.URL.Query()
		c.mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(`<!doctype html><title>callback</title><p id="done">signed in</p>`))
	}))
	t.Cleanup(c.Close)
	return c
}

// TestBrowserSignIn: a person, in headless Chromium, signs in through the
// built-in pages — typing a username and password, then allowing the
// client on the consent page — and lands on the relying party's callback
// with a code, the state and the issuer (RFC 9207). The pages refuse to
// be framed.
func TestBrowserSignIn(t *testing.T) {
	s := startSignInServer(t)
	cb := startCallback(t)
	client, _, err := s.Provider.Admin().RegisterClient(context.Background(), provider.ClientSpec{
		Name: "Orders web", Public: true, RedirectURIs: []string{cb.URL + "/callback"}, Scopes: []string{"openid", "profile", "email"},
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := oauth2.Config{ClientID: client.ID, RedirectURL: cb.URL + "/callback", Scopes: []string{"openid", "email"},
		Endpoint: oauth2.Endpoint{AuthURL: s.URL + "/authorize"}}
	authURL := cfg.AuthCodeURL("state-42", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))

	ctx := interoptest.StartChromium(t)
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	loginPage, err := chromedp.Run(ctx, chromedp.NavigateResponse(authURL))
	if err != nil {
		t.Fatal(err)
	}
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			loc, _ := chromedp.Run(ctx, chromedp.Location())
			body, _ := chromedp.Run(ctx, chromedp.Evaluate[string]("document.body.innerText"))
			t.Fatalf("%s: %v\nat %s:\n%s", what, err, redact(loc), body)
		}
	}
	step("the login page",
		chromedp.WaitVisible(chromedp.CSS(`label[for="username"]`)),
		chromedp.WaitVisible(chromedp.CSS(`label[for="password"]`)),
	)
	if h := loginPage.Headers; h["X-Frame-Options"] != "DENY" || !strings.Contains(fmt.Sprint(h["Content-Security-Policy"]), "frame-ancestors 'none'") {
		t.Errorf("the login page may be framed: %v", h)
	}
	title, _ := chromedp.Run(ctx, chromedp.Title())
	if title != "Sign in to Orders web" {
		t.Errorf("title %q", title)
	}

	// A wrong password first: the page says so, and nothing else.
	step("a wrong password",
		chromedp.SendKeys(chromedp.CSS("#username"), "alice"),
		chromedp.SendKeys(chromedp.CSS("#password"), "not the password"),
		chromedp.Click(chromedp.CSS(`button[value="signin"]`)),
		chromedp.WaitVisible(chromedp.CSS(`p.error[role="alert"]`)),
	)
	msg, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("p.error")))
	if msg != "Wrong username or password." {
		t.Errorf("after a wrong password the page says %q", msg)
	}
	// The username is kept; the password is typed again.
	step("the right password",
		chromedp.SendKeys(chromedp.CSS("#password"), s.Password),
		chromedp.Click(chromedp.CSS(`button[value="signin"]`)),
		chromedp.WaitVisible(chromedp.CSS(`button[value="approve"]`)),
	)
	consent, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
	for _, want := range []string{"Orders web asks to:", "See your email address", "You are signed in as Alice Liddell."} {
		if !strings.Contains(consent, want) {
			t.Errorf("the consent page lacks %q:\n%s", want, consent)
		}
	}
	step("allowing", chromedp.Click(chromedp.CSS(`button[value="approve"]`)), chromedp.WaitVisible(chromedp.CSS("#done")))

	cb.mu.Lock()
	q := cb.query
	cb.mu.Unlock()
	if q.Get("code") == "" || q.Get("state") != "state-42" || q.Get("iss") != s.URL {
		t.Errorf("the callback got %v, want a code, state-42 and iss %s", redactQuery(q), s.URL)
	}
}

// redact drops a URL's query, where codes and interaction ids travel.
func redact(u string) string {
	if i := strings.IndexByte(u, '?'); i >= 0 {
		return u[:i] + "?…"
	}
	return u
}

func redactQuery(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		if k == "code" {
			v = []string{"…"}
		}
		out[k] = v
	}
	return out
}
