// Package jwks keeps an authorization server's JSON Web Key Set (RFC 7517
// §5) for verifying what it signs: fetched from its jwks_uri (configured, or
// discovered from its RFC 8414 or OpenID Connect metadata) on first use,
// refreshed in the background until Close, and refreshed at once, at most
// once per rate-limit interval, when a key id is unknown.
//
// Keys are parsed by github.com/MicahParks/jwkset; the fetching and
// refreshing are done here rather than by keyfunc's storage, because its
// unknown-kid path cannot tell "the refresh failed" from "the key is not in
// the set", and the caller must: the first is a 503 to retry, the second an
// invalid token (which a verdict cache may remember).
package jwks
