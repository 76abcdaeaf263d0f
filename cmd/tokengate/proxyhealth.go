package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tokengate/tokengate/introspect"
)

// Start-up check of "tokengate proxy".
const (
	// pingTimeout bounds one check of the authorization servers.
	pingTimeout = 10 * time.Second
	// pingRetryMax is the longest wait between two checks at start-up.
	pingRetryMax = 30 * time.Second
)

// errStartupCheck stops the proxy when the authorization server refuses our
// credentials or does not speak RFC 7662: that is a configuration to fix,
// not an outage to wait out.
var errStartupCheck = errors.New("the start-up check of the authorization server failed")

// circuit is an introspect.Observer that follows one client's circuit
// breaker.
type circuit struct{ open atomic.Bool }

func (c *circuit) Observe(e introspect.Event) {
	if e.Kind == introspect.EventCircuit {
		c.open.Store(e.Outcome != "closed")
	}
}

// readiness is what /readyz says: ready once the start-up check has passed,
// and while no circuit breaker to an authorization server is open.
type readiness struct {
	svc      interface{ Ping(context.Context) error }
	circuits *circuits
	checked  atomic.Bool
	// probing is held by the /readyz request that pings an authorization
	// server whose circuit is open, so that probes do not pile up.
	probing sync.Mutex
}

// start runs the start-up check until it passes, waiting longer after each
// failure; it cancels ctx with errStartupCheck (wrapping the cause) when the
// authorization server refuses our credentials or answers nonsense.
func (rd *readiness) start(ctx context.Context, logger *slog.Logger, cancel context.CancelCauseFunc) {
	wait := time.Second
	for {
		pctx, done := context.WithTimeout(ctx, pingTimeout)
		err := rd.svc.Ping(pctx)
		done()
		switch {
		case err == nil:
			rd.checked.Store(true)
			logger.Info("tokengate proxy: the authorization server answered the start-up check: ready")
			return
		case ctx.Err() != nil:
			return
		case !errors.Is(err, introspect.ErrUnavailable):
			cancel(fmt.Errorf("%w: %w", errStartupCheck, err))
			return
		}
		logger.Warn("tokengate proxy: the authorization server is unavailable; not ready, asking again", "error", err, "in", wait)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return
		}
		wait = min(2*wait, pingRetryMax)
	}
}

// ready returns why the proxy is not ready, or "". An open circuit is
// probed with a ping (which the breaker lets through once its cool-down is
// over), since a proxy taken out of rotation gets no request that would.
func (rd *readiness) ready(ctx context.Context) string {
	if !rd.checked.Load() {
		return "the authorization server has not answered the start-up check yet"
	}
	if !rd.circuits.open() {
		return ""
	}
	if rd.probing.TryLock() {
		pctx, done := context.WithTimeout(ctx, pingTimeout)
		_ = rd.svc.Ping(pctx)
		done()
		rd.probing.Unlock()
	}
	if rd.circuits.open() {
		return "the circuit breaker to the authorization server is open: it has been failing"
	}
	return ""
}

// handler serves /healthz and /readyz.
func (rd *readiness) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeHealth(w, http.StatusOK, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if why := rd.ready(r.Context()); why != "" {
			writeHealth(w, http.StatusServiceUnavailable, "not ready: "+why)
			return
		}
		writeHealth(w, http.StatusOK, "ready")
	})
	return mux
}

func writeHealth(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	fmt.Fprintln(w, msg)
}
