package main

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tokengate/tokengate/provider"
	"github.com/tokengate/tokengate/provider/providertest"
	"github.com/tokengate/tokengate/provider/store"
)

func TestOrders(t *testing.T) {
	as := providertest.New(t) // a real authorization server on loopback, stopped when the test ends
	rsClient := as.RegisterClient(provider.ClientSpec{Introspection: store.IntrospectAny})
	app := as.RegisterClient(provider.ClientSpec{Scopes: []string{"orders:read", "orders:write"}})
	api, err := newAPI(as.Issuer, rsClient.ID, rsClient.Secret)
	if err != nil {
		t.Fatal(err)
	}
	token := func(scope string, audience string) string {
		return as.Mint(providertest.Token{Client: app, Scopes: []string{scope}, Audience: []string{audience}})
	}
	tests := []struct {
		name, token string
		want        int
	}{
		{"reader", token("orders:read", "http://127.0.0.1:8080"), http.StatusOK},
		{"no token", "", http.StatusUnauthorized},
		{"token for another API", token("orders:read", "https://other.example"), http.StatusUnauthorized},
		{"missing scope", token("orders:write", "http://127.0.0.1:8080"), http.StatusForbidden},
	}
	for _, tt := range tests {
		req := httptest.NewRequest("GET", "/orders", nil)
		if tt.token != "" {
			req.Header.Set("Authorization", "Bearer "+tt.token)
		}
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, req)
		if rec.Code != tt.want {
			t.Errorf("%s: status %d, want %d", tt.name, rec.Code, tt.want)
		}
	}
}
