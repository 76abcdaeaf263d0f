package rs_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/dpop"
	"github.com/tokengate/tokengate/dpop/dpoptest"
	"github.com/tokengate/tokengate/introspect"
	"github.com/tokengate/tokengate/rs"
	"github.com/tokengate/tokengate/scopes"
)

var dpopKey = dpoptest.NewKey("ES256")

// dpopGuard returns a guard accepting DPoP whose introspector knows tokens
// bound to dpopKey in several ways.
func dpopGuard(t testing.TB, mut func(*rs.Config)) *rs.Guard {
	t.Helper()
	cnf := func(s string) func(r *introspect.Response) {
		return func(r *introspect.Response) { r.Confirmation = json.RawMessage(s) }
	}
	jkt := `{"jkt":"` + dpopKey.JKT() + `"}`
	in := fake()
	in["bound"] = active(func(r *introspect.Response) { r.TokenType = "DPoP"; cnf(jkt)(r) })
	in["bound-bearer-type"] = active(cnf(jkt))
	in["bound-no-type"] = active(func(r *introspect.Response) { r.TokenType = ""; cnf(jkt)(r) })
	in["dpop-no-cnf"] = active(func(r *introspect.Response) { r.TokenType = "DPoP" })
	in["dpop-empty-cnf"] = active(func(r *introspect.Response) { r.TokenType = "DPoP"; cnf(`{}`)(r) })
	in["jkt-and-x5t"] = active(cnf(`{"jkt":"` + dpopKey.JKT() + `","x5t#S256":"abc"}`))
	in["jkt-and-other"] = active(cnf(`{"jkt":"` + dpopKey.JKT() + `","kid":"abc"}`))
	in["jkt-number"] = active(cnf(`{"jkt":42}`))
	in["cnf-garbage"] = active(cnf(`"x"`))
	in["bound-wrong-aud"] = active(func(r *introspect.Response) { cnf(jkt)(r); r.Audience = []string{"https://other.example.com"} })
	return newGuard(t, func(c *rs.Config) {
		c.Introspector = in
		v, err := dpop.New(dpop.Config{Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		c.DPoP = v
		if mut != nil {
			mut(c)
		}
	})
}

const ordersURL = "http://example.com/orders"

func dpopRequest(token string, proofs ...string) *http.Request {
	r := httptest.NewRequest("GET", "/orders", nil)
	r.Header.Set("Authorization", "DPoP "+token)
	for _, p := range proofs {
		r.Header.Add("DPoP", p)
	}
	return r
}

func TestDPoPTokens(t *testing.T) {
	tests := []struct {
		token string
		kind  error  // nil: accepted
		desc  string // the error_description
	}{
		{token: "bound"},
		{token: "bound-bearer-type"},
		{token: "bound-no-type"},
		{token: "dpop-no-cnf", kind: rs.ErrInvalidToken, desc: "the DPoP-bound access token has no key confirmation (cnf.jkt)"},
		{token: "dpop-empty-cnf", kind: rs.ErrInvalidToken, desc: "the DPoP-bound access token has no key confirmation (cnf.jkt)"},
		{token: "jkt-and-x5t", kind: rs.ErrInvalidToken, desc: "certificate-bound access tokens are not supported"},
		{token: "cnf-x5t", kind: rs.ErrInvalidToken, desc: "certificate-bound access tokens are not supported"},
		{token: "jkt-and-other", kind: rs.ErrInvalidToken, desc: "sender-constrained access tokens are not supported"},
		{token: "jkt-number", kind: rs.ErrInvalidToken, desc: "sender-constrained access tokens are not supported"},
		{token: "cnf-garbage", kind: rs.ErrInvalidToken, desc: "sender-constrained access tokens are not supported"},
		{token: "good", kind: rs.ErrInvalidToken, desc: "the access token is not DPoP-bound"},
		{token: "cnf-empty", kind: rs.ErrInvalidToken, desc: "the access token is not DPoP-bound"},
		{token: "bound-wrong-aud", kind: rs.ErrInvalidToken, desc: "the access token is not meant for this resource"},
		{token: "expired", kind: rs.ErrInvalidToken, desc: "the access token has expired"},
		{token: "inactive", kind: rs.ErrInvalidToken, desc: "the access token is not active"},
	}
	for _, tt := range tests {
		t.Run(tt.token, func(t *testing.T) {
			g := dpopGuard(t, nil)
			p, err := g.Check(dpopRequest(tt.token, dpopKey.Proof("GET", ordersURL, tt.token, now)), scopes.Requirement{})
			if tt.kind == nil {
				if err != nil {
					t.Fatalf("Authenticate: %v", err)
				}
				if p.DPoPThumbprint != dpopKey.JKT() || p.Subject != "alice" {
					t.Fatalf("principal %+v", p)
				}
				return
			}
			if !errors.Is(err, tt.kind) {
				t.Fatalf("Authenticate: %v, want %v", err, tt.kind)
			}
			rj := g.Reject(err)
			want := `Bearer realm="api", DPoP realm="api", error="invalid_token", error_description="` + tt.desc + `", algs="ES256 RS256 PS256 EdDSA"`
			if rj.Status != 401 || rj.Header.Get("WWW-Authenticate") != want {
				t.Fatalf("got %d %q\nwant 401 %q", rj.Status, rj.Header.Get("WWW-Authenticate"), want)
			}
		})
	}
}

func TestDPoPBoundTokenAsBearer(t *testing.T) {
	for _, tok := range []string{"bound", "bound-bearer-type", "dpop-no-cnf"} {
		t.Run(tok, func(t *testing.T) {
			g := dpopGuard(t, nil)
			r := httptest.NewRequest("GET", "/orders", nil)
			r.Header.Set("Authorization", "Bearer "+tok)
			r.Header.Set("DPoP", dpopKey.Proof("GET", ordersURL, tok, now))
			_, err := g.Check(r, scopes.Requirement{})
			if !errors.Is(err, rs.ErrInvalidToken) {
				t.Fatalf("Authenticate: %v, want invalid_token", err)
			}
			if ch := g.Reject(err).Header.Get("WWW-Authenticate"); !strings.HasPrefix(ch, `Bearer realm="api", error="invalid_token"`) ||
				!strings.HasSuffix(ch, `, DPoP realm="api", algs="ES256 RS256 PS256 EdDSA"`) {
				t.Fatalf("challenge %q", ch)
			}
		})
	}
}

// TestDPoPWithoutVerifier checks that today's behaviour is kept exactly
// when Config.DPoP is nil: the DPoP scheme is not ours, bound tokens are
// rejected as Bearer.
func TestDPoPWithoutVerifier(t *testing.T) {
	in := fake()
	in["bound"] = active(func(r *introspect.Response) {
		r.TokenType = "DPoP"
		r.Confirmation = json.RawMessage(`{"jkt":"` + dpopKey.JKT() + `"}`)
	})
	g := newGuard(t, func(c *rs.Config) { c.Introspector = in })
	_, err := g.Check(dpopRequest("bound", dpopKey.Proof("GET", ordersURL, "bound", now)), scopes.Requirement{})
	if !errors.Is(err, rs.ErrNoToken) {
		t.Fatalf("DPoP scheme: %v, want no token", err)
	}
	r := httptest.NewRequest("GET", "/orders", nil)
	r.Header.Set("Authorization", "Bearer bound")
	_, err = g.Check(r, scopes.Requirement{})
	var e *rs.Error
	if !errors.As(err, &e) || e.Kind != rs.ErrInvalidToken || e.Description != "sender-constrained access tokens are not supported" {
		t.Fatalf("Bearer: %v", err)
	}
	if ch := g.Reject(err).Header.Get("WWW-Authenticate"); strings.Contains(ch, "DPoP") {
		t.Fatalf("challenge mentions DPoP without a verifier: %q", ch)
	}
}

func TestDPoPReplayAcrossRequests(t *testing.T) {
	g := dpopGuard(t, nil)
	proof := dpopKey.Proof("GET", ordersURL, "bound", now)
	if _, err := g.Check(dpopRequest("bound", proof), scopes.Requirement{}); err != nil {
		t.Fatalf("first: %v", err)
	}
	_, err := g.Check(dpopRequest("bound", proof), scopes.Requirement{})
	if !errors.Is(err, rs.ErrInvalidDPoPProof) || !errors.Is(err, dpop.ErrReplay) {
		t.Fatalf("replay: %v", err)
	}
	rj := g.Reject(err)
	want := `Bearer realm="api", DPoP realm="api", error="invalid_dpop_proof", error_description="the DPoP proof was already used", algs="ES256 RS256 PS256 EdDSA"`
	if rj.Status != 401 || rj.Header.Get("WWW-Authenticate") != want || string(rj.Body) != `{"error":"invalid_dpop_proof","error_description":"the DPoP proof was already used"}` {
		t.Fatalf("got %d %q %s", rj.Status, rj.Header.Get("WWW-Authenticate"), rj.Body)
	}
}

// proofCounter counts introspections.
type proofCounter struct {
	rs.Introspector
	n int
}

func (c *proofCounter) Introspect(ctx context.Context, tok string) (*introspect.Response, error) {
	c.n++
	return c.Introspector.Introspect(ctx, tok)
}

func TestDPoPMissingProofSkipsIntrospection(t *testing.T) {
	var in *proofCounter
	g := dpopGuard(t, func(c *rs.Config) {
		in = &proofCounter{Introspector: c.Introspector}
		c.Introspector = in
	})
	for _, proofs := range [][]string{nil, {"a", "b"}} {
		_, err := g.Check(dpopRequest("bound", proofs...), scopes.Requirement{})
		if !errors.Is(err, rs.ErrInvalidDPoPProof) || !errors.Is(err, dpop.ErrMissingProof) {
			t.Fatalf("%d proofs: %v", len(proofs), err)
		}
	}
	if in.n != 0 {
		t.Fatalf("%d introspections for requests without one proof", in.n)
	}
	if _, err := g.Check(dpopRequest("bound", dpopKey.Proof("GET", ordersURL, "bound", now)), scopes.Requirement{}); err != nil || in.n != 1 {
		t.Fatalf("with a proof: %v, %d introspections", err, in.n)
	}
}

func TestDPoPRequestURL(t *testing.T) {
	tests := []struct {
		name  string
		hook  func(*http.Request) string
		tls   bool
		htu   string
		valid bool
	}{
		{name: "default, plain", htu: "http://example.com/orders", valid: true},
		{name: "default, TLS", tls: true, htu: "https://example.com/orders", valid: true},
		{name: "default, TLS, proof says http", tls: true, htu: "http://example.com/orders"},
		{
			name: "behind a proxy", htu: "https://api.example.com/v1/orders", valid: true,
			hook: func(r *http.Request) string { return "https://api.example.com/v1" + r.URL.EscapedPath() },
		},
		{
			name: "behind a proxy, proof for the internal URL", htu: "http://example.com/orders",
			hook: func(r *http.Request) string { return "https://api.example.com/v1" + r.URL.EscapedPath() },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := dpopGuard(t, func(c *rs.Config) { c.RequestURL = tt.hook })
			r := dpopRequest("bound", dpopKey.Proof("GET", tt.htu, "bound", now))
			if tt.tls {
				r.TLS = &tls.ConnectionState{}
			}
			_, err := g.Check(r, scopes.Requirement{})
			if tt.valid && err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
			if !tt.valid && !errors.Is(err, dpop.ErrRequestMismatch) {
				t.Fatalf("Authenticate: %v, want a request mismatch", err)
			}
		})
	}
}

func TestDPoPReplayCacheFull(t *testing.T) {
	g := dpopGuard(t, func(c *rs.Config) {
		v, err := dpop.New(dpop.Config{Now: func() time.Time { return now }, MaxReplayEntries: 1})
		if err != nil {
			t.Fatal(err)
		}
		c.DPoP = v
	})
	if _, err := g.Check(dpopRequest("bound", dpopKey.Proof("GET", ordersURL, "bound", now)), scopes.Requirement{}); err != nil {
		t.Fatal(err)
	}
	_, err := g.Check(dpopRequest("bound", dpopKey.Proof("GET", ordersURL, "bound", now)), scopes.Requirement{})
	if !errors.Is(err, rs.ErrUnavailable) || !errors.Is(err, dpop.ErrReplayCacheFull) {
		t.Fatalf("full cache: %v, want unavailable", err)
	}
	if rj := g.Reject(err); rj.Status != 503 || rj.Header.Get("Retry-After") == "" {
		t.Fatalf("got %d", rj.Status)
	}
}

func TestDPoPMetadata(t *testing.T) {
	g := dpopGuard(t, nil)
	h, err := g.MetadataHandler(rs.ResourceMetadata{Resource: api})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	want := `{"resource":"https://api.example.com","bearer_methods_supported":["header"],"dpop_signing_alg_values_supported":["ES256","RS256","PS256","EdDSA"]}`
	if rec.Body.String() != want {
		t.Fatalf("got %s\nwant %s", rec.Body, want)
	}
}

// FuzzCheckDPoP sends arbitrary Authorization and DPoP headers to a guard
// accepting DPoP: a DPoP-bound token is accepted only with the proof signed
// for it, never as Bearer, and every rejection has a challenge.
func FuzzCheckDPoP(f *testing.F) {
	g := dpopGuard(f, nil)
	valid := dpopKey.Proof("GET", ordersURL, "bound", now)
	f.Add("DPoP bound", valid)
	f.Add("Bearer bound", valid)
	f.Add("dpop good", valid)
	f.Add("DPoP bound", "")
	f.Fuzz(func(t *testing.T, auth, proof string) {
		r := httptest.NewRequest("GET", "/orders", nil)
		if auth != "" {
			r.Header["Authorization"] = []string{auth}
		}
		if proof != "" {
			r.Header["Dpop"] = []string{proof}
		}
		p, err := g.Check(r, scopes.Requirement{})
		if err == nil {
			if p == nil {
				t.Fatal("accepted without principal")
			}
			if p.DPoPThumbprint != "" && (proof != valid || !strings.EqualFold(strings.TrimLeft(auth, " \t")[:4], "dpop")) {
				t.Fatalf("DPoP-bound token accepted with %q and proof %q", auth, proof)
			}
			if p.DPoPThumbprint == "" && p.Response.Confirmation != nil {
				t.Fatalf("bound token accepted as bearer: %q", auth)
			}
			return
		}
		rj := g.Reject(err)
		switch rj.Status {
		case 400, 401, 403:
			if rj.Header.Get("WWW-Authenticate") == "" {
				t.Fatalf("%d without challenge", rj.Status)
			}
		case 503:
		default:
			t.Fatalf("status %d for %v", rj.Status, err)
		}
	})
}
