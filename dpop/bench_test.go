package dpop_test

import (
	"context"
	"testing"

	"github.com/tokengate/tokengate/dpop"
)

// benchmarkVerify measures the verification of one fresh proof, replay
// cache included. Proofs are signed in batches outside the timer, each batch
// checked by a fresh Verifier so that the cache stays small.
func benchmarkVerify(b *testing.B, alg string) {
	k := key(alg)
	req := dpop.ProofRequest{Method: "GET", URL: target, AccessToken: token}
	jkt := k.JKT()
	const batch = 1024
	var proofs []string
	var v *dpop.Verifier
	b.ReportAllocs()
	for b.Loop() {
		if len(proofs) == 0 {
			b.StopTimer()
			v = newVerifier(b, dpop.Config{})
			for range batch {
				proofs = append(proofs, k.Proof("GET", target, token, now))
			}
			b.StartTimer()
		}
		if err := v.Verify(context.Background(), proofs[len(proofs)-1], req, jkt); err != nil {
			b.Fatal(err)
		}
		proofs = proofs[:len(proofs)-1]
	}
}

func BenchmarkVerifyES256(b *testing.B) { benchmarkVerify(b, "ES256") }
func BenchmarkVerifyEdDSA(b *testing.B) { benchmarkVerify(b, "EdDSA") }
