// Command nethttp is a net/http API protected by tokengate: GET /api/orders
// needs the scope orders:read, POST /api/orders needs orders:write, and both
// answer with the caller as JSON {"subject","client_id","scopes"}.
//
// It is configured only from the environment (see internal/envconfig):
//
//	TOKENGATE_INTROSPECTION_URL=https://as.example.com/introspect \
//	TOKENGATE_CLIENT_ID=api TOKENGATE_CLIENT_SECRET=s3cret \
//	TOKENGATE_AUDIENCE=https://api.example.com \
//	go run ./examples/nethttp
//
// A missing or contradictory setting is reported and the command exits with
// status 2.
package main

import (
	"encoding/json"
	"net/http"

	"github.com/tokengate/tokengate/examples/internal/orders"
	"github.com/tokengate/tokengate/middleware/nethttp"
	"github.com/tokengate/tokengate/rs"
)

func main() {
	orders.Run("nethttp", newHandler)
}

// newHandler is the protected API: every route needs a valid token, and
// each method its scope.
func newHandler(guard *rs.Guard) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET "+orders.Path, nethttp.RequireScopes(guard, orders.Read)(http.HandlerFunc(answer)))
	mux.Handle("POST "+orders.Path, nethttp.RequireScopes(guard, orders.Write)(http.HandlerFunc(answer)))
	return nethttp.MustNew(nethttp.Config{Guard: guard})(mux)
}

func answer(w http.ResponseWriter, r *http.Request) {
	p, _ := rs.PrincipalFrom(r.Context()) // never nil behind RequireScopes
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(orders.AnswerFor(p))
}
