// Package introspect is an OAuth 2.0 Token Introspection client (RFC 7662)
// for resource servers.
//
// A [Client] asks the authorization server (AS) whether a bearer token is
// active and returns its [Response] (RFC 7662 §2.2). The endpoint is either
// configured or discovered from the issuer's metadata (RFC 8414
// /.well-known/oauth-authorization-server, then OpenID Connect Discovery).
// The client authenticates to the AS with client_secret_basic (RFC 6749
// §2.3.1, id and secret form-urlencoded before base64), client_secret_post,
// or a bearer token from any oauth2.TokenSource.
//
// Every error matches exactly one category with [errors.Is]:
//
//   - [ErrInactive]: the token is not active, has expired or is not yet valid;
//     answer the caller with RFC 6750 invalid_token.
//   - [ErrUnavailable]: the AS could not be reached or answered with a
//     temporary failure; fail closed (503), honouring [RetryAfterHint].
//   - [ErrASRejectedClient]: the AS refused our own credentials: a
//     configuration error, logged loudly.
//   - [ErrMalformedResponse]: the AS answered with something that is not a
//     valid introspection response.
//
// An unsuccessful HTTP answer is also an [*Error] carrying the RFC 6749 §5.2
// members. No error message, log line or metric contains a token.
package introspect
