// Package conformance is the one test suite every framework adapter of
// package rs must pass: the same requests must get the same status, the
// same WWW-Authenticate and Retry-After headers and the same body bytes, and
// accepted requests must reach the handler with the same principal.
//
// Adding an adapter to the suite is one entry in the list in
// conformance_test.go.
package conformance

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokengate/tokengate/dpop"
	"github.com/tokengate/tokengate/dpop/dpoptest"
	"github.com/tokengate/tokengate/introspect"
	"github.com/tokengate/tokengate/rs"
	"github.com/tokengate/tokengate/rs/rstest"
	"github.com/tokengate/tokengate/scopes"
)

// Adapter is one framework adapter under test.
type Adapter struct {
	Name string
	// Build returns, for one framework, a router whose every method and
	// path runs the adapter's middleware made by its New from s (New's
	// error is returned), then, if s.Route is set, the adapter's
	// RequireScopes(s.Guard, s.Route) nested inside (made first, so that
	// its panic on a nil Guard is seen), then s.Final called from a native
	// handler of the framework. The hooks of s are translated to the
	// framework's.
	Build func(s Setup) (http.Handler, error)
	// Bare, if set, builds the same router as Build without the
	// middleware: the baseline the benchmarks subtract.
	Bare func(final http.Handler) http.Handler
}

// Setup is what one case asks an adapter to build.
type Setup struct {
	Guard   *rs.Guard
	Require scopes.Requirement // the middleware's Config.Require
	Route   scopes.Requirement // if set, RequireScopes on the route
	Hooks
	Final http.Handler
}

// Hooks are the adapters' Config hooks in net/http terms; Build
// translates them, and leaves the adapter's defaults for nil ones.
type Hooks struct {
	Skipper        func(r *http.Request) bool
	ErrorHandler   func(w http.ResponseWriter, r *http.Request, err error)
	SuccessHandler func(w http.ResponseWriter, r *http.Request) error
}

// Protect builds the adapter's middleware for g with requirement req in
// front of final, failing t if it cannot.
func (a Adapter) Protect(t testing.TB, g *rs.Guard, req scopes.Requirement, final http.Handler) http.Handler {
	t.Helper()
	h, err := a.Build(Setup{Guard: g, Require: req, Final: final})
	if err != nil {
		t.Fatalf("%s: %v", a.Name, err)
	}
	return h
}

// Answer is the protected handler: it writes the principal from the request
// context as JSON, or {"anonymous":true}.
func Answer(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, AnswerBody(r.Context()))
}

// AnswerBody is what [Answer] writes for the principal in ctx.
func AnswerBody(ctx context.Context) string {
	p, ok := rs.PrincipalFrom(ctx)
	if !ok {
		return `{"anonymous":true}`
	}
	var b strings.Builder
	_ = json.NewEncoder(&b).Encode(struct {
		Subject  string   `json:"subject"`
		ClientID string   `json:"client_id"`
		Scopes   []string `json:"scopes"`
	}{p.Subject, p.ClientID, p.Scopes.List()})
	return b.String()
}

// Now is the suite's fixed clock.
var Now = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

const audience = "https://api.example.com"

// ClientKey is the DPoP key of the suite's client; the "bound" token is
// bound to it.
var ClientKey = dpoptest.NewKey("ES256")

// OrdersURL is what the default rs.Config.RequestURL makes of the suite's
// requests (httptest.NewRequest's host, no TLS).
const OrdersURL = "http://example.com/api/orders"

// ClientCert is the TLS client certificate of the suite's client; the
// "cert-bound" token is bound to it (RFC 8705). OtherCert is someone
// else's.
var ClientCert, OtherCert = SelfSigned("shop"), SelfSigned("thief")

// SelfSigned returns a new self-signed ECDSA P-256 certificate for cn; use
// [SelfSignedTLS] when its private key is needed too.
func SelfSigned(cn string) *x509.Certificate { return SelfSignedTLS(cn).Leaf }

// SelfSignedTLS returns a new self-signed ECDSA P-256 certificate for cn,
// valid around [Now] and the real clock, usable by a TLS client or server.
func SelfSignedTLS(cn string) tls.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn}, DNSNames: []string{cn},
		NotBefore: Now.Add(-24 * time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		panic(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

// Introspector answers for the suite's tokens.
func Introspector() rstest.Introspector {
	active := func(scope string, mut func(*introspect.Response)) rstest.Answer {
		r := rstest.Active("alice", "shop", scope, Now.Add(time.Hour), audience)
		if mut != nil {
			mut(r)
		}
		return rstest.Answer{Response: r}
	}
	return rstest.Introspector{
		"reader":   active("orders:read profile", nil),
		"writer":   active("orders:write", nil),
		"support":  active("support", nil),
		"expired":  active("orders:read", func(r *introspect.Response) { r.Expiry = Now.Add(-time.Hour) }),
		"stranger": active("orders:read", func(r *introspect.Response) { r.Audience = []string{"https://other.example.com"} }),
		"dpop":     active("orders:read", func(r *introspect.Response) { r.TokenType = "DPoP" }),
		"bound": active("orders:read profile", func(r *introspect.Response) {
			r.TokenType = "DPoP"
			r.Confirmation = json.RawMessage(`{"jkt":"` + ClientKey.JKT() + `"}`)
		}),
		"mtls": active("orders:read", func(r *introspect.Response) {
			r.Confirmation = json.RawMessage(`{"x5t#S256":"bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}`)
		}),
		"cert-bound": active("orders:read profile", func(r *introspect.Response) {
			r.Confirmation = json.RawMessage(`{"x5t#S256":"` + rs.CertificateThumbprint(ClientCert) + `"}`)
		}),
		"cert-wrong-case": active("orders:read profile", func(r *introspect.Response) {
			r.Confirmation = json.RawMessage(`{"x5t#S256":"` + swapCase(rs.CertificateThumbprint(ClientCert)) + `"}`)
		}),
		"cert-and-other": active("orders:read profile", func(r *introspect.Response) {
			r.Confirmation = json.RawMessage(`{"x5t#S256":"` + rs.CertificateThumbprint(ClientCert) + `","x5t":"abc"}`)
		}),
		"cert-and-jkt": active("orders:read profile", func(r *introspect.Response) {
			r.Confirmation = json.RawMessage(`{"jkt":"` + ClientKey.JKT() + `","x5t#S256":"` + rs.CertificateThumbprint(ClientCert) + `"}`)
		}),
		"inactive": {Err: introspect.ErrInactive},
		"down":     {Err: &introspect.Error{StatusCode: 503, RetryAfter: 7 * time.Second}},
		"misconf":  {Err: &introspect.Error{StatusCode: 401, Code: "invalid_client"}},
	}
}

// Case is one request and the answer every adapter must give.
type Case struct {
	Name    string
	Config  func(*rs.Config)      // changes to the suite's guard configuration
	Require scopes.Requirement    // the middleware's requirement
	Route   scopes.Requirement    // a RequireScopes on the route, inside the middleware
	Hooks   func(*rs.Guard) Hooks // the middleware's hooks, for the case's guard
	Method  string                // default GET
	Target  string                // default /api/orders
	Auth    []string
	DPoP    []string // DPoP proof header values
	TLS     *tls.ConnectionState
	Form    string // a form-encoded POST body

	Status     int
	Challenge  string
	RetryAfter string
	Type       string // Content-Type, when not the JSON of an RFC 6750 answer
	Hook       string // the X-Hook header a hook sets
	Body       string
}

const (
	realm   = `Bearer realm="orders"`
	rmURL   = "https://api.example.com/.well-known/oauth-protected-resource"
	invTok  = `{"error":"invalid_token","error_description":"`
	invReq  = `{"error":"invalid_request","error_description":"`
	alice   = `{"subject":"alice","client_id":"shop","scopes":["orders:read","profile"]}` + "\n"
	down503 = `{"error":"temporarily_unavailable","error_description":"the access token cannot be checked right now, retry later"}`
)

var (
	readOrders = scopes.All("orders:read")
	anyOf      = scopes.Any("orders:admin", "support")
	anonymous  = func(c *rs.Config) { c.AllowAnonymous = true }
	queryOK    = func(c *rs.Config) { c.Extractors = append(c.Extractors, rs.FromQuery()) }
	formOK     = func(c *rs.Config) { c.Extractors = append(c.Extractors, rs.FromForm(0)) }
	metadata   = func(c *rs.Config) { c.ResourceMetadataURL = rmURL }
	dpopOn     = func(c *rs.Config) {
		v, err := dpop.New(dpop.Config{Now: func() time.Time { return Now }})
		if err != nil {
			panic(err)
		}
		c.DPoP = v
	}
	goodProof = ClientKey.Proof("GET", OrdersURL, "bound", Now)
)

// DPoP challenges of the suite's guard with DPoP accepted.
const (
	dpopRealm = `DPoP realm="orders"`
	algs      = `algs="ES256 RS256 PS256 EdDSA"`
	bothBare  = realm + ", " + dpopRealm + ", " + algs
	invProof  = `{"error":"invalid_dpop_proof","error_description":"`
)

// badProof returns a proof for the bound token that fails one check.
func badProof(mut func(h, c map[string]any)) []string {
	h, c := ClientKey.Header(), ClientKey.Claims("GET", OrdersURL, "bound", Now)
	mut(h, c)
	return []string{ClientKey.Sign(h, c)}
}

// proofFailure is the answer to a DPoP request whose proof fails.
func proofFailure(desc string) (string, string) {
	return realm + ", " + dpopRealm + `, error="invalid_dpop_proof", error_description="` + desc + `", ` + algs, invProof + desc + `"}`
}

var dpopCases = func() []Case {
	c := func(name string, auth, proofs []string, status int, challenge, body string) Case {
		return Case{Name: name, Config: dpopOn, Auth: auth, DPoP: proofs, Status: status, Challenge: challenge, Body: body}
	}
	fail := func(name string, proofs []string, desc string) Case {
		ch, body := proofFailure(desc)
		return c(name, []string{"DPoP bound"}, proofs, 401, ch, body)
	}
	one := []string{goodProof}
	cases := []Case{
		c("DPoP: no token", nil, nil, 401, bothBare, ""),
		c("DPoP: bound token with a valid proof", []string{"DPoP bound"}, one, 200, "", alice),
		c("DPoP: scheme is case-insensitive", []string{"dpop bound"}, one, 200, "", alice),
		c("DPoP: bearer token still accepted", []string{"Bearer reader"}, nil, 200, "", alice),
		c("DPoP: bound token sent as Bearer", []string{"Bearer bound"}, one, 401,
			realm+`, error="invalid_token", error_description="the DPoP-bound access token must be sent with the DPoP scheme", `+dpopRealm+", "+algs,
			invTok+`the DPoP-bound access token must be sent with the DPoP scheme"}`),
		c("DPoP: bearer token sent with the DPoP scheme", []string{"DPoP reader"}, []string{ClientKey.Proof("GET", OrdersURL, "reader", Now)}, 401,
			realm+", "+dpopRealm+`, error="invalid_token", error_description="the access token is not DPoP-bound", `+algs,
			invTok+`the access token is not DPoP-bound"}`),
		c("DPoP: certificate-bound token", []string{"DPoP mtls"}, []string{ClientKey.Proof("GET", OrdersURL, "mtls", Now)}, 401,
			realm+", "+dpopRealm+`, error="invalid_token", error_description="certificate-bound access tokens are not supported", `+algs,
			invTok+`certificate-bound access tokens are not supported"}`),
		c("DPoP: scheme without token", []string{"DPoP"}, one, 400,
			dpopRealm+`, error="invalid_request", error_description="the DPoP scheme carries no token", `+algs,
			invReq+`the DPoP scheme carries no token"}`),
		{
			Name: "DPoP: missing scope", Config: dpopOn, Require: scopes.All("orders:write"), Auth: []string{"DPoP bound"}, DPoP: one, Status: 403,
			Challenge: dpopRealm + `, error="insufficient_scope", error_description="the access token lacks the required scope: orders:write", scope="orders:write", ` + algs,
			Body:      `{"error":"insufficient_scope","error_description":"the access token lacks the required scope: orders:write"}`,
		},
		fail("DPoP: no proof", nil, "exactly one DPoP proof header is required"),
		fail("DPoP: two proofs", []string{goodProof, goodProof}, "exactly one DPoP proof header is required"),
		fail("DPoP: malformed proof", []string{"not-a-jws"}, "the DPoP proof is invalid"),
		fail("DPoP: proof for another URL", []string{ClientKey.Proof("GET", "http://example.com/api/users", "bound", Now)}, "the DPoP proof is for another request"),
		fail("DPoP: proof for another method", []string{ClientKey.Proof("POST", OrdersURL, "bound", Now)}, "the DPoP proof is for another request"),
		fail("DPoP: proof by another key", []string{dpoptest.NewKey("ES256").Proof("GET", OrdersURL, "bound", Now)}, "the DPoP proof is not signed by the key the access token is bound to"),
		fail("DPoP: proof for another token", []string{ClientKey.Proof("GET", OrdersURL, "reader", Now)}, "the DPoP proof is for another access token"),
		fail("DPoP: stale proof", []string{ClientKey.Proof("GET", OrdersURL, "bound", Now.Add(-2*time.Minute))}, "the DPoP proof was not issued within the accepted time window"),
		fail("DPoP: alg none", []string{dpoptest.Unsigned(func() map[string]any { h := ClientKey.Header(); h["alg"] = "none"; return h }(),
			ClientKey.Claims("GET", OrdersURL, "bound", Now))}, "the DPoP proof is invalid"),
		fail("DPoP: typ JWT", badProof(func(h, _ map[string]any) { h["typ"] = "JWT" }), "the DPoP proof is invalid"),
		{
			Name: "DPoP: with resource_metadata", Config: func(c *rs.Config) { dpopOn(c); metadata(c) }, Status: 401,
			Challenge: realm + `, resource_metadata="` + rmURL + `", ` + dpopRealm + ", " + algs + `, resource_metadata="` + rmURL + `"`,
		},
		{Name: "DPoP off: DPoP scheme is not ours", Auth: []string{"DPoP bound"}, DPoP: one, Status: 401, Challenge: realm},
	}
	return cases
}()

// Cases is the table. Keep it in the order of issue 5.
var Cases = []Case{
	{Name: "no token", Require: readOrders, Status: 401, Challenge: realm},
	{Name: "no token with resource_metadata", Config: metadata, Status: 401, Challenge: realm + `, resource_metadata="` + rmURL + `"`},
	{Name: "other scheme", Auth: []string{"Basic dXNlcjpwYXNz"}, Status: 401, Challenge: realm},
	{
		Name: "malformed header", Auth: []string{"Bearer"}, Status: 400,
		Challenge: realm + `, error="invalid_request", error_description="the Bearer scheme carries no token"`,
		Body:      invReq + `the Bearer scheme carries no token"}`,
	},
	{
		Name: "token with spaces", Auth: []string{"Bearer read er"}, Status: 400,
		Challenge: realm + `, error="invalid_request", error_description="the access token is not a b64token"`,
		Body:      invReq + `the access token is not a b64token"}`,
	},
	{
		Name: "two Authorization headers", Auth: []string{"Bearer reader", "Bearer reader"}, Status: 400,
		Challenge: realm + `, error="invalid_request", error_description="more than one Authorization header"`,
		Body:      invReq + `more than one Authorization header"}`,
	},
	{
		Name: "inactive token", Auth: []string{"Bearer inactive"}, Status: 401,
		Challenge: realm + `, error="invalid_token", error_description="the access token is not active"`,
		Body:      invTok + `the access token is not active"}`,
	},
	{
		Name: "unknown token with resource_metadata", Config: metadata, Auth: []string{"Bearer nobody"}, Status: 401,
		Challenge: realm + `, error="invalid_token", error_description="the access token is not active", resource_metadata="` + rmURL + `"`,
		Body:      invTok + `the access token is not active"}`,
	},
	{
		Name: "expired token", Auth: []string{"Bearer expired"}, Status: 401,
		Challenge: realm + `, error="invalid_token", error_description="the access token has expired"`,
		Body:      invTok + `the access token has expired"}`,
	},
	{
		Name: "wrong audience", Auth: []string{"Bearer stranger"}, Status: 401,
		Challenge: realm + `, error="invalid_token", error_description="the access token is not meant for this resource"`,
		Body:      invTok + `the access token is not meant for this resource"}`,
	},
	{
		Name: "DPoP-bound token", Auth: []string{"Bearer dpop"}, Status: 401,
		Challenge: realm + `, error="invalid_token", error_description="sender-constrained access tokens are not supported"`,
		Body:      invTok + `sender-constrained access tokens are not supported"}`,
	},
	{Name: "scope met", Require: readOrders, Auth: []string{"bearer reader"}, Status: 200, Body: alice},
	{
		Name: "missing scope", Require: scopes.All("orders:write"), Auth: []string{"Bearer reader"}, Status: 403,
		Challenge: realm + `, error="insufficient_scope", error_description="the access token lacks the required scope: orders:write", scope="orders:write"`,
		Body:      `{"error":"insufficient_scope","error_description":"the access token lacks the required scope: orders:write"}`,
	},
	{Name: "any-of scopes met", Require: anyOf, Auth: []string{"Bearer support"}, Status: 200, Body: `{"subject":"alice","client_id":"shop","scopes":["support"]}` + "\n"},
	{
		Name: "any-of scopes missing", Require: anyOf, Auth: []string{"Bearer reader"}, Status: 403,
		Challenge: realm + `, error="insufficient_scope", error_description="the access token lacks the required scope: orders:admin or support", scope="orders:admin"`,
		Body:      `{"error":"insufficient_scope","error_description":"the access token lacks the required scope: orders:admin or support"}`,
	},
	{Name: "AS down", Auth: []string{"Bearer down"}, Status: 503, RetryAfter: "7", Body: down503},
	{Name: "AS refuses our credentials", Auth: []string{"Bearer misconf"}, Status: 503, RetryAfter: "5", Body: down503},
	{Name: "query token disabled", Target: "/api/orders?access_token=reader", Status: 401, Challenge: realm},
	{Name: "query token enabled", Config: queryOK, Target: "/api/orders?access_token=reader", Status: 200, Body: alice},
	{
		Name: "query token and header", Config: queryOK, Target: "/api/orders?access_token=reader", Auth: []string{"Bearer reader"}, Status: 400,
		Challenge: realm + `, error="invalid_request", error_description="the access token was sent by more than one method"`,
		Body:      invReq + `the access token was sent by more than one method"}`,
	},
	{Name: "form token disabled", Method: "POST", Form: "access_token=reader", Status: 401, Challenge: realm},
	{Name: "form token enabled", Config: formOK, Method: "POST", Form: "access_token=reader&item=1", Status: 200, Body: alice},
	{Name: "anonymous allowed, no token", Config: anonymous, Status: 200, Body: `{"anonymous":true}`},
	{Name: "anonymous allowed, valid token", Config: anonymous, Auth: []string{"Bearer reader"}, Status: 200, Body: alice},
	{
		Name: "anonymous allowed, bad token", Config: anonymous, Auth: []string{"Bearer expired"}, Status: 401,
		Challenge: realm + `, error="invalid_token", error_description="the access token has expired"`,
		Body:      invTok + `the access token has expired"}`,
	},
	{Name: "anonymous allowed, scope required", Config: anonymous, Require: readOrders, Status: 401, Challenge: realm},
}

// swapCase changes the case of the first letter of s.
func swapCase(s string) string {
	i := strings.IndexFunc(s, func(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' })
	return s[:i] + string(s[i]^0x20) + s[i+1:]
}

var (
	mtlsOn     = func(c *rs.Config) { c.MTLS = true }
	mtlsDPoPOn = func(c *rs.Config) { mtlsOn(c); dpopOn(c) }
	// peer is a TLS connection whose client presented certs.
	peer = func(certs ...*x509.Certificate) *tls.ConnectionState {
		return &tls.ConnectionState{HandshakeComplete: true, PeerCertificates: certs}
	}
)

// HTTPSOrdersURL is what the default rs.Config.RequestURL makes of the
// suite's requests over TLS.
const HTTPSOrdersURL = "https://example.com/api/orders"

const noCert = "the access token is bound to a client certificate that the request did not present"

var mtlsCases = []Case{
	{Name: "mTLS: bound token with its certificate", Config: mtlsOn, Require: readOrders, Auth: []string{"Bearer cert-bound"}, TLS: peer(ClientCert), Status: 200, Body: alice},
	{Name: "mTLS: leaf of a chain", Config: mtlsOn, Auth: []string{"Bearer cert-bound"}, TLS: peer(ClientCert, OtherCert), Status: 200, Body: alice},
	{
		Name: "mTLS: another certificate", Config: mtlsOn, Auth: []string{"Bearer cert-bound"}, TLS: peer(OtherCert), Status: 401,
		Challenge: realm + `, error="invalid_token", error_description="` + noCert + `"`, Body: invTok + noCert + `"}`,
	},
	{
		Name: "mTLS: no TLS", Config: mtlsOn, Auth: []string{"Bearer cert-bound"}, Status: 401,
		Challenge: realm + `, error="invalid_token", error_description="` + noCert + `"`, Body: invTok + noCert + `"}`,
	},
	{
		Name: "mTLS: TLS without client certificate", Config: mtlsOn, Auth: []string{"Bearer cert-bound"}, TLS: peer(), Status: 401,
		Challenge: realm + `, error="invalid_token", error_description="` + noCert + `"`, Body: invTok + noCert + `"}`,
	},
	{
		Name: "mTLS: wrong-case thumbprint", Config: mtlsOn, Auth: []string{"Bearer cert-wrong-case"}, TLS: peer(ClientCert), Status: 401,
		Challenge: realm + `, error="invalid_token", error_description="` + noCert + `"`, Body: invTok + noCert + `"}`,
	},
	{
		Name: "mTLS: token bound to another certificate", Config: mtlsOn, Auth: []string{"Bearer mtls"}, TLS: peer(ClientCert), Status: 401,
		Challenge: realm + `, error="invalid_token", error_description="` + noCert + `"`, Body: invTok + noCert + `"}`,
	},
	{
		Name: "mTLS: unknown cnf member", Config: mtlsOn, Auth: []string{"Bearer cert-and-other"}, TLS: peer(ClientCert), Status: 401,
		Challenge: realm + `, error="invalid_token", error_description="sender-constrained access tokens are not supported"`,
		Body:      invTok + `sender-constrained access tokens are not supported"}`,
	},
	{
		Name: "mTLS: missing scope", Config: mtlsOn, Require: scopes.All("orders:write"), Auth: []string{"Bearer cert-bound"}, TLS: peer(ClientCert), Status: 403,
		Challenge: realm + `, error="insufficient_scope", error_description="the access token lacks the required scope: orders:write", scope="orders:write"`,
		Body:      `{"error":"insufficient_scope","error_description":"the access token lacks the required scope: orders:write"}`,
	},
	{Name: "mTLS: bearer token still accepted", Config: mtlsOn, Auth: []string{"Bearer reader"}, TLS: peer(OtherCert), Status: 200, Body: alice},
	{
		Name: "mTLS off: certificate-bound token", Auth: []string{"Bearer cert-bound"}, TLS: peer(ClientCert), Status: 401,
		Challenge: realm + `, error="invalid_token", error_description="sender-constrained access tokens are not supported"`,
		Body:      invTok + `sender-constrained access tokens are not supported"}`,
	},
	{
		Name: "mTLS: jkt and x5t#S256 without DPoP", Config: mtlsOn, Auth: []string{"Bearer cert-and-jkt"}, TLS: peer(ClientCert), Status: 401,
		Challenge: realm + `, error="invalid_token", error_description="sender-constrained access tokens are not supported"`,
		Body:      invTok + `sender-constrained access tokens are not supported"}`,
	},
	{
		Name: "mTLS and DPoP: both bindings proven", Config: mtlsDPoPOn, Auth: []string{"DPoP cert-and-jkt"}, TLS: peer(ClientCert),
		DPoP: []string{ClientKey.Proof("GET", HTTPSOrdersURL, "cert-and-jkt", Now)}, Status: 200, Body: alice,
	},
	{
		Name: "mTLS and DPoP: proof without the certificate", Config: mtlsDPoPOn, Auth: []string{"DPoP cert-and-jkt"}, TLS: peer(OtherCert),
		DPoP: []string{ClientKey.Proof("GET", HTTPSOrdersURL, "cert-and-jkt", Now)}, Status: 401,
		Challenge: realm + ", " + dpopRealm + `, error="invalid_token", error_description="` + noCert + `", ` + algs,
		Body:      invTok + noCert + `"}`,
	},
	{
		Name: "mTLS and DPoP: certificate without the proof", Config: mtlsDPoPOn, Auth: []string{"Bearer cert-and-jkt"}, TLS: peer(ClientCert), Status: 401,
		Challenge: realm + `, error="invalid_token", error_description="the DPoP-bound access token must be sent with the DPoP scheme", ` + dpopRealm + ", " + algs,
		Body:      invTok + `the DPoP-bound access token must be sent with the DPoP scheme"}`,
	},
}

// nestedCases put a RequireScopes on the route inside the middleware, as
// the README's routes do: the token is validated once, and the route's
// requirement answers alike in every framework.
var nestedCases = []Case{
	{Name: "route: scope met", Route: readOrders, Auth: []string{"Bearer reader"}, Status: 200, Body: alice},
	{
		Name: "route: scope missing", Route: scopes.All("orders:write"), Auth: []string{"Bearer reader"}, Status: 403,
		Challenge: realm + `, error="insufficient_scope", error_description="the access token lacks the required scope: orders:write", scope="orders:write"`,
		Body:      `{"error":"insufficient_scope","error_description":"the access token lacks the required scope: orders:write"}`,
	},
	{Name: "route: no token", Route: readOrders, Status: 401, Challenge: realm},
	{
		Name: "route: bad token", Route: readOrders, Auth: []string{"Bearer expired"}, Status: 401,
		Challenge: realm + `, error="invalid_token", error_description="the access token has expired"`,
		Body:      invTok + `the access token has expired"}`,
	},
	{Name: "route: both requirements met", Require: readOrders, Route: scopes.All("profile"), Auth: []string{"Bearer reader"}, Status: 200, Body: alice},
	{
		Name: "route: middleware requirement missing", Require: scopes.All("orders:write"), Route: readOrders, Auth: []string{"Bearer reader"}, Status: 403,
		Challenge: realm + `, error="insufficient_scope", error_description="the access token lacks the required scope: orders:write", scope="orders:write"`,
		Body:      `{"error":"insufficient_scope","error_description":"the access token lacks the required scope: orders:write"}`,
	},
	{Name: "route: anonymous allowed, token", Config: anonymous, Route: readOrders, Auth: []string{"Bearer reader"}, Status: 200, Body: alice},
	{Name: "route: anonymous allowed, no token", Config: anonymous, Route: readOrders, Status: 401, Challenge: realm},
	{Name: "route: DPoP-bound token with its proof", Config: dpopOn, Route: readOrders, Auth: []string{"DPoP bound"}, DPoP: []string{goodProof}, Status: 200, Body: alice},
}

// errorBody is an rs.Config.ErrorBody in the style of RFC 9457.
func errorBody(c *rs.Config) {
	c.ErrorBody = func(rj *rs.Rejection) (string, []byte) {
		return "application/problem+json", fmt.Appendf(nil, `{"status":%d,"title":%q}`, rj.Status, rj.Code)
	}
}

// hookCases check the adapters' hooks and the guard's ErrorBody, which
// reaches the answers of nested RequireScopes too.
var hookCases = []Case{
	{
		Name: "ErrorBody: the middleware's 401", Config: errorBody, Auth: []string{"Bearer expired"}, Status: 401,
		Challenge: realm + `, error="invalid_token", error_description="the access token has expired"`,
		Type:      "application/problem+json", Body: `{"status":401,"title":"invalid_token"}`,
	},
	{
		Name: "ErrorBody: a route's 403", Config: errorBody, Route: scopes.All("orders:write"), Auth: []string{"Bearer reader"}, Status: 403,
		Challenge: realm + `, error="insufficient_scope", error_description="the access token lacks the required scope: orders:write", scope="orders:write"`,
		Type:      "application/problem+json", Body: `{"status":403,"title":"insufficient_scope"}`,
	},
	{
		Name: "ErrorBody: a route's 401 behind AllowAnonymous", Config: func(c *rs.Config) { anonymous(c); errorBody(c) }, Route: readOrders, Status: 401,
		Challenge: realm, Type: "application/problem+json", Body: `{"status":401,"title":""}`,
	},
	{Name: "ErrorBody: 503", Config: errorBody, Auth: []string{"Bearer down"}, Status: 503, RetryAfter: "7", Type: "application/problem+json", Body: `{"status":503,"title":"temporarily_unavailable"}`},
	{Name: "Skipper: skipped", Hooks: hooks(Hooks{Skipper: healthz}), Target: "/healthz", Status: 200, Body: `{"anonymous":true}`},
	{Name: "Skipper: not skipped", Hooks: hooks(Hooks{Skipper: healthz}), Status: 401, Challenge: realm},
	{
		Name: "ErrorHandler: redirect to sign in", Hooks: signIn, Status: 302,
		Type: "text/html; charset=utf-8", Hook: "sign-in", Body: "<a href=\"/login\">Found</a>.\n\n",
	},
	{
		Name: "ErrorHandler: other errors keep their answer", Hooks: signIn, Auth: []string{"Bearer inactive"}, Status: 401,
		Challenge: realm + `, error="invalid_token", error_description="the access token is not active"`, Hook: "logged",
		Body: invTok + `the access token is not active"}`,
	},
	{Name: "SuccessHandler: sees the principal", Hooks: hooks(Hooks{SuccessHandler: whoSucceeded}), Auth: []string{"Bearer reader"}, Status: 200, Hook: "alice", Body: alice},
	{
		Name: "SuccessHandler: its error rejects", Hooks: hooks(Hooks{SuccessHandler: suspended}), Auth: []string{"Bearer reader"}, Status: 401,
		Challenge: realm + `, error="invalid_token", error_description="this account is suspended"`,
		Body:      invTok + `this account is suspended"}`,
	},
	{
		Name: "SuccessHandler: a plain error fails closed", Hooks: hooks(Hooks{SuccessHandler: func(http.ResponseWriter, *http.Request) error { return errors.New("database down") }}),
		Auth: []string{"Bearer reader"}, Status: 401,
		Challenge: realm + `, error="invalid_token", error_description="the access token was rejected"`,
		Body:      invTok + `the access token was rejected"}`,
	},
}

func healthz(r *http.Request) bool { return r.URL.Path == "/healthz" }

// hooks are the same hooks whatever the guard.
func hooks(h Hooks) func(*rs.Guard) Hooks { return func(*rs.Guard) Hooks { return h } }

// signIn is an ErrorHandler that sends a request without token to a
// sign-in page and answers the rest as the guard does.
func signIn(g *rs.Guard) Hooks {
	return Hooks{ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
		if errors.Is(err, rs.ErrNoToken) {
			w.Header().Set("X-Hook", "sign-in")
			http.Redirect(w, r, "/login", http.StatusFound)
			return
		}
		w.Header().Set("X-Hook", "logged")
		g.Reject(err).Write(w)
	}}
}

func whoSucceeded(w http.ResponseWriter, r *http.Request) error {
	p, ok := rs.PrincipalFrom(r.Context())
	if !ok {
		return errors.New("no principal")
	}
	w.Header().Set("X-Hook", p.Subject)
	return nil
}

func suspended(http.ResponseWriter, *http.Request) error {
	return &rs.Error{Kind: rs.ErrInvalidToken, Description: "this account is suspended"}
}

func init() {
	Cases = slices.Concat(Cases, dpopCases, mtlsCases, nestedCases, hookCases, jwtCases)
}

// Guard returns the suite's guard for c.
func (c Case) Guard(t testing.TB) *rs.Guard {
	g, _ := c.countingGuard(t)
	return g
}

// countingGuard returns the suite's guard for c and the number of
// introspections it made so far.
func (c Case) countingGuard(t testing.TB) (*rs.Guard, *atomic.Int64) {
	calls := new(atomic.Int64)
	cfg := rs.Config{
		Introspector: counting{Introspector: Introspector(), calls: calls},
		Audiences:    []string{audience},
		Realm:        "orders",
		Now:          func() time.Time { return Now },
		Logger:       slog.New(slog.DiscardHandler),
	}
	if c.Config != nil {
		c.Config(&cfg)
	}
	g, err := rs.New(cfg)
	if err != nil {
		t.Fatalf("rs.New: %v", err)
	}
	return g, calls
}

// counting counts the introspections of a guard.
type counting struct {
	rs.Introspector
	calls *atomic.Int64
}

func (c counting) Introspect(ctx context.Context, token string) (*introspect.Response, error) {
	c.calls.Add(1)
	return c.Introspector.Introspect(ctx, token)
}

// Request returns the case's request.
func (c Case) Request() *http.Request {
	method, target := c.Method, c.Target
	if method == "" {
		method = http.MethodGet
	}
	if target == "" {
		target = "/api/orders"
	}
	var body io.Reader
	if c.Form != "" {
		body = strings.NewReader(c.Form)
	}
	r := httptest.NewRequest(method, target, body)
	if c.Form != "" {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, a := range c.Auth {
		r.Header.Add("Authorization", a)
	}
	for _, p := range c.DPoP {
		r.Header.Add("DPoP", p)
	}
	r.TLS = c.TLS
	return r
}

// Result is what a client saw.
type Result struct {
	Status     int
	Challenge  string
	RetryAfter string
	Cache      string
	Type       string // Content-Type
	Hook       string // X-Hook
	Body       string
}

func (r Result) String() string {
	return fmt.Sprintf("%d WWW-Authenticate=%q Retry-After=%q Cache-Control=%q Content-Type=%q X-Hook=%q body=%q",
		r.Status, r.Challenge, r.RetryAfter, r.Cache, r.Type, r.Hook, r.Body)
}

// Do runs the case against an adapter. Whatever the nesting, a request is
// validated at most once.
func (c Case) Do(t testing.TB, a Adapter) Result {
	t.Helper()
	g, calls := c.countingGuard(t)
	s := Setup{Guard: g, Require: c.Require, Route: c.Route, Final: http.HandlerFunc(Answer)}
	if c.Hooks != nil {
		s.Hooks = c.Hooks(g)
	}
	h, err := a.Build(s)
	if err != nil {
		t.Fatalf("%s: %v", a.Name, err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, c.Request())
	if n := calls.Load(); n > 1 {
		t.Errorf("%s: %d introspections for one request, want at most 1", a.Name, n)
	}
	return Result{
		Status:     rec.Code,
		Challenge:  rec.Header().Get("WWW-Authenticate"),
		RetryAfter: rec.Header().Get("Retry-After"),
		Cache:      rec.Header().Get("Cache-Control"),
		Type:       rec.Header().Get("Content-Type"),
		Hook:       rec.Header().Get("X-Hook"),
		Body:       rec.Body.String(),
	}
}

// Want is the result the case expects.
func (c Case) Want() Result {
	w := Result{Status: c.Status, Challenge: c.Challenge, RetryAfter: c.RetryAfter, Type: c.Type, Hook: c.Hook, Body: c.Body}
	if c.Status >= 400 {
		w.Cache = "no-store"
	}
	if c.Body != "" && c.Type == "" {
		w.Type = "application/json"
	}
	return w
}

// Run runs every case against every adapter, checks each against the
// expected answer, and checks that all adapters answered alike.
func Run(t *testing.T, adapters ...Adapter) {
	for _, c := range Cases {
		t.Run(c.Name, func(t *testing.T) {
			var first *Result
			for _, a := range adapters {
				got := c.Do(t, a)
				if want := c.Want(); got != want {
					t.Errorf("%s:\n got %v\nwant %v", a.Name, got, want)
				}
				if first == nil {
					first = &got
				} else if got != *first {
					t.Errorf("%s differs from %s:\n%v\n%v", a.Name, adapters[0].Name, got, *first)
				}
			}
		})
	}
}

// RunConstruction checks, for every adapter, that New without a guard is
// an error and that RequireScopes without one panics (it is for program
// start-up, where a panic stops a misconfigured server at once).
func RunConstruction(t *testing.T, adapters ...Adapter) {
	for _, a := range adapters {
		t.Run(a.Name, func(t *testing.T) {
			if _, err := a.Build(Setup{Final: http.HandlerFunc(Answer)}); err == nil {
				t.Error("New without guard succeeded")
			}
			defer func() {
				if recover() == nil {
					t.Error("RequireScopes without guard did not panic")
				}
			}()
			_, _ = a.Build(Setup{Route: readOrders, Final: http.HandlerFunc(Answer)})
		})
	}
}
