package dpop

import (
	"errors"
	"fmt"
)

// Error categories, for use with [errors.Is]. Every rejection of a proof
// matches ErrInvalidProof; the others refine it, except ErrReplayCacheFull.
var (
	// ErrInvalidProof means the DPoP proof is absent, malformed or does not
	// verify: RFC 9449 invalid_dpop_proof.
	ErrInvalidProof = errors.New("dpop: invalid proof")
	// ErrMissingProof means the request has no DPoP header, or more than one.
	ErrMissingProof = fmt.Errorf("%w: exactly one DPoP header is required", ErrInvalidProof)
	// ErrRequestMismatch means htm or htu does not name this request.
	ErrRequestMismatch = fmt.Errorf("%w: the proof is for another request", ErrInvalidProof)
	// ErrProofTime means iat is missing or outside the accepted window.
	ErrProofTime = fmt.Errorf("%w: the proof was not issued within the accepted window", ErrInvalidProof)
	// ErrTokenHash means ath is missing or is not the hash of the access token.
	ErrTokenHash = fmt.Errorf("%w: ath does not match the access token", ErrInvalidProof)
	// ErrKeyMismatch means the proof's key is not the key the access token
	// is bound to (cnf.jkt).
	ErrKeyMismatch = fmt.Errorf("%w: the proof key is not the key the access token is bound to", ErrInvalidProof)
	// ErrReplay means the proof was already used.
	ErrReplay = fmt.Errorf("%w: the proof was already used", ErrInvalidProof)
	// ErrReplayCacheFull means the replay cache holds Config.MaxReplayEntries
	// live proofs and cannot record another: the proof is refused (fail
	// closed) without being judged. Answer it as a temporary failure.
	ErrReplayCacheFull = errors.New("dpop: replay cache full")
)
