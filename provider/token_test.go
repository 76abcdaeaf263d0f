package provider_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/provider"
	"github.com/tokengate/tokengate/provider/store"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

func TestTokenEndpoint(t *testing.T) {
	e := newEnv(t, store.NewMemory())
	app := e.register(provider.ClientSpec{Name: "app", Scopes: []string{"read", "write"},
		Resources: []string{"https://api.example/", "https://other.example/"}, TokenLifetime: 10 * time.Minute})
	pub := e.register(provider.ClientSpec{Public: true})
	// A client whose secret is not URL-safe, as one imported from elsewhere
	// might be: the raw and form-urlencoded Basic readings differ.
	odd := "odd-client"
	oddSecret := "a+b%zz/c=d"
	if err := e.p.Store().CreateClient(context.Background(), &store.Client{ID: odd, SecretHash: store.Hash(oddSecret),
		GrantTypes: []string{"client_credentials"}, Scopes: []string{"read"}}); err != nil {
		t.Fatal(err)
	}
	grant := "grant_type=client_credentials"
	upperSecret := strings.ToUpper(app.secret[:len(provider.ClientSecretPrefix)]) + swapCase(app.secret[len(provider.ClientSecretPrefix):])

	tests := []struct {
		name       string
		r          req
		wantStatus int
		wantError  string // RFC 6749 §5.2 code; "" for success
		wantScope  string
		wantBasic  bool // WWW-Authenticate: Basic expected
	}{
		{name: "basic", r: req{basic: basic(app.id, app.secret), form: grant}, wantStatus: 200, wantScope: "read write"},
		{name: "post", r: req{form: grant + "&client_id=" + app.id + "&client_secret=" + app.secret}, wantStatus: 200, wantScope: "read write"},
		{name: "scope narrowed", r: req{basic: basic(app.id, app.secret), form: grant + "&scope=read"}, wantStatus: 200, wantScope: "read"},
		{name: "scope repeated inside", r: req{basic: basic(app.id, app.secret), form: grant + "&scope=read+read"}, wantStatus: 200, wantScope: "read"},
		{name: "basic with client_id in body", r: req{basic: basic(app.id, app.secret), form: grant + "&client_id=" + app.id}, wantStatus: 200, wantScope: "read write"},
		{name: "raw basic secret (DOT 1.7)", r: req{rawAuth: rawBasicHeader(odd, oddSecret), form: grant}, wantStatus: 200, wantScope: "read"},
		{name: "encoded basic secret", r: req{basic: basic(odd, oddSecret), form: grant}, wantStatus: 200, wantScope: "read"},
		{name: "resource registered", r: req{basic: basic(app.id, app.secret), form: grant + "&resource=https%3A%2F%2Fapi.example%2F"}, wantStatus: 200, wantScope: "read write"},
		{name: "two resources", r: req{basic: basic(app.id, app.secret), form: grant + "&resource=https%3A%2F%2Fapi.example%2F&resource=https%3A%2F%2Fother.example%2F"}, wantStatus: 200, wantScope: "read write"},

		{name: "scope not allowed", r: req{basic: basic(app.id, app.secret), form: grant + "&scope=read+admin"}, wantStatus: 400, wantError: "invalid_scope"},
		{name: "malformed scope", r: req{basic: basic(app.id, app.secret), form: grant + "&scope=%22quoted%22"}, wantStatus: 400, wantError: "invalid_scope"},
		{name: "resource not registered", r: req{basic: basic(app.id, app.secret), form: grant + "&resource=https%3A%2F%2Fevil.example%2F"}, wantStatus: 400, wantError: "invalid_target"},
		{name: "resource with fragment", r: req{basic: basic(app.id, app.secret), form: grant + "&resource=https%3A%2F%2Fapi.example%2F%23x"}, wantStatus: 400, wantError: "invalid_target"},
		{name: "resource relative", r: req{basic: basic(app.id, app.secret), form: grant + "&resource=%2Fapi"}, wantStatus: 400, wantError: "invalid_target"},
		{name: "wrong secret", r: req{basic: basic(app.id, app.secret+"x"), form: grant}, wantStatus: 401, wantError: "invalid_client", wantBasic: true},
		{name: "secret with wrong case", r: req{basic: basic(app.id, upperSecret), form: grant}, wantStatus: 401, wantError: "invalid_client", wantBasic: true},
		{name: "wrong secret post", r: req{form: grant + "&client_id=" + app.id + "&client_secret=nope"}, wantStatus: 401, wantError: "invalid_client", wantBasic: true},
		{name: "unknown client", r: req{basic: basic("tgc_nobody", app.secret), form: grant}, wantStatus: 401, wantError: "invalid_client", wantBasic: true},
		{name: "no authentication", r: req{form: grant}, wantStatus: 401, wantError: "invalid_client", wantBasic: true},
		{name: "public client", r: req{form: grant + "&client_id=" + pub.id}, wantStatus: 401, wantError: "invalid_client", wantBasic: true},
		{name: "both basic and post", r: req{basic: basic(app.id, app.secret), form: grant + "&client_id=" + app.id + "&client_secret=" + app.secret}, wantStatus: 400, wantError: "invalid_request"},
		{name: "basic and other client_id in body", r: req{basic: basic(app.id, app.secret), form: grant + "&client_id=someone"}, wantStatus: 400, wantError: "invalid_request"},
		{name: "malformed basic", r: req{rawAuth: "Basic !!!", form: grant}, wantStatus: 401, wantError: "invalid_client", wantBasic: true},
		{name: "basic without colon", r: req{rawAuth: "Basic Zm9v", form: grant}, wantStatus: 401, wantError: "invalid_client", wantBasic: true},
		{name: "other auth scheme", r: req{rawAuth: "Digest x", form: grant}, wantStatus: 401, wantError: "invalid_client", wantBasic: true},
		{name: "missing grant_type", r: req{basic: basic(app.id, app.secret), form: "scope=read"}, wantStatus: 400, wantError: "invalid_request"},
		{name: "unknown grant type", r: req{basic: basic(app.id, app.secret), form: "grant_type=urn:example:magic"}, wantStatus: 400, wantError: "unsupported_grant_type"},
		{name: "password grant", r: req{basic: basic(app.id, app.secret), form: "grant_type=password&username=a&password=b"}, wantStatus: 400, wantError: "unsupported_grant_type"},
		{name: "refresh grant of a client credentials client", r: req{basic: basic(app.id, app.secret), form: "grant_type=refresh_token&refresh_token=x"}, wantStatus: 400, wantError: "unauthorized_client"},
		{name: "duplicated grant_type", r: req{basic: basic(app.id, app.secret), form: grant + "&" + grant}, wantStatus: 400, wantError: "invalid_request"},
		{name: "duplicated scope", r: req{basic: basic(app.id, app.secret), form: grant + "&scope=read&scope=write"}, wantStatus: 400, wantError: "invalid_request"},
		{name: "duplicated client_secret", r: req{form: grant + "&client_id=" + app.id + "&client_secret=" + app.secret + "&client_secret=" + app.secret}, wantStatus: 400, wantError: "invalid_request"},
		{name: "json body", r: req{basic: basic(app.id, app.secret), contentType: "application/json", form: `{"grant_type":"client_credentials"}`}, wantStatus: 400, wantError: "invalid_request"},
		{name: "no content type", r: req{basic: basic(app.id, app.secret), contentType: "text/plain", form: grant}, wantStatus: 400, wantError: "invalid_request"},
		{name: "malformed form", r: req{basic: basic(app.id, app.secret), form: grant + "&scope=%zz"}, wantStatus: 400, wantError: "invalid_request"},
		{name: "huge body", r: req{basic: basic(app.id, app.secret), form: grant + "&scope=" + strings.Repeat("a", 100<<10)}, wantStatus: 413, wantError: "invalid_request"},
		{name: "GET", r: req{method: "GET", basic: basic(app.id, app.secret)}, wantStatus: 405, wantError: "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.r.path = "/token"
			a := e.do(tt.r)
			if a.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", a.status, tt.wantStatus, a.body)
			}
			if got := a.header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", got)
			}
			if ct := a.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			m := a.json(t)
			if gotBasic := strings.HasPrefix(a.header.Get("WWW-Authenticate"), "Basic realm="); gotBasic != tt.wantBasic {
				t.Errorf("WWW-Authenticate = %q, want Basic challenge: %v", a.header.Get("WWW-Authenticate"), tt.wantBasic)
			}
			if tt.wantError != "" {
				if m["error"] != tt.wantError {
					t.Errorf("error = %v, want %s", m["error"], tt.wantError)
				}
				if _, ok := m["access_token"]; ok {
					t.Error("error answer carries an access_token")
				}
				return
			}
			tok, _ := m["access_token"].(string)
			if !strings.HasPrefix(tok, provider.AccessTokenPrefix) || len(tok) != len(provider.AccessTokenPrefix)+43 {
				t.Errorf("access_token = %q, want tg_at_ and 256 bits base64url", tok)
			}
			if m["token_type"] != "Bearer" || m["scope"] != tt.wantScope {
				t.Errorf("answer = %v, want Bearer with scope %q", m, tt.wantScope)
			}
			if _, ok := m["refresh_token"]; ok {
				t.Error("client credentials answer carries a refresh token (RFC 6749 §4.4.3)")
			}
		})
	}
}

// swapCase flips the case of every letter.
func swapCase(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z':
			b[i] = c - 32
		case c >= 'A' && c <= 'Z':
			b[i] = c + 32
		}
	}
	return string(b)
}

func TestTokenAudienceAndLifetime(t *testing.T) {
	e := newEnv(t, store.NewMemory())
	app := e.register(provider.ClientSpec{Scopes: []string{"read"}, Resources: []string{"https://a.example/", "https://b.example/"}, TokenLifetime: 90 * time.Second})
	rs := e.register(provider.ClientSpec{Introspection: store.IntrospectAny})

	a := e.do(req{path: "/token", basic: basic(app.id, app.secret), form: form("grant_type", "client_credentials")})
	if got := a.json(t)["expires_in"]; got != float64(90) {
		t.Errorf("expires_in = %v, want 90", got)
	}
	m := e.introspect(rs, e.token(app)).json(t)
	if aud, _ := m["aud"].([]any); len(aud) != 2 {
		t.Errorf("default aud = %v, want both registered resources", m["aud"])
	}
	m = e.introspect(rs, e.token(app, "resource", "https://b.example/")).json(t)
	if m["aud"] != "https://b.example/" {
		t.Errorf("aud = %v, want https://b.example/", m["aud"])
	}
	if exp, iat := m["exp"].(float64), m["iat"].(float64); exp-iat != 90 {
		t.Errorf("exp-iat = %v, want 90", exp-iat)
	}
}

func TestClientCredentialsLibrary(t *testing.T) {
	e := newEnv(t, store.NewMemory())
	app := e.register(provider.ClientSpec{Scopes: []string{"read", "write"}, Resources: []string{"https://api.example/"}})
	for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams} {
		cfg := clientcredentials.Config{
			ClientID: app.id, ClientSecret: app.secret, TokenURL: e.issuer + "/token", Scopes: []string{"read"},
			EndpointParams: map[string][]string{"resource": {"https://api.example/"}}, AuthStyle: style,
		}
		ctx := context.WithValue(context.Background(), oauth2.HTTPClient, e.srv.Client())
		tok, err := cfg.Token(ctx)
		if err != nil {
			t.Fatalf("style %d: %v", style, err)
		}
		if !strings.HasPrefix(tok.AccessToken, provider.AccessTokenPrefix) || tok.TokenType != "Bearer" || tok.Expiry.IsZero() || tok.RefreshToken != "" {
			t.Errorf("style %d: token = %+v", style, tok)
		}
		if tok.Extra("scope") != "read" {
			t.Errorf("scope = %v", tok.Extra("scope"))
		}
	}
	bad := clientcredentials.Config{ClientID: app.id, ClientSecret: "wrong", TokenURL: e.issuer + "/token"}
	_, err := bad.Token(context.WithValue(context.Background(), oauth2.HTTPClient, e.srv.Client()))
	var re *oauth2.RetrieveError
	if !errorsAs(err, &re) || re.ErrorCode != "invalid_client" || re.Response.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong secret: err = %v, want invalid_client 401", err)
	}
}
