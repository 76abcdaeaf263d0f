package orders_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/examples/internal/envconfig"
	"github.com/tokengate/tokengate/examples/internal/orders"
	"github.com/tokengate/tokengate/middleware/nethttp"
	"github.com/tokengate/tokengate/rs"
)

func TestMainExitCodes(t *testing.T) {
	tests := []struct {
		name     string
		env      map[string]string
		wantCode int
		wantOut  []string
	}{
		{"empty environment", map[string]string{}, 2, []string{"demo example: configuration error", "TOKENGATE_ISSUER"}},
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
			built := false
			code := orders.Main(ctx, "demo", func(k string) string { return tt.env[k] }, &out, func(*rs.Guard) http.Handler {
				built = true
				return http.NotFoundHandler()
			})
			if code != tt.wantCode {
				t.Errorf("exit code %d, want %d; output:\n%s", code, tt.wantCode, &out)
			}
			if built != (tt.wantCode == 0) {
				t.Errorf("handler built: %v", built)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output does not mention %q:\n%s", w, &out)
				}
			}
		})
	}
}

// TestEndToEnd runs the environment contract with the real introspection
// client against a fake RFC 7662 authorization server on loopback.
func TestEndToEnd(t *testing.T) {
	as := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, secret, ok := r.BasicAuth()
		if r.Method != "POST" || r.URL.Path != "/introspect" || !ok || id != "api" || secret != "s3cret" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch r.PostFormValue("token") {
		case "good":
			fmt.Fprintf(w, `{"active":true,"sub":"alice","client_id":"cli","scope":"orders:read","aud":"https://api.example.com","exp":%d}`, time.Now().Add(time.Hour).Unix())
		case "elsewhere":
			fmt.Fprintf(w, `{"active":true,"sub":"alice","client_id":"cli","scope":"orders:read","aud":"https://other.example.com","exp":%d}`, time.Now().Add(time.Hour).Unix())
		default:
			fmt.Fprint(w, `{"active":false}`)
		}
	}))
	defer as.Close()
	env := map[string]string{
		"TOKENGATE_INTROSPECTION_URL": as.URL + "/introspect",
		"TOKENGATE_CLIENT_ID":         "api",
		"TOKENGATE_CLIENT_SECRET":     "s3cret",
		"TOKENGATE_AUDIENCE":          "https://api.example.com",
	}
	cfg, err := envconfig.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	guard, err := cfg.Build(slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(nethttp.MustNew(nethttp.Config{Guard: guard, Require: orders.Read})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := rs.PrincipalFrom(r.Context())
		_ = json.NewEncoder(w).Encode(orders.AnswerFor(p))
	})))
	defer api.Close()
	for _, tt := range []struct {
		token  string
		status int
		body   string
	}{
		{"good", 200, `{"subject":"alice","client_id":"cli","scopes":["orders:read"]}` + "\n"},
		{"elsewhere", 401, `{"error":"invalid_token","error_description":"the access token is not meant for this resource"}`},
		{"revoked", 401, `{"error":"invalid_token","error_description":"the access token is not active"}`},
	} {
		req, _ := http.NewRequest("GET", api.URL+orders.Path, nil)
		req.Header.Set("Authorization", "Bearer "+tt.token)
		resp, err := api.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status || string(body) != tt.body {
			t.Errorf("%s: got %d %q, want %d %q", tt.token, resp.StatusCode, body, tt.status, tt.body)
		}
	}
}
