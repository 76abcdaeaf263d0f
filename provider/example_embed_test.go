package provider_test

import (
	"context"
	"fmt"
	"html/template"
	"log"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/tokengate/tokengate/provider"
)

// loginForm is the application's sign-in page. Its hidden "interaction"
// field is the provider's interaction id: only the browser that was sent
// here knows it, and only that browser can resume it, so it also guards
// the form against cross-site posts.
var loginForm = template.Must(template.New("login").Parse(`<form method="post" action="/login">
<input type="hidden" name="interaction" value="{{.}}">
<label>Username <input name="username" autocomplete="username"></label>
<label>Password <input name="password" type="password" autocomplete="current-password"></label>
<button>Sign in</button></form>`))

// Example_ownUsers embeds the provider in an application that has users of
// its own: the provider speaks OAuth 2.0 and OpenID Connect, and sends the
// browser to the application's LoginURL when someone must sign in; the
// application checks the password however it likes and hands the user
// over with FinishLogin. A relying party made of x/oauth2 and go-oidc
// signs in through it.
func Example_ownUsers() {
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	issuer := srv.URL
	// The application's own user check: its database, LDAP, anything.
	checkPassword := func(username, password string) (subject string, ok bool) {
		return "user-1001", username == "alice" && password == "wonderland"
	}

	// README start
	p, err := provider.New(provider.Config{Issuer: issuer, LoginURL: "/login"})
	if err != nil {
		log.Fatal(err)
	}
	mux.Handle("/", p) // /authorize, /token, /userinfo, /logout, /.well-known/openid-configuration, …
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) { loginForm.Execute(w, r.FormValue("interaction")) })
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		subject, ok := checkPassword(r.FormValue("username"), r.FormValue("password"))
		if !ok {
			http.Error(w, "wrong username or password", http.StatusUnauthorized)
			return
		}
		next, err := p.FinishLogin(r.Context(), r.FormValue("interaction"), provider.Login{Subject: subject})
		if err != nil {
			http.Error(w, "this sign-in has expired; start again", http.StatusBadRequest)
			return
		}
		http.Redirect(w, r, next, http.StatusSeeOther)
	})
	// README end
	defer p.Close()

	// The application's own web app: first-party, so its users are not
	// asked for consent.
	ctx := context.Background()
	web, secret, _ := p.Admin().RegisterClient(ctx, provider.ClientSpec{Name: "orders web", FirstParty: true,
		RedirectURIs: []string{"https://web.example/callback"}})
	op, _ := oidc.NewProvider(ctx, issuer)
	rp := oauth2.Config{ClientID: web.ID, ClientSecret: secret, Endpoint: op.Endpoint(),
		RedirectURL: "https://web.example/callback", Scopes: []string{oidc.ScopeOpenID}}
	verifier := oauth2.GenerateVerifier()

	// A browser: it opens the authorization URL, gets the login form, posts
	// it, and is sent back to the web app with a code.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(r *http.Request, _ []*http.Request) error {
		if r.URL.Host == "web.example" {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	res, _ := browser.Get(rp.AuthCodeURL("xyz", oauth2.S256ChallengeOption(verifier), oidc.Nonce("n-1")))
	res.Body.Close()
	res, _ = browser.PostForm(issuer+"/login", url.Values{"interaction": {res.Request.URL.Query().Get("interaction")},
		"username": {"alice"}, "password": {"wonderland"}})
	res.Body.Close()
	callback, _ := url.Parse(res.Header.Get("Location"))
	fmt.Println("back at", strings.SplitN(callback.String(), "?", 2)[0], "with state", callback.Query().Get("state"))

	tok, err := rp.Exchange(ctx, callback.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		log.Fatal(err)
	}
	idToken, err := op.Verifier(&oidc.Config{ClientID: web.ID}).Verify(ctx, tok.Extra("id_token").(string))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("signed in:", idToken.Subject, "nonce", idToken.Nonce)
	// Output:
	// back at https://web.example/callback with state xyz
	// signed in: user-1001 nonce n-1
}
