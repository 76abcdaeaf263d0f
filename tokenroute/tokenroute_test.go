package tokenroute_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tokengate/tokengate/introspect"
	"github.com/tokengate/tokengate/tokenroute"
)

// fake answers every token alike and counts its calls; its verdict names it
// in Username, so a test sees who answered.
type fake struct {
	name  string
	err   error // nil: active
	calls atomic.Int32
}

func (f *fake) Introspect(ctx context.Context, token string) (*introspect.Response, error) {
	f.calls.Add(1)
	if f.err != nil {
		return nil, fmt.Errorf("%s: %w", f.name, f.err)
	}
	return &introspect.Response{Active: true, Username: f.name}, nil
}

func (f *fake) CacheIdentity() string { return "fake:" + f.name }

// jwt returns an unsigned JWT-shaped token with claims; routing reads it
// without verifying anything.
func jwt(claims map[string]any) string {
	h, _ := json.Marshal(map[string]string{"alg": "ES256", "typ": "at+jwt"})
	p, _ := json.Marshal(claims)
	return b64(h) + "." + b64(p) + ".c2ln"
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

const (
	issA = "https://a.example.com"
	issB = "https://b.example.com"
)

// fakes are the validators of two issuers.
type fakes struct{ jwtA, opaqueA, jwtB, opaqueB *fake }

func newFakes() *fakes {
	return &fakes{jwtA: &fake{name: "jwtA"}, opaqueA: &fake{name: "opaqueA"}, jwtB: &fake{name: "jwtB"}, opaqueB: &fake{name: "opaqueB"}}
}

func (f *fakes) calls() string {
	return fmt.Sprintf("jwtA=%d opaqueA=%d jwtB=%d opaqueB=%d", f.jwtA.calls.Load(), f.opaqueA.calls.Load(), f.jwtB.calls.Load(), f.opaqueB.calls.Load())
}

func newRouter(t *testing.T, issuers ...tokenroute.Issuer) *tokenroute.Router {
	t.Helper()
	r, err := tokenroute.New(tokenroute.Config{Issuers: issuers})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

type routeCase struct {
	name      string
	token     string
	answer    string // the validator whose verdict comes back
	want      error  // or the error
	wantCalls string
}

func (c routeCase) run(t *testing.T, build func(*fakes) *tokenroute.Router) {
	t.Run(c.name, func(t *testing.T) {
		f := newFakes()
		resp, err := build(f).Introspect(context.Background(), c.token)
		switch {
		case c.want != nil && !errors.Is(err, c.want):
			t.Fatalf("Introspect = %v, %v; want %v", resp, err, c.want)
		case c.want == nil && (err != nil || resp.Username != c.answer):
			t.Fatalf("Introspect = %+v, %v; want %s's verdict", resp, err, c.answer)
		}
		if got := f.calls(); got != c.wantCalls {
			t.Fatalf("calls: %s\nwant   %s", got, c.wantCalls)
		}
	})
}

func TestOneIssuerJWTAndOpaque(t *testing.T) {
	build := func(f *fakes) *tokenroute.Router {
		return newRouter(t, tokenroute.Issuer{Issuer: issA, JWT: f.jwtA, Opaque: f.opaqueA})
	}
	for _, c := range []routeCase{
		{name: "JWT goes to the local validator", token: jwt(map[string]any{"iss": issA}), answer: "jwtA", wantCalls: "jwtA=1 opaqueA=0 jwtB=0 opaqueB=0"},
		{name: "opaque goes to introspection", token: "tg_at_abc", answer: "opaqueA", wantCalls: "jwtA=0 opaqueA=1 jwtB=0 opaqueB=0"},
		{name: "three segments that are no JWT are opaque", token: "abc.def.ghi", answer: "opaqueA", wantCalls: "jwtA=0 opaqueA=1 jwtB=0 opaqueB=0"},
		{name: "a JWE is opaque", token: b64([]byte(`{"alg":"ECDH-ES","enc":"A128GCM"}`)) + ".e.i.c.t", answer: "opaqueA", wantCalls: "jwtA=0 opaqueA=1 jwtB=0 opaqueB=0"},
		{name: "JWT of another issuer: invalid, no call", token: jwt(map[string]any{"iss": issB}), want: tokenroute.ErrUnknownIssuer, wantCalls: "jwtA=0 opaqueA=0 jwtB=0 opaqueB=0"},
		{name: "JWT whose iss is a prefix", token: jwt(map[string]any{"iss": "https://a.example"}), want: tokenroute.ErrUnknownIssuer, wantCalls: "jwtA=0 opaqueA=0 jwtB=0 opaqueB=0"},
		{name: "JWT without iss", token: jwt(map[string]any{"sub": "x"}), want: tokenroute.ErrUnknownIssuer, wantCalls: "jwtA=0 opaqueA=0 jwtB=0 opaqueB=0"},
		{name: "JWT with iss twice", token: b64([]byte(`{"alg":"ES256"}`)) + "." + b64([]byte(`{"iss":"`+issB+`","iss":"`+issA+`"}`)) + ".c2ln", want: tokenroute.ErrUnknownIssuer, wantCalls: "jwtA=0 opaqueA=0 jwtB=0 opaqueB=0"},
		{name: "JWT with a payload that is not JSON", token: b64([]byte(`{"alg":"ES256"}`)) + ".bm9wZQ.c2ln", want: tokenroute.ErrUnknownIssuer, wantCalls: "jwtA=0 opaqueA=0 jwtB=0 opaqueB=0"},
	} {
		c.run(t, build)
	}
}

func TestIntrospectJWTsToo(t *testing.T) {
	f := newFakes()
	r := newRouter(t, tokenroute.Issuer{Issuer: issA, JWT: f.jwtA, Opaque: f.opaqueA, IntrospectJWTs: true})
	resp, err := r.Introspect(context.Background(), jwt(map[string]any{"iss": issA}))
	if err != nil || resp.Username != "opaqueA" || f.calls() != "jwtA=1 opaqueA=1 jwtB=0 opaqueB=0" {
		t.Fatalf("Introspect = %+v, %v (%s); want the introspection's verdict after the local check", resp, err, f.calls())
	}
	// A token the local check refuses costs no round trip.
	f.jwtA.err = introspect.ErrInactive
	if _, err := r.Introspect(context.Background(), jwt(map[string]any{"iss": issA})); !errors.Is(err, introspect.ErrInactive) || f.opaqueA.calls.Load() != 1 {
		t.Fatalf("Introspect = %v (%s); want the local refusal and no introspection", err, f.calls())
	}
	// An issuer without a local validator has its JWTs introspected.
	f = newFakes()
	r = newRouter(t, tokenroute.Issuer{Issuer: issA, Opaque: f.opaqueA})
	if resp, err := r.Introspect(context.Background(), jwt(map[string]any{"iss": issA})); err != nil || resp.Username != "opaqueA" {
		t.Fatalf("Introspect = %+v, %v; want introspection", resp, err)
	}
}

func TestTwoIssuers(t *testing.T) {
	prefixed := func(f *fakes) *tokenroute.Router {
		return newRouter(t,
			tokenroute.Issuer{Issuer: issA, JWT: f.jwtA, Opaque: f.opaqueA, OpaquePrefix: "tg_at_"},
			tokenroute.Issuer{Issuer: issB, JWT: f.jwtB, Opaque: f.opaqueB, OpaquePrefix: "b_"},
		)
	}
	for _, c := range []routeCase{
		{name: "JWT of A", token: jwt(map[string]any{"iss": issA}), answer: "jwtA", wantCalls: "jwtA=1 opaqueA=0 jwtB=0 opaqueB=0"},
		{name: "JWT of B", token: jwt(map[string]any{"iss": issB}), answer: "jwtB", wantCalls: "jwtA=0 opaqueA=0 jwtB=1 opaqueB=0"},
		{name: "JWT of neither", token: jwt(map[string]any{"iss": "https://c.example.com"}), want: tokenroute.ErrUnknownIssuer, wantCalls: "jwtA=0 opaqueA=0 jwtB=0 opaqueB=0"},
		{name: "opaque of A by prefix", token: "tg_at_xyz", answer: "opaqueA", wantCalls: "jwtA=0 opaqueA=1 jwtB=0 opaqueB=0"},
		{name: "opaque of B by prefix", token: "b_xyz", answer: "opaqueB", wantCalls: "jwtA=0 opaqueA=0 jwtB=0 opaqueB=1"},
		{name: "opaque of neither prefix", token: "zzz", want: tokenroute.ErrNoRoute, wantCalls: "jwtA=0 opaqueA=0 jwtB=0 opaqueB=0"},
	} {
		c.run(t, prefixed)
	}
}

func TestOpaqueInOrder(t *testing.T) {
	build := func(errA, errB error) func(*fakes) *tokenroute.Router {
		return func(f *fakes) *tokenroute.Router {
			f.opaqueA.err, f.opaqueB.err = errA, errB
			return newRouter(t, tokenroute.Issuer{Issuer: issA, Opaque: f.opaqueA}, tokenroute.Issuer{Issuer: issB, Opaque: f.opaqueB})
		}
	}
	inactive, down := introspect.ErrInactive, introspect.ErrUnavailable
	for _, c := range []struct {
		routeCase
		errA, errB error
	}{
		{routeCase{name: "the first knows it", token: "x", answer: "opaqueA", wantCalls: "jwtA=0 opaqueA=1 jwtB=0 opaqueB=0"}, nil, nil},
		{routeCase{name: "the second knows it", token: "x", answer: "opaqueB", wantCalls: "jwtA=0 opaqueA=1 jwtB=0 opaqueB=1"}, inactive, nil},
		{routeCase{name: "neither knows it", token: "x", want: inactive, wantCalls: "jwtA=0 opaqueA=1 jwtB=0 opaqueB=1"}, inactive, inactive},
		{routeCase{name: "one is down, the other does not know it: unavailable", token: "x", want: down, wantCalls: "jwtA=0 opaqueA=1 jwtB=0 opaqueB=1"}, down, inactive},
		{routeCase{name: "one is down, the other knows it", token: "x", answer: "opaqueB", wantCalls: "jwtA=0 opaqueA=1 jwtB=0 opaqueB=1"}, down, nil},
	} {
		c.run(t, build(c.errA, c.errB))
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	v := &fake{name: "v"}
	for _, tt := range []struct {
		name    string
		issuers []tokenroute.Issuer
		want    string
	}{
		{"no issuer", nil, "empty"},
		{"empty identifier", []tokenroute.Issuer{{JWT: v}}, "Issuer is required"},
		{"no validator", []tokenroute.Issuer{{Issuer: issA}}, "set JWT, Opaque or both"},
		{"issuer twice", []tokenroute.Issuer{{Issuer: issA, JWT: v}, {Issuer: issA, Opaque: v}}, "listed twice"},
		{"IntrospectJWTs without Opaque", []tokenroute.Issuer{{Issuer: issA, JWT: v, IntrospectJWTs: true}}, "IntrospectJWTs needs Opaque"},
		{"prefix without Opaque", []tokenroute.Issuer{{Issuer: issA, JWT: v, OpaquePrefix: "x"}}, "OpaquePrefix needs Opaque"},
		{"overlapping prefixes", []tokenroute.Issuer{{Issuer: issA, Opaque: v, OpaquePrefix: "tg_"}, {Issuer: issB, Opaque: v, OpaquePrefix: "tg_at_"}}, "overlaps"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tokenroute.New(tokenroute.Config{Issuers: tt.issuers})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestCacheIdentity(t *testing.T) {
	a, b := &fake{name: "a"}, &fake{name: "b"}
	id := func(issuers ...tokenroute.Issuer) string { return newRouter(t, issuers...).CacheIdentity() }
	base := id(tokenroute.Issuer{Issuer: issA, JWT: a, Opaque: b})
	if base != id(tokenroute.Issuer{Issuer: issA, JWT: a, Opaque: b}) {
		t.Fatal("two routers of one configuration have different identities")
	}
	for name, other := range map[string]string{
		"IntrospectJWTs":     id(tokenroute.Issuer{Issuer: issA, JWT: a, Opaque: b, IntrospectJWTs: true}),
		"another validator":  id(tokenroute.Issuer{Issuer: issA, JWT: b, Opaque: b}),
		"a prefix":           id(tokenroute.Issuer{Issuer: issA, JWT: a, Opaque: b, OpaquePrefix: "x"}),
		"another issuer":     id(tokenroute.Issuer{Issuer: issB, JWT: a, Opaque: b}),
		"one more issuer":    id(tokenroute.Issuer{Issuer: issA, JWT: a, Opaque: b}, tokenroute.Issuer{Issuer: issB, JWT: a}),
		"validators swapped": id(tokenroute.Issuer{Issuer: issA, JWT: b, Opaque: a}),
	} {
		if other == base {
			t.Errorf("%s: same cache identity", name)
		}
	}
}
