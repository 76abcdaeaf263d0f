// Package otelgate reports what a resource server built on tokengate does
// to OpenTelemetry: metrics of the guard's decisions and of the
// introspection cache and client, and spans around token checks and the
// HTTP calls behind them (RFC 7662 introspection, RFC 8414 metadata and
// JWK Set fetches), on the OpenTelemetry API (go.opentelemetry.io/otel).
// It lives in its own package so that rs, introspect, jwtaccess and
// jwtintrospect do not depend on OpenTelemetry.
//
//	tel, err := otelgate.New(otelgate.Config{}) // the global MeterProvider, TracerProvider and propagator
//	httpc := &http.Client{Timeout: 10 * time.Second, Transport: tel.Transport(nil)}
//	verifier, err := introspect.New(introspect.Config{Issuer: issuer, ClientID: id, ClientSecret: secret, HTTPClient: httpc, Observer: tel})
//	guard, err := rs.New(rs.Config{Introspector: tel.Introspector(verifier), Audiences: audiences, Observer: tel})
//
// A [Telemetry] is all of: an rs.Observer (the guard's decisions), an
// introspect.Observer and introspect.ContextObserver (the cache's and the
// client's events), a wrapper of the guard's Introspector (a span per
// token check) and an http.RoundTripper wrapper (a span per HTTP call,
// trace context sent along, and the semantic conventions' HTTP client
// metric). Give the same HTTPClient to jwtaccess.Config or
// jwtintrospect.Config to trace key fetches too.
//
// # Metrics
//
// Instruments, with their Prometheus counterparts in rs/prommetrics and
// introspect/prommetrics:
//
//	tokengate.rs.decisions                     {decision}  decisions_total: tokengate.decision (allow, deny), tokengate.decision.reason, http.response.status_code
//	tokengate.introspect.cache.lookups         {lookup}    cache_hits_total, cache_negative_hits_total, cache_misses_total: tokengate.cache.outcome (hit, negative_hit, miss)
//	tokengate.introspect.cache.shared_hits     {lookup}    shared_cache_hits_total
//	tokengate.introspect.cache.shared_errors   {error}     shared_cache_errors_total
//	tokengate.introspect.cache.shared_rejected {value}     shared_cache_rejected_total
//	tokengate.introspect.cache.coalesced_waits {wait}      coalesced_waits_total
//	tokengate.introspect.cache.stale_serves    {verdict}   stale_serves_total
//	tokengate.introspect.cache.evictions       {verdict}   cache_evictions_total
//	tokengate.introspect.shed                  {call}      shed_total
//	tokengate.introspect.request.duration      s           as_request_duration_seconds and, as its count, as_requests_total: tokengate.introspect.outcome
//	tokengate.introspect.circuit.state         {state}     circuit_state: 0 closed, 1 half-open, 2 open
//	tokengate.introspect.revocations           {event}     revocation_events_total: tokengate.revocation.outcome
//	tokengate.introspect.revocation_feed.up    {state}     revocation_feed_up
//	http.client.request.duration               s           (Transport; the HTTP semantic conventions)
//
// Attributes are fixed labels: never a token, a hash of one, a subject or
// a client.
//
// # Traces
//
// [Telemetry.Introspector] makes a span, tokengate.introspect, around each
// check of a token, with the outcome (tokengate.introspect.outcome:
// active, inactive, unavailable, rejected, malformed), error.type and an
// Error status when the token could not be checked, and the cache outcome
// (tokengate.cache.outcome: hit, negative_hit, miss, coalesced_wait,
// shared_hit, stale_serve). [Telemetry.Transport] makes an HTTP client span
// per request to the authorization server or a key server, named after
// its method, with the HTTP semantic conventions' attributes (url.full
// without its query), and sends the trace context along. A call that
// concurrent misses share is traced under the check that started it.
package otelgate
