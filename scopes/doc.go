// Package scopes parses OAuth 2.0 scope strings and checks them against
// requirements.
//
// # Scope strings
//
// RFC 6749 §3.3 defines a scope as a list of space-delimited, case-sensitive
// scope-tokens:
//
//	scope       = scope-token *( SP scope-token )
//	scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
//
// [Parse] follows that grammar with one tolerance seen in real authorization
// servers: leading, trailing and repeated spaces (U+0020 only) are ignored,
// so "" and "  " are the empty set. Any other byte outside the scope-token
// range — tab, newline, '"', '\', DEL, non-ASCII — is not a separator but an
// error ([ErrInvalidScope]), because the RFC does not allow it and accepting
// it would make two servers disagree on what a token may do.
//
// # Requirements
//
// A [Requirement] is a boolean expression over scopes: [All] and [Any] over
// scope names, composed with [AllOf] and [AnyOf]:
//
//	// orders:read, and either orders:admin or support
//	scopes.AllOf(scopes.All("orders:read"), scopes.Any("orders:admin", "support"))
//
// A requirement prints itself (see [Requirement.String]) as the value of the
// scope attribute of an RFC 6750 §3 insufficient_scope challenge: a set of
// scopes that is sufficient on its own, taking the first alternative of every
// any-of.
//
// # Strategies
//
// A [Strategy] decides whether a granted scope covers a required one. One
// strategy applies to a whole guard:
//
//   - [Exact] (the zero value): the scope strings are equal.
//   - [Hierarchic]: Fosite's HierarchicScopeStrategy. Scopes are dot-separated
//     paths and a granted scope covers every scope below it: "orders" grants
//     "orders.read" and "orders.read.own", but not "orders:read" (only '.'
//     separates levels) nor "ordersx".
//   - [Wildcard]: Fosite's WildcardScopeStrategy. A "*" segment in a granted
//     scope matches exactly one non-empty dot-separated segment, and a
//     trailing "*" matches one or more: "orders.*" grants "orders.read" and
//     "orders.read.own", but not "orders" itself; "*.read" grants
//     "orders.read".
//
// With every strategy, a scope always grants itself.
package scopes
