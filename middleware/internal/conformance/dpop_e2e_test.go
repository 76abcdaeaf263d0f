package conformance_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tokengate/tokengate/dpop"
	"github.com/tokengate/tokengate/dpop/dpoptest"
	"github.com/tokengate/tokengate/middleware/nethttp"
	"github.com/tokengate/tokengate/rs"
	"github.com/tokengate/tokengate/scopes"
)

// TestDPoPEndToEnd runs a DPoP-bound opaque token through the whole chain
// over loopback HTTP: a fake authorization server whose introspection says
// token_type DPoP and cnf.jkt, the real introspect.Client, rs with a
// dpop.Verifier, middleware/nethttp, and a client signing ES256 proofs.
func TestDPoPEndToEnd(t *testing.T) {
	const api = e2eAPI
	client := dpoptest.NewKey("ES256")
	bound := activeClaims("alice")
	bound["token_type"], bound["cnf"] = "DPoP", map[string]string{"jkt": client.JKT()}
	ic, introspections := newE2EIntrospection(t, map[string]map[string]any{
		"at-bound":  bound,
		"at-bearer": activeClaims("bob"),
	})
	verifier, err := dpop.New(dpop.Config{Algorithms: []string{"ES256"}})
	if err != nil {
		t.Fatal(err)
	}
	guard, err := rs.New(rs.Config{Introspector: ic, Audiences: []string{api}, DPoP: verifier, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(nethttp.MustNew(nethttp.Config{Guard: guard, Require: scopes.All("orders:read")})(http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) {
			p, _ := rs.PrincipalFrom(r.Context())
			fmt.Fprintf(w, "%s %t", p.Subject, p.DPoPThumbprint == client.JKT())
		})))
	defer srv.Close()
	orders := srv.URL + "/api/orders"

	replayed := client.Proof("GET", orders, "at-bound", time.Now())
	tests := []struct {
		name, method, url, scheme, token string
		proof                            func() string // nil: no DPoP header
		status                           int
		challenge, body                  string
	}{
		{
			name: "valid proof", method: "GET", url: orders + "?page=1", scheme: "DPoP", token: "at-bound",
			proof: func() string { return replayed }, status: 200, body: "alice true",
		},
		{
			name: "same proof again", method: "GET", url: orders, scheme: "DPoP", token: "at-bound",
			proof: func() string { return replayed }, status: 401,
			challenge: `Bearer realm="api", DPoP realm="api", error="invalid_dpop_proof", error_description="the DPoP proof was already used", algs="ES256"`,
		},
		{
			name: "fresh proof", method: "GET", url: orders, scheme: "dpop", token: "at-bound",
			proof: func() string { return client.Proof("GET", orders, "at-bound", time.Now()) }, status: 200, body: "alice true",
		},
		{
			name: "proof for GET on a POST", method: "POST", url: orders, scheme: "DPoP", token: "at-bound",
			proof:     func() string { return client.Proof("GET", orders, "at-bound", time.Now()) },
			status:    401,
			challenge: `Bearer realm="api", DPoP realm="api", error="invalid_dpop_proof", error_description="the DPoP proof is for another request", algs="ES256"`,
		},
		{
			name: "stolen token, attacker's key", method: "GET", url: orders, scheme: "DPoP", token: "at-bound",
			proof:     func() string { return dpoptest.NewKey("ES256").Proof("GET", orders, "at-bound", time.Now()) },
			status:    401,
			challenge: `Bearer realm="api", DPoP realm="api", error="invalid_dpop_proof", error_description="the DPoP proof is not signed by the key the access token is bound to", algs="ES256"`,
		},
		{
			name: "stolen token as Bearer", method: "GET", url: orders, scheme: "Bearer", token: "at-bound",
			status:    401,
			challenge: `Bearer realm="api", error="invalid_token", error_description="the DPoP-bound access token must be sent with the DPoP scheme", DPoP realm="api", algs="ES256"`,
		},
		{
			name: "EdDSA proof when only ES256 is accepted", method: "GET", url: orders, scheme: "DPoP", token: "at-bound",
			proof:     func() string { return dpoptest.NewKey("EdDSA").Proof("GET", orders, "at-bound", time.Now()) },
			status:    401,
			challenge: `Bearer realm="api", DPoP realm="api", error="invalid_dpop_proof", error_description="the DPoP proof is invalid", algs="ES256"`,
		},
		{name: "bearer token", method: "GET", url: orders, scheme: "Bearer", token: "at-bearer", status: 200, body: "bob false"},
		{
			name: "no token", method: "GET", url: orders, status: 401,
			challenge: `Bearer realm="api", DPoP realm="api", algs="ES256"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, tt.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.scheme != "" {
				req.Header.Set("Authorization", tt.scheme+" "+tt.token)
			}
			if tt.proof != nil {
				req.Header.Set("DPoP", tt.proof())
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			if resp.StatusCode != tt.status || resp.Header.Get("WWW-Authenticate") != tt.challenge {
				t.Fatalf("got %d %q\nwant %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), tt.status, tt.challenge)
			}
			if tt.status == 200 && string(body) != tt.body {
				t.Fatalf("body %q, want %q", body, tt.body)
			}
		})
	}
	if n := introspections.Load(); n != 2 {
		t.Errorf("%d introspections, want 2 (one per token: verdicts are cached, proofs are not)", n)
	}
}
