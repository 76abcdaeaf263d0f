package signin_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"

	"github.com/tokengate/tokengate/provider"
	"github.com/tokengate/tokengate/provider/signin"
	"github.com/tokengate/tokengate/provider/users"
)

// The built-in pages on the provider's origin, as "tokengate serve" mounts
// them: the provider sends the browser to LoginURL, the pages sign the user
// in from the user directory, and the directory's claims serve userinfo.
func ExampleHandler() {
	ctx := context.Background()
	dir, _ := users.New(users.Config{Store: users.NewMemory()})
	dir.Create(ctx, "alice", "correct horse battery", users.Profile{Name: "Alice"})

	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	p, err := provider.New(provider.Config{Issuer: srv.URL, LoginURL: srv.URL + "/signin", Claims: dir.Claims})
	if err != nil {
		panic(err)
	}
	defer p.Close()
	pages, err := signin.New(signin.Config{Provider: p, Users: dir})
	if err != nil {
		panic(err)
	}
	mux.Handle("/signin", pages)
	mux.Handle("/signin/", pages)
	mux.Handle("/", p)

	app, _, _ := p.Admin().RegisterClient(ctx, provider.ClientSpec{
		Name: "Orders web", Public: true, Scopes: []string{"openid"},
		RedirectURIs: []string{"http://127.0.0.1:8081/callback"},
	})
	// A browser that opens an authorization request lands on the login page.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	resp, err := browser.Get(srv.URL + "/authorize?" + url.Values{
		"response_type": {"code"}, "client_id": {app.ID}, "scope": {"openid"},
		"redirect_uri":   {"http://127.0.0.1:8081/callback"},
		"code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"},
	}.Encode())
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, resp.Request.URL.Path)
	fmt.Printf("%s\n", regexp.MustCompile(`<title>.*</title>`).Find(page))
	fmt.Printf("%s\n", regexp.MustCompile(`<input id="password"[^>]*>`).Find(page))
	// Output:
	// 200 /signin
	// <title>Sign in to Orders web</title>
	// <input id="password" name="password" type="password" autocomplete="current-password" required>
}
