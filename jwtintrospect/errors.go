package jwtintrospect

import (
	"fmt"

	"github.com/tokengate/tokengate/introspect"
)

// Causes of a rejected response, for use with [errors.Is]. Each of them also
// matches [introspect.ErrMalformedResponse], so that callers which only know
// the introspect categories fail closed.
var (
	// ErrFormat means the answer is not an RFC 9701 response at all: wrong
	// Content-Type, too large, not a compact JWS or JWE, a malformed JOSE
	// header, or a "typ" other than token-introspection+jwt.
	ErrFormat error = &cause{"jwtintrospect: not an RFC 9701 JWT response"}
	// ErrSignature means the signature could not be verified: "alg" is "none"
	// or outside the allowlist, the key is unknown (even after a refresh) or
	// unfit for the algorithm, or the signature does not match.
	ErrSignature error = &cause{"jwtintrospect: signature not verified"}
	// ErrDecrypt means an encrypted response could not be decrypted: no
	// decryption key configured or none with its "kid", "alg" or "enc"
	// outside the allowlist, compression requested, a failed decryption, or a
	// plain signed response when encryption is required.
	ErrDecrypt error = &cause{"jwtintrospect: response not decrypted"}
	// ErrClaims means the signature is valid but the claims are not: "iss",
	// "aud", "iat", "exp" or "nbf" fail their checks, or "token_introspection"
	// is missing or not an RFC 7662 response.
	ErrClaims error = &cause{"jwtintrospect: response claims not valid"}
)

// cause is an error category that is itself a kind of
// introspect.ErrMalformedResponse.
type cause struct{ msg string }

func (c *cause) Error() string { return c.msg }
func (c *cause) Unwrap() error { return introspect.ErrMalformedResponse }

// reject wraps a cause with detail. err, if not nil, is wrapped too so that
// go-jose's errors stay reachable.
func reject(c error, detail string, err error) error {
	if err != nil {
		return fmt.Errorf("%w: %s: %w", c, detail, err)
	}
	return fmt.Errorf("%w: %s", c, detail)
}
