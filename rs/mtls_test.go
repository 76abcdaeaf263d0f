package rs_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/dpop"
	"github.com/tokengate/tokengate/introspect"
	"github.com/tokengate/tokengate/rs"
	"github.com/tokengate/tokengate/rs/rstest"
	"github.com/tokengate/tokengate/scopes"
)

// selfSigned returns a new self-signed client certificate.
func selfSigned(cn string) *x509.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		panic(err)
	}
	return cert
}

var (
	certA = selfSigned("client-a")
	certB = selfSigned("client-b")
)

// swapCase changes the case of the first letter of s.
func swapCase(s string) string {
	i := strings.IndexFunc(s, func(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' })
	c := s[i]
	if c >= 'a' {
		c -= 'a' - 'A'
	} else {
		c += 'a' - 'A'
	}
	return s[:i] + string(c) + s[i+1:]
}

// mtlsIntrospector knows tokens bound to certA in several ways.
func mtlsIntrospector() rs.Introspector {
	cnf := func(s string) rstest.Answer {
		return active(func(r *introspect.Response) { r.Confirmation = json.RawMessage(s) })
	}
	x5t := rs.CertificateThumbprint(certA)
	in := fake()
	in["cert-bound"] = cnf(`{"x5t#S256":"` + x5t + `"}`)
	in["cert-bound-padded"] = cnf(`{"x5t#S256":"` + x5t + `="}`)
	in["cert-bound-wrong-case"] = cnf(`{"x5t#S256":"` + swapCase(x5t) + `"}`)
	in["cert-bound-std"] = cnf(`{"x5t#S256":"` + strings.NewReplacer("-", "+", "_", "/").Replace(x5t) + `="}`)
	in["cert-and-other"] = cnf(`{"x5t#S256":"` + x5t + `","x5t":"abc"}`)
	in["cert-number"] = cnf(`{"x5t#S256":42}`)
	in["cert-empty"] = cnf(`{"x5t#S256":""}`)
	in["cert-and-jkt"] = cnf(`{"jkt":"` + dpopKey.JKT() + `","x5t#S256":"` + x5t + `"}`)
	in["cert-bound-dpop-type"] = active(func(r *introspect.Response) {
		r.TokenType = "DPoP"
		r.Confirmation = json.RawMessage(`{"x5t#S256":"` + x5t + `"}`)
	})
	in["cert-bound-wrong-aud"] = active(func(r *introspect.Response) {
		r.Confirmation = json.RawMessage(`{"x5t#S256":"` + x5t + `"}`)
		r.Audience = []string{"https://other.example.com"}
	})
	return in
}

func mtlsGuard(t testing.TB, mut func(*rs.Config)) *rs.Guard {
	t.Helper()
	return newGuard(t, func(c *rs.Config) {
		c.Introspector = mtlsIntrospector()
		c.MTLS = true
		if mut != nil {
			mut(c)
		}
	})
}

// withPeer returns a TLS connection state whose client presented certs.
func withPeer(certs ...*x509.Certificate) *tls.ConnectionState {
	return &tls.ConnectionState{HandshakeComplete: true, PeerCertificates: certs}
}

const descCert = "the access token is bound to a client certificate that the request did not present"

func TestMTLSTokens(t *testing.T) {
	tests := []struct {
		name  string
		token string
		conn  *tls.ConnectionState
		kind  error  // nil: accepted
		desc  string // the error_description
	}{
		{name: "match", token: "cert-bound", conn: withPeer(certA)},
		{name: "match, chain sent", token: "cert-bound", conn: withPeer(certA, certB)},
		{name: "match, token_type absent", token: "cert-bound", conn: withPeer(certA)},
		{name: "mismatch", token: "cert-bound", conn: withPeer(certB), kind: rs.ErrInvalidToken, desc: descCert},
		{name: "only the leaf counts", token: "cert-bound", conn: withPeer(certB, certA), kind: rs.ErrInvalidToken, desc: descCert},
		{name: "no TLS", token: "cert-bound", kind: rs.ErrInvalidToken, desc: descCert},
		{name: "no peer certificate", token: "cert-bound", conn: withPeer(), kind: rs.ErrInvalidToken, desc: descCert},
		{name: "padded thumbprint", token: "cert-bound-padded", conn: withPeer(certA), kind: rs.ErrInvalidToken, desc: descCert},
		{name: "standard base64 thumbprint", token: "cert-bound-std", conn: withPeer(certA), kind: rs.ErrInvalidToken, desc: descCert},
		{name: "wrong-case thumbprint", token: "cert-bound-wrong-case", conn: withPeer(certA), kind: rs.ErrInvalidToken, desc: descCert},
		{name: "unknown cnf member beside x5t#S256", token: "cert-and-other", conn: withPeer(certA), kind: rs.ErrInvalidToken, desc: "sender-constrained access tokens are not supported"},
		{name: "x5t#S256 not a string", token: "cert-number", conn: withPeer(certA), kind: rs.ErrInvalidToken, desc: "sender-constrained access tokens are not supported"},
		{name: "x5t#S256 empty", token: "cert-empty", conn: withPeer(certA), kind: rs.ErrInvalidToken, desc: "sender-constrained access tokens are not supported"},
		{name: "jkt and x5t#S256 without DPoP", token: "cert-and-jkt", conn: withPeer(certA), kind: rs.ErrInvalidToken, desc: "sender-constrained access tokens are not supported"},
		{name: "jkt without DPoP", token: "cnf-jkt", conn: withPeer(certA), kind: rs.ErrInvalidToken, desc: "sender-constrained access tokens are not supported"},
		{name: "token_type DPoP without DPoP", token: "cert-bound-dpop-type", conn: withPeer(certA), kind: rs.ErrInvalidToken, desc: "sender-constrained access tokens are not supported"},
		{name: "garbage cnf", token: "cnf-garbage", conn: withPeer(certA), kind: rs.ErrInvalidToken, desc: "sender-constrained access tokens are not supported"},
		{name: "policy before binding", token: "cert-bound-wrong-aud", conn: withPeer(certA), kind: rs.ErrInvalidToken, desc: "the access token is not meant for this resource"},
		{name: "bearer token, no TLS", token: "good"},
		{name: "bearer token with a certificate", token: "good", conn: withPeer(certB)},
		{name: "empty cnf", token: "cnf-empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := mtlsGuard(t, nil)
			r := httptest.NewRequest("GET", "/orders", nil)
			r.Header.Set("Authorization", "Bearer "+tt.token)
			r.TLS = tt.conn
			p, err := g.Check(r, scopes.All("orders:read"))
			if tt.kind == nil {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				if p.Subject != "alice" || p.DPoPThumbprint != "" {
					t.Fatalf("principal %+v", p)
				}
				return
			}
			if !errors.Is(err, tt.kind) {
				t.Fatalf("Check: %v, want %v", err, tt.kind)
			}
			rj := g.Reject(err)
			want := `Bearer realm="api", error="invalid_token", error_description="` + tt.desc + `"`
			if rj.Status != 401 || rj.Header.Get("WWW-Authenticate") != want || string(rj.Body) != `{"error":"invalid_token","error_description":"`+tt.desc+`"}` {
				t.Fatalf("got %d %q %s\nwant 401 %q", rj.Status, rj.Header.Get("WWW-Authenticate"), rj.Body, want)
			}
		})
	}
}

func TestCertificateThumbprint(t *testing.T) {
	// RFC 8705 §3.1: base64url(SHA-256(DER)) without padding; SHA-256("abc")
	// is the FIPS 180-2 test vector ba7816bf…15ad.
	got := rs.CertificateThumbprint(&x509.Certificate{Raw: []byte("abc")})
	if want := "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// TestMTLSClientCertificate checks the hook for a TLS-terminating proxy
// that forwards the client certificate as URL-encoded PEM.
func TestMTLSClientCertificate(t *testing.T) {
	fromProxy := func(r *http.Request) (*x509.Certificate, error) {
		v := r.Header.Get("X-Client-Cert")
		if v == "" {
			return nil, nil
		}
		s, err := url.QueryUnescape(v)
		if err != nil {
			return nil, err
		}
		b, _ := pem.Decode([]byte(s))
		if b == nil {
			return nil, errors.New("no PEM block")
		}
		return x509.ParseCertificate(b.Bytes)
	}
	pemOf := func(c *x509.Certificate) string {
		return url.QueryEscape(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})))
	}
	tests := []struct {
		name   string
		header string
		conn   *tls.ConnectionState
		ok     bool
	}{
		{name: "forwarded certificate", header: pemOf(certA), ok: true},
		{name: "forwarded other certificate", header: pemOf(certB)},
		{name: "nothing forwarded", header: ""},
		{name: "nothing forwarded, TLS peer ignored", conn: withPeer(certA)},
		{name: "garbage forwarded", header: "%%%"},
		{name: "not PEM", header: "hello"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := mtlsGuard(t, func(c *rs.Config) { c.ClientCertificate = fromProxy })
			r := httptest.NewRequest("GET", "/orders", nil)
			r.Header.Set("Authorization", "Bearer cert-bound")
			r.Header.Set("X-Client-Cert", tt.header)
			r.TLS = tt.conn
			_, err := g.Check(r, scopes.Requirement{})
			if tt.ok != (err == nil) {
				t.Fatalf("Authenticate: %v, want ok=%t", err, tt.ok)
			}
			var e *rs.Error
			if err != nil && (!errors.As(err, &e) || e.Kind != rs.ErrInvalidToken || e.Description != descCert) {
				t.Fatalf("Authenticate: %v", err)
			}
		})
	}
}

// TestMTLSAndDPoP checks a token bound to both a DPoP key and a client
// certificate: both must be proven.
func TestMTLSAndDPoP(t *testing.T) {
	const httpsOrders = "https://example.com/orders" // the default RequestURL over TLS
	tests := []struct {
		name, token, scheme string
		conn                *tls.ConnectionState
		proof               string
		kind                error // nil: accepted
		challenge           string
	}{
		{name: "both proven", token: "cert-and-jkt", scheme: "DPoP", conn: withPeer(certA), proof: dpopKey.Proof("GET", httpsOrders, "cert-and-jkt", now)},
		{
			name: "proof without certificate", token: "cert-and-jkt", scheme: "DPoP", proof: dpopKey.Proof("GET", "http://example.com/orders", "cert-and-jkt", now),
			kind: rs.ErrInvalidToken, challenge: `Bearer realm="api", DPoP realm="api", error="invalid_token", error_description="` + descCert + `", algs="ES256 RS256 PS256 EdDSA"`,
		},
		{
			name: "proof with another certificate", token: "cert-and-jkt", scheme: "DPoP", conn: withPeer(certB), proof: dpopKey.Proof("GET", httpsOrders, "cert-and-jkt", now),
			kind: rs.ErrInvalidToken, challenge: `Bearer realm="api", DPoP realm="api", error="invalid_token", error_description="` + descCert + `", algs="ES256 RS256 PS256 EdDSA"`,
		},
		{
			name: "certificate without proof key", token: "cert-and-jkt", scheme: "DPoP", conn: withPeer(certA), proof: dpopKey.Proof("GET", httpsOrders, "good", now),
			kind: rs.ErrInvalidDPoPProof, challenge: `Bearer realm="api", DPoP realm="api", error="invalid_dpop_proof", error_description="the DPoP proof is for another access token", algs="ES256 RS256 PS256 EdDSA"`,
		},
		{
			name: "certificate, Bearer scheme", token: "cert-and-jkt", scheme: "Bearer", conn: withPeer(certA),
			kind: rs.ErrInvalidToken, challenge: `Bearer realm="api", error="invalid_token", error_description="the DPoP-bound access token must be sent with the DPoP scheme", DPoP realm="api", algs="ES256 RS256 PS256 EdDSA"`,
		},
		{
			name: "certificate-bound token with the DPoP scheme", token: "cert-bound", scheme: "DPoP", conn: withPeer(certA), proof: dpopKey.Proof("GET", httpsOrders, "cert-bound", now),
			kind: rs.ErrInvalidToken, challenge: `Bearer realm="api", DPoP realm="api", error="invalid_token", error_description="the access token is not DPoP-bound", algs="ES256 RS256 PS256 EdDSA"`,
		},
		{name: "certificate-bound token as Bearer", token: "cert-bound", scheme: "Bearer", conn: withPeer(certA)},
		{
			name: "token_type DPoP with only x5t#S256", token: "cert-bound-dpop-type", scheme: "Bearer", conn: withPeer(certA),
			kind: rs.ErrInvalidToken, challenge: `Bearer realm="api", error="invalid_token", error_description="the DPoP-bound access token has no key confirmation (cnf.jkt)", DPoP realm="api", algs="ES256 RS256 PS256 EdDSA"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := mtlsGuard(t, func(c *rs.Config) {
				v, err := dpop.New(dpop.Config{Now: func() time.Time { return now }})
				if err != nil {
					t.Fatal(err)
				}
				c.DPoP = v
			})
			r := httptest.NewRequest("GET", "/orders", nil)
			r.Header.Set("Authorization", tt.scheme+" "+tt.token)
			if tt.proof != "" {
				r.Header.Set("DPoP", tt.proof)
			}
			r.TLS = tt.conn
			p, err := g.Check(r, scopes.Requirement{})
			if tt.kind == nil {
				if err != nil {
					t.Fatalf("Authenticate: %v", err)
				}
				if want := map[bool]string{true: dpopKey.JKT()}[tt.scheme == "DPoP"]; p.DPoPThumbprint != want {
					t.Fatalf("DPoPThumbprint %q, want %q", p.DPoPThumbprint, want)
				}
				return
			}
			if !errors.Is(err, tt.kind) {
				t.Fatalf("Authenticate: %v, want %v", err, tt.kind)
			}
			if rj := g.Reject(err); rj.Status != 401 || rj.Header.Get("WWW-Authenticate") != tt.challenge {
				t.Fatalf("got %d %q\nwant 401 %q", rj.Status, rj.Header.Get("WWW-Authenticate"), tt.challenge)
			}
		})
	}
}

// TestMTLSOff checks that without Config.MTLS certificate-bound tokens are
// rejected exactly as before, whatever certificate the request has.
func TestMTLSOff(t *testing.T) {
	tests := []struct {
		name string
		dpop bool
		desc string
	}{
		{name: "no DPoP", desc: "sender-constrained access tokens are not supported"},
		{name: "DPoP", dpop: true, desc: "certificate-bound access tokens are not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGuard(t, func(c *rs.Config) {
				c.Introspector = mtlsIntrospector()
				if tt.dpop {
					v, err := dpop.New(dpop.Config{Now: func() time.Time { return now }})
					if err != nil {
						t.Fatal(err)
					}
					c.DPoP = v
				}
			})
			r := httptest.NewRequest("GET", "/orders", nil)
			r.Header.Set("Authorization", "Bearer cert-bound")
			r.TLS = withPeer(certA)
			_, err := g.Check(r, scopes.Requirement{})
			var e *rs.Error
			if !errors.As(err, &e) || e.Kind != rs.ErrInvalidToken || e.Description != tt.desc {
				t.Fatalf("Authenticate: %v, want %q", err, tt.desc)
			}
			if _, err := g.Check(withAuth("Bearer good", withPeer(certA)), scopes.Requirement{}); err != nil {
				t.Fatalf("bearer token: %v", err)
			}
		})
	}
	_, err := rs.New(rs.Config{
		Introspector: fake(), Audiences: []string{api},
		ClientCertificate: func(*http.Request) (*x509.Certificate, error) { return certA, nil },
	})
	if err == nil || !strings.Contains(err.Error(), "Config.ClientCertificate") {
		t.Fatalf("ClientCertificate without MTLS: %v", err)
	}
}

func withAuth(auth string, conn *tls.ConnectionState) *http.Request {
	r := httptest.NewRequest("GET", "/orders", nil)
	r.Header.Set("Authorization", auth)
	r.TLS = conn
	return r
}

func TestMTLSMetadata(t *testing.T) {
	tests := []struct {
		name string
		g    *rs.Guard
		want string
	}{
		{name: "on", g: mtlsGuard(t, nil), want: `{"resource":"https://api.example.com","bearer_methods_supported":["header"],"tls_client_certificate_bound_access_tokens":true}`},
		{name: "off", g: newGuard(t, nil), want: `{"resource":"https://api.example.com","bearer_methods_supported":["header"]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := tt.g.MetadataHandler(rs.ResourceMetadata{Resource: api})
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
			if rec.Body.String() != tt.want {
				t.Fatalf("got %s\nwant %s", rec.Body, tt.want)
			}
		})
	}
}

// FuzzCheckMTLS gives a guard accepting mTLS an arbitrary cnf member for a
// bearer token, with or without certA: the token is accepted only if cnf
// binds nothing, or binds exactly certA's thumbprint and certA was
// presented; every rejection is a 401 invalid_token with a challenge.
func FuzzCheckMTLS(f *testing.F) {
	x5t := rs.CertificateThumbprint(certA)
	f.Add(`{"x5t#S256":"`+x5t+`"}`, true)
	f.Add(`{"x5t#S256":"`+x5t+`"}`, false)
	f.Add(`{"x5t#S256":"`+x5t+`="}`, true)
	f.Add(`{"x5t#S256":"`+x5t+`","x5t#S256":"x"}`, true)
	f.Add(`{"jkt":"abc","x5t#S256":"`+x5t+`"}`, true)
	f.Add(`{}`, false)
	f.Fuzz(func(t *testing.T, cnf string, withCert bool) {
		in := fake()
		in["t"] = active(func(r *introspect.Response) { r.Confirmation = json.RawMessage(cnf) })
		g := mtlsGuard(t, func(c *rs.Config) { c.Introspector = in })
		r := withAuth("Bearer t", nil)
		if withCert {
			r.TLS = withPeer(certA)
		}
		_, err := g.Check(r, scopes.Requirement{})
		if err == nil {
			var m map[string]any
			if json.Unmarshal([]byte(cnf), &m) != nil && strings.TrimSpace(cnf) != "" && strings.TrimSpace(cnf) != "null" {
				t.Fatalf("accepted with unparsable cnf %q", cnf)
			}
			if len(m) > 0 && (!withCert || len(m) != 1 || m["x5t#S256"] != x5t) {
				t.Fatalf("accepted with cnf %q, certificate %t", cnf, withCert)
			}
			return
		}
		rj := g.Reject(err)
		if !errors.Is(err, rs.ErrInvalidToken) || rj.Status != 401 || !strings.HasPrefix(rj.Header.Get("WWW-Authenticate"), `Bearer realm="api", error="invalid_token"`) {
			t.Fatalf("cnf %q: %v, %d %q", cnf, err, rj.Status, rj.Header.Get("WWW-Authenticate"))
		}
	})
}

// BenchmarkAuthenticateMTLS is the cost of a certificate-bound token whose
// verdict is known (the fake introspector answers at once): the policy
// plus the cnf parse and the thumbprint of the client certificate.
func BenchmarkAuthenticateMTLS(b *testing.B) {
	g := mtlsGuard(b, nil)
	r := withAuth("Bearer cert-bound", withPeer(certA))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := g.Check(r, scopes.Requirement{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAuthenticateBearerMTLSOn is [BenchmarkAuthenticateMTLS]'s
// baseline: a plain bearer token through the same guard.
func BenchmarkAuthenticateBearerMTLSOn(b *testing.B) {
	g := mtlsGuard(b, nil)
	r := withAuth("Bearer good", withPeer(certA))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := g.Check(r, scopes.Requirement{}); err != nil {
			b.Fatal(err)
		}
	}
}
