// Command quickstart is the README's quick start: an API whose GET /orders
// needs an access token with the scope orders:read, checked by RFC 7662
// introspection at the authorization server TOKENGATE_ISSUER.
package main

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/tokengate/tokengate/introspect"
	"github.com/tokengate/tokengate/middleware/nethttp"
	"github.com/tokengate/tokengate/rs"
	"github.com/tokengate/tokengate/scopes"
)

func main() {
	api, err := newAPI(os.Getenv("TOKENGATE_ISSUER"), os.Getenv("TOKENGATE_CLIENT_ID"), os.Getenv("TOKENGATE_CLIENT_SECRET"))
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Addr: "127.0.0.1:8080", Handler: api, ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second, MaxHeaderBytes: 64 << 10}
	log.Fatal(srv.ListenAndServe())
}

// newAPI serves GET /orders to callers whose token the authorization server
// at issuer says is active, meant for this API and grants orders:read.
func newAPI(issuer, clientID, clientSecret string) (http.Handler, error) {
	verifier, err := introspect.New(introspect.Config{Issuer: issuer, ClientID: clientID, ClientSecret: clientSecret})
	if err != nil {
		return nil, err
	}
	// A wrong issuer or secret fails here, not as a 503 on the first request.
	if err := verifier.Ping(context.Background()); err != nil {
		return nil, err
	}
	guard, err := rs.New(rs.Config{Introspector: verifier, Audiences: []string{"http://127.0.0.1:8080"}})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /orders", func(w http.ResponseWriter, r *http.Request) {
		p, _ := rs.PrincipalFrom(r.Context())
		fmt.Fprintf(w, "orders of %s\n", p.Subject)
	})
	return nethttp.MustNew(nethttp.Config{Guard: guard, Require: scopes.All("orders:read")})(mux), nil
}
