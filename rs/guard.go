package rs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/tokengate/tokengate/internal/lograte"
	"github.com/tokengate/tokengate/introspect"
	"github.com/tokengate/tokengate/scopes"
)

// Introspector validates an access token. *introspect.Cache (what
// introspect.New returns) and *introspect.Client satisfy it, and so can a
// local JWT validator. It returns the
// response for an active token, or an error matching one of the introspect
// error categories (ErrInactive, ErrUnavailable, ErrASRejectedClient,
// ErrMalformedResponse). Any other error rejects the token as invalid_token,
// except context errors, which are answered as unavailable.
type Introspector interface {
	Introspect(ctx context.Context, token string) (*introspect.Response, error)
}

// Guard decides whether a request may reach a protected handler: it
// extracts the access token, validates it through the Introspector, applies
// the policy of its [Config], checks scope requirements, and turns every
// failure into an RFC 6750 §3 answer ([Guard.Reject]). How it treats
// sender-constrained (DPoP- and certificate-bound) tokens is described in
// the package documentation. It is safe for concurrent use.
type Guard struct {
	cfg        Config      // defaults filled in by New; read-only afterwards
	extractors []Extractor // the Authorization header first, then cfg's
	dpopAlgs   string      // the algs attribute of the DPoP challenge
	scopeSets  scopeMemo
	// unavailableLog and misconfiguredLog rate-limit the lines logged when
	// every request fails alike: the authorization server is down, or we
	// cannot use its answers.
	unavailableLog   lograte.Limiter
	misconfiguredLog lograte.Limiter
}

// New returns a Guard for cfg, or an error naming the first invalid field.
func New(cfg Config) (*Guard, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	header := Extractor{Method: "header", Extract: fromHeader}
	if cfg.DPoP != nil {
		header.Extract = fromDPoPHeader
	}
	g := &Guard{cfg: cfg, extractors: append([]Extractor{header}, cfg.Extractors...)}
	if cfg.DPoP != nil {
		g.dpopAlgs = strings.Join(cfg.DPoP.Algorithms(), " ")
	}
	return g, nil
}

// Check decides whether r may reach a handler that requires req (the zero
// Requirement asks only for a valid token): it extracts the access token,
// validates it, applies the guard's policy and checks req. It returns the
// principal, or nil and no error for a request without token let through
// by [Config.AllowAnonymous] on a route without requirement. Every error is
// an [*Error], which [Guard.Reject] turns into the answer.
//
// A request that already carries a principal of this guard
// ([RequestWithPrincipal]), as behind an outer middleware, is not validated
// again: only req is checked.
func (g *Guard) Check(r *http.Request, req scopes.Requirement) (*Principal, error) {
	return g.check(presented{ctx: r.Context(), r: r}, req)
}

// check is the one decision of [Guard.Check] and [Guard.CheckCredentials].
func (g *Guard) check(pr presented, req scopes.Requirement) (*Principal, error) {
	p, ok := PrincipalFrom(pr.ctx)
	reused := ok && p.guard == g
	if !reused {
		var err error
		if p, err = g.authenticate(pr); err != nil {
			g.observeRefused(err)
			return nil, err
		}
	}
	if err := g.authorize(p, req); err != nil {
		g.observeRefused(err)
		return nil, err
	}
	if !reused {
		g.observeAccepted(p)
	}
	return p, nil
}

// authenticate extracts the request's access token, validates it and
// applies the guard's policy. It returns nil and no error for a request
// without token when [Config.AllowAnonymous] is set.
func (g *Guard) authenticate(pr presented) (*Principal, error) {
	token, err := pr.tokenFrom(g)
	if err != nil {
		return nil, err
	}
	if token == "" {
		if g.cfg.AllowAnonymous {
			return nil, nil
		}
		return nil, newError(ErrNoToken, "", nil)
	}
	if g.cfg.DPoP != nil && usesDPoPScheme(pr.authorization()) {
		p, err := g.authenticateDPoP(pr, token)
		if e, ok := err.(*Error); ok {
			e.viaDPoP = true
		}
		return p, err
	}
	p, cnf, err := g.verdict(pr.ctx, token)
	if err != nil {
		return nil, err
	}
	if cnf.jkt != "" {
		return nil, newError(ErrInvalidToken, "the DPoP-bound access token must be sent with the DPoP scheme", nil).because(reasonSenderConstrained)
	}
	if cnf.x5t != "" {
		if err := g.checkCertificate(pr, token, cnf.x5t); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// introspect asks the introspector and maps its failures.
func (g *Guard) introspect(ctx context.Context, token string) (*introspect.Response, error) {
	resp, err := g.cfg.Introspector.Introspect(ctx, token)
	if err != nil {
		return nil, g.introspectionError(ctx, token, err)
	}
	if resp == nil {
		err := fmt.Errorf("rs: introspector returned no response and no error: %w", introspect.ErrMalformedResponse)
		return nil, g.introspectionError(ctx, token, err)
	}
	return resp, nil
}

// authorize checks that p satisfies req under the guard's strategy. A nil
// p (anonymous) fails with [ErrNoToken] unless req is the zero Requirement.
func (g *Guard) authorize(p *Principal, req scopes.Requirement) error {
	if req.IsZero() {
		return nil
	}
	if p == nil {
		return newError(ErrNoToken, "", nil)
	}
	if req.SatisfiedBy(p.Scopes, g.cfg.Strategy) {
		return nil
	}
	return &Error{
		Kind:        ErrInsufficientScope,
		Description: "the access token lacks the required scope: " + req.Expr(),
		Required:    req,
		viaDPoP:     p.DPoPThumbprint != "",
	}
}

func (g *Guard) introspectionError(ctx context.Context, token string, err error) error {
	switch {
	case errors.Is(err, introspect.ErrInactive):
		return newError(ErrInvalidToken, "the access token is not active", err).because(reasonInactive)
	case errors.Is(err, introspect.ErrUnavailable):
		if ok, suppressed := g.unavailableLog.Allow(g.cfg.Now()); ok {
			g.cfg.Logger.WarnContext(ctx, "rs: authorization server unavailable", "token_sha256", tokenHash(token), "err", err,
				"suppressed_since_last", suppressed)
		}
		return newError(ErrUnavailable, descUnavailable, err)
	case errors.Is(err, introspect.ErrASRejectedClient), errors.Is(err, introspect.ErrMalformedResponse):
		if ok, suppressed := g.misconfiguredLog.Allow(g.cfg.Now()); ok {
			g.cfg.Logger.ErrorContext(ctx, "rs: cannot validate tokens: check the introspection configuration", "token_sha256", tokenHash(token), "err", err,
				"suppressed_since_last", suppressed)
		}
		return newError(ErrUnavailable, descUnavailable, err).because("misconfigured")
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return newError(ErrUnavailable, descUnavailable, err)
	default:
		g.cfg.Logger.InfoContext(ctx, "rs: token rejected by the introspector", "token_sha256", tokenHash(token), "err", err)
		return newError(ErrInvalidToken, "the access token was rejected", err).because("rejected")
	}
}

const descUnavailable = "the access token cannot be checked right now, retry later"

// tokenHash identifies a token in logs without revealing it.
func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:8])
}
