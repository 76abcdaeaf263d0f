package main

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/rs"
	"github.com/tokengate/tokengate/rs/rstest"
)

func TestHandler(t *testing.T) {
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
	srv := httptest.NewServer(newHandler(guard))
	defer srv.Close()
	tests := []struct {
		name, method, token string
		status              int
		body, challenge     string
	}{
		{"list", "GET", "reader", 200, `{"subject":"alice","client_id":"cli","scopes":["orders:read"]}` + "\n", ""},
		{"create", "POST", "writer", 200, `{"subject":"bob","client_id":"cli","scopes":["orders:read","orders:write"]}` + "\n", ""},
		{"create without scope", "POST", "reader", 403, `{"error":"insufficient_scope","error_description":"the access token lacks the required scope: orders:write"}`,
			`Bearer realm="tokengate example", error="insufficient_scope", error_description="the access token lacks the required scope: orders:write", scope="orders:write"`},
		{"no scopes at all", "GET", "none", 403, `{"error":"insufficient_scope","error_description":"the access token lacks the required scope: orders:read"}`,
			`Bearer realm="tokengate example", error="insufficient_scope", error_description="the access token lacks the required scope: orders:read", scope="orders:read"`},
		{"no token", "GET", "", 401, "", `Bearer realm="tokengate example"`},
		{"unknown token", "GET", "forged", 401, `{"error":"invalid_token","error_description":"the access token is not active"}`,
			`Bearer realm="tokengate example", error="invalid_token", error_description="the access token is not active"`},
		{"other method", "DELETE", "writer", 405, "Method Not Allowed\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+"/api/orders", nil)
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var b bytes.Buffer
			_, _ = b.ReadFrom(resp.Body)
			if resp.StatusCode != tt.status || b.String() != tt.body || resp.Header.Get("WWW-Authenticate") != tt.challenge {
				t.Errorf("got %d %q %q\nwant %d %q %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), b.String(), tt.status, tt.challenge, tt.body)
			}
		})
	}
}

func TestRunConfiguration(t *testing.T) {
	tests := []struct {
		name     string
		env      map[string]string
		wantCode int
		wantOut  []string
	}{
		{"empty environment", map[string]string{}, 2, []string{"configuration error", "TOKENGATE_ISSUER"}},
		{"contradictory", map[string]string{"TOKENGATE_ISSUER": "https://a", "TOKENGATE_INTROSPECTION_URL": "https://b", "TOKENGATE_BEARER_TOKEN": "t"}, 2, []string{"only one of"}},
		{
			// A valid configuration starts, logs the skipped audience check and
			// stops cleanly when its context is done.
			"valid, no audience",
			map[string]string{"TOKENGATE_INTROSPECTION_URL": "http://127.0.0.1:1/introspect", "TOKENGATE_BEARER_TOKEN": "t", "ADDR": "127.0.0.1:0"},
			0, []string{"audience check is skipped", "listening"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			var out bytes.Buffer
			code := run(ctx, func(k string) string { return tt.env[k] }, &out)
			if code != tt.wantCode {
				t.Errorf("exit code %d, want %d; output:\n%s", code, tt.wantCode, &out)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output does not mention %q:\n%s", w, &out)
				}
			}
		})
	}
}
