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
//
// # Caching and coalescing
//
// Verdicts are cached in memory by default, keyed by the SHA-256 of the
// token, one cache per Client. An active verdict lives
// min(exp − ClockSkew, [CacheConfig].MaxTTL): MaxTTL (2 minutes by default)
// is therefore the bound on how late a revocation at the AS is noticed.
// Inactive verdicts are kept for NegativeTTL (5 seconds) in a space of
// their own, so that a flood of bogus tokens cannot evict the verdicts of
// real callers; errors are never kept. [Client.Invalidate] and
// [Client.Purge] forget verdicts early. A shared second tier (for example
// Redis) plugs in through [SharedCache].
//
// Concurrent calls for one uncached token make a single request to the AS.
// That request runs detached from the callers, bounded by Config.Timeout, so
// a caller that gives up does not fail the others. The *Response such calls
// return is shared: treat it as read-only.
//
// # Resilience
//
// Network errors, attempt timeouts and 502/503/504 answers are retried with
// jittered exponential backoff, honouring Retry-After, within
// Config.Timeout. After repeated failures a circuit breaker fails calls fast
// for a cool-down, then lets one probe through. At most
// [ResilienceConfig].MaxInFlight calls (64) are in flight at once: beyond
// that, a token not in the cache is refused at once with [ErrUnavailable]
// and a retry hint, while cached verdicts are still served. Optionally
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
