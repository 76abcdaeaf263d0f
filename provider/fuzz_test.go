package provider_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/provider"
	"github.com/tokengate/tokengate/provider/store"
)

// FuzzEndpoints sends arbitrary bodies and Authorization headers to the
// token, introspection and revocation endpoints: the provider must never
// panic, must answer JSON with Cache-Control: no-store, and must never
// issue a token or disclose an active verdict to an unauthenticated caller.
func FuzzEndpoints(f *testing.F) {
	ctx := f.Context()
	p, err := provider.New(provider.Config{Issuer: "http://127.0.0.1", KeyAlgorithms: []string{provider.AlgEdDSA}})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { p.Close() })
	app, secret, err := p.Admin().RegisterClient(ctx, provider.ClientSpec{Scopes: []string{"read"}, Resources: []string{"https://api.example/"}, Introspection: store.IntrospectAny})
	if err != nil {
		f.Fatal(err)
	}
	tok, err := p.Mint(ctx, provider.MintRequest{ClientID: app.ID, Scopes: []string{"read"}})
	if err != nil {
		f.Fatal(err)
	}
	auth := basicHeader(app.ID, secret)
	f.Add(uint8(0), "grant_type=client_credentials", auth)
	f.Add(uint8(0), "grant_type=client_credentials&scope=read&resource=https%3A%2F%2Fapi.example%2F", auth)
	f.Add(uint8(0), "grant_type=client_credentials&client_id="+app.ID+"&client_secret="+secret, "")
	f.Add(uint8(1), "token="+tok, auth)
	f.Add(uint8(1), "token="+tok+"&token_type_hint=access_token", "Bearer "+tok)
	f.Add(uint8(1), "token=%zz", "Basic %%%")
	f.Add(uint8(2), "token="+tok, auth)
	f.Add(uint8(0), "grant_type=client_credentials&grant_type=x", "Basic Og==")
	paths := []string{"/token", "/introspect", "/revoke"}
	f.Fuzz(func(t *testing.T, which uint8, body, authz string) {
		path := paths[int(which)%len(paths)]
		r := httptest.NewRequest(http.MethodPost, path, bytes.NewReader([]byte(body)))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if authz != "" {
			r.Header.Set("Authorization", authz)
		}
		w := httptest.NewRecorder()
		p.ServeHTTP(w, r)
		if w.Header().Get("Cache-Control") != "no-store" {
			t.Fatalf("%s: no Cache-Control: no-store", path)
		}
		if path == "/revoke" && w.Code == 200 {
			return
		}
		var m map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
			t.Fatalf("%s answered %d with non-JSON %q", path, w.Code, w.Body.String())
		}
		authenticated := authz == auth || bytes.Contains([]byte(body), []byte(secret)) || (authz == "Bearer "+tok)
		if w.Code == 200 && !authenticated {
			if _, ok := m["access_token"]; ok {
				t.Fatalf("token issued without credentials: %q %q", body, authz)
			}
			if m["active"] == true {
				t.Fatalf("active verdict without credentials: %q %q", body, authz)
			}
		}
		if w.Code >= 400 {
			if _, ok := m["error"].(string); !ok {
				t.Fatalf("%d without error member: %s", w.Code, w.Body.String())
			}
		}
	})
}

// FuzzAuthorizationRequest sends arbitrary query strings and form bodies
// to the authorization endpoint of a provider with one registered client:
// it must never fail with a server error, never answer without
// Cache-Control: no-store, never frame a page, and never redirect anywhere
// but to the application's login page or, with an error (no browser here
// is signed in), to the client's registered redirect URI. Seeds in
// testdata/fuzz/FuzzAuthorizationRequest.
func FuzzAuthorizationRequest(f *testing.F) {
	ctx := f.Context()
	p, err := provider.New(provider.Config{Issuer: "http://127.0.0.1", KeyAlgorithms: []string{provider.AlgEdDSA},
		LoginURL: "/app/login", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { p.Close() })
	c, _, err := p.Admin().RegisterClient(ctx, provider.ClientSpec{Scopes: []string{"read"},
		RedirectURIs: []string{"https://rp.example/cb", "http://127.0.0.1/cb"}})
	if err != nil {
		f.Fatal(err)
	}
	good := url.Values{"response_type": {"code"}, "client_id": {c.ID}, "redirect_uri": {"https://rp.example/cb"},
		"scope": {"openid read"}, "state": {"s"}, "code_challenge": {challenge(strings.Repeat("v", 43))},
		"code_challenge_method": {"S256"}}.Encode()
	f.Add(false, good)
	f.Add(true, good)
	f.Add(false, good+"&prompt=none")
	f.Add(false, good+"&prompt=login%20consent&max_age=0&nonce=n&ui_locales=fr")
	f.Add(false, strings.Replace(good, "rp.example", "127.0.0.1:9", 1))
	f.Add(false, good+"&request=x&request_uri=y")
	f.Add(false, good+"&"+good)
	f.Add(true, "client_id="+c.ID+"&redirect_uri=%ff")
	f.Fuzz(func(t *testing.T, post bool, raw string) {
		var r *http.Request
		if post {
			r = httptest.NewRequest(http.MethodPost, "/authorize", strings.NewReader(raw))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		} else {
			r = httptest.NewRequest(http.MethodGet, "/authorize", nil)
			r.URL.RawQuery = raw
		}
		w := httptest.NewRecorder()
		p.ServeHTTP(w, r)
		h := w.Header()
		if w.Code >= 500 {
			t.Fatalf("%d for %q", w.Code, raw)
		}
		if h.Get("Cache-Control") != "no-store" {
			t.Fatalf("%d without Cache-Control: no-store for %q", w.Code, raw)
		}
		if strings.HasPrefix(h.Get("Content-Type"), "text/html") && h.Get("X-Frame-Options") != "DENY" {
			t.Fatalf("a page without X-Frame-Options for %q", raw)
		}
		if w.Code/100 != 3 {
			return
		}
		loc, err := url.Parse(h.Get("Location"))
		if err != nil {
			t.Fatalf("unparsable Location %q", h.Get("Location"))
		}
		switch {
		case loc.Host == "" && loc.Path == "/app/login":
		case (loc.Host == "rp.example" && loc.Path == "/cb") || (loc.Hostname() == "127.0.0.1" && loc.Path == "/cb" && loc.Scheme == "http"):
			if q := loc.Query(); q.Get("error") == "" || q.Get("iss") != "http://127.0.0.1" || q.Has("code") {
				t.Fatalf("redirect to the client %v for %q", loc, raw)
			}
		default:
			t.Fatalf("redirected to %v for %q", loc, raw)
		}
	})
}

// FuzzEventsEndpoint sends arbitrary bodies to the revocation events
// endpoint as an authenticated client: the provider must never panic, and
// must answer JSON with Cache-Control: no-store — a poll response with a
// cursor, or an RFC 8936 §2.6 error. A poll it holds (nothing to send) is
// cut short by the request's context and answers nothing.
func FuzzEventsEndpoint(f *testing.F) {
	ctx := f.Context()
	p, err := provider.New(provider.Config{Issuer: "http://127.0.0.1", KeyAlgorithms: []string{provider.AlgEdDSA},
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { p.Close() })
	rs, secret, err := p.Admin().RegisterClient(ctx, provider.ClientSpec{Introspection: store.IntrospectAny})
	if err != nil {
		f.Fatal(err)
	}
	for range 3 {
		tok, err := p.Mint(ctx, provider.MintRequest{ClientID: rs.ID})
		if err != nil {
			f.Fatal(err)
		}
		if err := p.Revoke(ctx, tok); err != nil {
			f.Fatal(err)
		}
	}
	auth := basicHeader(rs.ID, secret)
	for _, seed := range []string{`{"returnImmediately":true}`, `{"returnImmediately":true,"maxEvents":1,"cursor":"x:1"}`,
		`{"returnImmediately":true,"maxEvents":0}`, `{"returnImmediately":true,"ack":["a"],"setErrs":{"a":{"err":"invalid_key","description":"d"}}}`,
		`{"maxEvents":-1}`, `{"cursor":":99999999999999999999"}`, `[]`, `{"maxEvents":1e3}`, `{"returnImmediately":true,"cursor":"\u0000:1"}`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		r := httptest.NewRequestWithContext(ctx, http.MethodPost, "/events", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Authorization", auth)
		w := httptest.NewRecorder()
		p.ServeHTTP(w, r)
		if w.Body.Len() == 0 && ctx.Err() != nil {
			return // held until the receiver went away
		}
		if w.Header().Get("Cache-Control") != "no-store" {
			t.Fatalf("no Cache-Control: no-store: %d %q", w.Code, w.Body.String())
		}
		var m map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
			t.Fatalf("answered %d with non-JSON %q", w.Code, w.Body.String())
		}
		switch _, hasCursor := m["cursor"].(string); {
		case w.Code == 200 && (!hasCursor || m["sets"] == nil):
			t.Fatalf("200 without sets and cursor: %s", w.Body.String())
		case w.Code != 200 && w.Code != 400 && w.Code != 413:
			t.Fatalf("answered %d to %q", w.Code, body)
		case w.Code != 200 && m["err"] == nil:
			t.Fatalf("%d without err member: %s", w.Code, w.Body.String())
		}
	})
}
