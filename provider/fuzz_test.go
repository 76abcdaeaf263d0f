package provider_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

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
