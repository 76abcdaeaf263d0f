package jwtintrospect_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/tokengate/tokengate/introspect"
	"github.com/tokengate/tokengate/jwtintrospect"
)

// exampleSign plays the authorization server: it signs an RFC 9701 response
// about a token.
func exampleSign(key ed25519.PrivateKey, issuer, audience string, tokenIntrospection map[string]any) string {
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.EdDSA, Key: jose.JSONWebKey{Key: key, KeyID: "as-key-1"}},
		(&jose.SignerOptions{}).WithType("token-introspection+jwt"))
	if err != nil {
		log.Fatal(err)
	}
	payload, _ := json.Marshal(map[string]any{
		"iss":                 issuer,
		"aud":                 audience,
		"iat":                 time.Now().Unix(),
		"token_introspection": tokenIntrospection,
	})
	jws, err := signer.Sign(payload)
	if err != nil {
		log.Fatal(err)
	}
	compact, _ := jws.CompactSerialize()
	return compact
}

// Decode an RFC 9701 response with the authorization server's signing key
// pinned in a static JWK Set.
func ExampleDecoder_Decode() {
	_, asKey, _ := ed25519.GenerateKey(rand.Reader)
	pinned, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: asKey.Public(), KeyID: "as-key-1", Use: "sig"},
	}})

	dec, err := jwtintrospect.New(jwtintrospect.Config{
		Issuer:   "https://as.example.com",
		ClientID: "orders-api",
		JWKS:     pinned,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer dec.Close()

	body := exampleSign(asKey, "https://as.example.com", "orders-api", map[string]any{
		"active": true, "sub": "alice", "scope": "orders:read",
	})
	resp, err := dec.Decode(context.Background(), jwtintrospect.MediaType, []byte(body))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Active, resp.Subject, resp.Scope)

	// The same answer addressed to another resource server is refused.
	other := exampleSign(asKey, "https://as.example.com", "billing-api", map[string]any{"active": true})
	_, err = dec.Decode(context.Background(), jwtintrospect.MediaType, []byte(other))
	fmt.Println(errors.Is(err, jwtintrospect.ErrClaims), errors.Is(err, introspect.ErrMalformedResponse))
	// Output:
	// true alice orders:read
	// true true
}

// Plug the Decoder into an introspection client: it asks for
// application/token-introspection+jwt, and caching and the rs guard work as
// with plain JSON. The keys come from the authorization server's jwks_uri.
func Example_introspectClient() {
	_, asKey, _ := ed25519.GenerateKey(rand.Reader)
	mux := http.NewServeMux()
	as := httptest.NewServer(mux)
	defer as.Close()
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: asKey.Public(), KeyID: "as-key-1"}}})
	})
	mux.HandleFunc("/introspect", func(w http.ResponseWriter, r *http.Request) {
		ti := map[string]any{"active": false}
		if r.FormValue("token") == "good-token" {
			ti = map[string]any{"active": true, "sub": "alice", "scope": "orders:read"}
		}
		w.Header().Set("Content-Type", r.Header.Get("Accept"))
		io.WriteString(w, exampleSign(asKey, as.URL, "orders-api", ti))
	})

	dec, err := jwtintrospect.New(jwtintrospect.Config{
		Issuer:   as.URL,
		ClientID: "orders-api",
		JWKSURL:  as.URL + "/jwks",
	})
	if err != nil {
		log.Fatal(err)
	}
	defer dec.Close() // stops the background refresh of the JWK Set
	client, err := introspect.New(introspect.Config{
		IntrospectionURL: as.URL + "/introspect",
		ClientID:         "orders-api",
		ClientSecret:     "s3cret",
		Decoder:          dec,
	})
	if err != nil {
		log.Fatal(err)
	}

	resp, err := client.Introspect(context.Background(), "good-token")
	fmt.Println(resp.Active, resp.Subject, err)
	_, err = client.Introspect(context.Background(), "revoked-token")
	fmt.Println(errors.Is(err, introspect.ErrInactive))
	// Output:
	// true alice <nil>
	// true
}

// Load the resource server's private key and publish its public half for the
// authorization server, which then encrypts its answers to it.
func ExampleDecoder_JWKSHandler() {
	// In production: rsKey, err := jwtintrospect.LoadKey("/etc/orders-api/rs-key.pem")
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(priv)
	rsKey, err := jwtintrospect.ParseKey(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	if err != nil {
		log.Fatal(err)
	}
	_, asKey, _ := ed25519.GenerateKey(rand.Reader)
	pinned, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: asKey.Public(), KeyID: "as-key-1"}}})

	dec, err := jwtintrospect.New(jwtintrospect.Config{
		Issuer:            "https://as.example.com",
		ClientID:          "orders-api",
		JWKS:              pinned,
		DecryptionKeys:    []*jwtintrospect.Key{rsKey},
		KeyAlgorithms:     []string{"ECDH-ES+A256KW"},
		RequireEncryption: true,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer dec.Close()
	mux := http.NewServeMux()
	mux.Handle("GET /.well-known/jwks.json", dec.JWKSHandler())
	rs := httptest.NewServer(mux)
	defer rs.Close()

	// What the authorization server fetches.
	res, err := http.Get(rs.URL + "/.well-known/jwks.json")
	if err != nil {
		log.Fatal(err)
	}
	defer res.Body.Close()
	var set jose.JSONWebKeySet
	json.NewDecoder(res.Body).Decode(&set)
	k := set.Keys[0]
	fmt.Println(res.Header.Get("Content-Type"), len(set.Keys), k.Use, k.Algorithm, k.IsPublic(), k.KeyID == rsKey.KeyID)
	// Output:
	// application/jwk-set+json 1 enc ECDH-ES+A256KW true true
}
