package tokenroute_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/tokengate/tokengate/introspect"
	"github.com/tokengate/tokengate/jwtaccess"
	"github.com/tokengate/tokengate/tokenroute"
)

// One authorization server issues JWT access tokens and opaque ones: the
// JWTs are checked locally with its keys, the opaque tokens introspected.
func Example() {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	introspections := 0
	var as *httptest.Server
	as = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/.well-known/oauth-authorization-server":
			fmt.Fprintf(w, `{"issuer":%q,"jwks_uri":%q,"introspection_endpoint":%q}`, as.URL, as.URL+"/jwks", as.URL+"/introspect")
		case "/jwks":
			json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Use: "sig"}}})
		case "/introspect":
			introspections++
			r.ParseForm()
			fmt.Fprintf(w, `{"active":%t,"sub":"bob","aud":"https://api.example.com","exp":%d}`, r.PostForm.Get("token") == "tg_at_opaque", time.Now().Add(time.Hour).Unix())
		}
	}))
	defer as.Close()

	local, err := jwtaccess.New(jwtaccess.Config{Issuer: as.URL, Audiences: []string{"https://api.example.com"}})
	if err != nil {
		panic(err)
	}
	defer local.Close()
	remote, err := introspect.NewClient(introspect.Config{Issuer: as.URL, ClientID: "api", ClientSecret: "secret"})
	if err != nil {
		panic(err)
	}
	router, err := tokenroute.New(tokenroute.Config{Issuers: []tokenroute.Issuer{
		{Issuer: as.URL, JWT: local, Opaque: remote},
	}})
	if err != nil {
		panic(err)
	}
	// One verdict cache above the router, for both kinds of token.
	cache, err := introspect.NewCache(router, introspect.CacheConfig{})
	if err != nil {
		panic(err)
	}

	signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: "k1"}},
		(&jose.SignerOptions{}).WithType("at+jwt"))
	claims, _ := json.Marshal(map[string]any{"iss": as.URL, "aud": "https://api.example.com", "sub": "alice", "exp": time.Now().Add(time.Hour).Unix()})
	jws, _ := signer.Sign(claims)
	jwt, _ := jws.CompactSerialize()

	for _, token := range []string{jwt, "tg_at_opaque", jwt, "tg_at_opaque"} {
		resp, err := cache.Introspect(context.Background(), token)
		fmt.Println(resp.Subject, err)
	}
	fmt.Println("introspections:", introspections)
	// Output:
	// alice <nil>
	// bob <nil>
	// alice <nil>
	// bob <nil>
	// introspections: 1
}
