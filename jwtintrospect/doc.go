// Package jwtintrospect verifies RFC 9701 JWT introspection responses: an
// authorization server's RFC 7662 answer carried inside a signed JWT
// (RFC 7515), optionally encrypted to the resource server (RFC 7516), served
// as application/token-introspection+jwt.
//
// A [*Decoder] plugs into [introspect.Config] as its Decoder, so caching,
// request coalescing and the rs guard work unchanged; the client then sends
// "Accept: application/token-introspection+jwt" and hands each 200 answer to
// [Decoder.Decode]:
//
//	dec, err := jwtintrospect.New(jwtintrospect.Config{
//		Issuer:   "https://as.example.com",
//		ClientID: "my-api",
//	})
//	if err != nil { ... }
//	defer dec.Close()
//	client, err := introspect.New(introspect.Config{
//		Issuer:       "https://as.example.com",
//		ClientID:     "my-api",
//		ClientSecret: secret,
//		Decoder:      dec,
//	})
//
// # What is checked
//
// Following RFC 9701 §5 and the JWT best current practices (RFC 8725):
//
//   - the Content-Type is application/token-introspection+jwt; a plain JSON
//     answer is refused, since nothing proves where it came from;
//   - the JOSE header "typ" is token-introspection+jwt (case-insensitive, with
//     or without the "application/" prefix, RFC 7515 §4.1.9), so no other
//     kind of JWT signed by the same key is taken for a verdict (RFC 8725
//     §3.11); "crit" and "zip" are refused;
//   - "alg" is in an explicit allowlist (RS256, PS256, ES256 and EdDSA by
//     default). "none" is never accepted. HS256/384/512 are accepted only when
//     listed and configured with a shared secret, and an HMAC is only ever
//     verified with that secret, never with a public key (RFC 8725 §3.1-3.2);
//   - asymmetric keys come from the authorization server's JWK Set (jwks_uri,
//     configured or discovered from the issuer), and must match the algorithm:
//     an RSA key of 2048 bits or more for RS*/PS*, the named curve for ES*,
//     Ed25519 for EdDSA; a key whose "use" or "alg" says otherwise is refused;
//   - "iss" equals the configured issuer, "aud" is or contains the resource
//     server's client id, "iat" is present, not in the future beyond
//     ClockSkew, and not older than MaxAge; "exp" and "nbf", when present, are
//     honoured too;
//   - the "token_introspection" member is an RFC 7662 object with an
//     "active" member; it becomes the returned [introspect.Response];
//   - header and claim names are matched exactly, and a name given twice in
//     the header, the claims or token_introspection is refused (RFC 7515
//     §5.2, RFC 7519 §4): "AUD" is not "aud", and no second spelling of a
//     claim can override the first.
//
// Encrypted responses (a JWE whose plaintext is the signed JWT, "cty": "JWT")
// are decrypted with the resource server's private keys ([Config.DecryptionKeys]),
// chosen by "kid" so that keys can be rotated. Key management algorithms are
// RSA-OAEP, RSA-OAEP-256, ECDH-ES and ECDH-ES+A128KW/A192KW/A256KW; content
// encryption is A128CBC-HS256, A192CBC-HS384, A256CBC-HS512, A128GCM,
// A192GCM and A256GCM, each behind an allowlist. RSA1_5, "dir", AES key wrap
// and PBES2 are not supported. A compressed JWE ("zip": "DEF") is refused
// outright rather than inflated. [Decoder.JWKSHandler] serves the public
// halves of the decryption keys ("use": "enc") for the authorization server
// to fetch, and [LoadKey]/[ParseKey] read keys from PEM or JWK files.
//
// # Errors
//
// Every rejected response matches [introspect.ErrMalformedResponse] with
// [errors.Is], so the rs guard fails closed, and also one of [ErrFormat],
// [ErrSignature], [ErrDecrypt] or [ErrClaims], which say why. When the JWK
// Set cannot be had (discovery or the fetch fails, the document is too
// large or redirected where it may not go, or a kid is unknown while a
// refresh is not allowed yet), the error matches [introspect.ErrUnavailable]
// instead: retry later. A verified response whose
// token_introspection says "active": false is returned as an
// [introspect.Response] with Active false; the introspection client turns
// it into [introspect.ErrInactive].
//
// # Key refresh
//
// The authorization server's JWK Set is fetched on first use, then refreshed
// in the background every JWKSRefreshInterval until [Decoder.Close] is
// called, as jwtaccess does it (one internal package for both; keys parsed by
// github.com/MicahParks/jwkset, with exact member names and none twice). An
// unknown "kid" triggers one immediate refresh, at most once per
// JWKSRefreshRateLimit; a kid still unknown after that refresh is a
// verification failure ([ErrSignature]), one seen while no refresh is
// allowed is [introspect.ErrUnavailable]. Each JWK Set read is capped at
// MaxJWKSBytes. Signatures and decryption use github.com/go-jose/go-jose/v4.
package jwtintrospect
