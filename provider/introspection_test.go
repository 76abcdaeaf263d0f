package provider_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokengate/tokengate/introspect"
	"github.com/tokengate/tokengate/provider"
	"github.com/tokengate/tokengate/provider/store"
)

func TestIntrospection(t *testing.T) {
	for name, newStore := range stores {
		t.Run(name, func(t *testing.T) { testIntrospection(t, newStore(t)) })
	}
}

func testIntrospection(t *testing.T, st store.Store) {
	e := newEnv(t, st)
	api := "https://api.example/"
	app := e.register(provider.ClientSpec{Scopes: []string{"read", "introspection"}, Resources: []string{api, "https://other.example/"}})
	rsOwn := e.register(provider.ClientSpec{Resources: []string{api}, Introspection: store.IntrospectOwnAudience})
	rsByID := e.register(provider.ClientSpec{Introspection: store.IntrospectOwnAudience})
	rsAny := e.register(provider.ClientSpec{Introspection: store.IntrospectAny})
	noRight := e.register(provider.ClientSpec{Resources: []string{api}})

	ctx := context.Background()
	mint := func(r provider.MintRequest) string {
		t.Helper()
		if r.ClientID == "" {
			r.ClientID = app.id
		}
		v, err := e.p.Mint(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	forAPI := e.token(app, "scope", "read", "resource", api)
	forOther := e.token(app, "scope", "read", "resource", "https://other.example/")
	forRSByID := mint(provider.MintRequest{Scopes: []string{"read"}, Audience: []string{rsByID.id}})
	expired := mint(provider.MintRequest{Scopes: []string{"read"}, IssuedAt: e.clock.Now().Add(-2 * time.Hour), ExpiresAt: e.clock.Now().Add(-time.Hour)})
	revoked := mint(provider.MintRequest{Scopes: []string{"read"}, Revoked: true})
	future := mint(provider.MintRequest{Scopes: []string{"read"}, IssuedAt: e.clock.Now().Add(time.Hour), ExpiresAt: e.clock.Now().Add(2 * time.Hour)})
	introspector := e.token(app, "scope", "introspection", "resource", api)
	readOnly := e.token(app, "scope", "read")

	tests := []struct {
		name       string
		r          req
		wantStatus int
		wantError  string
		wantActive bool
	}{
		{name: "own audience sees its token", r: req{basic: basic(rsOwn.id, rsOwn.secret), form: form("token", forAPI)}, wantStatus: 200, wantActive: true},
		{name: "client_secret_post", r: req{form: form("token", forAPI, "client_id", rsOwn.id, "client_secret", rsOwn.secret)}, wantStatus: 200, wantActive: true},
		{name: "token_type_hint ignored", r: req{basic: basic(rsOwn.id, rsOwn.secret), form: form("token", forAPI, "token_type_hint", "refresh_token")}, wantStatus: 200, wantActive: true},
		{name: "own audience does not see others", r: req{basic: basic(rsOwn.id, rsOwn.secret), form: form("token", forOther)}, wantStatus: 200},
		{name: "audience by client id", r: req{basic: basic(rsByID.id, rsByID.secret), form: form("token", forRSByID)}, wantStatus: 200, wantActive: true},
		{name: "client id audience is not a resource", r: req{basic: basic(rsByID.id, rsByID.secret), form: form("token", forAPI)}, wantStatus: 200},
		{name: "any sees all", r: req{basic: basic(rsAny.id, rsAny.secret), form: form("token", forOther)}, wantStatus: 200, wantActive: true},
		{name: "expired", r: req{basic: basic(rsAny.id, rsAny.secret), form: form("token", expired)}, wantStatus: 200},
		{name: "revoked", r: req{basic: basic(rsAny.id, rsAny.secret), form: form("token", revoked)}, wantStatus: 200},
		{name: "not yet valid", r: req{basic: basic(rsAny.id, rsAny.secret), form: form("token", future)}, wantStatus: 200},
		{name: "unknown", r: req{basic: basic(rsAny.id, rsAny.secret), form: form("token", "tg_at_nonsense")}, wantStatus: 200},
		{name: "client secret is not a token", r: req{basic: basic(rsAny.id, rsAny.secret), form: form("token", rsAny.secret)}, wantStatus: 200},
		{name: "bearer with introspection scope", r: req{rawAuth: "Bearer " + introspector, form: form("token", forAPI)}, wantStatus: 200, wantActive: true},
		{name: "bearer caller sees only its audience", r: req{rawAuth: "Bearer " + introspector, form: form("token", forRSByID)}, wantStatus: 200},

		{name: "bearer without introspection scope", r: req{rawAuth: "Bearer " + readOnly, form: form("token", forAPI)}, wantStatus: 403, wantError: "insufficient_scope"},
		{name: "bearer expired", r: req{rawAuth: "Bearer " + expired, form: form("token", forAPI)}, wantStatus: 401, wantError: "invalid_token"},
		{name: "bearer unknown", r: req{rawAuth: "Bearer nope", form: form("token", forAPI)}, wantStatus: 401, wantError: "invalid_token"},
		{name: "bearer and client_secret", r: req{rawAuth: "Bearer " + introspector, form: form("token", forAPI, "client_id", rsAny.id, "client_secret", rsAny.secret)}, wantStatus: 400, wantError: "invalid_request"},
		{name: "client without right", r: req{basic: basic(noRight.id, noRight.secret), form: form("token", forAPI)}, wantStatus: 403, wantError: "unauthorized_client"},
		{name: "wrong secret", r: req{basic: basic(rsAny.id, "tg_cs_wrong"), form: form("token", forAPI)}, wantStatus: 401, wantError: "invalid_client"},
		{name: "secret with wrong case", r: req{basic: basic(rsAny.id, swapCase(rsAny.secret)), form: form("token", forAPI)}, wantStatus: 401, wantError: "invalid_client"},
		{name: "anonymous", r: req{form: form("token", forAPI)}, wantStatus: 401, wantError: "invalid_client"},
		{name: "missing token", r: req{basic: basic(rsAny.id, rsAny.secret), form: ""}, wantStatus: 400, wantError: "invalid_request"},
		{name: "duplicated token", r: req{basic: basic(rsAny.id, rsAny.secret), form: form("token", forAPI, "token", forOther)}, wantStatus: 400, wantError: "invalid_request"},
		{name: "wrong content type", r: req{basic: basic(rsAny.id, rsAny.secret), contentType: "application/json", form: `{"token":"x"}`}, wantStatus: 400, wantError: "invalid_request"},
		{name: "huge body", r: req{basic: basic(rsAny.id, rsAny.secret), form: form("token", strings.Repeat("x", 70<<10))}, wantStatus: 413, wantError: "invalid_request"},
		{name: "GET", r: req{method: "GET", basic: basic(rsAny.id, rsAny.secret)}, wantStatus: 405, wantError: "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.r.path = "/introspect"
			a := e.do(tt.r)
			if a.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", a.status, tt.wantStatus, a.body)
			}
			if got := a.header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", got)
			}
			if tt.wantError != "" {
				if m := a.json(t); m["error"] != tt.wantError {
					t.Errorf("error = %v, want %s", m["error"], tt.wantError)
				}
				return
			}
			if !tt.wantActive {
				if a.body != `{"active":false}` {
					t.Errorf("body = %s, want exactly {\"active\":false}", a.body)
				}
				return
			}
			var r introspect.Response
			if err := json.Unmarshal([]byte(a.body), &r); err != nil {
				t.Fatal(err)
			}
			if !r.Active || r.ClientID != app.id || r.Issuer != e.issuer || r.TokenType != "Bearer" || r.Subject != app.id ||
				r.JWTID == "" || r.Expiry.IsZero() || r.IssuedAt.IsZero() || len(r.Audience) == 0 {
				t.Errorf("response = %+v", r)
			}
		})
	}
}

func TestIntrospectionHooks(t *testing.T) {
	var hookCaller string
	e := newEnv(t, store.NewMemory(), func(c *provider.Config) {
		c.TokenClaims = func(ctx context.Context, r *provider.TokenRequest) (map[string]any, error) {
			if r.Client.Name == "refused" {
				return nil, errors.New("no")
			}
			if r.Client.Name == "greedy" {
				return map[string]any{"sub": "someone else"}, nil
			}
			return map[string]any{"tenant": "acme", "roles": []string{"a", "b"}}, nil
		}
		c.IntrospectionHook = func(ctx context.Context, caller *provider.Client, resp *introspect.Response) error {
			hookCaller = caller.ID
			if resp.Scope == "hide" {
				resp.Active = false
			}
			resp.Username = "user-of-" + resp.ClientID
			return nil
		}
	})
	app := e.register(provider.ClientSpec{Scopes: []string{"read", "hide"}})
	rs := e.register(provider.ClientSpec{Introspection: store.IntrospectAny})

	a := e.introspect(rs, e.token(app, "scope", "read"))
	var r introspect.Response
	if err := json.Unmarshal([]byte(a.body), &r); err != nil {
		t.Fatal(err)
	}
	var roles []string
	if tenant, _ := r.Extra("tenant"); string(tenant) != `"acme"` || r.Claim("roles", &roles) != nil || len(roles) != 2 {
		t.Errorf("extra claims missing: %s", a.body)
	}
	if r.Username != "user-of-"+app.id || hookCaller != rs.id {
		t.Errorf("hook not applied: username %q, caller %q", r.Username, hookCaller)
	}
	if a := e.introspect(rs, e.token(app, "scope", "hide")); a.body != `{"active":false}` {
		t.Errorf("hook deactivation: %s", a.body)
	}
	for _, name := range []string{"refused", "greedy"} {
		c := e.register(provider.ClientSpec{Name: name})
		if a := e.do(req{path: "/token", basic: basic(c.id, c.secret), form: "grant_type=client_credentials"}); a.status != 500 || a.json(t)["error"] != "server_error" {
			t.Errorf("%s: %d %s, want 500 server_error", name, a.status, a.body)
		}
	}
}

func TestRevocation(t *testing.T) {
	for name, newStore := range stores {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, newStore(t))
			app := e.register(provider.ClientSpec{Scopes: []string{"read"}})
			other := e.register(provider.ClientSpec{Scopes: []string{"read"}})
			pub := e.register(provider.ClientSpec{Public: true})
			rs := e.register(provider.ClientSpec{Introspection: store.IntrospectAny})
			pubToken, err := e.p.Mint(context.Background(), provider.MintRequest{ClientID: pub.id})
			if err != nil {
				t.Fatal(err)
			}
			tok := e.token(app)
			otherTok := e.token(other)

			tests := []struct {
				name       string
				r          req
				wantStatus int
				wantError  string
			}{
				{name: "someone else's token", r: req{basic: basic(app.id, app.secret), form: form("token", otherTok)}, wantStatus: 400, wantError: "unauthorized_client"},
				{name: "unknown token", r: req{basic: basic(app.id, app.secret), form: form("token", "tg_at_unknown")}, wantStatus: 200},
				{name: "missing token", r: req{basic: basic(app.id, app.secret)}, wantStatus: 400, wantError: "invalid_request"},
				{name: "wrong secret", r: req{basic: basic(app.id, "x"), form: form("token", tok)}, wantStatus: 401, wantError: "invalid_client"},
				{name: "public client with secret", r: req{form: form("token", pubToken, "client_id", pub.id, "client_secret", "x")}, wantStatus: 401, wantError: "invalid_client"},
				{name: "confidential client without secret", r: req{form: form("token", tok, "client_id", app.id)}, wantStatus: 401, wantError: "invalid_client"},
				{name: "duplicated token", r: req{basic: basic(app.id, app.secret), form: form("token", tok, "token", tok)}, wantStatus: 400, wantError: "invalid_request"},
				{name: "public client by id", r: req{form: form("token", pubToken, "client_id", pub.id)}, wantStatus: 200},
				{name: "own token with hint", r: req{basic: basic(app.id, app.secret), form: form("token", tok, "token_type_hint", "access_token")}, wantStatus: 200},
				{name: "again", r: req{basic: basic(app.id, app.secret), form: form("token", tok)}, wantStatus: 200},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					tt.r.path = "/revoke"
					a := e.do(tt.r)
					if a.status != tt.wantStatus {
						t.Fatalf("status = %d, want %d; body %s", a.status, tt.wantStatus, a.body)
					}
					if a.header.Get("Cache-Control") != "no-store" {
						t.Error("no Cache-Control: no-store")
					}
					if tt.wantError != "" && a.json(t)["error"] != tt.wantError {
						t.Errorf("error = %s, want %s", a.body, tt.wantError)
					}
				})
			}
			if a := e.introspect(rs, tok); a.body != `{"active":false}` {
				t.Errorf("revoked token introspects as %s", a.body)
			}
			if a := e.introspect(rs, pubToken); a.body != `{"active":false}` {
				t.Errorf("revoked public token introspects as %s", a.body)
			}
			if a := e.introspect(rs, otherTok); !strings.Contains(a.body, `"active":true`) {
				t.Errorf("other client's token was revoked: %s", a.body)
			}
		})
	}
}

// TestRevocationRace revokes tokens while introspections of them run: once
// the revocation has answered, no introspection may see the token active.
func TestRevocationRace(t *testing.T) {
	for name, newStore := range stores {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, newStore(t))
			app := e.register(provider.ClientSpec{Scopes: []string{"read"}})
			rs := e.register(provider.ClientSpec{Introspection: store.IntrospectAny})
			for range 10 {
				tok := e.token(app)
				var revoked sync.WaitGroup
				revoked.Add(1)
				var wg sync.WaitGroup
				for range 4 {
					wg.Go(func() {
						e.introspect(rs, tok)
						revoked.Wait()
						if a := e.introspect(rs, tok); a.body != `{"active":false}` {
							t.Errorf("introspection after revocation: %s", a.body)
						}
					})
				}
				if a := e.do(req{path: "/revoke", basic: basic(app.id, app.secret), form: form("token", tok)}); a.status != http.StatusOK {
					t.Fatalf("revoke: %d", a.status)
				}
				revoked.Done()
				wg.Wait()
			}
		})
	}
}

func TestDeletedClientTokensInactive(t *testing.T) {
	e := newEnv(t, sqliteStore(t))
	app := e.register(provider.ClientSpec{})
	rs := e.register(provider.ClientSpec{Introspection: store.IntrospectAny})
	tok := e.token(app)
	if err := e.p.Admin().DeleteClient(context.Background(), app.id); err != nil {
		t.Fatal(err)
	}
	if a := e.introspect(rs, tok); a.body != `{"active":false}` {
		t.Errorf("token of deleted client: %s", a.body)
	}
	if err := e.p.Admin().DeleteClient(context.Background(), app.id); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second delete = %v, want ErrNotFound", err)
	}
}

// TestIntrospectionScopeNotByDefault: a client allowed both API scopes and
// "introspection" sends its tokens to APIs; if a request without scope got
// "introspection" too, every API that received such a token could replay it
// to read other tokens as that client. It must be asked for by name, unless
// it is the only scope the client has (a resource server's own client).
func TestIntrospectionScopeNotByDefault(t *testing.T) {
	e := newEnv(t, store.NewMemory())
	api := "https://api.example/"
	app := e.register(provider.ClientSpec{Scopes: []string{"read", provider.ScopeIntrospection}, Resources: []string{api}})
	rsOnly := e.register(provider.ClientSpec{Scopes: []string{provider.ScopeIntrospection}, Resources: []string{api}})
	a := e.do(req{path: "/token", basic: basic(app.id, app.secret), form: form("grant_type", "client_credentials")})
	if m := a.json(t); a.status != 200 || m["scope"] != "read" {
		t.Fatalf("token without scope: %d %s, want scope read alone", a.status, a.body)
	}
	forAPI := a.json(t)["access_token"].(string)
	if a := e.do(req{path: "/introspect", rawAuth: "Bearer " + forAPI, form: form("token", forAPI)}); a.status != 403 {
		t.Errorf("an API token introspects: %d %s", a.status, a.body)
	}
	a = e.do(req{path: "/token", basic: basic(app.id, app.secret), form: form("grant_type", "client_credentials", "scope", "introspection")})
	if m := a.json(t); a.status != 200 || m["scope"] != "introspection" {
		t.Errorf("token with scope introspection: %d %s", a.status, a.body)
	}
	a = e.do(req{path: "/token", basic: basic(rsOnly.id, rsOnly.secret), form: form("grant_type", "client_credentials")})
	if m := a.json(t); a.status != 200 || m["scope"] != "introspection" {
		t.Errorf("introspection-only client without scope: %d %s, want scope introspection", a.status, a.body)
	}
}
