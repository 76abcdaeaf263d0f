package jwtaccess

import (
	"errors"
	"sync"
	"time"
)

// ErrRevocationsFull is returned by [Validator.Revoke] when MaxRevocations
// revocations are live: the revocation is not recorded, and the caller
// must fall back (introspect these tokens, or purge its cache).
var ErrRevocationsFull = errors.New("jwtaccess: too many live revocations to record another")

// revocations remembers revoked jti values until the exp of their token.
type revocations struct {
	max int
	// mu guards until.
	mu    sync.RWMutex
	until map[string]time.Time // jti → exp of the revoked token
}

func (r *revocations) add(jti string, exp, now time.Time) error {
	if !exp.After(now) {
		return nil // expired already: refused anyway
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.until == nil {
		r.until = make(map[string]time.Time)
	}
	if _, ok := r.until[jti]; !ok && len(r.until) >= r.max {
		for k, t := range r.until {
			if !t.After(now) {
				delete(r.until, k)
			}
		}
		if len(r.until) >= r.max {
			return ErrRevocationsFull
		}
	}
	if exp.After(r.until[jti]) {
		r.until[jti] = exp
	}
	return nil
}

func (r *revocations) revoked(jti string, now time.Time) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	t, ok := r.until[jti]
	return ok && t.After(now)
}
