// Package prommetrics counts the decisions of an rs.Guard as Prometheus
// metrics: tokengate_rs_decisions_total, by status (200 for a request let
// through, 400, 401, 403 or 503) and by a fixed reason ("ok", "expired",
// "audience", "insufficient_scope", "unavailable", …; see rs.Decision),
// never by token or caller. Alert on the rate of 401s by reason (a client
// sending expired tokens, tokens meant for another API), of 403s (a route
// asking for a scope no client has), and of 503s (the authorization server
// down, or refusing the API's own credentials).
//
// It lives in its own package so that package rs does not depend on the
// Prometheus client; package introspect/prommetrics does the same for the
// introspection client's cache and calls.
//
//	obs, err := prommetrics.New(prommetrics.Config{Registerer: prometheus.DefaultRegisterer})
//	...
//	guard, err := rs.New(rs.Config{..., Observer: obs})
package prommetrics
