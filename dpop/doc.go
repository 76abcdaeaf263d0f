// Package dpop verifies DPoP proofs (RFC 9449, OAuth 2.0 Demonstrating
// Proof of Possession) at a resource server, so that a DPoP-bound access
// token is only accepted from the holder of the key it is bound to.
//
// A [Verifier] checks one proof exactly as RFC 9449 §4.3 lists, for a
// request that presents an access token (§7):
//
//  1. exactly one DPoP header field ([FromHeader]), at most
//     [Config.MaxProofBytes] long;
//  2. a JWS in compact serialization whose protected header has typ
//     "dpop+jwt", an alg from [Config.Algorithms] (asymmetric only: never
//     "none", never an HMAC), and a jwk member holding a public key with no
//     private or symmetric members;
//  3. a signature that verifies with that jwk;
//  4. the claims jti, htm (equal to the request method), htu (equal to the
//     request URL without query and fragment, after RFC 3986 §6.2.2
//     syntax-based normalisation: scheme and host case, default port,
//     percent-encoding case and unreserved characters), iat (within
//     [Config.IATWindow] of now) and ath (the base64url SHA-256 of the
//     access token);
//  5. the RFC 7638 SHA-256 JWK thumbprint of the jwk equal to the token's
//     confirmation, cnf.jkt (RFC 9449 §6.1), as the authorization server
//     reported it in introspection;
//  6. a jti not seen before for the same URL while the proof could still
//     pass the iat check (RFC 9449 §11.1).
//
// Every failure matches [ErrInvalidProof] with [errors.Is]; finer sentinels
// ([ErrMissingProof], [ErrRequestMismatch], [ErrProofTime],
// [ErrTokenHash], [ErrKeyMismatch], [ErrReplay]) say which check failed.
// [ErrReplayCacheFull] is not a verdict on the proof: the replay cache has
// no room left, and the request should be retried later.
//
// The replay cache lives in memory, in one process: resource servers run as
// several instances do not share it, so a proof may be replayed once per
// instance within the iat window. Keep the window short. Server-provided
// nonces (RFC 9449 §8 and §9), which would close that gap, are optional in
// the RFC and not implemented.
//
// Package rs uses a Verifier through rs.Config.DPoP; most programs only
// construct one and hand it over.
package dpop
