package dpop

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/dpop/dpoptest"
)

// FuzzVerify feeds arbitrary proofs to a verifier: it must never panic,
// every rejection must match ErrInvalidProof, and the only proof accepted
// is the one genuinely signed for the request.
func FuzzVerify(f *testing.F) {
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	const target, token = "https://api.example.com/orders", "tok"
	k := dpoptest.NewKey("ES256")
	valid := k.Proof("GET", target, token, now)
	f.Add(valid)
	h, c := k.Header(), k.Claims("GET", target, token, now)
	h["alg"] = "none"
	f.Add(dpoptest.Unsigned(h, c))
	h["alg"] = "HS256"
	f.Add(dpoptest.HMAC(h, c, []byte("secret")))
	f.Fuzz(func(t *testing.T, proof string) {
		v, err := New(Config{Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		err = v.Verify(context.Background(), proof, ProofRequest{Method: "GET", URL: target, AccessToken: token}, k.JKT())
		if err == nil && proof != valid {
			t.Fatalf("accepted a proof that was not signed for the request: %q", proof)
		}
		if err != nil && !errors.Is(err, ErrInvalidProof) {
			t.Fatalf("error %v does not match ErrInvalidProof", err)
		}
	})
}

// FuzzNormalizeURL checks that htu normalisation is idempotent and keeps
// neither query nor fragment.
func FuzzNormalizeURL(f *testing.F) {
	for _, s := range []string{
		"https://api.example.com/orders",
		"HTTPS://API.example.com:443/%7eorders?q#f",
		"http://[::1]:80/a%2fb",
		"http://[::1]:8080",
		"https://h/%zz",
		"ftp://h/",
		"/relative",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := normalizeURL(s)
		if err != nil {
			return
		}
		if strings.ContainsAny(n, "?#") {
			t.Fatalf("normalizeURL(%q) = %q keeps a query or fragment", s, n)
		}
		n2, err := normalizeURL(n)
		if err != nil {
			t.Fatalf("normalizeURL(%q) = %q, which does not parse again: %v", s, n, err)
		}
		if n2 != n {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, n, n2)
		}
	})
}
