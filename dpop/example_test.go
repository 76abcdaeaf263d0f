package dpop_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tokengate/tokengate/dpop"
	"github.com/tokengate/tokengate/dpop/dpoptest"
)

// A resource server checks the proof that came with a DPoP-bound token
// against the request and against the cnf.jkt that introspection reported.
func ExampleVerifier_Verify() {
	v, err := dpop.New(dpop.Config{})
	if err != nil {
		panic(err)
	}
	client := dpoptest.NewKey("ES256") // the client's key pair
	jkt := client.JKT()                // what the AS reports as cnf.jkt
	const token = "opaque-access-token"

	proof := client.Proof("GET", "https://api.example.com/orders?page=2", token, time.Now())
	req := dpop.ProofRequest{Method: "GET", URL: "https://api.example.com/orders", AccessToken: token}

	err = v.Verify(context.Background(), proof, req, jkt)
	fmt.Println("first use:", err)

	err = v.Verify(context.Background(), proof, req, jkt)
	fmt.Println("replayed:", errors.Is(err, dpop.ErrReplay), errors.Is(err, dpop.ErrInvalidProof))

	stolen := dpoptest.NewKey("ES256").Proof("GET", "https://api.example.com/orders", token, time.Now())
	err = v.Verify(context.Background(), stolen, req, jkt)
	fmt.Println("token used with another key:", errors.Is(err, dpop.ErrKeyMismatch))
	// Output:
	// first use: <nil>
	// replayed: true true
	// token used with another key: true
}
