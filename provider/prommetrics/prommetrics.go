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
	signIn               map[provider.EventKind]prometheus.Counter
	reuse                prometheus.Counter
	polls, refused, sets prometheus.Counter
}

var endpoints = []string{provider.EndpointToken, provider.EndpointIntrospection, provider.EndpointRevocation,
	provider.EndpointUserinfo}

// signInEvents are the kinds counted by signin_events_total, by their
// String as the label.
var signInEvents = []provider.EventKind{provider.EventLogin, provider.EventLoginDenied, provider.EventConsentGranted,
	provider.EventConsentDenied, provider.EventLogout}

// New creates the metrics and registers them with cfg.Registerer:
//
//	tokengate_provider_auth_failures_total{endpoint}
//	tokengate_provider_auth_throttled_total{endpoint}
//	tokengate_provider_quota_refusals_total
//	tokengate_provider_tokens_issued_total
//	tokengate_provider_tokens_swept_total
//	tokengate_provider_signin_events_total{event="login|login_denied|consent_granted|consent_denied|logout"}
//	tokengate_provider_reuse_detected_total
//	tokengate_provider_event_polls_total{result="answered|refused"}
//	tokengate_provider_sets_delivered_total
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
	signIn := prometheus.NewCounterVec(opts("signin_events_total",
		"Users signed in, logins denied, consents granted and denied, and sessions ended at the end_session_endpoint, by event."), []string{"event"})
	o.signIn = make(map[provider.EventKind]prometheus.Counter, len(signInEvents))
	for _, k := range signInEvents {
		o.signIn[k] = signIn.WithLabelValues(k.String())
	}
	o.reuse = prometheus.NewCounter(opts("reuse_detected_total",
		"Authorization codes and refresh tokens presented again after their use, each revoking its grant: a sign of theft."))
	polls := prometheus.NewCounterVec(opts("event_polls_total",
		"Polls of the revocation events endpoint, answered or refused (503: too many held)."), []string{"result"})
	o.polls, o.refused = polls.WithLabelValues("answered"), polls.WithLabelValues("refused")
	o.sets = prometheus.NewCounter(opts("sets_delivered_total",
		"Security Event Tokens about revoked access tokens sent in answers to polls of the revocation events endpoint."))
	for _, c := range []prometheus.Collector{failures, throttled, o.quota, o.issued, o.swept, signIn, o.reuse, polls, o.sets} {
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
	case provider.EventReuseDetected:
		o.reuse.Inc()
	case provider.EventPollAnswered:
		o.polls.Inc()
		o.sets.Add(float64(e.Count))
	case provider.EventPollRefused:
		o.refused.Inc()
	default:
		if c, ok := o.signIn[e.Kind]; ok {
			c.Inc()
		}
	}
}

var _ provider.Observer = (*Observer)(nil)
