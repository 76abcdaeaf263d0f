package nethttp

import (
	"errors"
	"net/http"

	"github.com/tokengate/tokengate/rs"
	"github.com/tokengate/tokengate/scopes"
)

// Config configures the middleware. Only Guard is required.
type Config struct {
	// Guard extracts and validates tokens and shapes every error. Required.
	Guard *rs.Guard
	// Require is checked on every request; the zero Requirement only
	// requires a valid token (or none, with rs.Config.AllowAnonymous).
	Require scopes.Requirement
	// Skipper, if set and returning true, lets the request through unchecked
	// and without principal (e.g. for a health check).
	Skipper func(r *http.Request) bool
	// ErrorHandler answers a request this middleware rejects. Defaults to
	// writing the guard's RFC 6750 answer, Guard.Reject(err).Write(w); a
	// custom one can log, or redirect to a sign-in page, and then write it.
	// It is this middleware's only: a RequireScopes of the same guard
	// nested inside answers for itself. To give every answer of the guard
	// your API's body format, on every route, set rs.Config.ErrorBody.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)
	// SuccessHandler, if set, runs after a request is accepted, with the
	// principal in r's context. If it returns an error, the request is
	// rejected through ErrorHandler instead of reaching the handler.
	SuccessHandler func(w http.ResponseWriter, r *http.Request) error
}

// New returns middleware that lets a request reach the next handler only if
// cfg.Guard accepts it and it satisfies cfg.Require, with the principal in
// its context for [rs.PrincipalFrom]. Nested inside another middleware of
// the same guard, it reuses the principal instead of validating again.
func New(cfg Config) (func(http.Handler) http.Handler, error) {
	if cfg.Guard == nil {
		return nil, errors.New("nethttp: Config.Guard is required")
	}
	g := cfg.Guard
	if cfg.ErrorHandler == nil {
		cfg.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, err error) { g.Reject(err).Write(w) }
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if cfg.Skipper != nil && cfg.Skipper(r) {
				next.ServeHTTP(w, r)
				return
			}
			p, err := g.Check(r, cfg.Require)
			if err != nil {
				cfg.ErrorHandler(w, r, err)
				return
			}
			r = rs.RequestWithPrincipal(r, p)
			if cfg.SuccessHandler != nil {
				if err := cfg.SuccessHandler(w, r); err != nil {
					cfg.ErrorHandler(w, r, err)
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	}, nil
}

// MustNew is like [New] but panics if cfg is invalid; for program start-up.
func MustNew(cfg Config) func(http.Handler) http.Handler {
	mw, err := New(cfg)
	if err != nil {
		panic(err)
	}
	return mw
}

// RequireScopes returns middleware for one route: the request must carry a
// token accepted by g that satisfies req. Behind a [New] middleware of the
// same guard it only checks req. A plain function is wrapped as usual in
// net/http: RequireScopes(g, req)(http.HandlerFunc(listOrders)). It panics
// if g is nil.
func RequireScopes(g *rs.Guard, req scopes.Requirement) func(http.Handler) http.Handler {
	return MustNew(Config{Guard: g, Require: req})
}
