package introspect

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Error categories, for use with [errors.Is]. Every error returned by
// [Client.Introspect] or [Cache.Introspect] matches exactly one of them.
var (
	// ErrInactive means the authorization server says the token is not active,
	// or the response says it has expired or is not yet valid.
	ErrInactive = errors.New("introspect: token is not active")
	// ErrUnavailable means the authorization server could not be reached or
	// answered with a temporary failure (network error, timeout, 429, 5xx).
	// Callers should fail closed and may retry later.
	ErrUnavailable = errors.New("introspect: authorization server unavailable")
	// ErrASRejectedClient means the authorization server refused our own
	// credentials (401/403, or an invalid_client error): a configuration
	// error on the resource server, not a problem with the caller's token.
	ErrASRejectedClient = errors.New("introspect: authorization server rejected the client credentials")
	// ErrMalformedResponse means the authorization server answered with
	// something that is not a valid introspection response.
	ErrMalformedResponse = errors.New("introspect: malformed introspection response")
)

// Error is an unsuccessful HTTP answer from the authorization server, with
// the RFC 6749 §5.2 error members when it sent them. It matches one of the
// error categories with [errors.Is].
type Error struct {
	// StatusCode is the HTTP status of the answer.
	StatusCode int
	// Code is the RFC 6749 "error" member, if any.
	Code string
	// Description is the "error_description" member, if any.
	Description string
	// URI is the "error_uri" member, if any.
	URI string
	// RetryAfter is the delay from a Retry-After header; zero if absent.
	RetryAfter time.Duration
	// Body is the start of the response body, truncated, for logs.
	Body []byte
}

// Error returns the status and, if the authorization server sent them, its
// error code and description; never the body.
func (e *Error) Error() string {
	msg := fmt.Sprintf("introspect: authorization server answered %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	if e.Code != "" {
		msg += ": " + e.Code
		if e.Description != "" {
			msg += " (" + e.Description + ")"
		}
	}
	return msg
}

// Is maps the answer onto its category: 401, 403 and invalid_client are
// [ErrASRejectedClient]; 408, 429 and 5xx are [ErrUnavailable];
// unsupported_token_type (RFC 7009 §2.2.1, which some servers, such as node
// oidc-provider for JWT-shaped tokens, also answer at introspection) is
// [ErrInactive], since the server will not vouch for the token; anything
// else is [ErrMalformedResponse].
func (e *Error) Is(target error) bool {
	return target == e.category()
}

func (e *Error) category() error {
	switch {
	case e.StatusCode == http.StatusUnauthorized, e.StatusCode == http.StatusForbidden, e.Code == "invalid_client":
		return ErrASRejectedClient
	case e.StatusCode == http.StatusRequestTimeout, e.StatusCode == http.StatusTooManyRequests, e.StatusCode >= 500:
		return ErrUnavailable
	case e.StatusCode == http.StatusBadRequest && e.Code == "unsupported_token_type":
		return ErrInactive
	default:
		return ErrMalformedResponse
	}
}

// RetryAfterHint returns how long a caller should wait before retrying, as
// carried by err (an [*Error] with a Retry-After header, or a call refused
// while the circuit breaker is open or too many calls are in flight), or
// zero.
func RetryAfterHint(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	var refused *refusedError
	if errors.As(err, &refused) {
		return refused.retryAfter
	}
	return 0
}
