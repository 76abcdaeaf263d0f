package scopes

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrInvalidScope means a scope string does not follow the RFC 6749 §3.3
// grammar.
var ErrInvalidScope = errors.New("scopes: invalid scope")

// Set is an immutable set of scope-tokens. The zero Set is empty and ready to
// use.
type Set struct {
	list []string // sorted, no duplicates
}

// Parse splits a space-delimited scope string (RFC 6749 §3.3) into a Set.
// Repeated, leading and trailing spaces are ignored; any byte that is neither
// a space nor allowed in a scope-token is an error matching [ErrInvalidScope].
func Parse(s string) (Set, error) {
	if s == "" {
		return Set{}, nil
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != ' ' && !isScopeChar(c) {
			return Set{}, fmt.Errorf("%w: byte 0x%02x at offset %d", ErrInvalidScope, c, i)
		}
	}
	list := strings.Fields(s) // only ' ' remains as whitespace here
	return newSet(list), nil
}

// NewSet returns the Set of the given scope-tokens. It returns an error
// matching [ErrInvalidScope] if one of them is not a valid scope-token.
func NewSet(tokens ...string) (Set, error) {
	for _, t := range tokens {
		if err := validToken(t); err != nil {
			return Set{}, err
		}
	}
	return newSet(slices.Clone(tokens)), nil
}

func newSet(list []string) Set {
	if len(list) == 0 {
		return Set{}
	}
	slices.Sort(list)
	return Set{list: slices.Compact(list)}
}

// Has reports whether the set contains scope exactly.
func (s Set) Has(scope string) bool {
	_, ok := slices.BinarySearch(s.list, scope)
	return ok
}

// Len returns the number of scopes in the set.
func (s Set) Len() int { return len(s.list) }

// List returns the scopes in the set, sorted.
func (s Set) List() []string { return slices.Clone(s.list) }

// String returns the scopes space-delimited and sorted, the RFC 6749 §3.3
// form.
func (s Set) String() string { return strings.Join(s.list, " ") }

// MarshalText encodes the set as its String form.
func (s Set) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText decodes a scope string with [Parse].
func (s *Set) UnmarshalText(b []byte) error {
	p, err := Parse(string(b))
	if err != nil {
		return err
	}
	*s = p
	return nil
}

// isScopeChar reports whether c may appear in a scope-token:
// %x21 / %x23-5B / %x5D-7E.
func isScopeChar(c byte) bool {
	return c == 0x21 || (c >= 0x23 && c <= 0x5B) || (c >= 0x5D && c <= 0x7E)
}

func validToken(t string) error {
	if t == "" {
		return fmt.Errorf("%w: empty scope-token", ErrInvalidScope)
	}
	for i := 0; i < len(t); i++ {
		if !isScopeChar(t[i]) {
			return fmt.Errorf("%w: byte 0x%02x at offset %d of %q", ErrInvalidScope, t[i], i, t)
		}
	}
	return nil
}
