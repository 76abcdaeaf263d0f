// Command nethttp is a net/http API protected by tokengate: GET /api/orders
// needs the scope orders:read, POST /api/orders needs orders:write, and both
// answer with the caller as JSON {"subject","client_id","scopes"}.
//
// It is configured only from the environment (see examples/internal/envconfig):
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
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tokengate/tokengate/examples/internal/envconfig"
	"github.com/tokengate/tokengate/examples/internal/orders"
	"github.com/tokengate/tokengate/introspect"
	"github.com/tokengate/tokengate/middleware/nethttp"
	"github.com/tokengate/tokengate/rs"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Getenv, os.Stderr))
}

func run(ctx context.Context, getenv func(string) string, stderr io.Writer) int {
	log := slog.New(slog.NewTextHandler(stderr, nil))
	cfg, err := envconfig.Load(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "nethttp example: configuration error:\n%v\n", err)
		return 2
	}
	for _, n := range cfg.Notes {
		log.Warn(n)
	}
	cfg.Introspect.Logger = log
	client, err := introspect.New(cfg.Introspect)
	if err != nil {
		fmt.Fprintf(stderr, "nethttp example: %v\n", err)
		return 2
	}
	cfg.Guard.Introspector = client
	cfg.Guard.Logger = log
	guard, err := rs.New(cfg.Guard)
	if err != nil {
		fmt.Fprintf(stderr, "nethttp example: %v\n", err)
		return 2
	}

	srv := &http.Server{Addr: cfg.Addr, Handler: newHandler(guard), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	log.Info("listening", "addr", cfg.Addr)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(stderr, "nethttp example: %v\n", err)
		return 1
	}
	return 0
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
