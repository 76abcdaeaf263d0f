package provider_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/tokengate/tokengate/provider"
)

// testClaims is a Config.Claims of two users.
func testClaims(_ context.Context, subject string, scopes []string) (map[string]any, error) {
	users := map[string]map[string]any{
		"alice-sub": {"name": "Alice Liddell", "preferred_username": "alice", "email": "alice@example.com",
			"email_verified": true, "phone_number": "+1 555 0100", "roles": []string{"admin"}, "secret": "not a claim of any scope"},
		"bob-sub": {"name": "Bob", "email": "bob@example.com"},
	}
	u, ok := users[subject]
	if !ok {
		return nil, errors.New("no such user")
	}
	return u, nil
}

// TestGoRelyingParty: a relying party made of golang.org/x/oauth2 and
// github.com/coreos/go-oidc/v3 — discovery, the code flow with PKCE (S256),
// the ID token verified by go-oidc (signature, issuer, audience, expiry,
// nonce, at_hash), userinfo, refresh with rotation — signs a user in
// through the scripted browser and the headless test application, for
// each key family the ID token may be signed with (RS256 by default).
func TestGoRelyingParty(t *testing.T) {
	for _, tc := range []struct {
		name string
		keys []string
		alg  string // the client's id_token_signed_response_alg
		want string
	}{
		{name: "RS256 by default", keys: []string{provider.AlgRS256, provider.AlgES256}, want: "RS256"},
		{name: "ES256", keys: []string{provider.AlgRS256, provider.AlgES256}, alg: "ES256", want: "ES256"},
		{name: "EdDSA", keys: []string{provider.AlgEdDSA}, want: "EdDSA"},
		{name: "PS256", keys: []string{provider.AlgRS256}, alg: "PS256", want: "PS256"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newSignInEnv(t, sqliteStore(t), func(c *provider.Config) {
				c.KeyAlgorithms = tc.keys
				c.Claims = testClaims
				c.ScopeClaims = map[string][]string{"roles": {"roles"}}
				c.Now = nil // go-oidc checks exp and iat against the real clock
			})
			r := e.newRP(provider.ClientSpec{IDTokenSignedResponseAlg: tc.alg, PostLogoutRedirectURIs: []string{"https://rp.example/bye"}})
			ctx := context.Background()
			op, err := oidc.NewProvider(ctx, e.issuer)
			if err != nil {
				t.Fatal(err)
			}
			cfg := oauth2.Config{ClientID: r.client.id, ClientSecret: r.client.secret, Endpoint: op.Endpoint(),
				RedirectURL: r.redirect, Scopes: []string{oidc.ScopeOpenID, "profile", "email", "roles", oidc.ScopeOfflineAccess}}
			verifier := oauth2.GenerateVerifier()
			authURL := cfg.AuthCodeURL("state-1", oauth2.S256ChallengeOption(verifier), oidc.Nonce("nonce-1"))
			b := e.newBrowser()
			q := e.callback(b.get(authURL), r, "state-1")

			tok, err := cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatal(err)
			}
			if tok.RefreshToken == "" {
				t.Fatal("no refresh token, though offline_access was granted")
			}
			idv := op.Verifier(&oidc.Config{ClientID: r.client.id})
			raw, _ := tok.Extra("id_token").(string)
			idt, err := idv.Verify(ctx, raw)
			if err != nil {
				t.Fatalf("go-oidc refuses the ID token: %v", err)
			}
			if idt.Nonce != "nonce-1" || idt.Subject != "alice-sub" {
				t.Errorf("ID token nonce %q sub %q", idt.Nonce, idt.Subject)
			}
			if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
				t.Errorf("at_hash: %v", err)
			}
			if err := idt.VerifyAccessToken(tok.AccessToken + "x"); err == nil {
				t.Error("at_hash matched another access token")
			}
			var claims struct {
				AuthTime int64    `json:"auth_time"`
				AZP      string   `json:"azp"`
				ACR      string   `json:"acr"`
				AMR      []string `json:"amr"`
				Name     string   `json:"name"`
			}
			if err := idt.Claims(&claims); err != nil {
				t.Fatal(err)
			}
			if claims.AZP != r.client.id || claims.ACR != "urn:tokengate:pwd" || !slices.Equal(claims.AMR, []string{"pwd"}) ||
				time.Since(time.Unix(claims.AuthTime, 0)) > time.Minute || claims.Name != "" {
				t.Errorf("ID token claims = %+v; want azp, acr, amr, auth_time, and no name (IDTokenIncludeClaims is off)", claims)
			}
			if alg := jwsHeader(t, raw)["alg"]; alg != tc.want {
				t.Errorf("ID token alg = %v, want %s", alg, tc.want)
			}

			ui, err := op.UserInfo(ctx, oauth2.StaticTokenSource(tok))
			if err != nil {
				t.Fatal(err)
			}
			var uc map[string]any
			if err := ui.Claims(&uc); err != nil {
				t.Fatal(err)
			}
			if ui.Subject != "alice-sub" || ui.Email != "alice@example.com" || !ui.EmailVerified || uc["name"] != "Alice Liddell" ||
				uc["roles"] == nil || uc["phone_number"] != nil || uc["secret"] != nil {
				t.Errorf("userinfo = %v; want sub, profile, email and roles claims, no phone (not granted), no secret (no scope)", uc)
			}

			// Refresh: a new access token and a new refresh token; the old
			// refresh token is spent.
			old := *tok
			tok.Expiry = time.Now().Add(-time.Minute)
			fresh, err := cfg.TokenSource(ctx, tok).Token()
			if err != nil {
				t.Fatal(err)
			}
			if fresh.AccessToken == old.AccessToken || fresh.RefreshToken == old.RefreshToken || fresh.RefreshToken == "" {
				t.Fatal("refreshing did not rotate the tokens")
			}
			if raw, _ := fresh.Extra("id_token").(string); raw == "" {
				t.Error("no ID token at refresh")
			} else if idt2, err := idv.Verify(ctx, raw); err != nil {
				t.Errorf("refreshed ID token: %v", err)
			} else {
				var c2 struct {
					AuthTime int64 `json:"auth_time"`
				}
				idt2.Claims(&c2)
				if idt2.Subject != idt.Subject || c2.AuthTime != claims.AuthTime || idt2.Nonce != "" {
					t.Errorf("refreshed ID token sub %q auth_time %v nonce %q; want the same user and authentication, no nonce",
						idt2.Subject, c2.AuthTime, idt2.Nonce)
				}
			}

			// Reuse of the spent refresh token: refused, and the whole grant
			// is revoked — the fresh tokens too.
			old.Expiry = time.Now().Add(-time.Minute)
			_, err = cfg.TokenSource(ctx, &old).Token()
			var re *oauth2.RetrieveError
			if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
				t.Fatalf("reusing a refresh token: %v, want invalid_grant", err)
			}
			fresh.Expiry = time.Now().Add(-time.Minute)
			if _, err := cfg.TokenSource(ctx, fresh).Token(); !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
				t.Errorf("the newest refresh token after reuse: %v, want invalid_grant", err)
			}
			if _, err := op.UserInfo(ctx, oauth2.StaticTokenSource(fresh)); err == nil {
				t.Error("the newest access token still works after the reuse revoked the grant")
			}

			// RP-initiated logout with the ID token as hint: no question,
			// back to the registered URI with state; the session is over.
			var meta struct {
				EndSession string `json:"end_session_endpoint"`
			}
			if err := op.Claims(&meta); err != nil || meta.EndSession == "" {
				t.Fatalf("no end_session_endpoint in discovery: %v", err)
			}
			v := b.get(meta.EndSession + "?" + url.Values{"id_token_hint": {raw}, "state": {"bye-1"},
				"post_logout_redirect_uri": {"https://rp.example/bye"}}.Encode())
			if v.location == nil || v.location.String() != "https://rp.example/bye?state=bye-1" {
				t.Fatalf("logout: %d %v %s", v.status, v.location, v.body)
			}
			q = b.get(cfg.AuthCodeURL("state-2", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("prompt", "none"))).location.Query()
			if q.Get("error") != "login_required" {
				t.Errorf("prompt=none after logout: %v, want login_required", q)
			}
		})
	}
}

// jwsHeader decodes the protected header of a compact JWS.
func jwsHeader(t *testing.T, jws string) map[string]any {
	t.Helper()
	seg, _, _ := strings.Cut(jws, ".")
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h
}
