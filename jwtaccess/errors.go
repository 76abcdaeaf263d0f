package jwtaccess

import (
	"fmt"

	"github.com/tokengate/tokengate/introspect"
)

// Why a token was refused, for use with [errors.Is]. Each of them also
// matches [introspect.ErrInactive], so that the rs guard answers
// invalid_token and a verdict cache may remember the refusal. Keys that
// cannot be fetched are [introspect.ErrUnavailable] instead.
var (
	// ErrMalformed means the token is not a signed JWT that can be read:
	// too long, not three base64url segments, a header that is not a JSON
	// object with distinct names, "crit" (no extension is understood), or
	// an encrypted JWT (JWE), which is not supported.
	ErrMalformed error = &cause{"jwtaccess: not a JWT access token"}
	// ErrType means the header's typ is not at+jwt (RFC 9068 §4): an ID
	// token, a logout token or any other JWT of the issuer.
	ErrType error = &cause{"jwtaccess: typ is not at+jwt"}
	// ErrSignature means the signature is not the issuer's: alg outside the
	// allowlist or unfit for the key, no key with the kid, or a signature
	// that does not verify.
	ErrSignature error = &cause{"jwtaccess: signature not verified"}
	// ErrClaims means the claims do not hold for this resource server now:
	// iss, aud, exp, nbf or iat fails its check, or a claim has the wrong
	// type.
	ErrClaims error = &cause{"jwtaccess: claims not valid"}
	// ErrRevoked means the token's jti was revoked through
	// [Validator.Revoke].
	ErrRevoked error = &cause{"jwtaccess: token revoked"}
)

// cause is a reason for refusing a token that is itself a kind of
// introspect.ErrInactive.
type cause struct{ msg string }

func (c *cause) Error() string { return c.msg }
func (c *cause) Unwrap() error { return introspect.ErrInactive }

func refuse(c error, format string, args ...any) error {
	return fmt.Errorf("%w: %s", c, fmt.Sprintf(format, args...))
}
