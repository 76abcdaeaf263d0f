//go:build interop

package interop

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/interop/internal/interoptest"
	"github.com/tokengate/tokengate/introspect"
	"github.com/tokengate/tokengate/provider"
	"github.com/tokengate/tokengate/provider/store"
)

// TestOpenIDClient: node openid-client, the strictest common relying
// party, signs a user in at our provider through the built-in pages
// (discovery, authorization code + PKCE, state, nonce, RFC 9207 iss, the ID
// token's signature and claims), reads userinfo and refreshes, for a
// confidential and a public client. The access token the user gets is
// accepted by our resource-server middleware and by Django OAuth Toolkit
// 1.7 as a resource server, which both see the user.
func TestOpenIDClient(t *testing.T) {
	s := startSignInServer(t)
	ctx := context.Background()
	const api = "https://orders.example"
	const redirectURI = "http://127.0.0.1:9/callback"
	rsClient, rsSecret, err := s.Provider.Admin().RegisterClient(ctx, provider.ClientSpec{
		Name: "orders API", Resources: []string{api}, Introspection: store.IntrospectOwnAudience,
	})
	if err != nil {
		t.Fatal(err)
	}
	ourAPI := protectedAPI(t, introspect.Config{IntrospectionURL: s.Provider.IntrospectionURL(), ClientID: rsClient.ID, ClientSecret: rsSecret}, api)
	dotRS := interoptest.StartDOTResourceServer(t, interoptest.DOTResourceServerOptions{
		IntrospectionURL: s.Provider.IntrospectionURL(), ClientID: rsClient.ID, ClientSecret: rsSecret,
	})

	for _, public := range []bool{false, true} {
		name := "confidential"
		if public {
			name = "public"
		}
		t.Run(name, func(t *testing.T) {
			client, secret, err := s.Provider.Admin().RegisterClient(ctx, provider.ClientSpec{
				Name: "node app", Public: public, RedirectURIs: []string{redirectURI},
				GrantTypes: []string{provider.GrantAuthorizationCode, provider.GrantRefreshToken},
				Scopes:     []string{"openid", "profile", "email", "offline_access", "orders:read"}, Resources: []string{api},
			})
			if err != nil {
				t.Fatal(err)
			}
			r, err := interoptest.RunOpenIDClient(ctx, interoptest.OpenIDClientOptions{
				Issuer: s.URL, ClientID: client.ID, ClientSecret: secret, RedirectURI: redirectURI,
				Scope: "openid profile email offline_access orders:read", Username: "alice", Password: s.Password,
			})
			if err != nil {
				t.Fatal(err)
			}
			if r.IDTokenClaims["sub"] != s.Alice.Subject || r.IDTokenClaims["iss"] != s.URL || r.IDTokenClaims["aud"] != client.ID {
				t.Errorf("ID token claims %v", r.IDTokenClaims)
			}
			if r.Userinfo["sub"] != s.Alice.Subject || r.Userinfo["name"] != "Alice Liddell" || r.Userinfo["email"] != "alice@example.com" {
				t.Errorf("userinfo %v", r.Userinfo)
			}
			if !r.CallbackHasIss {
				t.Error("the callback had no iss naming the issuer (RFC 9207)")
			}
			if r.RefreshToken == "" || r.RefreshedRefreshToken == "" || r.RefreshedRefreshToken == r.RefreshToken || r.RefreshedAccessToken == r.AccessToken {
				t.Error("the refresh did not rotate the refresh token and issue a new access token")
			}
			if got := strings.Join(r.Steps, "\n"); !strings.Contains(got, "POST /signin 303") {
				t.Errorf("the user agent did not sign in through the built-in pages:\n%s", got)
			}

			for _, tok := range []string{r.AccessToken, r.RefreshedAccessToken} {
				status, body := callAPI(t, ourAPI.URL, tok)
				if status != http.StatusOK || body["sub"] != s.Alice.Subject || body["username"] != "alice" || body["client_id"] != client.ID {
					t.Errorf("our API answered %d %v", status, body)
				}
				status, body = callAPI(t, dotRS.HelloURL, tok)
				if status != http.StatusOK || body["username"] != "alice" {
					t.Errorf("Django OAuth Toolkit answered %d %v, want 200 for the user alice", status, body)
				}
			}
		})
	}
}
