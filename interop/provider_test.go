//go:build interop

package interop

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/interop/internal/interoptest"
	"github.com/tokengate/tokengate/provider"
	"github.com/tokengate/tokengate/provider/providertest"
	"github.com/tokengate/tokengate/provider/store"
)

// TestProviderWithDOTResourceServer points a Django OAuth Toolkit 1.7
// resource server at our provider's introspection endpoint: it must accept
// our tokens (with DOT's raw Basic credentials, or a bearer token with the
// introspection scope) and refuse revoked, expired and under-scoped ones.
func TestProviderWithDOTResourceServer(t *testing.T) {
	mem := store.NewMemory()
	srv := providertest.New(t, providertest.WithConfig(func(cfg *provider.Config) { cfg.Store = mem }))
	rsClient := srv.RegisterClient(provider.ClientSpec{Name: "DOT resource server", Introspection: store.IntrospectAny})
	app := srv.RegisterClient(provider.ClientSpec{Name: "API client", Scopes: []string{"orders:read", "orders:write"}})
	// DOT sends its credentials in Basic without form-urlencoding them: a
	// secret with characters that decoding would change must still work.
	special := interoptest.Client{ID: "dot-rs-special", Secret: "s3cr:t%2B+&=ü"}
	if err := mem.CreateClient(context.Background(), &store.Client{
		ID: special.ID, SecretHash: store.Hash(special.Secret), Name: "DOT resource server (raw secret)",
		Introspection: store.IntrospectAny, CreatedAt: time.Now(),
	}); err != nil {
		t.Fatal(err)
	}

	introspectionToken := srv.Mint(providertest.Token{Client: rsClient, Scopes: []string{"introspection"}, Expiry: time.Now().Add(time.Hour)})
	modes := map[string]interoptest.DOTResourceServerOptions{
		"credentials":                     {IntrospectionURL: srv.IntrospectionURL, ClientID: rsClient.ID, ClientSecret: rsClient.Secret},
		"credentials, raw special secret": {IntrospectionURL: srv.IntrospectionURL, ClientID: special.ID, ClientSecret: special.Secret},
		"bearer":                          {IntrospectionURL: srv.IntrospectionURL, AuthToken: introspectionToken},
	}
	for name, opts := range modes {
		t.Run(name, func(t *testing.T) {
			t.Parallel() // each DOT takes seconds to start; they share nothing
			dot := interoptest.StartDOTResourceServer(t, opts)

			t.Run("token from the token endpoint", func(t *testing.T) {
				status, _, body, err := interoptest.PostForm(srv.TokenURL, interoptest.Client{ID: app.ID, Secret: app.Secret},
					url.Values{"grant_type": {"client_credentials"}, "scope": {"orders:read"}})
				if err != nil || status != http.StatusOK {
					t.Fatalf("token endpoint: %d %s %v", status, body, err)
				}
				var tr struct {
					AccessToken string `json:"access_token"`
				}
				if err := json.Unmarshal(body, &tr); err != nil || tr.AccessToken == "" {
					t.Fatalf("token response %s: %v", body, err)
				}
				if status, body := callHello(t, dot.HelloURL, tr.AccessToken); status != http.StatusOK || !strings.Contains(body, `"scope": "orders:read"`) {
					t.Errorf("%d %s, want 200 with scope orders:read", status, body)
				}
			})

			t.Run("refused", func(t *testing.T) {
				for name, tok := range map[string]string{
					"revoked":       srv.Mint(providertest.Token{Client: app, Scopes: []string{"orders:read"}, Revoked: true}),
					"expired":       srv.Mint(providertest.Token{Client: app, Scopes: []string{"orders:read"}, Expiry: time.Now().Add(-time.Minute)}),
					"under-scoped":  srv.Mint(providertest.Token{Client: app, Scopes: []string{"orders:write"}}),
					"unknown":       "tg_not-a-token",
					"introspection": introspectionToken, // DOT needs orders:read
				} {
					if status, body := callHello(t, dot.HelloURL, tok); status != http.StatusForbidden {
						t.Errorf("%s: %d %s, want 403", name, status, body)
					}
				}
			})

			t.Run("revoked after use", func(t *testing.T) {
				tok := srv.Mint(providertest.Token{Client: app, Scopes: []string{"orders:read", "orders:write"}})
				if status, body := callHello(t, dot.HelloURL, tok); status != http.StatusOK {
					t.Fatalf("before revocation: %d %s", status, body)
				}
				srv.Revoke(tok)
				// DOT keeps an active verdict for RESOURCE_SERVER_TOKEN_CACHING_SECONDS
				// (1 s here); after that it must ask our provider again.
				time.Sleep(1100 * time.Millisecond)
				if status, body := callHello(t, dot.HelloURL, tok); status != http.StatusForbidden {
					t.Errorf("after revocation: %d %s, want 403", status, body)
				}
			})
		})
	}
}
