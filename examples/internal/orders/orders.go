// Package orders is the protected API shared by the tokengate examples:
// the same routes, scopes, JSON answer, environment contract and start-up
// in every framework. Each example only wires its framework in.
package orders

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/tokengate/tokengate/examples/internal/envconfig"
	"github.com/tokengate/tokengate/rs"
	"github.com/tokengate/tokengate/scopes"
)

// Path is the route of the API.
const Path = "/api/orders"

// Read is required by GET /api/orders, Write by POST /api/orders.
var (
	Read  = scopes.All("orders:read")
	Write = scopes.All("orders:write")
)

// Answer is the JSON body of a successful call: who called.
type Answer struct {
	Subject  string   `json:"subject"`
	ClientID string   `json:"client_id"`
	Scopes   []string `json:"scopes"`
}

// AnswerFor describes the principal; p must not be nil.
func AnswerFor(p *rs.Principal) Answer {
	s := p.Scopes.List()
	if s == nil {
		s = []string{}
	}
	return Answer{Subject: p.Subject, ClientID: p.ClientID, Scopes: s}
}

// Routes serves the public paths of svc (RFC 9728 metadata, our JWK Set)
// without token, and everything else with api.
func Routes(svc *envconfig.Service, api http.Handler) http.Handler {
	if len(svc.Public) == 0 {
		return api
	}
	mux := http.NewServeMux()
	for path, h := range svc.Public {
		mux.Handle("GET "+path, h)
	}
	mux.Handle("/", api)
	return mux
}

// Main reads the environment (see package envconfig), builds the guard,
// and serves handler(guard) until ctx is done. It returns the exit status:
// 2 for a configuration error, which it explains on stderr, 1 if the server
// fails, 0 after a clean shutdown.
func Main(ctx context.Context, name string, getenv func(string) string, stderr io.Writer, handler func(*rs.Guard) http.Handler) int {
	log := slog.New(slog.NewTextHandler(stderr, nil))
	cfg, err := envconfig.Load(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "%s example: configuration error:\n%v\n", name, err)
		return 2
	}
	svc, err := cfg.Build(log, append(Read.Scopes(), Write.Scopes()...))
	if err != nil {
		fmt.Fprintf(stderr, "%s example: %v\n", name, err)
		return 2
	}
	defer svc.Close()
	srv := &http.Server{Addr: cfg.Addr, Handler: Routes(svc, handler(svc.Guard)), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	log.Info("listening", "example", name, "addr", cfg.Addr)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(stderr, "%s example: %v\n", name, err)
		return 1
	}
	return 0
}
