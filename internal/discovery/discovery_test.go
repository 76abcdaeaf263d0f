package discovery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tokengate/tokengate/internal/strictjson"
)

func TestFetch(t *testing.T) {
	type doc map[string]string
	tests := []struct {
		name string
		path string // issuer path
		// routes maps a request path to a status and a document (nil: HTML).
		routes  map[string]func(iss string) (int, doc)
		wantURL string // suffix of Metadata.URL; "" means an error
		wantErr string
		want404 bool
	}{
		{
			name:    "RFC 8414",
			routes:  map[string]func(string) (int, doc){"/.well-known/oauth-authorization-server": func(iss string) (int, doc) { return 200, doc{"issuer": iss, "introspection_endpoint": iss + "/i"} }},
			wantURL: "/.well-known/oauth-authorization-server",
		},
		{
			name:    "RFC 8414 with a path",
			path:    "/tenant",
			routes:  map[string]func(string) (int, doc){"/.well-known/oauth-authorization-server/tenant": func(iss string) (int, doc) { return 200, doc{"issuer": iss} }},
			wantURL: "/.well-known/oauth-authorization-server/tenant",
		},
		{
			name:    "OIDC fallback after 404",
			path:    "/realms/main",
			routes:  map[string]func(string) (int, doc){"/realms/main/.well-known/openid-configuration": func(iss string) (int, doc) { return 200, doc{"issuer": iss} }},
			wantURL: "/realms/main/.well-known/openid-configuration",
		},
		{
			name: "OIDC fallback after an HTML page",
			routes: map[string]func(string) (int, doc){
				"/.well-known/oauth-authorization-server": func(string) (int, doc) { return 200, nil },
				"/.well-known/openid-configuration":       func(iss string) (int, doc) { return 200, doc{"issuer": iss} },
			},
			wantURL: "/.well-known/openid-configuration",
		},
		{
			name:    "issuer mismatch fails",
			routes:  map[string]func(string) (int, doc){"/.well-known/oauth-authorization-server": func(string) (int, doc) { return 200, doc{"issuer": "https://evil.example"} }},
			wantErr: "names issuer",
		},
		{
			// RFC 8414 §3.3 and OIDC Discovery §4.3: identical, not
			// equal up to a trailing slash.
			name:    "issuer without the configured trailing slash fails",
			path:    "/",
			routes:  map[string]func(string) (int, doc){"/.well-known/oauth-authorization-server": func(iss string) (int, doc) { return 200, doc{"issuer": strings.TrimSuffix(iss, "/")} }},
			wantErr: "names issuer",
		},
		{
			name:    "issuer with a trailing slash not configured fails",
			routes:  map[string]func(string) (int, doc){"/.well-known/oauth-authorization-server": func(iss string) (int, doc) { return 200, doc{"issuer": iss + "/"} }},
			wantErr: "names issuer",
		},
		{
			name:    "issuer with a trailing slash, configured so",
			path:    "/tenant/",
			routes:  map[string]func(string) (int, doc){"/.well-known/oauth-authorization-server/tenant": func(iss string) (int, doc) { return 200, doc{"issuer": iss} }},
			wantURL: "/.well-known/oauth-authorization-server/tenant",
		},
		{
			name:    "issuer missing fails",
			routes:  map[string]func(string) (int, doc){"/.well-known/oauth-authorization-server": func(string) (int, doc) { return 200, doc{"jwks_uri": "https://evil.example/jwks"} }},
			wantErr: "names issuer",
		},
		{
			name:    "nothing there",
			routes:  map[string]func(string) (int, doc){},
			wantErr: "/.well-known/openid-configuration",
			want404: true,
		},
		{
			name:    "server errors",
			routes:  map[string]func(string) (int, doc){"/.well-known/oauth-authorization-server": func(string) (int, doc) { return 500, doc{} }},
			wantErr: "answered 500",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var iss string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				route, ok := tt.routes[r.URL.Path]
				if !ok {
					http.NotFound(w, r)
					return
				}
				status, d := route(iss)
				if d == nil {
					w.Header().Set("Content-Type", "text/html")
					w.Write([]byte("<html>app shell</html>"))
					return
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(status)
				json.NewEncoder(w).Encode(d)
			}))
			defer srv.Close()
			iss = srv.URL + tt.path
			md, err := Fetch(context.Background(), srv.Client(), iss, 0)
			if tt.wantURL != "" {
				if err != nil || !strings.HasSuffix(md.URL, tt.wantURL) || md.Issuer != iss {
					t.Fatalf("Fetch = %+v, %v; want URL ending %q", md, err, tt.wantURL)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Fetch error = %v, want one containing %q", err, tt.wantErr)
			}
			if errors.Is(err, ErrNotFound) != tt.want404 {
				t.Errorf("errors.Is(err, ErrNotFound) = %v, want %v", !tt.want404, tt.want404)
			}
		})
	}
}

// TestFetchBoundsTheRead: a document larger than maxBytes is refused after
// reading at most maxBytes+1 bytes of it, even when the server streams
// without end.
func TestFetchBoundsTheRead(t *testing.T) {
	var sent atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"issuer":"`))
		chunk := []byte(strings.Repeat("a", 32<<10))
		for range 64 << 20 / len(chunk) { // 64 MiB at most
			n, err := w.Write(chunk)
			sent.Add(int64(n))
			if err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	_, err := Fetch(context.Background(), srv.Client(), srv.URL, 1<<10)
	if err == nil || !strings.Contains(err.Error(), "larger than 1024 bytes") {
		t.Fatalf("Fetch error = %v, want a document too large", err)
	}
	srv.CloseClientConnections()
	if n := sent.Load(); n >= 64<<20 {
		t.Errorf("the server could send all %d bytes: the read is not bounded", n)
	}
}

// TestFetchRefusesAmbiguousNames is finding 3 of the hardening review
// (issue 9) for metadata: a second spelling of a member must not win, and
// a document holding one is not stepped over for the next location.
func TestFetchRefusesAmbiguousNames(t *testing.T) {
	for _, tt := range []struct {
		name, members string
		want          error
	}{
		{"INTROSPECTION_ENDPOINT beside introspection_endpoint", `"introspection_endpoint":"%[1]s/i","INTROSPECTION_ENDPOINT":"https://evil.example/i"`, strictjson.ErrFoldedName},
		{"jwks_uri twice", `"jwks_uri":"%[1]s/jwks","jwks_uri":"https://evil.example/jwks"`, strictjson.ErrDuplicateName},
		{"issuer twice", `"issuer":"https://evil.example"`, strictjson.ErrDuplicateName},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var oidcAsked atomic.Bool
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				iss := "http://" + r.Host
				w.Header().Set("Content-Type", "application/json")
				if r.URL.Path == "/.well-known/openid-configuration" {
					oidcAsked.Store(true)
					fmt.Fprintf(w, `{"issuer":%q}`, iss)
					return
				}
				fmt.Fprintf(w, `{"issuer":%q,`+tt.members+`}`, iss)
			}))
			defer srv.Close()
			md, err := Fetch(context.Background(), srv.Client(), srv.URL, 0)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Fetch = %+v, %v; want %v", md, err, tt.want)
			}
			if oidcAsked.Load() {
				t.Error("Fetch stepped over the ambiguous document to the OpenID location")
			}
		})
	}
}
