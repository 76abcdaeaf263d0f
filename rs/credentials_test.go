package rs_test

import (
	"context"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tokengate/tokengate/rs"
	"github.com/tokengate/tokengate/scopes"
)

// grpcURL is what a gRPC adapter passes as Credentials.URL.
const grpcURL = "https://api.example.com/orders.v1.OrderService/ListOrders"

// TestCheckCredentials: a request that is not an *http.Request gets the
// decision and the answer an HTTP request presenting the same things gets.
func TestCheckCredentials(t *testing.T) {
	proof := func(token string) []string { return []string{dpopKey.Proof("POST", grpcURL, token, now)} }
	cases := []struct {
		name  string
		guard func(testing.TB) *rs.Guard
		creds rs.Credentials
		req   scopes.Requirement
		want  answer // status 200: accepted
		jkt   string // the accepted DPoP key, for a 200
	}{
		{name: "bearer", creds: rs.Credentials{Authorization: []string{"Bearer good"}}, want: answer{status: 200}},
		{name: "scheme case", creds: rs.Credentials{Authorization: []string{"bEaReR good"}}, want: answer{status: 200}},
		{name: "no token", want: noToken},
		{name: "other scheme", creds: rs.Credentials{Authorization: []string{"Basic dXNlcjpwYXNz"}}, want: noToken},
		{name: "two values", creds: rs.Credentials{Authorization: []string{"Bearer good", "Bearer good"}}, want: invalidRequest("more than one Authorization header")},
		{name: "not a b64token", creds: rs.Credentials{Authorization: []string{"Bearer go od"}}, want: invalidRequest("the access token is not a b64token")},
		{name: "expired", creds: rs.Credentials{Authorization: []string{"Bearer expired"}}, want: invalidToken("the access token has expired")},
		{
			name: "missing scope", creds: rs.Credentials{Authorization: []string{"Bearer good"}}, req: scopes.All("orders:write"),
			want: answer{
				status:    403,
				challenge: `Bearer realm="api", error="insufficient_scope", error_description="the access token lacks the required scope: orders:write", scope="orders:write"`,
				body:      `{"error":"insufficient_scope","error_description":"the access token lacks the required scope: orders:write"}`,
			},
		},
		{name: "AS down", creds: rs.Credentials{Authorization: []string{"Bearer down-hint"}}, want: unavailable("30")},
		{
			name: "DPoP", guard: func(t testing.TB) *rs.Guard { return dpopGuard(t, nil) },
			creds: rs.Credentials{Authorization: []string{"DPoP bound"}, DPoP: proof("bound"), Method: "POST", URL: grpcURL},
			want:  answer{status: 200}, jkt: dpopKey.JKT(),
		},
		{
			name: "DPoP without proof", guard: func(t testing.TB) *rs.Guard { return dpopGuard(t, nil) },
			creds: rs.Credentials{Authorization: []string{"DPoP bound"}, Method: "POST", URL: grpcURL},
			want:  dpopFailure("exactly one DPoP proof header is required"),
		},
		{
			name: "DPoP proof for another URL", guard: func(t testing.TB) *rs.Guard { return dpopGuard(t, nil) },
			creds: rs.Credentials{Authorization: []string{"DPoP bound"}, DPoP: proof("bound"), Method: "POST", URL: grpcURL + "s"},
			want:  dpopFailure("the DPoP proof is for another request"),
		},
		{
			name: "DPoP proof for another method", guard: func(t testing.TB) *rs.Guard { return dpopGuard(t, nil) },
			creds: rs.Credentials{Authorization: []string{"DPoP bound"}, DPoP: proof("bound"), Method: "GET", URL: grpcURL},
			want:  dpopFailure("the DPoP proof is for another request"),
		},
		{
			name: "DPoP scheme without DPoP", creds: rs.Credentials{Authorization: []string{"DPoP bound"}, DPoP: proof("bound"), Method: "POST", URL: grpcURL},
			want: noToken,
		},
		{
			name: "certificate-bound, its certificate", guard: func(t testing.TB) *rs.Guard { return mtlsGuard(t, nil) },
			creds: rs.Credentials{Authorization: []string{"Bearer cert-bound"}, Certificate: certA}, want: answer{status: 200},
		},
		{
			name: "certificate-bound, another certificate", guard: func(t testing.TB) *rs.Guard { return mtlsGuard(t, nil) },
			creds: rs.Credentials{Authorization: []string{"Bearer cert-bound"}, Certificate: certB}, want: invalidToken(descCert),
		},
		{
			name: "certificate-bound, no certificate", guard: func(t testing.TB) *rs.Guard { return mtlsGuard(t, nil) },
			creds: rs.Credentials{Authorization: []string{"Bearer cert-bound"}}, want: invalidToken(descCert),
		},
		{
			// Config.ClientCertificate reads HTTP requests; Credentials
			// carry their certificate themselves.
			name: "certificate-bound, ClientCertificate not used", creds: rs.Credentials{Authorization: []string{"Bearer cert-bound"}},
			guard: func(t testing.TB) *rs.Guard {
				return mtlsGuard(t, func(c *rs.Config) {
					c.ClientCertificate = func(*http.Request) (*x509.Certificate, error) { return certA, nil }
				})
			},
			want: invalidToken(descCert),
		},
		{
			// Extractors read HTTP requests: a guard reading the query
			// still takes the token of Credentials from Authorization.
			name: "extractors not tried", creds: rs.Credentials{Authorization: []string{"Bearer good"}},
			guard: func(t testing.TB) *rs.Guard {
				return newGuard(t, func(c *rs.Config) {
					c.Extractors = []rs.Extractor{{Extract: func(*http.Request) (string, error) { return "", errors.New("read an HTTP request") }}}
				})
			},
			want: answer{status: 200},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := newGuard(t, nil)
			if tc.guard != nil {
				g = tc.guard(t)
			}
			p, err := g.CheckCredentials(context.Background(), tc.creds, tc.req)
			if tc.want.status == 200 {
				if err != nil || p == nil {
					t.Fatalf("CheckCredentials = %v, %v; want a principal", p, err)
				}
				if p.Subject != "alice" || p.DPoPThumbprint != tc.jkt {
					t.Errorf("principal %q with DPoP key %q, want alice with %q", p.Subject, p.DPoPThumbprint, tc.jkt)
				}
				return
			}
			if p != nil || err == nil {
				t.Fatalf("CheckCredentials = %v, %v; want a refusal", p, err)
			}
			if got := answerOf(g, err); got != tc.want {
				t.Errorf("answer\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// dpopFailure is the answer of dpopGuard to a bad proof.
func dpopFailure(desc string) answer {
	return answer{
		status: 401,
		challenge: `Bearer realm="api", DPoP realm="api", error="invalid_dpop_proof", error_description="` + desc +
			`", algs="ES256 RS256 PS256 EdDSA"`,
		body: `{"error":"invalid_dpop_proof","error_description":"` + desc + `"}`,
	}
}

// TestCheckCredentialsReusesPrincipal: behind an outer check of the same
// guard (nested interceptors), the principal in the context is reused and
// only the requirement is checked; a principal of another guard is not
// trusted.
func TestCheckCredentialsReusesPrincipal(t *testing.T) {
	in := &countingIntrospector{Introspector: fake()}
	g := newGuard(t, func(c *rs.Config) { c.Introspector = in })
	creds := rs.Credentials{Authorization: []string{"Bearer good"}}
	p, err := g.CheckCredentials(context.Background(), creds, scopes.Requirement{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := rs.ContextWithPrincipal(context.Background(), p)
	if rs.ContextWithPrincipal(ctx, p) != ctx || rs.ContextWithPrincipal(ctx, nil) != ctx {
		t.Error("ContextWithPrincipal made a new context for a principal it already carries, or for nil")
	}
	if got, ok := rs.PrincipalFrom(ctx); !ok || got != p {
		t.Fatalf("PrincipalFrom = %v, %v", got, ok)
	}
	if q, err := g.CheckCredentials(ctx, rs.Credentials{}, scopes.All("orders:read")); err != nil || q != p {
		t.Errorf("nested check = %v, %v; want the same principal", q, err)
	}
	if _, err := g.CheckCredentials(ctx, rs.Credentials{}, scopes.All("orders:write")); !errors.Is(err, rs.ErrInsufficientScope) {
		t.Errorf("nested check of a missing scope = %v", err)
	}
	if n := in.calls; n != 1 {
		t.Errorf("%d introspections, want 1", n)
	}
	other := newGuard(t, func(c *rs.Config) { c.Introspector = in })
	if _, err := other.CheckCredentials(ctx, rs.Credentials{}, scopes.Requirement{}); !errors.Is(err, rs.ErrNoToken) {
		t.Errorf("another guard trusted the principal: %v", err)
	}
}

// TestCheckCredentialsObserved: the observer sees the decisions of
// CheckCredentials as it sees those of Check.
func TestCheckCredentialsObserved(t *testing.T) {
	var seen []rs.Decision
	g := newGuard(t, func(c *rs.Config) { c.Observer = observerFunc(func(d rs.Decision) { seen = append(seen, d) }) })
	for _, a := range []string{"Bearer good", "Bearer expired"} {
		_, _ = g.CheckCredentials(context.Background(), rs.Credentials{Authorization: []string{a}}, scopes.Requirement{})
	}
	_, _ = g.CheckCredentials(context.Background(), rs.Credentials{}, scopes.Requirement{})
	want := []rs.Decision{{Status: 200, Reason: "ok"}, {Status: 401, Reason: "expired"}, {Status: 401, Reason: "no_token"}}
	if len(seen) != len(want) {
		t.Fatalf("observed %v, want %v", seen, want)
	}
	for i := range want {
		if seen[i] != want[i] {
			t.Errorf("decision %d = %v, want %v", i, seen[i], want[i])
		}
	}
}

type observerFunc func(rs.Decision)

func (f observerFunc) ObserveDecision(d rs.Decision) { f(d) }

// TestCheckCredentialsAllocations: like Check, a check on a cache hit
// allocates the Principal and nothing else.
func TestCheckCredentialsAllocations(t *testing.T) {
	g := newGuard(t, nil)
	creds := rs.Credentials{Authorization: []string{"Bearer good"}}
	ctx, req := context.Background(), scopes.All("orders:read")
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := g.CheckCredentials(ctx, creds, req); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 1 {
		t.Errorf("CheckCredentials allocates %v times per call, want 1 (the Principal)", allocs)
	}
}

// TestCheckAndCheckCredentialsAgree: the same token answers alike both
// ways, for every token the fake introspector knows.
func TestCheckAndCheckCredentialsAgree(t *testing.T) {
	g := newGuard(t, nil)
	for token := range fake() {
		r := httptest.NewRequest("GET", "/orders", nil)
		r.Header.Set("Authorization", "Bearer "+token)
		_, errHTTP := g.Check(r, scopes.All("orders:read"))
		_, errCreds := g.CheckCredentials(context.Background(), rs.Credentials{Authorization: []string{"Bearer " + token}}, scopes.All("orders:read"))
		if (errHTTP == nil) != (errCreds == nil) {
			t.Errorf("%s: Check %v, CheckCredentials %v", token, errHTTP, errCreds)
			continue
		}
		if errHTTP != nil && answerOf(g, errHTTP) != answerOf(g, errCreds) {
			t.Errorf("%s: answers differ: %+v and %+v", token, answerOf(g, errHTTP), answerOf(g, errCreds))
		}
	}
}
