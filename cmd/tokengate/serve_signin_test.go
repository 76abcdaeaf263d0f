package main

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`)

// browse is a browser without JavaScript: it follows redirects until one
// leads to stop, which it returns, and answers each form with fill.
func browse(t *testing.T, start, stop string, fill func(page string, form url.Values)) *url.URL {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest(http.MethodGet, start, nil)
	for range 10 {
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusSeeOther || resp.StatusCode == http.StatusFound:
			loc, _ := req.URL.Parse(resp.Header.Get("Location"))
			if strings.HasPrefix(loc.String(), stop) {
				return loc
			}
			req, _ = http.NewRequest(http.MethodGet, loc.String(), nil)
		case resp.StatusCode == http.StatusOK:
			form := url.Values{}
			for _, m := range hiddenInput.FindAllStringSubmatch(string(body), -1) {
				form.Set(m[1], html.UnescapeString(m[2]))
			}
			fill(string(body), form)
			req, _ = http.NewRequest(http.MethodPost, req.URL.String(), strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		default:
			t.Fatalf("%s %s: %d\n%s", req.Method, req.URL.Path, resp.StatusCode, body)
		}
	}
	t.Fatal("no end of redirects")
	return nil
}

// TestServeSignsUsersIn: "tokengate serve" shows its built-in pages to a
// user created with "tokengate user create", for a client registered with
// "tokengate client create --redirect-uri", and sends the browser back
// with a code; --templates replaces a page.
func TestServeSignsUsersIn(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "tokengate.db")
	runCLI(t, "correct horse\n", nil, "user", "create", "--db", db, "--username", "alice", "--name", "Alice Liddell", "--password-stdin").check(t, exitOK, "sub:", "")
	const callback = "http://127.0.0.1:9/callback"
	id, secret := createClient(t, db, "--name", "Orders web", "--scopes", "openid profile", "--redirect-uri", callback)
	templates := filepath.Join(dir, "templates")
	os.Mkdir(templates, 0o700)
	os.WriteFile(filepath.Join(templates, "consent.html"), []byte(`{{define "consent"}}<p>Our own consent page for {{.Client.Name}}</p>`+
		`<form method="post"><input type="hidden" name="interaction" value="{{.Interaction}}">`+
		`<input type="hidden" name="csrf_token" value="{{.CSRFToken}}"></form>{{end}}`), 0o600)
	issuer, stop := startServe(t, "--addr", "127.0.0.1:0", "--db", db, "--templates", templates)

	rsID, rsSecret := createClient(t, db, "--name", "gateway", "--introspect-any")
	cfg := oauth2.Config{ClientID: id, ClientSecret: secret, RedirectURL: callback, Scopes: []string{"openid", "profile"},
		Endpoint: oauth2.Endpoint{AuthURL: issuer + "/authorize", TokenURL: issuer + "/token", AuthStyle: oauth2.AuthStyleInHeader}}
	verifier := oauth2.GenerateVerifier()
	var pages []string
	back := browse(t, cfg.AuthCodeURL("s1", oauth2.S256ChallengeOption(verifier)), callback, func(page string, form url.Values) {
		pages = append(pages, page)
		if strings.Contains(page, `name="password"`) {
			form.Set("username", "alice")
			form.Set("password", "correct horse")
		} else {
			form.Set("decision", "approve")
		}
	})
	if len(pages) != 2 || !strings.Contains(pages[0], "Sign in to Orders web") || !strings.Contains(pages[1], "Our own consent page for Orders web") {
		t.Errorf("the pages were %q", pages)
	}
	if q := back.Query(); q.Get("code") == "" || q.Get("state") != "s1" || q.Get("iss") != issuer {
		t.Errorf("back at the client with %v", q)
	}
	tok, err := cfg.Exchange(context.Background(), back.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	introspect := func() result {
		return runCLI(t, tok.AccessToken+"\n", nil, "introspect", "--issuer", issuer, "--client-id", rsID, "--client-secret", rsSecret, "-")
	}
	introspect().check(t, exitOK, `"username": "alice"`, "")

	// The consent is remembered, listed, and revoked with the user's tokens.
	runCLI(t, "", nil, "consent", "list", "--db", db, "--user", "alice").check(t, exitOK, id+"  openid profile", "")
	runCLI(t, "", nil, "consent", "revoke", "--db", db, "--user", "alice", "--client", id).check(t, exitOK, "revoked the consent of alice to "+id+": 1 tokens revoked", "")
	introspect().check(t, exitFailure, `"active": false`, "")
	runCLI(t, "", nil, "consent", "list", "--db", db, "--user", "alice", "--json").check(t, exitOK, "[]", "")
	runCLI(t, "", nil, "consent", "list", "--db", db, "--user", "nobody").check(t, exitFailure, "", `no user "nobody"`)
	runCLI(t, "", nil, "consent", "list", "--db", db).check(t, exitUsage, "", "give --user USERNAME")
	runCLI(t, "", nil, "consent", "revoke", "--db", db, "--user", "alice", "--sub", "x").check(t, exitUsage, "", "not both")

	// Deleting the user revokes the tokens of a new sign-in too.
	verifier = oauth2.GenerateVerifier()
	back = browse(t, cfg.AuthCodeURL("s2", oauth2.S256ChallengeOption(verifier)), callback, func(page string, form url.Values) {
		form.Set("username", "alice")
		form.Set("password", "correct horse")
		form.Set("decision", "approve")
	})
	if tok, err = cfg.Exchange(context.Background(), back.Query().Get("code"), oauth2.VerifierOption(verifier)); err != nil {
		t.Fatal(err)
	}
	introspect().check(t, exitOK, `"active": true`, "")
	runCLI(t, "", nil, "user", "delete", "--db", db, "alice").check(t, exitOK, "deleted alice (sub ", "")
	introspect().check(t, exitFailure, `"active": false`, "")

	code, logs := stop()
	if code != exitOK {
		t.Errorf("serve exited with %d", code)
	}
	for _, secret := range []string{"correct horse", back.Query().Get("code"), "interaction="} {
		if strings.Contains(logs, secret) {
			t.Errorf("the logs hold %q:\n%s", secret, logs)
		}
	}
}

func TestServeRefusesBadTemplates(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "login.html"), []byte(`{{define "login"}}{{.NoSuchField}}{{end}}`), 0o600)
	r := runCLI(t, "", nil, "serve", "--addr", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "x.db"), "--templates", dir)
	if r.code != exitFailure || !strings.Contains(r.stderr, `template "login"`) {
		t.Errorf("code %d, stderr %q", r.code, r.stderr)
	}
}
