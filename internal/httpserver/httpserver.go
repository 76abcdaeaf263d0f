// Package httpserver runs the HTTP servers of tokengate's programs —
// "tokengate serve" and "tokengate demo", the examples and the load
// targets — with one set of limits. Users copy the examples into production,
// so an example server must be no easier to hold open (slowloris, a body
// sent a byte a minute, a header of a megabyte) than the one we ship.
package httpserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// The limits every server gets. Requests to an authorization server or to a
// protected API are small, so the bounds are tight.
const (
	// ReadHeaderTimeout cuts off a client that trickles its headers.
	ReadHeaderTimeout = 10 * time.Second
	// ReadTimeout bounds reading a whole request, body included.
	ReadTimeout = 30 * time.Second
	// WriteTimeout bounds a response, from the end of the request headers.
	WriteTimeout = 30 * time.Second
	// IdleTimeout closes a keep-alive connection that sends nothing.
	IdleTimeout = 2 * time.Minute
	// MaxHeaderBytes bounds the request line and headers (net/http allows
	// 1 MB by default); a bearer token, even a signed JWT, is far smaller.
	MaxHeaderBytes = 64 << 10
	// ShutdownTimeout is how long Serve lets requests in flight finish.
	ShutdownTimeout = 10 * time.Second
)

// New returns a server for h with the limits above. The server's own
// errors (a failed TLS handshake, a panic in a handler) go to logger at
// WARN.
func New(h http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// Server is one handler to serve on one listener.
type Server struct {
	Listener net.Listener
	Handler  http.Handler
}

// Serve serves every server (built by [New]) until ctx is done or one of
// them fails, then shuts all of them down, letting requests in flight finish
// for up to [ShutdownTimeout]. It returns nil after a shutdown that ctx
// asked for, and the first failure otherwise.
func Serve(ctx context.Context, logger *slog.Logger, servers ...Server) error {
	errc := make(chan error, len(servers))
	https := make([]*http.Server, len(servers))
	for i, s := range servers {
		https[i] = New(s.Handler, logger)
		go func() { errc <- https[i].Serve(s.Listener) }()
	}
	var err error
	select {
	case <-ctx.Done():
		logger.Info("shutting down", "cause", context.Cause(ctx))
	case err = <-errc:
	}
	// The servers' contexts are done; the shutdown gets its own deadline.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownTimeout)
	defer cancel()
	for _, h := range https {
		if serr := h.Shutdown(sctx); serr != nil && err == nil {
			err = fmt.Errorf("shutting down: %w", serr)
		}
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
