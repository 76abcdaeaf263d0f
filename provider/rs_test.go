package provider_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tokengate/tokengate/introspect"
	"github.com/tokengate/tokengate/middleware/nethttp"
	"github.com/tokengate/tokengate/provider"
	"github.com/tokengate/tokengate/provider/store"
	"github.com/tokengate/tokengate/rs"
	"github.com/tokengate/tokengate/scopes"
)

// TestUserTokenAtResourceServer: the access token a user gets through the
// code flow is accepted by our resource-server side (introspection, the
// guard, the net/http middleware), and its Principal speaks for the user:
// Subject is the user's, the client id the app's, and the introspection
// answer carries username and auth_time — what examples/nethttp answers.
func TestUserTokenAtResourceServer(t *testing.T) {
	const api = "https://orders.example/"
	e := newSignInEnv(t, store.NewMemory())
	r := e.newRP(provider.ClientSpec{Scopes: []string{"orders:read"}, Resources: []string{api}})
	apiClient := e.register(provider.ClientSpec{Introspection: store.IntrospectOwnAudience, Resources: []string{api}})
	access, _, _ := e.exchange(r, e.signIn(e.newBrowser(), r, "scope", "openid orders:read")).tokens(t)

	v, err := introspect.New(introspect.Config{Issuer: e.issuer, ClientID: apiClient.id, ClientSecret: apiClient.secret})
	if err != nil {
		t.Fatal(err)
	}
	guard, err := rs.New(rs.Config{Introspector: v, Audiences: []string{api}})
	if err != nil {
		t.Fatal(err)
	}
	var got *rs.Principal
	h := nethttp.MustNew(nethttp.Config{Guard: guard, Require: scopes.All("orders:read")})(http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) {
			got, _ = rs.PrincipalFrom(r.Context())
			io.WriteString(w, "ok")
		}))
	req := httptest.NewRequestWithContext(context.Background(), http.MethodGet, "https://orders.example/orders", nil)
	req.Header.Set("Authorization", "Bearer "+access)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusOK || got == nil {
		t.Fatalf("the API refused a user's token: %d %s", w.Code, w.Body)
	}
	var authTime int64
	if got.Subject != "alice-sub" || got.ClientID != r.client.id || got.Response.Username != "alice" ||
		got.Response.Claim("auth_time", &authTime) != nil || authTime != e.clock.Now().Unix() {
		t.Errorf("Principal = %+v (username %q, auth_time %d); want the user alice-sub via the app", got, got.Response.Username, authTime)
	}
}
