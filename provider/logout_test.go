package provider_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/tokengate/tokengate/provider"
	"github.com/tokengate/tokengate/provider/store"
)

// events records an Observer's events.
type events struct {
	mu    sync.Mutex // guards kinds
	kinds []provider.EventKind
}

func (o *events) Observe(e provider.Event) {
	o.mu.Lock()
	o.kinds = append(o.kinds, e.Kind)
	o.mu.Unlock()
}

func (o *events) count(k provider.EventKind) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, x := range o.kinds {
		if x == k {
			n++
		}
	}
	return n
}

var hiddenField = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// formFields returns the hidden fields of a page.
func formFields(body string) url.Values {
	v := url.Values{}
	for _, m := range hiddenField.FindAllStringSubmatch(body, -1) {
		v.Set(m[1], strings.ReplaceAll(m[2], "&#43;", "+"))
	}
	return v
}

// signedIn reports whether b's session is alive: an authorization with
// prompt=none gets a code.
func (e *signInEnv) signedIn(b *browser, r rp) bool {
	e.t.Helper()
	v := e.authorize(b, r.authorizeQuery("prompt", "none"))
	if v.location == nil {
		e.t.Fatalf("prompt=none: %d %s", v.status, v.body)
	}
	return v.location.Query().Get("code") != ""
}

// TestLogout: RP-initiated logout 1.0. With the ID token as hint the
// session ends at once and the browser goes back to the registered
// post-logout URI with state; without a hint the user is asked, on a page
// whose form carries a CSRF token; an unregistered URI, a client_id that
// is not the hint's, or a hint that is not our ID token get an error page
// and change nothing.
func TestLogout(t *testing.T) {
	obs := &events{}
	var ended [][2]string
	e := newSignInEnv(t, store.NewMemory(), func(c *provider.Config) {
		c.Observer = obs
		c.AfterEndSession = func(_ context.Context, subject, clientID string) { ended = append(ended, [2]string{subject, clientID}) }
	})
	r := e.newRP(provider.ClientSpec{PostLogoutRedirectURIs: []string{"https://rp.example/bye"}})
	jwtApp := e.register(provider.ClientSpec{JWTAccessTokens: true, Resources: []string{"https://api.example/"}})
	b := e.newBrowser()
	_, _, idToken := e.exchange(r, e.signIn(b, r)).tokens(t)
	logout := func(b *browser, method string, v url.Values) visit {
		t.Helper()
		if method == http.MethodPost {
			return b.do(http.MethodPost, e.issuer+"/logout", v.Encode())
		}
		return b.get(e.issuer + "/logout?" + v.Encode())
	}

	for _, tc := range []struct {
		name string
		v    url.Values
	}{
		{"unregistered post_logout_redirect_uri", url.Values{"id_token_hint": {idToken}, "post_logout_redirect_uri": {"https://evil.example/"}}},
		{"post_logout_redirect_uri without a client", url.Values{"post_logout_redirect_uri": {"https://rp.example/bye"}}},
		{"client_id not the hint's", url.Values{"id_token_hint": {idToken}, "client_id": {jwtApp.id}}},
		{"hint not a JWT", url.Values{"id_token_hint": {"garbage"}}},
		{"hint an access token", url.Values{"id_token_hint": {e.token(jwtApp)}}},
		{"hint tampered", url.Values{"id_token_hint": {idToken[:len(idToken)-4] + "AAAA"}}},
		{"duplicated state", url.Values{"client_id": {r.client.id}, "state": {"a", "b"}}},
	} {
		v := logout(b, http.MethodGet, tc.v)
		if v.status != http.StatusBadRequest || v.location != nil || v.header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: %d %v, want an error page", tc.name, v.status, v.location)
		}
	}
	if !e.signedIn(b, r) {
		t.Fatal("a refused logout request ended the session")
	}

	// Without a hint: asked first. A post without the page's token, or
	// with another session's, changes nothing; "stay" neither.
	v := logout(b, http.MethodGet, url.Values{"client_id": {r.client.id}, "post_logout_redirect_uri": {"https://rp.example/bye"}, "state": {"s1"}})
	fields := formFields(v.body)
	if v.status != http.StatusOK || fields.Get("csrf_token") == "" || fields.Get("post_logout_redirect_uri") != "https://rp.example/bye" ||
		!strings.Contains(v.body, "Relying Party asks to sign you out") {
		t.Fatalf("confirmation page: %d %v\n%s", v.status, fields, v.body)
	}
	forged := url.Values{"decision": {"logout"}, "client_id": {r.client.id}}
	if v := logout(b, http.MethodPost, forged); v.status != http.StatusForbidden {
		t.Errorf("a logout post without the CSRF token: %d, want 403", v.status)
	}
	forged.Set("csrf_token", strings.Repeat("A", 43))
	if v := logout(b, http.MethodPost, forged); v.status != http.StatusForbidden {
		t.Errorf("a logout post with a wrong CSRF token: %d, want 403", v.status)
	}
	stay := fields
	stay.Set("decision", "stay")
	if v := logout(b, http.MethodPost, stay); v.status != http.StatusOK || !e.signedIn(b, r) {
		t.Errorf("stay signed in: %d, signed in %v", v.status, e.signedIn(b, r))
	}
	fields.Set("decision", "logout")
	v = logout(b, http.MethodPost, fields)
	if v.location == nil || v.location.String() != "https://rp.example/bye?state=s1" {
		t.Fatalf("confirmed logout: %d %v", v.status, v.location)
	}
	if e.signedIn(b, r) {
		t.Error("still signed in after logout")
	}

	// With a hint: no question.
	e.signIn(b, r)
	v = logout(b, http.MethodGet, url.Values{"id_token_hint": {idToken}})
	if v.status != http.StatusOK || !strings.Contains(v.body, "You are signed out") || e.signedIn(b, r) {
		t.Errorf("logout with a hint: %d %s", v.status, v.body)
	}
	// A hint of another user than the one signed in: asked.
	e.app.login = func(*provider.Interaction) provider.Login { return provider.Login{Subject: "bob-sub"} }
	e.signIn(b, r)
	if v := logout(b, http.MethodGet, url.Values{"id_token_hint": {idToken}}); formFields(v.body).Get("csrf_token") == "" {
		t.Errorf("a hint for alice while bob is signed in: %d, want the question", v.status)
	}
	if n := obs.count(provider.EventLogout); n != 2 || !slices.Equal(ended, [][2]string{{"alice-sub", r.client.id}, {"alice-sub", r.client.id}}) {
		t.Errorf("%d logout events, AfterEndSession %v", n, ended)
	}
}
