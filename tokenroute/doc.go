// Package tokenroute sends each access token to the validator that can
// judge it: a JWT access token (RFC 9068) to its issuer's local validator,
// any other token to its issuer's introspection endpoint (RFC 7662), for one
// issuer or several.
//
// A [*Router] has the one method of the introspection client, so it sits
// where a client would: under the verdict cache, which then holds the
// verdicts of both paths, and under the rs guard:
//
//	local, _ := jwtaccess.New(jwtaccess.Config{Issuer: iss, Audiences: auds})
//	remote, _ := introspect.NewClient(introspect.Config{Issuer: iss, ClientID: id, ClientSecret: secret})
//	router, _ := tokenroute.New(tokenroute.Config{Issuers: []tokenroute.Issuer{
//		{Issuer: iss, JWT: local, Opaque: remote},
//	}})
//	cache, _ := introspect.NewCache(router, introspect.CacheConfig{})
//	guard, _ := rs.New(rs.Config{Introspector: cache, Audiences: auds})
//
// # How a token is routed
//
// A token is JWT-shaped when it has three base64url segments and its first
// decodes to a JSON object (RFC 7515 §7.1): its payload's iss, read
// without verifying anything, picks the configured issuer whose identifier
// it is exactly. An iss that names no configured issuer, or no iss, is an
// invalid token at once, with no network call: a forged token cannot make
// the router fetch keys from, or send the token to, anywhere new. The
// issuer's JWT validator then checks the token; without one, or with
// IntrospectJWTs, the issuer's introspection client judges it (after the
// local check, when there is one, so that garbage costs no round trip).
//
// Any other token (opaque, or a JWE) goes to the first issuer whose
// OpaquePrefix begins it. When none does, the issuers with an introspection
// client and no prefix are asked in order until one says the token is
// active: a token none of them knows costs one round trip to each, and each
// of them sees it. List there only authorization servers you trust with
// each other's tokens, and prefer prefixes.
//
// # Verdicts and the cache
//
// A token's route depends on the token alone, so one cache above the router
// can never serve one issuer's verdict for another issuer's token. The
// router's [Router.CacheIdentity] combines its issuers' identities, so that
// routers configured differently never share a verdict either.
package tokenroute
