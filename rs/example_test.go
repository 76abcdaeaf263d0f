package rs_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/tokengate/tokengate/dpop"
	"github.com/tokengate/tokengate/dpop/dpoptest"
	"github.com/tokengate/tokengate/introspect"
	"github.com/tokengate/tokengate/rs"
	"github.com/tokengate/tokengate/rs/rstest"
	"github.com/tokengate/tokengate/scopes"
)

func ExampleNew() {
	// In production the Introspector is what introspect.New returns.
	fakeAS := rstest.Introspector{
		"tok-alice": {Response: rstest.Active("alice", "shop", "orders:read", time.Now().Add(time.Hour), "https://api.example.com")},
		"tok-down":  {Err: &introspect.Error{StatusCode: 503, RetryAfter: 10 * time.Second}},
	}
	guard, err := rs.New(rs.Config{
		Introspector: fakeAS,
		Audiences:    []string{"https://api.example.com"},
		Realm:        "orders",
	})
	if err != nil {
		panic(err)
	}

	for _, auth := range []string{"Bearer tok-alice", "", "Bearer tok-expired", "Bearer tok-down", "Bearer two words"} {
		r := httptest.NewRequest("POST", "/orders", nil)
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		p, err := guard.Check(r, scopes.All("orders:write"))
		if err == nil {
			fmt.Println("welcome", p.Subject)
			continue
		}
		rej := guard.Reject(err)
		fmt.Println(rej.Status, rej.Header.Get("WWW-Authenticate")+rej.Header.Get("Retry-After"))
	}
	// Output:
	// 403 Bearer realm="orders", error="insufficient_scope", error_description="the access token lacks the required scope: orders:write", scope="orders:write"
	// 401 Bearer realm="orders"
	// 401 Bearer realm="orders", error="invalid_token", error_description="the access token is not active"
	// 503 10
	// 400 Bearer realm="orders", error="invalid_request", error_description="the access token is not a b64token"
}

// Config.ErrorBody gives every answer the API's own error format, while
// the status and the RFC 6750 headers stay what clients rely on.
func ExampleConfig_errorBody() {
	guard, err := rs.New(rs.Config{
		Introspector: rstest.Introspector{
			"tok-reader": {Response: rstest.Active("alice", "shop", "orders:read", time.Now().Add(time.Hour), "https://api.example.com")},
		},
		Audiences: []string{"https://api.example.com"},
		ErrorBody: func(rj *rs.Rejection) (string, []byte) {
			b, _ := json.Marshal(map[string]any{"status": rj.Status, "title": rj.Code, "detail": rj.Description})
			return "application/problem+json", b
		},
	})
	if err != nil {
		panic(err)
	}
	r := httptest.NewRequest("POST", "/orders", nil)
	r.Header.Set("Authorization", "Bearer tok-reader")
	_, err = guard.Check(r, scopes.All("orders:write"))
	rec := httptest.NewRecorder()
	guard.Reject(err).Write(rec)
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"))
	fmt.Println(rec.Header().Get("WWW-Authenticate"))
	fmt.Println(rec.Body)
	// Output:
	// 403 application/problem+json
	// Bearer realm="api", error="insufficient_scope", error_description="the access token lacks the required scope: orders:write", scope="orders:write"
	// {"detail":"the access token lacks the required scope: orders:write","status":403,"title":"insufficient_scope"}
}

// The metadata's bearer_methods_supported lists the ways the guard reads
// tokens: the Authorization header, and here the form body too.
func ExampleGuard_MetadataHandler() {
	guard, _ := rs.New(rs.Config{
		Introspector: rstest.Introspector{},
		Audiences:    []string{"https://api.example.com"},
		Extractors:   []rs.Extractor{rs.FromForm(0)},
	})
	h, err := guard.MetadataHandler(rs.ResourceMetadata{
		Resource:             "https://api.example.com",
		AuthorizationServers: []string{"https://as.example.com"},
		ScopesSupported:      []string{"orders:read", "orders:write"},
	})
	if err != nil {
		panic(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", rs.WellKnownMetadataPath, nil))
	fmt.Println(rec.Body)
	// Output:
	// {"resource":"https://api.example.com","authorization_servers":["https://as.example.com"],"scopes_supported":["orders:read","orders:write"],"bearer_methods_supported":["header","body"]}
}

// With Config.DPoP, tokens that introspection reports as DPoP-bound
// (cnf.jkt) are accepted only with the DPoP scheme and a proof signed by
// the bound key; bearer tokens keep working.
func ExampleGuard_dpop() {
	client := dpoptest.NewKey("ES256") // the client's key; its thumbprint is the token's cnf.jkt
	bound := rstest.Active("alice", "shop", "orders:read", time.Now().Add(time.Hour), "https://api.example.com")
	bound.TokenType = "DPoP"
	bound.Confirmation = json.RawMessage(`{"jkt":"` + client.JKT() + `"}`)

	verifier, err := dpop.New(dpop.Config{Algorithms: []string{"ES256", "EdDSA"}})
	if err != nil {
		panic(err)
	}
	guard, err := rs.New(rs.Config{
		Introspector: rstest.Introspector{"tok-bound": {Response: bound}},
		Audiences:    []string{"https://api.example.com"},
		Realm:        "orders",
		DPoP:         verifier,
		// Behind a proxy, the URL the client signed is the public one.
		RequestURL: func(r *http.Request) string { return "https://api.example.com" + r.URL.EscapedPath() },
		Logger:     slog.New(slog.DiscardHandler),
	})
	if err != nil {
		panic(err)
	}

	request := func(scheme, proof string) {
		r := httptest.NewRequest("GET", "/orders", nil)
		r.Header.Set("Authorization", scheme+" tok-bound")
		if proof != "" {
			r.Header.Set("DPoP", proof)
		}
		p, err := guard.Check(r, scopes.All("orders:read"))
		if err == nil {
			fmt.Println("welcome", p.Subject)
			return
		}
		rej := guard.Reject(err)
		fmt.Println(rej.Status, rej.Header.Get("WWW-Authenticate"))
	}
	proof := client.Proof("GET", "https://api.example.com/orders", "tok-bound", time.Now())
	request("DPoP", proof)
	request("DPoP", proof) // replayed
	request("Bearer", "")  // the binding cannot be dropped
	// Output:
	// welcome alice
	// 401 Bearer realm="orders", DPoP realm="orders", error="invalid_dpop_proof", error_description="the DPoP proof was already used", algs="ES256 EdDSA"
	// 401 Bearer realm="orders", error="invalid_token", error_description="the DPoP-bound access token must be sent with the DPoP scheme", DPoP realm="orders", algs="ES256 EdDSA"
}

// With Config.MTLS, tokens that introspection reports as bound to a client
// certificate (cnf["x5t#S256"], RFC 8705) are accepted, still as Bearer,
// only over a connection authenticated with that certificate. The server
// must ask for client certificates (tls.Config.ClientAuth); behind a
// TLS-terminating proxy, set Config.ClientCertificate.
func ExampleGuard_mtls() {
	newCert := func() *x509.Certificate { // a self-signed client certificate
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotAfter: time.Now().Add(time.Hour)}
		der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		cert, _ := x509.ParseCertificate(der)
		return cert
	}
	clientCert, otherCert := newCert(), newCert()

	bound := rstest.Active("alice", "shop", "orders:read", time.Now().Add(time.Hour), "https://api.example.com")
	bound.Confirmation = json.RawMessage(`{"x5t#S256":"` + rs.CertificateThumbprint(clientCert) + `"}`)
	guard, err := rs.New(rs.Config{
		Introspector: rstest.Introspector{"tok-bound": {Response: bound}},
		Audiences:    []string{"https://api.example.com"},
		Realm:        "orders",
		MTLS:         true,
		Logger:       slog.New(slog.DiscardHandler),
	})
	if err != nil {
		panic(err)
	}

	for _, conn := range []*tls.ConnectionState{
		{PeerCertificates: []*x509.Certificate{clientCert}},
		{PeerCertificates: []*x509.Certificate{otherCert}}, // a stolen token, the thief's certificate
		nil, // plain HTTP
	} {
		r := httptest.NewRequest("GET", "/orders", nil)
		r.Header.Set("Authorization", "Bearer tok-bound")
		r.TLS = conn // set by net/http on a TLS connection
		p, err := guard.Check(r, scopes.All("orders:read"))
		if err == nil {
			fmt.Println("welcome", p.Subject)
			continue
		}
		rej := guard.Reject(err)
		fmt.Println(rej.Status, rej.Header.Get("WWW-Authenticate"))
	}
	// Output:
	// welcome alice
	// 401 Bearer realm="orders", error="invalid_token", error_description="the access token is bound to a client certificate that the request did not present"
	// 401 Bearer realm="orders", error="invalid_token", error_description="the access token is bound to a client certificate that the request did not present"
}
