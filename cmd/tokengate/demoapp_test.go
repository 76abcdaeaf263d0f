package main

import (
	"context"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/httpserver"
)

// startTestDemo starts the demo on free ports until the test ends.
func startTestDemo(t *testing.T) *demo {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	d, err := startDemo(ctx, demoConfig{asAddr: "127.0.0.1:0", apiAddr: "127.0.0.1:0", appAddr: "127.0.0.1:0", dir: t.TempDir(),
		logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		httpserver.Serve(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)), d.servers...)
		close(done)
	}()
	t.Cleanup(func() { cancel(); <-done; d.close() })
	return d
}

// TestDemoWebAppSignsIn: a browser without JavaScript clicks "Sign in" in
// the demo's web app, logs in as the printed demo user, allows the app,
// and sees the orders API's answer to the user's own token and the user's
// name from the ID token; signing in again needs no password (the
// provider's session); "Sign out" forgets the user.
func TestDemoWebAppSignsIn(t *testing.T) {
	d := startTestDemo(t)
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	get := func(u string) (*http.Response, string) {
		t.Helper()
		resp, err := browser.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	submit := func(resp *http.Response, page string, fill func(url.Values)) (*http.Response, string) {
		t.Helper()
		form := url.Values{}
		for _, m := range hiddenInput.FindAllStringSubmatch(page, -1) {
			form.Set(m[1], html.UnescapeString(m[2]))
		}
		fill(form)
		r, err := browser.PostForm(resp.Request.URL.String(), form)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return r, string(b)
	}

	resp, page := get(d.appURL)
	if !strings.Contains(page, `<a class="button" id="sign-in" href="/login">Sign in</a>`) {
		t.Fatalf("the app's home page:\n%s", page)
	}
	resp, page = get(d.appURL + "/login")
	if resp.Request.URL.Path != "/signin" || !strings.Contains(page, "Sign in to demo web app") {
		t.Fatalf("Sign in led to %s:\n%s", resp.Request.URL.Path, page)
	}
	resp, page = submit(resp, page, func(f url.Values) { f.Set("username", demoUsername); f.Set("password", d.password) })
	if !strings.Contains(page, "demo web app</strong> asks to:") {
		t.Fatalf("after logging in, %s:\n%s", resp.Request.URL.Path, page)
	}
	resp, page = submit(resp, page, func(f url.Values) { f.Set("decision", "approve") })
	if resp.Request.URL.String() != d.appURL+"/" {
		t.Fatalf("after allowing, at %s:\n%s", resp.Request.URL.Redacted(), page)
	}
	for _, want := range []string{
		`Signed in as <strong id="name">Dana Demo</strong> (demo).`,
		`The orders API answered <strong id="api-status">200</strong>`,
		`&#34;username&#34;: &#34;demo&#34;`,
		`ord_1001`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the signed-in page lacks %s:\n%s", want, page)
		}
	}
	// A second sign-in needs no password: the provider's session (SSO).
	resp, _ = get(d.appURL + "/login")
	if resp.Request.URL.String() != d.appURL+"/" {
		t.Errorf("signing in again led to %s, want back to the app at once", resp.Request.URL.Redacted())
	}
	// Sign out: the app forgets the user (and sends the browser to the
	// provider's end_session_endpoint when its metadata names one).
	get(d.appURL + "/logout")
	if _, home := get(d.appURL); !strings.Contains(home, `id="sign-in"`) {
		t.Errorf("after signing out the app still knows the user:\n%s", home)
	}
}
