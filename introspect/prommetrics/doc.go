// Package prommetrics exposes the events of an introspect.Cache and
// introspect.Client (RFC 7662 token introspection) as Prometheus metrics:
// counters for cache hits, misses, negative hits, shared-tier hits, errors
// and rejected (unauthenticated) values, coalesced waits, stale serves,
// evictions and calls shed by the in-flight bound; a counter and a latency
// histogram of calls to the authorization server by outcome; revocation
// events by outcome; and the circuit breaker's state and whether the
// revocation event stream is received as gauges.
//
// It lives in its own package so that package introspect does not depend on
// the Prometheus client.
//
//	obs, err := prommetrics.New(prommetrics.Config{Registerer: prometheus.DefaultRegisterer})
//	...
//	verifier, err := introspect.New(introspect.Config{..., Observer: obs})
package prommetrics
