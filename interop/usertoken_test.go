//go:build interop

package interop

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"golang.org/x/oauth2"

	"github.com/tokengate/tokengate/interop/internal/interoptest"
	"github.com/tokengate/tokengate/introspect"
	"github.com/tokengate/tokengate/middleware/nethttp"
	"github.com/tokengate/tokengate/rs"
)

// codeFlow signs user in at a provider with the authorization code flow
// and PKCE, through the provider's own pages with a scripted user agent,
// and returns the token response.
func codeFlow(t testing.TB, cfg oauth2.Config, user interoptest.User, opts ...oauth2.AuthCodeOption) *oauth2.Token {
	t.Helper()
	ctx := context.Background()
	verifier := oauth2.GenerateVerifier()
	ua := interoptest.NewUserAgent(user.Username, user.Password, cfg.RedirectURL)
	callback, err := ua.SignIn(ctx, cfg.AuthCodeURL("state-1", append(opts, oauth2.S256ChallengeOption(verifier))...))
	if err != nil {
		t.Fatal(err)
	}
	q := callback.Query()
	if q.Get("state") != "state-1" || q.Get("code") == "" {
		t.Fatalf("callback %s after %v", callback.Redacted(), ua.Steps)
	}
	tok, err := cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// protectedAPI is an API behind our guard that answers with the principal.
func protectedAPI(t testing.TB, cfg introspect.Config, audiences ...string) *httptest.Server {
	t.Helper()
	client, err := introspect.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	guard, err := rs.New(rs.Config{Introspector: client, Audiences: audiences})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(nethttp.MustNew(nethttp.Config{Guard: guard})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := rs.PrincipalFrom(r.Context())
		json.NewEncoder(w).Encode(map[string]any{"sub": p.Subject, "client_id": p.ClientID, "username": p.Response.Username, "scopes": p.Scopes.List()})
	})))
	t.Cleanup(srv.Close)
	return srv
}

// callAPI calls url with the bearer token and decodes the JSON answer.
func callAPI(t testing.TB, url, token string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

// TestUserTokenFromOIDCProvider: a user signs in at node oidc-provider
// (authorization code + PKCE, through its pages), and the access token the
// client gets for the user is accepted by our guard, whose principal is
// the user. The client asks for the orders resource (RFC 8707), so that
// the token is meant for the API (its audience); oidc-provider then leaves
// the openid scope out of the access token, which serves that resource
// only.
func TestUserTokenFromOIDCProvider(t *testing.T) {
	op := oidcProvider(t)
	tok := codeFlow(t, oauth2.Config{
		ClientID: opSignIn.Client.ID, ClientSecret: opSignIn.Client.Secret, RedirectURL: opSignIn.RedirectURI,
		Endpoint: oauth2.Endpoint{AuthURL: op.Issuer + "/auth", TokenURL: op.TokenURL, AuthStyle: oauth2.AuthStyleInHeader},
		Scopes:   []string{"openid", "profile", "orders:read"},
	}, opSignIn.User, oauth2.SetAuthURLParam("resource", op.Resource))
	if id, _ := tok.Extra("id_token").(string); id == "" {
		t.Error("no ID token")
	}
	api := protectedAPI(t, introspect.Config{IntrospectionURL: op.IntrospectionURL, ClientID: op.RSBasic.ID, ClientSecret: op.RSBasic.Secret}, op.Resource)
	status, body := callAPI(t, api.URL, tok.AccessToken)
	if status != http.StatusOK || body["sub"] != opSignIn.User.Subject || body["client_id"] != opSignIn.Client.ID ||
		fmt.Sprint(body["scopes"]) != "[orders:read]" {
		t.Errorf("the API answered %d %v, want 200 with the user's subject %q", status, body, opSignIn.User.Subject)
	}
}
