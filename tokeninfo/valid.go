package tokeninfo

import (
	"errors"
	"fmt"
	"time"
)

// Reasons for [Response.ValidAt] to refuse a token, for use with
// [errors.Is].
var (
	// ErrNotActive means the response says active is false.
	ErrNotActive = errors.New("tokeninfo: token is not active")
	// ErrExpired means exp has passed, beyond the clock skew.
	ErrExpired = errors.New("tokeninfo: token has expired")
	// ErrNotYetValid means nbf is still ahead, beyond the clock skew.
	ErrNotYetValid = errors.New("tokeninfo: token is not valid yet")
)

// ValidAt returns nil if the token is active and valid at now, allowing
// skew of clock difference between the authorization server and us, and
// otherwise an error matching one of [ErrNotActive], [ErrExpired] or
// [ErrNotYetValid]. The boundaries follow RFC 7519: a token is expired from
// exp on (§4.1.4: now must be before exp) and valid from nbf on (§4.1.5:
// now must be after or equal to nbf), so with the skew it is valid for
// nbf−skew ≤ now < exp+skew. An absent exp or nbf (the zero Time) bounds
// nothing.
//
// It does not allocate when the token is valid, so a cache may call it on
// every hit.
func (r *Response) ValidAt(now time.Time, skew time.Duration) error {
	if !r.Active {
		return ErrNotActive
	}
	if !r.Expiry.IsZero() && !now.Before(r.Expiry.Add(skew)) {
		return fmt.Errorf("%w: exp %s", ErrExpired, r.Expiry.Format(time.RFC3339))
	}
	if !r.NotBefore.IsZero() && now.Before(r.NotBefore.Add(-skew)) {
		return fmt.Errorf("%w: nbf %s", ErrNotYetValid, r.NotBefore.Format(time.RFC3339))
	}
	return nil
}
