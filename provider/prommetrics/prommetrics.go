package prommetrics

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tokengate/tokengate/provider"
)

// Config configures an [Observer].
type Config struct {
	// Registerer receives the metrics. It is required; pass
	// prometheus.DefaultRegisterer to use the default registry.
	Registerer prometheus.Registerer
	// Namespace prefixes every metric name. Defaults to "tokengate".
	Namespace string
	// ConstLabels are added to every metric. The zero value adds none.
	ConstLabels prometheus.Labels
}

// Observer implements provider.Observer with Prometheus counters. It is
// safe for concurrent use; each event costs one atomic add.
type Observer struct {
	failures, throttled  map[string]prometheus.Counter // by endpoint
	quota, issued, swept prometheus.Counter
}

var endpoints = []string{provider.EndpointToken, provider.EndpointIntrospection, provider.EndpointRevocation}

// New creates the metrics and registers them with cfg.Registerer:
//
//	tokengate_provider_auth_failures_total{endpoint}
//	tokengate_provider_auth_throttled_total{endpoint}
//	tokengate_provider_quota_refusals_total
//	tokengate_provider_tokens_issued_total
//	tokengate_provider_tokens_swept_total
func New(cfg Config) (*Observer, error) {
	if cfg.Registerer == nil {
		return nil, errors.New("prommetrics: Config.Registerer is required")
	}
	if cfg.Namespace == "" {
		cfg.Namespace = "tokengate"
	}
	opts := func(name, help string) prometheus.CounterOpts {
		return prometheus.CounterOpts{Namespace: cfg.Namespace, Subsystem: "provider", Name: name, Help: help, ConstLabels: cfg.ConstLabels}
	}
	failures := prometheus.NewCounterVec(opts("auth_failures_total",
		"Failed client authentications (unknown client, wrong secret) and inactive bearer tokens of introspection callers, by endpoint."), []string{"endpoint"})
	throttled := prometheus.NewCounterVec(opts("auth_throttled_total",
		"Requests refused with 429 because their client id or address failed to authenticate too often, by endpoint."), []string{"endpoint"})
	o := &Observer{
		failures:  make(map[string]prometheus.Counter, len(endpoints)),
		throttled: make(map[string]prometheus.Counter, len(endpoints)),
		quota:     prometheus.NewCounter(opts("quota_refusals_total", "Token requests refused with 429 because the client's token quota was spent.")),
		issued:    prometheus.NewCounter(opts("tokens_issued_total", "Tokens stored, by the token endpoint or Mint.")),
		swept:     prometheus.NewCounter(opts("tokens_swept_total", "Expired tokens deleted from the store by sweeps.")),
	}
	for _, e := range endpoints {
		o.failures[e] = failures.WithLabelValues(e)
		o.throttled[e] = throttled.WithLabelValues(e)
	}
	for _, c := range []prometheus.Collector{failures, throttled, o.quota, o.issued, o.swept} {
		if err := cfg.Registerer.Register(c); err != nil {
			return nil, fmt.Errorf("prommetrics: %w", err)
		}
	}
	return o, nil
}

// Observe records e.
func (o *Observer) Observe(e provider.Event) {
	switch e.Kind {
	case provider.EventAuthFailure:
		if c, ok := o.failures[e.Endpoint]; ok {
			c.Inc()
		}
	case provider.EventAuthThrottled:
		if c, ok := o.throttled[e.Endpoint]; ok {
			c.Inc()
		}
	case provider.EventQuotaRefused:
		o.quota.Inc()
	case provider.EventTokenIssued:
		o.issued.Inc()
	case provider.EventTokensSwept:
		o.swept.Add(float64(e.Count))
	}
}

var _ provider.Observer = (*Observer)(nil)
