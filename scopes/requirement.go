package scopes

import (
	"fmt"
	"slices"
	"strings"
)

type op uint8

const (
	opAll op = iota // the zero Requirement is an empty all-of
	opAny
)

// Requirement is a boolean expression over scopes, built with [All], [Any],
// [AllOf] and [AnyOf]. It is immutable and safe for concurrent use.
//
// The zero Requirement requires nothing: every set, including the empty
// one, satisfies it (a route that needs an authenticated caller but no
// particular scope).
type Requirement struct {
	op     op
	scopes []string      // leaves
	subs   []Requirement // sub-expressions
}

// All requires every one of the given scopes.
//
// All panics if a scope is not a valid RFC 6749 scope-token (empty, or with
// a space or another forbidden byte): requirements are program constants,
// like the pattern of regexp.MustCompile. Validate untrusted input with
// [Parse] or [NewSet] first.
func All(scopes ...string) Requirement {
	mustValid("All", scopes)
	return Requirement{op: opAll, scopes: slices.Clone(scopes)}
}

// Any requires at least one of the given scopes. It panics, like [All], on
// an invalid scope-token, and when called with no scope at all, since that
// requirement could never be met.
func Any(scopes ...string) Requirement {
	if len(scopes) == 0 {
		panic("scopes: Any needs at least one scope")
	}
	mustValid("Any", scopes)
	return Requirement{op: opAny, scopes: slices.Clone(scopes)}
}

// AllOf requires every one of the given requirements.
func AllOf(reqs ...Requirement) Requirement {
	return Requirement{op: opAll, subs: slices.Clone(reqs)}
}

// AnyOf requires at least one of the given requirements. It panics when
// called with no requirement, since that could never be met.
func AnyOf(reqs ...Requirement) Requirement {
	if len(reqs) == 0 {
		panic("scopes: AnyOf needs at least one requirement")
	}
	return Requirement{op: opAny, subs: slices.Clone(reqs)}
}

func mustValid(fn string, scopes []string) {
	for _, s := range scopes {
		if err := validToken(s); err != nil {
			panic(fmt.Sprintf("scopes: %s: %v", fn, err))
		}
	}
}

// IsZero reports whether r requires nothing at all.
func (r Requirement) IsZero() bool {
	return r.op == opAll && len(r.scopes) == 0 && len(r.subs) == 0
}

// SatisfiedBy reports whether the granted scopes meet r under strategy s.
func (r Requirement) SatisfiedBy(granted Set, s Strategy) bool {
	switch r.op {
	case opAny:
		for _, sc := range r.scopes {
			if s.Grants(granted, sc) {
				return true
			}
		}
		for _, sub := range r.subs {
			if sub.SatisfiedBy(granted, s) {
				return true
			}
		}
		return false
	default:
		for _, sc := range r.scopes {
			if !s.Grants(granted, sc) {
				return false
			}
		}
		for _, sub := range r.subs {
			if !sub.SatisfiedBy(granted, s) {
				return false
			}
		}
		return true
	}
}

// String returns a space-delimited list of scopes that satisfies r on its
// own under every strategy, meant for the scope attribute of an RFC 6750
// insufficient_scope challenge: every scope of an all-of, and the first
// alternative of every any-of (the smallest thing a client can ask for).
// Scopes appear once each, in the order they were written. The zero
// Requirement prints as "".
func (r Requirement) String() string {
	var out []string
	r.sufficient(&out)
	return strings.Join(out, " ")
}

func (r Requirement) sufficient(out *[]string) {
	add := func(s string) {
		if !slices.Contains(*out, s) {
			*out = append(*out, s)
		}
	}
	if r.op == opAny {
		if len(r.scopes) > 0 {
			add(r.scopes[0])
		} else if len(r.subs) > 0 {
			r.subs[0].sufficient(out)
		}
		return
	}
	for _, s := range r.scopes {
		add(s)
	}
	for _, sub := range r.subs {
		sub.sufficient(out)
	}
}

// Expr returns r as a readable expression, such as
// "orders:read and (orders:admin or support)", for logs and error
// descriptions. The zero Requirement prints as "".
func (r Requirement) Expr() string {
	var b strings.Builder
	r.expr(&b, false)
	return b.String()
}

func (r Requirement) expr(b *strings.Builder, nested bool) {
	n := len(r.scopes)
	for _, sub := range r.subs {
		if !sub.IsZero() {
			n++
		}
	}
	sep := " and "
	if r.op == opAny {
		sep = " or "
	}
	paren := nested && n > 1
	if paren {
		b.WriteByte('(')
	}
	i := 0
	for _, s := range r.scopes {
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(s)
		i++
	}
	for _, sub := range r.subs {
		if sub.IsZero() {
			continue
		}
		if i > 0 {
			b.WriteString(sep)
		}
		sub.expr(b, true)
		i++
	}
	if paren {
		b.WriteByte(')')
	}
}

// Scopes returns every scope named anywhere in r, once each, in the order
// they were written; for example to list scopes_supported in RFC 9728
// metadata.
func (r Requirement) Scopes() []string {
	var out []string
	r.walk(func(s string) {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	})
	return out
}

func (r Requirement) walk(f func(string)) {
	for _, s := range r.scopes {
		f(s)
	}
	for _, sub := range r.subs {
		sub.walk(f)
	}
}
