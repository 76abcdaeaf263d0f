package jwtaccess_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/tokengate/tokengate/introspect"
	"github.com/tokengate/tokengate/jwtaccess"
)

var updateSeeds = flag.Bool("update-fuzz-seeds", false, "rewrite testdata/fuzz/FuzzIntrospect from the fixed fuzz key")

// fuzzKey is fixed so that the committed seeds stay valid.
func fuzzKey() ed25519.PrivateKey {
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = byte(i)
	}
	return ed25519.NewKeyFromSeed(seed)
}

func fuzzValidator(t testing.TB) *jwtaccess.Validator {
	set := fmt.Sprintf(`{"keys":[%s]}`, mustJWK(t, jose.JSONWebKey{Key: fuzzKey().Public(), KeyID: "fz"}))
	v, err := jwtaccess.New(jwtaccess.Config{Issuer: issuer, Audiences: []string{audience}, JWKS: []byte(set), Now: fixedNow, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mustJWK(t testing.TB, k jose.JSONWebKey) string {
	b, err := k.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// fuzzSeeds are valid and nearly valid tokens for the fixed key.
func fuzzSeeds(t testing.TB) map[string]string {
	k := fuzzKey()
	c := claims(issuer)
	good := sign(t, jose.EdDSA, k, "fz", "at+jwt", c, nil)
	return map[string]string{
		"valid":          good,
		"valid-no-kid":   sign(t, jose.EdDSA, k, "", "at+jwt", c, nil),
		"id-token":       sign(t, jose.EdDSA, k, "fz", "JWT", c, nil),
		"alg-none":       rawJWS(t, map[string]any{"alg": "none", "typ": "at+jwt"}, c, func([]byte) []byte { return nil }),
		"expired":        sign(t, jose.EdDSA, k, "fz", "at+jwt", with(c, map[string]any{"exp": testNow.Add(-time.Hour).Unix()}), nil),
		"wrong-aud":      sign(t, jose.EdDSA, k, "fz", "at+jwt", with(c, map[string]any{"aud": []any{"x", 1}}), nil),
		"case-folded":    sign(t, jose.EdDSA, k, "fz", "at+jwt", fmt.Sprintf(`{"iss":%q,"aud":"x","AUD":%q,"exp":%d}`, issuer, audience, testNow.Add(time.Hour).Unix()), nil),
		"crit":           sign(t, jose.EdDSA, k, "fz", "at+jwt", c, map[string]any{"crit": []string{"b64"}, "b64": false}),
		"nested":         sign(t, jose.EdDSA, k, "fz", "at+jwt", good, nil),
		"five-segments":  "a.b.c.d.e",
		"bad-base64":     "e!.e30.",
		"unknown-kid":    sign(t, jose.EdDSA, k, "other", "at+jwt", c, nil),
		"with-cnf-jkt":   sign(t, jose.EdDSA, k, "fz", "at+jwt", with(c, map[string]any{"cnf": map[string]string{"jkt": "abc"}}), nil),
		"empty-segments": "..",
	}
}

// TestFuzzSeedsAreCurrent checks the committed corpus: the valid seeds
// still verify, so the fuzzer starts from deep inside Introspect. Run with
// -update-fuzz-seeds to rewrite it.
func TestFuzzSeedsAreCurrent(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzIntrospect")
	if *updateSeeds {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, tok := range fuzzSeeds(t) {
			if err := os.WriteFile(filepath.Join(dir, name), fmt.Appendf(nil, "go test fuzz v1\nstring(%q)\n", tok), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	v := fuzzValidator(t)
	for _, name := range []string{"valid", "valid-no-kid", "with-cnf-jkt"} {
		raw, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("%v (run go test -run TestFuzzSeedsAreCurrent ./jwtaccess -args -update-fuzz-seeds)", err)
		}
		var tok string
		if _, err := fmt.Sscanf(string(raw), "go test fuzz v1\nstring(%q)\n", &tok); err != nil {
			t.Fatalf("seed %s: %v", name, err)
		}
		if _, err := v.Introspect(context.Background(), tok); err != nil {
			t.Errorf("seed %s no longer verifies: %v", name, err)
		}
	}
}

// FuzzIntrospect feeds arbitrary tokens to a validator with a pinned key:
// it never panics, every refusal is introspect.ErrInactive (a pinned key
// set is never unavailable), and an accepted token is the issuer's, for our
// audience, unexpired.
func FuzzIntrospect(f *testing.F) {
	for _, tok := range fuzzSeeds(f) {
		f.Add(tok)
	}
	v := fuzzValidator(f)
	f.Fuzz(func(t *testing.T, token string) {
		resp, err := v.Introspect(context.Background(), token)
		if err != nil {
			if resp != nil || !errors.Is(err, introspect.ErrInactive) {
				t.Fatalf("Introspect = %v, %v: a refusal must be ErrInactive alone", resp, err)
			}
			return
		}
		if !resp.Active || resp.Issuer != issuer || !slices.Contains(resp.Audience, audience) ||
			!testNow.Before(resp.Expiry.Add(jwtaccess.DefaultClockSkew)) || strings.Count(token, ".") != 2 {
			t.Fatalf("accepted %q as %+v", token, resp)
		}
	})
}
