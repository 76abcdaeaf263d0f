// Package introspect validates access tokens for a resource server by asking
// the authorization server (AS): OAuth 2.0 Token Introspection (RFC 7662).
//
// Start with [New]. It returns a verdict cache in front of an introspection
// client, with safe defaults, and touches the network only when asked:
//
//	verifier, err := introspect.New(introspect.Config{
//		Issuer:       "https://as.example.com", // or IntrospectionURL
//		ClientID:     "orders-api",
//		ClientSecret: secret,
//	})
//	if err != nil { ... }
//	if err := verifier.Ping(ctx); err != nil { ... } // wrong URL or credentials show here
//	resp, err := verifier.Introspect(ctx, token)     // resp.Subject, resp.Scopes(), ...
//
// Give the verifier to package rs, which turns its answers into HTTP ones.
//
// # Layers
//
// Each layer is an [Introspector], the one-method interface
// Introspect(ctx, token) (*Response, error), and adds one job:
//
//   - [Client] (from [NewClient]) makes the RFC 7662 call: endpoint discovery
//     from the issuer's metadata (RFC 8414, then OpenID Connect Discovery),
//     client authentication (client_secret_basic, RFC 6749 §2.3.1, with id
//     and secret form-urlencoded before base64; client_secret_post; or a
//     bearer token from any oauth2.TokenSource), retries, a circuit breaker
//     and a bound on the calls in flight. It asks the AS on every call.
//   - [Cache] (from [NewCache]) keeps verdicts in front of any Introspector,
//     a Client or a local JWT validator (package jwtaccess) alike, and
//     makes concurrent misses of one token share one call.
//
// [New] is NewCache(NewClient(cfg), CacheConfig{}) with the Config's clock,
// skew, timeout, logger and observer shared. Build the layers yourself to
// tune the cache, or to leave it out.
//
// # Errors
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
//
// # Caching and coalescing
//
// A [Cache] keys verdicts by the SHA-256 of the token. An active verdict
// lives min(exp − ClockSkew, [CacheConfig].MaxTTL): MaxTTL (2 minutes by
// default) is therefore the bound on how late a revocation at the AS is
// noticed; exp and nbf are checked again on every hit
// ([tokeninfo.Response.ValidAt]). Inactive verdicts are kept for NegativeTTL (5
// seconds) in a space of their own, so that a flood of bogus tokens cannot
// evict the verdicts of real callers; errors are never kept.
// [Cache.Invalidate] and [Cache.Purge] forget verdicts early;
// [Cache.InvalidateHash] forgets a token known only by its SHA-256, as
// revocation events name it. A shared second tier (Redis, through package
// introspect/rediscache) plugs in through [SharedCache]; its values are
// authenticated with CacheConfig.SharedKeys, so that whoever can write to the
// store cannot mint a verdict.
//
// Concurrent misses of one token make a single call to the next layer. That
// call runs detached from the callers, bounded by CacheConfig.Timeout, so a
// caller that gives up does not fail the others. The *Response such calls
// return is shared: treat it as read-only.
//
// # Resilience
//
// A [Client] retries network errors, attempt timeouts and 502/503/504
// answers with jittered exponential backoff, honouring Retry-After, within
// Config.Timeout. After repeated failures a circuit breaker fails calls fast
// for a cool-down, then lets one probe through. At most
// [ResilienceConfig].MaxInFlight calls (64) are in flight at once: beyond
// that, a call is refused at once with [ErrUnavailable] and a retry hint,
// while a Cache in front still serves the verdicts it holds. Optionally
// ([CacheConfig].StaleIfError), an expired active verdict may be served
// while the AS is unavailable. See [ResilienceConfig].
//
// # Observability
//
// An [Observer] receives an [Event] per cache hit, miss, AS call and so on;
// package introspect/prommetrics turns them into Prometheus metrics. Logs go
// to Config.Logger: a rejection of our own credentials is logged at Error
// level, since it is a configuration error.
package introspect
