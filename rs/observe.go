package rs

import (
	"errors"
	"net/http"
)

// Observer is told the decisions of a guard, for metrics (package
// rs/prommetrics counts them for Prometheus). It runs on the request path:
// it must be quick, must not block, and must be safe for concurrent use.
type Observer interface {
	ObserveDecision(Decision)
}

// Decision is the outcome of one [Guard.Check]: what was answered and
// why, and never the token nor who the caller is, so that it can label a
// metric.
//
// Status is 200 for a request let through, else the status of its answer:
// 400, 401, 403 or 503. Reason is one of these fixed labels:
//
//	200  ok                  a valid token
//	200  anonymous           no token, with Config.AllowAnonymous
//	400  invalid_request     a malformed request: two Authorization headers, a token sent twice, …
//	401  no_token            no token at all
//	401  inactive            introspection says the token is not active
//	401  expired             exp has passed (beyond Config.ClockSkew)
//	401  not_yet_valid       nbf is still to come
//	401  audience            aud names none of Config.Audiences
//	401  issuer              iss is not in Config.Issuers
//	401  client              client_id is not in Config.ClientIDs
//	401  token_type          token_type is not accepted
//	401  sender_constrained  a DPoP- or certificate-bound token the guard cannot accept as sent
//	401  certificate         the client certificate is not the one the token is bound to
//	401  dpop_proof          the DPoP proof is missing or wrong
//	401  rejected            the Introspector rejected the token with an error of its own
//	403  insufficient_scope  the token lacks the route's scopes
//	503  unavailable         the authorization server cannot be reached (or the DPoP replay cache is full)
//	503  misconfigured       the authorization server refuses our credentials or answers nonsense
//
// A request through nested middleware of one guard (a RequireScopes on a
// route inside a middleware over everything) is observed once when its
// token is accepted, since the inner middleware reuses the principal, and
// once more if the route's requirement then refuses it. Rejections that a
// hook such as an adapter's SuccessHandler makes are not the guard's
// decisions and are not observed.
type Decision struct {
	Status int
	Reason string
}

// Decisions returns every decision a guard makes, in the order of the
// table of [Decision], so that a metrics adapter can create its series
// before the first request.
func Decisions() []Decision {
	return []Decision{
		{200, "ok"}, {200, "anonymous"},
		{400, "invalid_request"},
		{401, "no_token"}, {401, reasonInactive}, {401, "expired"}, {401, "not_yet_valid"}, {401, "audience"},
		{401, "issuer"}, {401, "client"}, {401, "token_type"}, {401, reasonSenderConstrained}, {401, "certificate"},
		{401, "dpop_proof"}, {401, "rejected"},
		{403, "insufficient_scope"},
		{503, "unavailable"}, {503, "misconfigured"},
	}
}

// Reasons shared by several places that refuse a token.
const (
	reasonInactive          = "inactive"
	reasonSenderConstrained = "sender_constrained"
)

// observeAccepted tells the observer, if any, that Check let a request
// through; p is nil for an anonymous one.
func (g *Guard) observeAccepted(p *Principal) {
	if g.cfg.Observer == nil {
		return
	}
	reason := "ok"
	if p == nil {
		reason = "anonymous"
	}
	g.cfg.Observer.ObserveDecision(Decision{Status: http.StatusOK, Reason: reason})
}

// observeRefused tells the observer, if any, that Check refused a request
// with err, an [*Error].
func (g *Guard) observeRefused(err error) {
	if g.cfg.Observer == nil {
		return
	}
	var e *Error
	if !errors.As(err, &e) {
		return
	}
	reason := e.reason
	if reason == "" {
		reason = defaultReasons[e.Kind]
	}
	g.cfg.Observer.ObserveDecision(Decision{Status: statusOf(e.Kind), Reason: reason})
}

// defaultReasons are the reasons of errors made without a more precise one.
var defaultReasons = map[error]string{
	ErrNoToken:           "no_token",
	ErrInvalidRequest:    "invalid_request",
	ErrInvalidToken:      "invalid_token",
	ErrInvalidDPoPProof:  "dpop_proof",
	ErrInsufficientScope: "insufficient_scope",
	ErrUnavailable:       "unavailable",
}

// statusOf is the status of the answer to an error of category kind.
func statusOf(kind error) int {
	switch kind {
	case ErrInvalidRequest:
		return http.StatusBadRequest
	case ErrInsufficientScope:
		return http.StatusForbidden
	case ErrUnavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusUnauthorized
	}
}
