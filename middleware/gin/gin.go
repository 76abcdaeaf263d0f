package gin

import (
	"errors"

	"github.com/gin-gonic/gin"

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
	// Skipper, if set and returning true, lets the request through unchecked.
	Skipper func(c *gin.Context) bool
	// ErrorHandler answers a request this middleware rejects. Defaults to
	// writing the guard's RFC 6750 answer to c.Writer. Whatever it does,
	// the error is first recorded with c.Error and the chain is aborted
	// afterwards. It is this middleware's only: a RequireScopes of the same
	// guard nested inside answers for itself. To give every answer of the
	// guard your API's body format, on every route, set rs.Config.ErrorBody.
	ErrorHandler func(c *gin.Context, err error)
	// SuccessHandler, if set, runs after a request is accepted, with the
	// principal stored. If it returns an error, the request is rejected
	// through ErrorHandler instead of reaching the handler.
	SuccessHandler func(c *gin.Context) error
}

// New returns middleware that lets a request continue only if cfg.Guard
// accepts it and it satisfies cfg.Require, and aborts it otherwise. The
// principal is stored in the request context, read with [Principal] or
// rs.PrincipalFrom(c.Request.Context()).
func New(cfg Config) (gin.HandlerFunc, error) {
	if cfg.Guard == nil {
		return nil, errors.New("gin: Config.Guard is required")
	}
	g := cfg.Guard
	if cfg.ErrorHandler == nil {
		cfg.ErrorHandler = func(c *gin.Context, err error) { g.Reject(err).Write(c.Writer) }
	}
	reject := func(c *gin.Context, err error) {
		_ = c.Error(err)
		cfg.ErrorHandler(c, err)
		c.Abort()
	}
	return func(c *gin.Context) {
		if cfg.Skipper != nil && cfg.Skipper(c) {
			c.Next()
			return
		}
		p, err := g.Check(c.Request, cfg.Require)
		if err != nil {
			reject(c, err)
			return
		}
		c.Request = rs.RequestWithPrincipal(c.Request, p)
		if cfg.SuccessHandler != nil {
			if err := cfg.SuccessHandler(c); err != nil {
				reject(c, err)
				return
			}
		}
		c.Next()
	}, nil
}

// MustNew is like [New] but panics if cfg is invalid; for program start-up.
func MustNew(cfg Config) gin.HandlerFunc {
	mw, err := New(cfg)
	if err != nil {
		panic(err)
	}
	return mw
}

// RequireScopes returns middleware for one route or group: the request must
// carry a token accepted by g that satisfies req. Behind a [New] middleware
// of the same guard it only checks req. It panics if g is nil.
func RequireScopes(g *rs.Guard, req scopes.Requirement) gin.HandlerFunc {
	return MustNew(Config{Guard: g, Require: req})
}

// Principal returns the principal of an accepted request, and false for an
// anonymous or skipped one.
func Principal(c *gin.Context) (*rs.Principal, bool) {
	return rs.PrincipalFrom(c.Request.Context())
}
