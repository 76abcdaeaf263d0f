package users

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"golang.org/x/crypto/argon2"
)

// Argon2id's default cost, [DefaultParams]: the first recommendation of the
// OWASP Password Storage Cheat Sheet.
const (
	DefaultMemoryKiB = 19 * 1024 // m: 19 MiB per hash
	DefaultPasses    = 2         // t
	DefaultLanes     = 1         // p: one thread per hash
)

// DefaultParams returns the default Argon2id cost: 19 MiB, 2 passes, 1
// lane. On the project's 2-core benchmark machine one hash takes some
// 30–60 ms (see docs/benchmarks.md).
func DefaultParams() Params {
	return Params{MemoryKiB: DefaultMemoryKiB, Passes: DefaultPasses, Lanes: DefaultLanes}
}

// Params are Argon2id's cost parameters (RFC 9106 §3.1). A hash keeps the
// parameters it was made with, so changing them affects new hashes only
// (and old ones at their owner's next sign-in).
type Params struct {
	// MemoryKiB is the memory one hash fills, in KiB (m). At least 8 per
	// lane, at most 2 GiB.
	MemoryKiB uint32
	// Passes is the number of passes over the memory (t), at least 1.
	Passes uint32
	// Lanes is the degree of parallelism (p): the threads one hash runs
	// on, at least 1. With more than one, a hash takes less time but more
	// CPUs at once; Config.MaxConcurrentHashes counts hashes, not threads.
	Lanes uint8
}

// Limits of a hash this package accepts, also one read from a store: a
// tampered row must not be able to ask for terabytes of memory.
const (
	maxMemoryKiB = 2 << 20 // 2 GiB, RFC 9106 §4's first recommendation
	maxPasses    = 64
	saltBytes    = 16 // RFC 9106 §3.1 recommends 16 bytes
	keyBytes     = 32 // the tag length RFC 9106 §4 recommends
	// MaxPasswordBytes bounds a password, so that hashing cost cannot be
	// driven up by size.
	MaxPasswordBytes = 1024
)

func (p Params) check() error {
	switch {
	case p.Lanes < 1:
		return errors.New("Lanes must be at least 1")
	case p.Passes < 1 || p.Passes > maxPasses:
		return fmt.Errorf("Passes must be 1 to %d, not %d", maxPasses, p.Passes)
	case p.MemoryKiB < 8*uint32(p.Lanes) || p.MemoryKiB > maxMemoryKiB:
		return fmt.Errorf("MemoryKiB must be %d (8 per lane) to %d, not %d", 8*uint32(p.Lanes), maxMemoryKiB, p.MemoryKiB)
	}
	return nil
}

var b64 = base64.RawStdEncoding // the PHC string format's Base64, without padding

// hashPassword returns the PHC string of password under fresh salt.
func hashPassword(password string, p Params) string {
	salt := make([]byte, saltBytes)
	rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, p.Passes, p.MemoryKiB, p.Lanes, keyBytes)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Passes, p.Lanes,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

// parsedHash is a PHC string taken apart.
type parsedHash struct {
	params    Params
	salt, key []byte
}

// parseHash reads a PHC string of Argon2id made by hashPassword (or by
// another program using the same format and version).
func parseHash(s string) (*parsedHash, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return nil, errors.New("users: a password hash that is not argon2id v=19 in the PHC format")
	}
	var h parsedHash
	var lanes uint32
	if n, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &h.params.MemoryKiB, &h.params.Passes, &lanes); n != 3 || err != nil || lanes > 255 {
		return nil, fmt.Errorf("users: password hash parameters %q", parts[3])
	}
	h.params.Lanes = uint8(lanes)
	if err := h.params.check(); err != nil {
		return nil, fmt.Errorf("users: password hash: %s", err)
	}
	var err error
	if h.salt, err = b64.DecodeString(parts[4]); err != nil || len(h.salt) < 8 || len(h.salt) > 64 {
		return nil, errors.New("users: password hash salt")
	}
	if h.key, err = b64.DecodeString(parts[5]); err != nil || len(h.key) < 16 || len(h.key) > 64 {
		return nil, errors.New("users: password hash key")
	}
	return &h, nil
}

// matches hashes password as h was and compares in constant time.
func (h *parsedHash) matches(password string) bool {
	key := argon2.IDKey([]byte(password), h.salt, h.params.Passes, h.params.MemoryKiB, h.params.Lanes, uint32(len(h.key)))
	return subtle.ConstantTimeCompare(key, h.key) == 1
}

// decoy is the hash an attempt for an unknown user is checked against: the
// same work as a real check under the current parameters (the salt and key
// are random, so nothing matches it).
func decoy(p Params) *parsedHash {
	h := &parsedHash{params: p, salt: make([]byte, saltBytes), key: make([]byte, keyBytes)}
	rand.Read(h.salt)
	rand.Read(h.key)
	return h
}

// gate admits at most cap(slots) hashes at once and lets at most
// maxWaiting more wait for a slot; the rest are refused at once.
type gate struct {
	slots      chan struct{}
	waiting    atomic.Int64
	maxWaiting int64
}

func newGate(concurrent, queued int) *gate {
	return &gate{slots: make(chan struct{}, concurrent), maxWaiting: int64(queued)}
}

// enter takes a slot, waiting for one if the queue has room; the caller
// calls leave when done.
func (g *gate) enter(ctx context.Context) error {
	select {
	case g.slots <- struct{}{}:
		return nil
	default:
	}
	if g.waiting.Add(1) > g.maxWaiting {
		g.waiting.Add(-1)
		return ErrBusy
	}
	defer g.waiting.Add(-1)
	select {
	case g.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrBusy, ctx.Err())
	}
}

func (g *gate) leave() { <-g.slots }
