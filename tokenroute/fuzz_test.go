package tokenroute_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/internal/compact"
	"github.com/tokengate/tokengate/introspect"
	"github.com/tokengate/tokengate/tokenroute"
)

// FuzzRoute feeds arbitrary tokens to a router of two issuers: it never
// panics, calls at most one JWT validator and only for a token naming its
// issuer, never calls anything for a JWT-shaped token naming neither, and
// sends opaque tokens only where their prefix, or the order, says.
func FuzzRoute(f *testing.F) {
	for _, s := range []string{
		jwt(map[string]any{"iss": issA}), jwt(map[string]any{"iss": issB}), jwt(map[string]any{"iss": "https://c"}),
		jwt(map[string]any{"sub": "x"}), "tg_at_abc", "b_abc", "abc", "a.b.c", "a.b.c.d.e", "", "..",
		b64([]byte(`{"alg":"ES256"}`)) + "." + b64([]byte(`{"iss":"`+issB+`","ISS":"`+issA+`"}`)) + ".",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, token string) {
		fk := newFakes()
		fk.opaqueB.err = introspect.ErrInactive
		r, err := tokenroute.New(tokenroute.Config{Issuers: []tokenroute.Issuer{
			{Issuer: issA, JWT: fk.jwtA, Opaque: fk.opaqueA, OpaquePrefix: "tg_at_"},
			{Issuer: issB, JWT: fk.jwtB, Opaque: fk.opaqueB},
		}})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := r.Introspect(context.Background(), token)
		if (resp == nil) == (err == nil) {
			t.Fatalf("Introspect = %v, %v", resp, err)
		}
		jwtCalls := fk.jwtA.calls.Load() + fk.jwtB.calls.Load()
		opaqueCalls := fk.opaqueA.calls.Load() + fk.opaqueB.calls.Load()
		if jwtCalls > 1 || opaqueCalls > 1 || jwtCalls+opaqueCalls > 1 {
			t.Fatalf("%s for %q", fk.calls(), token)
		}
		if jwtCalls == 1 {
			parts, _ := compact.Parts(token)
			iss, _ := compact.Issuer(parts[1])
			if (fk.jwtA.calls.Load() == 1 && iss != issA) || (fk.jwtB.calls.Load() == 1 && iss != issB) {
				t.Fatalf("%s for %q, whose iss is %q", fk.calls(), token, iss)
			}
			return
		}
		if errors.Is(err, tokenroute.ErrUnknownIssuer) && opaqueCalls != 0 {
			t.Fatalf("an unknown issuer cost a call: %s", fk.calls())
		}
		if fk.opaqueA.calls.Load() == 1 && !strings.HasPrefix(token, "tg_at_") {
			t.Fatalf("A's introspection asked about %q, which lacks its prefix", token)
		}
		if fk.opaqueB.calls.Load() == 1 && strings.HasPrefix(token, "tg_at_") {
			t.Fatalf("B's introspection asked about A's %q", token)
		}
	})
}
