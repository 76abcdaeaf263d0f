package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	"github.com/tokengate/tokengate/internal/httpserver"
	"github.com/tokengate/tokengate/internal/oauthhttp"
)

// Defaults of serve and demo.
const (
	defaultASAddr = "127.0.0.1:9096"
	defaultDBPath = "./tokengate.db"
)

const serveUsage = `Run the authorization server (package provider) on a SQLite database until
SIGINT or SIGTERM, then shut down gracefully, letting requests in flight
finish for up to 10s.

The database is created on first start, with new signing keys. --db (or
TOKENGATE_DB, which keeps a password out of the process list; the flag
wins) names a SQLite file, or a PostgreSQL database as a URL:
postgres://USER:PASSWORD@HOST:5432/DB?sslmode=verify-full (postgresql://
too). The PostgreSQL database must exist; the server makes its tables.
Several servers may share one PostgreSQL database: a token issued, revoked
or a client deleted at one is seen at once by the others. Register
clients with "tokengate client create --db PATH" and the people who sign in
with "tokengate user create --db PATH", also while the server runs.

People sign in at ISSUER/signin, the built-in login and consent pages
(package provider/signin); --templates DIR replaces any of their templates
(login.html, consent.html, error.html defining "login", "consent",
"error") without rebuilding.

APIs learn of revoked tokens at ISSUER/events (revocation_events_endpoint in
the metadata; TOKENGATE_REVOCATION_EVENTS=on in the examples), polled with
their introspection credentials: a token revoked at any server sharing the
database is refused by every API replica well within a second, not after
its cache's lifetime.

Logs are structured (log/slog) and go to stderr; they never contain a token,
a client secret or a query string.`

// runServe implements "tokengate serve".
func runServe(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "serve", "[--addr HOST:PORT] [--issuer URL] [--db PATH] [--templates DIR]", serveUsage)
	addr := fs.String("addr", defaultASAddr, "`address` to listen on (port 0 picks a free port)")
	issuer := fs.String("issuer", "", "issuer `URL` the server names itself by (default http://ADDR)")
	dbPath := fs.String("db", defaultDBPath, dbUsage)
	logFormat := fs.String("log-format", "text", "log `format`: text or json")
	logLevel := fs.String("log-level", "info", "log `level`: debug, info, warn or error")
	templates := fs.String("templates", "", "`directory` of *.html templates replacing the built-in sign-in pages' (login, consent, error)")
	limits := addServeLimits(fs)
	if code, ok := fs.parseNoArgs(args); !ok {
		return code
	}
	if msg := limits.check(fs); msg != "" {
		return fs.usageError("%s", msg)
	}
	logger, err := newLogger(e.stderr, *logFormat, *logLevel)
	if err != nil {
		return fs.usageError("%v", err)
	}
	// The server speaks plain http. Off loopback, that is only right behind
	// a TLS terminator, which an https issuer says there is; an http issuer
	// (even a loopback one, which the provider accepts) would have clients
	// on the network send secrets in clear text.
	if host, _, err := net.SplitHostPort(*addr); err != nil {
		return fs.usageError("--addr %q: %v", *addr, err)
	} else if !oauthhttp.IsLoopback(host) && !strings.HasPrefix(strings.ToLower(*issuer), "https://") {
		what := "the default issuer http://" + *addr
		if *issuer != "" {
			what = "the issuer " + *issuer
		}
		return fs.usageError("--addr %s is not a loopback address, so %s would send secrets in clear text: "+
			"terminate TLS in front of the server and give its https URL with --issuer", *addr, what)
	}

	ln, err := listen(*addr, "--addr")
	if err != nil {
		return fs.fail(exitFailure, err)
	}
	defer ln.Close()
	iss := *issuer
	if iss == "" {
		iss = "http://" + ln.Addr().String()
	}
	st, err := openStore(ctx, *dbPath)
	if err != nil {
		return fs.fail(exitFailure, err)
	}
	defer st.Close()
	srv, err := startSignin(ctx, signinConfig{issuer: iss, dbPath: *dbPath, store: st, logger: logger, templates: *templates, limits: limits})
	if err != nil {
		return fs.fail(exitFailure, err)
	}
	defer srv.close() // stops the sweeper of expired tokens before the store closes
	// Polls held at the revocation events endpoint are answered when the
	// shutdown starts: it would wait for them otherwise.
	defer context.AfterFunc(ctx, func() { srv.provider.Close() })()
	logger.Info("tokengate serve: listening", "addr", ln.Addr().String(), "issuer", srv.provider.Issuer(), "db", dbName(*dbPath), "version", buildVersion())
	if err := httpserver.Serve(ctx, logger, httpserver.Server{Listener: ln, Handler: logRequests(logger, "as", srv.handler)}); err != nil {
		return fs.fail(exitFailure, err)
	}
	logger.Info("tokengate serve: stopped")
	return exitOK
}

// newLogger returns a slog logger writing format ("text" or "json") at
// level to w.
func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %q is not debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch strings.ToLower(format) {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("--log-format: %q is not text or json", format)
	}
}

// listen listens on addr and explains a busy port in terms of flag.
func listen(addr, flag string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if errors.Is(err, syscall.EADDRINUSE) || isAddrInUseWindows(err) {
		return nil, fmt.Errorf("%s is already in use (another tokengate still running?); "+
			"pick another port with %s HOST:PORT, or %s 127.0.0.1:0 for any free port", addr, flag, flag)
	}
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", addr, err)
	}
	return ln, nil
}

// isAddrInUseWindows recognises WSAEADDRINUSE, which is not
// syscall.EADDRINUSE on Windows.
func isAddrInUseWindows(err error) bool {
	var errno syscall.Errno
	return errors.As(err, &errno) && errno == 10048
}

// logRequests logs one line per request: never the query string (RFC 6750
// §2.3 tokens live there), headers or bodies.
func logRequests(logger *slog.Logger, name string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(sw, r)
		logger.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("server", name),
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", sw.status),
			slog.Int64("bytes", sw.bytes),
			slog.Duration("duration", time.Since(start)),
			slog.String("remote", r.RemoteAddr),
		)
	})
}

// statusWriter records the status and size of a response.
type statusWriter struct {
	http.ResponseWriter
	status      int
	bytes       int64
	wroteHeader bool
}

func (s *statusWriter) WriteHeader(code int) {
	if !s.wroteHeader {
		s.status, s.wroteHeader = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	s.wroteHeader = true
	n, err := s.ResponseWriter.Write(b)
	s.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
