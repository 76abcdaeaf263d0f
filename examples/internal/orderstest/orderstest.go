// Package orderstest is the handler test every example runs: the routes,
// scopes, challenges and JSON answers of package orders must be the same in
// every framework.
package orderstest

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/examples/internal/orders"
	"github.com/tokengate/tokengate/rs"
	"github.com/tokengate/tokengate/rs/rstest"
)

// CheckHandler is the test every example runs on its handler, with a fake
// introspector: the routes, scopes, challenges and JSON answers must be the
// same in every framework.
func CheckHandler(t *testing.T, build func(*rs.Guard) http.Handler) {
	exp := time.Now().Add(time.Hour)
	guard, err := rs.New(rs.Config{
		Introspector: rstest.Introspector{
			"reader": {Response: rstest.Active("alice", "cli", "orders:read", exp, "https://api.example.com")},
			"writer": {Response: rstest.Active("bob", "cli", "orders:write orders:read", exp, "https://api.example.com")},
			"none":   {Response: rstest.Active("carol", "cli", "", exp, "https://api.example.com")},
		},
		Audiences: []string{"https://api.example.com"},
		Realm:     "tokengate example",
		Logger:    slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(build(guard))
	defer srv.Close()
	const realm = `Bearer realm="tokengate example"`
	tests := []struct {
		name, method, token string
		status              int
		answer              *orders.Answer // for 200
		challenge, body     string         // for errors
	}{
		{name: "list", method: "GET", token: "reader", status: 200, answer: &orders.Answer{Subject: "alice", ClientID: "cli", Scopes: []string{"orders:read"}}},
		{name: "create", method: "POST", token: "writer", status: 200, answer: &orders.Answer{Subject: "bob", ClientID: "cli", Scopes: []string{"orders:read", "orders:write"}}},
		{
			name: "create without scope", method: "POST", token: "reader", status: 403,
			challenge: realm + `, error="insufficient_scope", error_description="the access token lacks the required scope: orders:write", scope="orders:write"`,
			body:      `{"error":"insufficient_scope","error_description":"the access token lacks the required scope: orders:write"}`,
		},
		{
			name: "no scopes at all", method: "GET", token: "none", status: 403,
			challenge: realm + `, error="insufficient_scope", error_description="the access token lacks the required scope: orders:read", scope="orders:read"`,
			body:      `{"error":"insufficient_scope","error_description":"the access token lacks the required scope: orders:read"}`,
		},
		{name: "no token", method: "GET", status: 401, challenge: realm},
		{
			name: "unknown token", method: "GET", token: "forged", status: 401,
			challenge: realm + `, error="invalid_token", error_description="the access token is not active"`,
			body:      `{"error":"invalid_token","error_description":"the access token is not active"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+orders.Path, nil)
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d (body %q)", resp.StatusCode, tt.status, body)
			}
			if tt.answer == nil {
				if got := resp.Header.Get("WWW-Authenticate"); got != tt.challenge || string(body) != tt.body {
					t.Errorf("got %q %q\nwant %q %q", got, body, tt.challenge, tt.body)
				}
				return
			}
			var got orders.Answer
			if err := json.Unmarshal(body, &got); err != nil || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
				t.Fatalf("answer %q (%s): %v", body, resp.Header.Get("Content-Type"), err)
			}
			if got.Subject != tt.answer.Subject || got.ClientID != tt.answer.ClientID || strings.Join(got.Scopes, " ") != strings.Join(tt.answer.Scopes, " ") {
				t.Errorf("answer %+v, want %+v", got, *tt.answer)
			}
		})
	}
}
