package echo

import (
	"errors"

	"github.com/labstack/echo/v4"

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
	// (echo's middleware.Skipper convention).
	Skipper func(c echo.Context) bool
	// ErrorHandler answers a request this middleware rejects; what it
	// returns is returned to echo. Defaults to writing the guard's RFC 6750
	// answer to c.Response() and returning nil, so that echo's
	// HTTPErrorHandler does not write its own body. A custom one may return
	// err to hand it to the HTTPErrorHandler instead, which can write
	// Guard.Reject(err). It is this middleware's only: a RequireScopes of
	// the same guard nested inside answers for itself. To give every answer
	// of the guard your API's body format, on every route, set
	// rs.Config.ErrorBody.
	ErrorHandler func(c echo.Context, err error) error
	// SuccessHandler, if set, runs after a request is accepted, with the
	// principal stored. If it returns an error, the request is rejected
	// through ErrorHandler instead of reaching the handler.
	SuccessHandler func(c echo.Context) error
}

// New returns middleware that lets a request reach the handler only if
// cfg.Guard accepts it and it satisfies cfg.Require. The principal is
// stored in the request context, read with [Principal] or
// rs.PrincipalFrom(c.Request().Context()).
func New(cfg Config) (echo.MiddlewareFunc, error) {
	if cfg.Guard == nil {
		return nil, errors.New("echo: Config.Guard is required")
	}
	g := cfg.Guard
	if cfg.ErrorHandler == nil {
		cfg.ErrorHandler = func(c echo.Context, err error) error {
			g.Reject(err).Write(c.Response())
			return nil
		}
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if cfg.Skipper != nil && cfg.Skipper(c) {
				return next(c)
			}
			r := c.Request()
			p, err := g.Check(r, cfg.Require)
			if err != nil {
				return cfg.ErrorHandler(c, err)
			}
			if rp := rs.RequestWithPrincipal(r, p); rp != r {
				c.SetRequest(rp)
			}
			if cfg.SuccessHandler != nil {
				if err := cfg.SuccessHandler(c); err != nil {
					return cfg.ErrorHandler(c, err)
				}
			}
			return next(c)
		}
	}, nil
}

// MustNew is like [New] but panics if cfg is invalid; for program start-up.
func MustNew(cfg Config) echo.MiddlewareFunc {
	mw, err := New(cfg)
	if err != nil {
		panic(err)
	}
	return mw
}

// RequireScopes returns middleware for one route or group: the request must
// carry a token accepted by g that satisfies req. Behind a [New] middleware
// of the same guard it only checks req. It panics if g is nil.
func RequireScopes(g *rs.Guard, req scopes.Requirement) echo.MiddlewareFunc {
	return MustNew(Config{Guard: g, Require: req})
}

// Principal returns the principal of an accepted request, and false for an
// anonymous or skipped one.
func Principal(c echo.Context) (*rs.Principal, bool) {
	return rs.PrincipalFrom(c.Request().Context())
}
