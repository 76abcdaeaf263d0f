package provider_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tokengate/tokengate/introspect"
	"github.com/tokengate/tokengate/middleware/nethttp"
	"github.com/tokengate/tokengate/provider"
	"github.com/tokengate/tokengate/provider/providertest"
	"github.com/tokengate/tokengate/provider/store"
	"github.com/tokengate/tokengate/rs"
	"github.com/tokengate/tokengate/scopes"
	"golang.org/x/oauth2/clientcredentials"
)

// TestEndToEnd protects a handler with our introspect client and net/http
// middleware pointed at the provider.
func TestEndToEnd(t *testing.T) {
	as := providertest.New(t)
	api := "https://orders.example/"
	rsClient := as.RegisterClient(provider.ClientSpec{Resources: []string{api}, Introspection: store.IntrospectOwnAudience})
	shop := as.RegisterClient(provider.ClientSpec{Scopes: []string{"orders:read", "orders:write"}, Resources: []string{api}})
	elsewhere := as.RegisterClient(provider.ClientSpec{Scopes: []string{"orders:read"}, Resources: []string{"https://billing.example/"}})

	for _, viaBearer := range []bool{false, true} {
		t.Run(fmt.Sprintf("bearer=%v", viaBearer), func(t *testing.T) {
			cfg := introspect.Config{Issuer: as.Issuer}
			if viaBearer {
				// The resource server authenticates with its own token
				// carrying the introspection scope.
				self := as.RegisterClient(provider.ClientSpec{Scopes: []string{provider.ScopeIntrospection}, Resources: []string{api}})
				cc := clientcredentials.Config{ClientID: self.ID, ClientSecret: self.Secret, TokenURL: as.TokenURL}
				cfg.TokenSource = cc.TokenSource(context.Background())
			} else {
				cfg.ClientID, cfg.ClientSecret = rsClient.ID, rsClient.Secret
			}
			ic, err := introspect.NewClient(cfg)
			if err != nil {
				t.Fatal(err)
			}
			guard, err := rs.New(rs.Config{Introspector: ic, Audiences: []string{api}, Issuers: []string{as.Issuer}, Realm: "orders"})
			if err != nil {
				t.Fatal(err)
			}
			protect := nethttp.MustNew(nethttp.Config{Guard: guard})
			mux := http.NewServeMux()
			mux.Handle("GET /orders", nethttp.RequireScopes(guard, scopes.All("orders:read"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				p, _ := rs.PrincipalFrom(r.Context())
				fmt.Fprint(w, "orders for ", p.ClientID)
			})))
			mux.Handle("POST /orders", nethttp.RequireScopes(guard, scopes.All("orders:write"))(http.NotFoundHandler()))
			app := httptest.NewServer(protect(mux))
			defer app.Close()

			get := func(method, token string) (int, string) {
				req, _ := http.NewRequest(method, app.URL+"/orders", nil)
				req.Header.Set("Authorization", "Bearer "+token)
				res, err := app.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer res.Body.Close()
				b, _ := io.ReadAll(res.Body)
				return res.StatusCode, string(b)
			}
			cc := clientcredentials.Config{ClientID: shop.ID, ClientSecret: shop.Secret, TokenURL: as.TokenURL, Scopes: []string{"orders:read"}}
			tok, err := cc.Token(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if code, body := get("GET", tok.AccessToken); code != 200 || body != "orders for "+shop.ID {
				t.Errorf("valid token: %d %s", code, body)
			}
			if code, _ := get("POST", tok.AccessToken); code != 403 {
				t.Errorf("missing scope: %d, want 403", code)
			}
			for name, bad := range map[string]string{
				"expired":        as.Mint(providertest.Token{Client: shop, Scopes: []string{"orders:read"}, Expiry: time.Now().Add(-time.Minute)}),
				"revoked":        as.Mint(providertest.Token{Client: shop, Scopes: []string{"orders:read"}, Revoked: true}),
				"other audience": as.Mint(providertest.Token{Client: elsewhere, Scopes: []string{"orders:read"}}),
				"unknown":        "tg_at_unknown",
			} {
				if code, _ := get("GET", bad); code != 401 {
					t.Errorf("%s token: %d, want 401", name, code)
				}
			}
			as.Revoke(tok.AccessToken)
			if code, _ := get("GET", tok.AccessToken); code != 401 {
				t.Errorf("after revocation: %d, want 401", code)
			}
			_, err = ic.Introspect(context.Background(), tok.AccessToken)
			if !errors.Is(err, introspect.ErrInactive) {
				t.Errorf("Introspect after revocation = %v, want ErrInactive", err)
			}
		})
	}
}
