// Package jwtaccess validates RFC 9068 JWT access tokens locally, with the
// issuer's published keys, instead of asking the authorization server about
// each one.
//
// A [*Validator] answers like the introspection client: its Introspect
// method returns an [introspect.Response] for a token it accepts, so it
// plugs into the rs guard, the verdict cache and every adapter unchanged,
// and a router can send JWTs to it and opaque tokens to introspection:
//
//	v, err := jwtaccess.New(jwtaccess.Config{
//		Issuer:    "https://as.example.com",
//		Audiences: []string{"https://api.example.com"},
//	})
//	if err != nil { ... }
//	defer v.Close()
//	cache, err := introspect.NewCache(v, introspect.CacheConfig{})
//	guard, err := rs.New(rs.Config{Introspector: cache, Audiences: []string{"https://api.example.com"}})
//
// # What is checked
//
// Following RFC 9068 §4 and the JWT best current practices (RFC 8725):
//
//   - the token is at most MaxTokenBytes long before anything is parsed, and
//     is a JWS in compact serialization; an encrypted JWT (JWE) is refused,
//     since decryption is not supported;
//   - typ is at+jwt or application/at+jwt (compared as media types are), so
//     an ID token, a logout token or any other JWT signed by the same keys is
//     not taken for an access token (RFC 8725 §3.11);
//   - alg is in an asymmetric allowlist and fits the key that verifies it:
//     the key's own alg member when it has one, else its type (RSA of 2048
//     bits or more for RS* and PS*, the named curve for ES*, Ed25519 for
//     EdDSA). "none" and HMAC are never accepted, so a public key can never
//     serve as an HMAC secret. A header with "crit" is refused, since no
//     extension is understood (RFC 7515 §4.1.11);
//   - the key comes from the issuer's JWK Set only, by kid (or, without kid,
//     among at most eight keys that fit alg); jwk, jku, x5u and x5c headers
//     are ignored and nothing they name is fetched;
//   - iss is identical to Config.Issuer, aud is or contains one of
//     Config.Audiences, exp is present and not passed, nbf and iat, when
//     present, are not in the future, each with ClockSkew of leeway;
//   - header and claim names are exact and none appears twice.
//
// The verdict carries iss, sub, client_id, scope, jti, aud, exp, iat, nbf
// and cnf in the fields introspection fills, and every other claim
// (auth_time, acr, roles, …) as an extra member, so scopes, the Principal,
// and DPoP or certificate binding (RFC 9449 §6, RFC 8705 §3) work for JWTs
// as for introspected tokens.
//
// # Keys
//
// The JWK Set is read from Config.JWKSURL, from a pinned Config.JWKS, or
// from the jwks_uri of the issuer's metadata (RFC 8414, then OpenID Connect
// Discovery), on first use; then it is refreshed in the background every
// JWKSRefreshInterval until [Validator.Close]. A kid not in the set causes
// one fetch at most every JWKSRefreshRateLimit. Fetches follow no redirect,
// need https except on loopback, and are bounded in size. Keys are parsed by
// github.com/MicahParks/jwkset and signatures verified by
// github.com/go-jose/go-jose/v4; go-oidc's verifier is not used, since it
// checks ID tokens (its audience is a client id, its typ unchecked).
//
// # Revocation
//
// A token checked locally cannot see its own revocation: it is accepted
// until its exp, however long the authorization server has considered it
// revoked. Keep access-token lifetimes short, introspect the routes that
// must see revocations at once (tokenroute's IntrospectJWTs), or feed
// revocation events to [Validator.Revoke], which refuses a revoked jti until
// the token expires (a verdict already cached above the validator lives on
// until the cache's MaxTTL, 2 minutes by default).
//
// # Errors
//
// A refused token is an error matching [introspect.ErrInactive], which the rs
// guard answers with invalid_token, and one of [ErrMalformed], [ErrType],
// [ErrSignature], [ErrClaims] or [ErrRevoked], which say why. Keys that
// cannot be fetched make [introspect.ErrUnavailable], answered with 503.
package jwtaccess
