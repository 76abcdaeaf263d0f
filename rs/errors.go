package rs

import (
	"errors"

	"github.com/tokengate/tokengate/scopes"
)

// Error categories, for use with [errors.Is]. Every error returned by
// [Guard.Check] and [Guard.CheckCredentials] matches exactly
// one of them; [Guard.Reject] turns each into its RFC 6750 §3 answer.
var (
	// ErrNoToken means the request carries no access token at all: 401 with
	// a bare challenge and no error code (RFC 6750 §3.1).
	ErrNoToken = errors.New("rs: no access token in the request")
	// ErrInvalidRequest means the request is malformed: two Authorization
	// headers, a token sent by two methods, a Bearer scheme without a token,
	// a token with forbidden characters (RFC 6750 §3.1 invalid_request, 400).
	ErrInvalidRequest = errors.New("rs: invalid request")
	// ErrInvalidToken means the token is not active, has expired, or fails the
	// guard's policy (audience, issuer, client, token type): RFC 6750 §3.1
	// invalid_token, 401.
	ErrInvalidToken = errors.New("rs: invalid access token")
	// ErrInvalidDPoPProof means the request presents a DPoP-bound token
	// with the DPoP scheme, but its DPoP proof is missing, malformed, for
	// another request or key, stale or replayed: RFC 9449 §7.1
	// invalid_dpop_proof, 401. Only a guard with [Config.DPoP] returns it;
	// the cause (a package dpop error) is wrapped.
	ErrInvalidDPoPProof = errors.New("rs: invalid DPoP proof")
	// ErrInsufficientScope means the token is valid but does not carry the
	// scopes the route requires: RFC 6750 §3.1 insufficient_scope, 403.
	ErrInsufficientScope = errors.New("rs: insufficient scope")
	// ErrUnavailable means the token could not be checked: the authorization
	// server is down, refused our credentials, or answered with something
	// malformed. It is answered with 503 and Retry-After, never with a pass.
	// The cause (one of the introspect error categories) is wrapped.
	ErrUnavailable = errors.New("rs: token validation unavailable")
)

// Error is a rejected request. Kind is its category, Description a fixed
// text that is safe to send to the client as error_description, and Err the
// underlying cause, which is never sent to the client.
type Error struct {
	// Kind is one of ErrNoToken, ErrInvalidRequest, ErrInvalidToken,
	// ErrInvalidDPoPProof, ErrInsufficientScope or ErrUnavailable.
	Kind error
	// Description is sent to the client as error_description. It must only
	// use the characters RFC 6750 §3 allows (printable ASCII except '"' and
	// '\'); others are dropped when the challenge is written.
	Description string
	// Required is the requirement that was not met, for ErrInsufficientScope;
	// it becomes the scope attribute of the challenge.
	Required scopes.Requirement
	// Err is the cause, for logs and errors.Is/As; it may be nil.
	Err error

	// viaDPoP records that the request used the DPoP authentication
	// scheme, so that the error goes into the DPoP challenge.
	viaDPoP bool
	// reason is the Decision.Reason of the refusal; empty means the one
	// of its Kind.
	reason string
}

// Error returns the category, the description and the cause.
func (e *Error) Error() string {
	msg := "rs: rejected"
	if e.Kind != nil {
		msg = e.Kind.Error()
	}
	if e.Description != "" {
		msg += ": " + e.Description
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Is reports whether target is the error's category.
func (e *Error) Is(target error) bool { return target != nil && target == e.Kind }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

func newError(kind error, desc string, cause error) *Error {
	return &Error{Kind: kind, Description: desc, Err: cause}
}

// because sets the reason the guard's [Observer] is told.
func (e *Error) because(reason string) *Error {
	e.reason = reason
	return e
}
