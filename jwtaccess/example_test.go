package jwtaccess_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/tokengate/tokengate/introspect"
	"github.com/tokengate/tokengate/jwtaccess"
)

// An authorization server publishes its keys at the jwks_uri of its
// metadata; the validator finds them from the issuer alone and checks
// tokens without asking the server about each.
func Example() {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	var as *httptest.Server
	as = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/oauth-authorization-server":
			fmt.Fprintf(w, `{"issuer":%q,"jwks_uri":%q}`, as.URL, as.URL+"/jwks")
		case "/jwks":
			json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"}}})
		}
	}))
	defer as.Close()

	v, err := jwtaccess.New(jwtaccess.Config{
		Issuer:    as.URL,
		Audiences: []string{"https://api.example.com"},
	})
	if err != nil {
		panic(err)
	}
	defer v.Close()

	// What the authorization server would issue (RFC 9068 §2).
	mint := func(aud string) string {
		signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: "k1"}},
			(&jose.SignerOptions{}).WithType("at+jwt"))
		claims, _ := json.Marshal(map[string]any{
			"iss": as.URL, "aud": aud, "sub": "alice", "client_id": "app", "scope": "orders:read",
			"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(), "jti": "at-1",
		})
		jws, _ := signer.Sign(claims)
		tok, _ := jws.CompactSerialize()
		return tok
	}

	resp, err := v.Introspect(context.Background(), mint("https://api.example.com"))
	fmt.Println(resp.Subject, resp.Scope, err)
	_, err = v.Introspect(context.Background(), mint("https://billing.example.com"))
	fmt.Println(errors.Is(err, introspect.ErrInactive), errors.Is(err, jwtaccess.ErrClaims))
	// Output:
	// alice orders:read <nil>
	// true true
}
