package conformance_test

import (
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tokengate/tokengate/middleware/internal/conformance"
	"github.com/tokengate/tokengate/middleware/nethttp"
	"github.com/tokengate/tokengate/rs"
	"github.com/tokengate/tokengate/scopes"
)

// TestMTLSEndToEnd runs a certificate-bound opaque token (RFC 8705) through
// the whole chain over a real TLS loopback connection: a fake authorization
// server whose introspection says cnf x5t#S256, the real introspect.Client,
// rs with MTLS, middleware/nethttp behind a TLS server that requires a
// client certificate, and clients presenting their own certificates.
func TestMTLSEndToEnd(t *testing.T) {
	const api = e2eAPI
	clientCert, thiefCert := conformance.SelfSignedTLS("shop"), conformance.SelfSignedTLS("thief")
	certBound := activeClaims("alice")
	certBound["cnf"] = map[string]string{"x5t#S256": rs.CertificateThumbprint(clientCert.Leaf)}
	ic, introspections := newE2EIntrospection(t, map[string]map[string]any{
		"at-cert":   certBound,
		"at-bearer": activeClaims("bob"),
	})
	guard, err := rs.New(rs.Config{Introspector: ic, Audiences: []string{api}, MTLS: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nethttp.MustNew(nethttp.Config{Guard: guard, Require: scopes.All("orders:read")})(http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) {
			p, _ := rs.PrincipalFrom(r.Context())
			fmt.Fprint(w, p.Subject)
		})))
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAnyClientCert}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake below
	srv.StartTLS()
	defer srv.Close()
	clientWith := func(certs ...tls.Certificate) *http.Client {
		tr := srv.Client().Transport.(*http.Transport).Clone()
		tr.TLSClientConfig.Certificates = certs
		return &http.Client{Transport: tr}
	}
	shop, thief := clientWith(clientCert), clientWith(thiefCert)
	defer shop.CloseIdleConnections()
	defer thief.CloseIdleConnections()

	const noCert = `Bearer realm="api", error="invalid_token", error_description="the access token is bound to a client certificate that the request did not present"`
	tests := []struct {
		name      string
		client    *http.Client
		token     string
		status    int
		challenge string
		body      string
	}{
		{name: "bound token, its certificate", client: shop, token: "at-cert", status: 200, body: "alice"},
		{name: "stolen token, thief's certificate", client: thief, token: "at-cert", status: 401, challenge: noCert},
		{name: "bound token again, cached verdict", client: shop, token: "at-cert", status: 200, body: "alice"},
		{name: "bearer token, any certificate", client: thief, token: "at-bearer", status: 200, body: "bob"},
		{
			name: "unknown token", client: shop, token: "at-unknown", status: 401,
			challenge: `Bearer realm="api", error="invalid_token", error_description="the access token is not active"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest("GET", srv.URL+"/api/orders", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+tt.token)
			resp, err := tt.client.Do(req)
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
	t.Run("no client certificate", func(t *testing.T) {
		c := clientWith()
		defer c.CloseIdleConnections()
		req, _ := http.NewRequest("GET", srv.URL+"/api/orders", nil)
		req.Header.Set("Authorization", "Bearer at-cert")
		if resp, err := c.Do(req); err == nil {
			resp.Body.Close()
			t.Fatalf("answered %d without a client certificate: the server must require one", resp.StatusCode)
		}
	})
	if n := introspections.Load(); n != 3 {
		t.Errorf("%d introspections, want 3 (one per token: verdicts are cached, certificates are checked on every request)", n)
	}
}
