package rs_test

import (
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	"github.com/tokengate/tokengate/rs"
	"github.com/tokengate/tokengate/scopes"
)

// decisions records what a guard observes.
type decisions struct {
	mu   sync.Mutex
	seen []rs.Decision
}

func (d *decisions) ObserveDecision(dec rs.Decision) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.seen = append(d.seen, dec)
}

func (d *decisions) take() []rs.Decision {
	d.mu.Lock()
	defer d.mu.Unlock()
	seen := d.seen
	d.seen = nil
	return seen
}

// TestObserver: every decision of Check is observed once, with its status
// and a fixed reason, and never the token.
func TestObserver(t *testing.T) {
	var obs decisions
	plain := newGuard(t, func(c *rs.Config) { c.Observer = &obs })
	anon := newGuard(t, func(c *rs.Config) { c.Observer = &obs; c.AllowAnonymous = true })
	mtls := newGuard(t, func(c *rs.Config) { c.Observer = &obs; c.MTLS = true })
	dpopOn := dpopGuard(t, func(c *rs.Config) { c.Observer = &obs })
	tests := []struct {
		name  string
		guard *rs.Guard
		auth  string
		req   scopes.Requirement
		want  rs.Decision
	}{
		{"ok", plain, "Bearer good", scopes.All("orders:read"), rs.Decision{Status: 200, Reason: "ok"}},
		{"anonymous", anon, "", scopes.Requirement{}, rs.Decision{Status: 200, Reason: "anonymous"}},
		{"anonymous on a route that needs a token", anon, "", scopes.All("orders:read"), rs.Decision{Status: 401, Reason: "no_token"}},
		{"no token", plain, "", scopes.Requirement{}, rs.Decision{Status: 401, Reason: "no_token"}},
		{"malformed", plain, "Bearer two words", scopes.Requirement{}, rs.Decision{Status: 400, Reason: "invalid_request"}},
		{"inactive", plain, "Bearer unknown", scopes.Requirement{}, rs.Decision{Status: 401, Reason: "inactive"}},
		{"inactive response", plain, "Bearer inactive-resp", scopes.Requirement{}, rs.Decision{Status: 401, Reason: "inactive"}},
		{"expired", plain, "Bearer expired", scopes.Requirement{}, rs.Decision{Status: 401, Reason: "expired"}},
		{"not yet valid", plain, "Bearer future", scopes.Requirement{}, rs.Decision{Status: 401, Reason: "not_yet_valid"}},
		{"audience", plain, "Bearer wrong-aud", scopes.Requirement{}, rs.Decision{Status: 401, Reason: "audience"}},
		{"issuer", plain, "Bearer wrong-iss", scopes.Requirement{}, rs.Decision{Status: 401, Reason: "issuer"}},
		{"client", plain, "Bearer wrong-client", scopes.Requirement{}, rs.Decision{Status: 401, Reason: "client"}},
		{"token type", plain, "Bearer mac", scopes.Requirement{}, rs.Decision{Status: 401, Reason: "token_type"}},
		{"DPoP-bound without DPoP", plain, "Bearer cnf-jkt", scopes.Requirement{}, rs.Decision{Status: 401, Reason: "sender_constrained"}},
		{"DPoP-bound sent as Bearer", dpopOn, "Bearer bound", scopes.Requirement{}, rs.Decision{Status: 401, Reason: "sender_constrained"}},
		{"DPoP proof missing", dpopOn, "DPoP bound", scopes.Requirement{}, rs.Decision{Status: 401, Reason: "dpop_proof"}},
		{"certificate missing", mtls, "Bearer cnf-x5t", scopes.Requirement{}, rs.Decision{Status: 401, Reason: "certificate"}},
		{"rejected by the introspector", plain, "Bearer odd-error", scopes.Requirement{}, rs.Decision{Status: 401, Reason: "rejected"}},
		{"scope", plain, "Bearer good", scopes.All("orders:write"), rs.Decision{Status: 403, Reason: "insufficient_scope"}},
		{"AS down", plain, "Bearer down", scopes.Requirement{}, rs.Decision{Status: 503, Reason: "unavailable"}},
		{"canceled", plain, "Bearer canceled", scopes.Requirement{}, rs.Decision{Status: 503, Reason: "unavailable"}},
		{"AS refuses us", plain, "Bearer as-rejected-us", scopes.Requirement{}, rs.Decision{Status: 503, Reason: "misconfigured"}},
		{"AS answers nonsense", plain, "Bearer malformed", scopes.Requirement{}, rs.Decision{Status: 503, Reason: "misconfigured"}},
		{"unusable scope member", plain, "Bearer bad-scope", scopes.Requirement{}, rs.Decision{Status: 503, Reason: "misconfigured"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/orders", nil)
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			_, err := tt.guard.Check(r, tt.req)
			if got := obs.take(); !slices.Equal(got, []rs.Decision{tt.want}) {
				t.Errorf("observed %v, want %v", got, tt.want)
			}
			if !slices.Contains(rs.Decisions(), tt.want) {
				t.Errorf("%v is missing from rs.Decisions()", tt.want)
			}
			if rj := tt.guard.Reject(err); err != nil && rj.Status != tt.want.Status {
				t.Errorf("answered %d, observed %d", rj.Status, tt.want.Status)
			}
		})
	}

	seen := map[rs.Decision]bool{}
	for _, tt := range tests {
		seen[tt.want] = true
	}
	for _, d := range rs.Decisions() {
		if !seen[d] {
			t.Errorf("rs.Decisions() lists %v, which no case makes", d)
		}
	}

	// Behind an outer middleware of the same guard, the accepted token is
	// observed once, and a route's refusal once more.
	r := httptest.NewRequest("GET", "/orders", nil)
	r.Header.Set("Authorization", "Bearer good")
	p, err := plain.Check(r, scopes.Requirement{})
	if err != nil {
		t.Fatal(err)
	}
	r = rs.RequestWithPrincipal(r, p)
	if _, err := plain.Check(r, scopes.All("orders:read")); err != nil {
		t.Fatal(err)
	}
	if _, err := plain.Check(r, scopes.All("orders:write")); err == nil {
		t.Fatal("missing scope accepted")
	}
	want := []rs.Decision{{Status: 200, Reason: "ok"}, {Status: 403, Reason: "insufficient_scope"}}
	if got := obs.take(); !slices.Equal(got, want) {
		t.Errorf("nested: observed %v, want %v", got, want)
	}
}
