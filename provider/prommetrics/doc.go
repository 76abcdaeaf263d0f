// Package prommetrics exposes the events of a provider.Provider (the OAuth
// 2.0 authorization server) as Prometheus counters: failed and throttled
// client authentications by endpoint, token requests refused by the quota,
// tokens issued and tokens swept — the last two together show how fast the
// store grows.
//
// It lives in its own package so that package provider does not depend on
// the Prometheus client.
//
//	obs, err := prommetrics.New(prommetrics.Config{Registerer: prometheus.DefaultRegisterer})
//	...
//	p, err := provider.New(provider.Config{..., Observer: obs})
package prommetrics
