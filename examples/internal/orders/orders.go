// Package orders is the protected API shared by the tokengate examples:
// the same routes, scopes, JSON answer, environment contract and start-up
// in every framework. Each example only wires its framework in.
package orders

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tokengate/tokengate/internal/envconfig"
	"github.com/tokengate/tokengate/internal/httpserver"
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

// pingTimeout bounds the start-up check of the authorization server.
const pingTimeout = 15 * time.Second

// Run is what an example's main calls: [Main] with the process's
// environment and stderr, stopped by SIGINT or SIGTERM; it exits with
// Main's status.
func Run(name string, handler func(*rs.Guard) http.Handler) {
	RunServer(name, serveHTTP(handler))
}

// RunServer is [Run] for an example whose server is not an http.Handler,
// such as gRPC: serve serves on ln until ctx is done.
func RunServer(name string, serve Server) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := MainServer(ctx, name, os.Getenv, os.Stderr, serve)
	stop()
	os.Exit(code)
}

// Server serves an example's API with svc.Guard on ln until ctx is done,
// then shuts down gracefully.
type Server func(ctx context.Context, log *slog.Logger, svc *envconfig.Service, ln net.Listener) error

// serveHTTP serves handler(guard) with the limits of "tokengate serve".
func serveHTTP(handler func(*rs.Guard) http.Handler) Server {
	return func(ctx context.Context, log *slog.Logger, svc *envconfig.Service, ln net.Listener) error {
		// The limits of "tokengate serve" (timeouts, header size): users copy
		// examples, so an example must not be easier to hold open than it.
		return httpserver.Serve(ctx, log, httpserver.Server{Listener: ln, Handler: Routes(svc, handler(svc.Guard))})
	}
}

// Main reads the environment (see package envconfig), builds the guard,
// and serves handler(guard) until ctx is done. It returns the exit status:
// 2 for a configuration error, which it explains on stderr, 1 if the server
// fails, 0 after a clean shutdown.
func Main(ctx context.Context, name string, getenv func(string) string, stderr io.Writer, handler func(*rs.Guard) http.Handler) int {
	return MainServer(ctx, name, getenv, stderr, serveHTTP(handler))
}

// MainServer is [Main] for an example whose server is not an http.Handler.
func MainServer(ctx context.Context, name string, getenv func(string) string, stderr io.Writer, serve Server) int {
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
	// Fail fast: wrong credentials or a wrong endpoint would otherwise show
	// only as 503s on the first requests.
	pctx, cancel := context.WithTimeout(ctx, pingTimeout)
	err = svc.Ping(pctx)
	cancel()
	if ctx.Err() != nil {
		return 0 // stopped while starting
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s example: the start-up check of the authorization server failed (check TOKENGATE_ISSUER or TOKENGATE_INTROSPECTION_URL, and the credentials): %v\n", name, err)
		return 1
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		fmt.Fprintf(stderr, "%s example: %v\n", name, err)
		return 1
	}
	// The real address: with ADDR=127.0.0.1:0 the port is picked now.
	log.Info("listening", "example", name, "addr", ln.Addr().String())
	if err := serve(ctx, log, svc, ln); err != nil {
		fmt.Fprintf(stderr, "%s example: %v\n", name, err)
		return 1
	}
	return 0
}
