package scopes

import (
	"strconv"
	"strings"
)

// Strategy decides whether granted scopes cover a required scope. The zero
// value is [Exact]. See the package documentation for the semantics.
type Strategy int

const (
	// Exact grants a scope only if it was granted verbatim.
	Exact Strategy = iota
	// Hierarchic lets a granted scope cover the dot-separated scopes below it:
	// "orders" grants "orders.read" (Fosite's HierarchicScopeStrategy).
	Hierarchic
	// Wildcard lets a "*" segment of a granted scope match any non-empty
	// segment, a trailing one any non-empty rest: "orders.*" grants
	// "orders.read" (Fosite's WildcardScopeStrategy). A granted "*" alone
	// therefore grants every scope.
	Wildcard
)

// String returns the strategy's name.
func (s Strategy) String() string {
	switch s {
	case Exact:
		return "exact"
	case Hierarchic:
		return "hierarchic"
	case Wildcard:
		return "wildcard"
	}
	return "Strategy(" + strconv.Itoa(int(s)) + ")"
}

// Valid reports whether s is one of the defined strategies.
func (s Strategy) Valid() bool { return s >= Exact && s <= Wildcard }

// Grants reports whether the granted set covers the required scope under s.
// An undefined strategy grants nothing.
func (s Strategy) Grants(granted Set, required string) bool {
	if required == "" || !s.Valid() {
		return false
	}
	if granted.Has(required) {
		return true
	}
	switch s {
	case Hierarchic:
		for i := 0; i < len(required); i++ {
			if required[i] == '.' && granted.Has(required[:i]) {
				return true
			}
		}
	case Wildcard:
		for _, g := range granted.list {
			if strings.IndexByte(g, '*') >= 0 && wildcardMatch(g, required) {
				return true
			}
		}
	}
	return false
}

// wildcardMatch is Fosite's WildcardScopeStrategy for one granted pattern.
func wildcardMatch(pattern, scope string) bool {
	pp := strings.Split(pattern, ".")
	sp := strings.Split(scope, ".")
	if len(pp) > len(sp) {
		return false
	}
	for k, c := range pp {
		if k == len(pp)-1 && len(pp) != len(sp) && c != "*" {
			return false
		}
		if c == "*" && sp[k] != "" {
			continue
		}
		if c != sp[k] {
			return false
		}
	}
	return true
}
