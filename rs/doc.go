// Package rs is the core of an OAuth 2.0 resource server: it finds the
// bearer token in a request (RFC 6750 §2), has it validated by an
// [Introspector] such as an RFC 7662 *introspect.Client, applies a policy
// (audience, issuer, token type, client, expiry), checks scope requirements
// (package scopes) and turns every failure into an RFC 6750 §3 answer.
//
// The framework adapters in middleware/nethttp, middleware/echo and
// middleware/gin only translate: they call [Guard.Check], store the
// [Principal] with [ContextWithPrincipal] and write [Guard.Reject]'s
// [Rejection], so every framework answers with the same bytes. Handlers read
// the caller with [PrincipalFrom].
//
// # Token extraction
//
// The Authorization request header (RFC 6750 §2.1) is always read: the
// scheme "Bearer" is matched case-insensitively and the token must be a
// b64token. The form-encoded body parameter (§2.2) and the URI query
// parameter (§2.3) are read only when enabled. A request that carries a
// token by more than one method, or two Authorization headers, is
// invalid_request. More places are added with [Config.Extractors].
//
// # Answers
//
//	no token                         401  WWW-Authenticate: Bearer realm="api"
//	malformed request                400  Bearer realm="api", error="invalid_request", error_description="…"
//	inactive, expired, wrong aud, …  401  Bearer realm="api", error="invalid_token", error_description="…"
//	missing scope                    403  Bearer realm="api", error="insufficient_scope", error_description="…", scope="orders:read"
//	authorization server down        503  Retry-After: 5
//
// Challenge attributes are RFC 7235 quoted-strings; error_description only
// carries fixed texts from this package, never internal error text; with
// [Config.ResourceMetadataURL] every challenge also carries the RFC 9728
// resource_metadata attribute, and [Guard.MetadataHandler] serves the
// document. Errors have a JSON body {"error":…,"error_description":…} and
// Cache-Control: no-store.
//
// A 503 is also the answer when the authorization server rejects our own
// credentials or answers with garbage: that is the resource server's
// problem, logged at Error level (without the token), and never a pass.
//
// DPoP (RFC 9449) and mTLS-bound (RFC 8705) tokens are rejected as
// invalid_token because their proofs are not verified yet.
package rs
