package prommetrics

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tokengate/tokengate/introspect"
)

// Config configures an [Observer].
type Config struct {
	// Registerer receives the metrics. It is required; pass
	// prometheus.DefaultRegisterer to use the default registry.
	Registerer prometheus.Registerer
	// Namespace prefixes every metric name. Defaults to "tokengate".
	Namespace string
	// ConstLabels are added to every metric, for example to tell two
	// clients in one process apart. The zero value adds none.
	ConstLabels prometheus.Labels
	// Buckets are the upper bounds, in seconds, of the AS latency
	// histogram. Defaults to 1ms to 10s in roughly doubling steps.
	Buckets []float64
}

// defaultBuckets spans a loopback AS (1ms) to the default timeout (10s).
var defaultBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// Observer implements introspect.Observer with Prometheus metrics. It is
// safe for concurrent use; a cache hit costs one atomic add.
type Observer struct {
	hits, negativeHits, misses, sharedHits, coalesced, stale, evictions, shed prometheus.Counter
	sharedErrors, sharedRejected                                              prometheus.Counter

	asCalls     map[string]prometheus.Counter
	asLatency   map[string]prometheus.Observer
	revocations map[string]prometheus.Counter
	circuit     prometheus.Gauge
	feedUp      prometheus.Gauge
}

var (
	outcomes           = []string{"active", "inactive", "unavailable", "rejected", "malformed"}
	revocationOutcomes = []string{"applied", "duplicate", "refused"}
)

// New creates the metrics and registers them with cfg.Registerer.
func New(cfg Config) (*Observer, error) {
	if cfg.Registerer == nil {
		return nil, errors.New("prommetrics: Config.Registerer is required")
	}
	if cfg.Namespace == "" {
		cfg.Namespace = "tokengate"
	}
	if cfg.Buckets == nil {
		cfg.Buckets = defaultBuckets
	}
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: cfg.Namespace, Subsystem: "introspect", Name: name, Help: help, ConstLabels: cfg.ConstLabels,
		})
	}
	o := &Observer{
		hits:         counter("cache_hits_total", "Introspections answered from the cache with an active verdict."),
		negativeHits: counter("cache_negative_hits_total", "Introspections answered from the cache with an inactive verdict."),
		misses:       counter("cache_misses_total", "Introspections the in-memory cache could not answer."),
		sharedHits:   counter("shared_cache_hits_total", "Cache misses answered by the shared second tier."),
		coalesced:    counter("coalesced_waits_total", "Introspections that waited on a request already in flight for the same token."),
		stale:        counter("stale_serves_total", "Expired active verdicts served because the authorization server was unavailable."),
		evictions:    counter("cache_evictions_total", "Verdicts evicted to make room in the full cache."),
		shed:         counter("shed_total", "Introspections refused at once, without asking the authorization server, because the most allowed were in flight."),
		sharedErrors: counter("shared_cache_errors_total", "Reads and writes of the shared tier that failed (the store down, slow or full); requests went on without it."),
		sharedRejected: counter("shared_cache_rejected_total",
			"Shared-tier values ignored because they did not verify under the shared keys: forged, altered, moved, or written with another key."),
		feedUp: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: cfg.Namespace, Subsystem: "introspect", Name: "revocation_feed_up", ConstLabels: cfg.ConstLabels,
			Help: "1 while the revocation event stream is received, 0 while it cannot be (revocations then take up to the cache's MaxTTL).",
		}),
		revocations: make(map[string]prometheus.Counter, len(revocationOutcomes)),
		circuit: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: cfg.Namespace, Subsystem: "introspect", Name: "circuit_state", ConstLabels: cfg.ConstLabels,
			Help: "Circuit breaker state towards the authorization server: 0 closed, 1 half-open, 2 open.",
		}),
		asCalls:   make(map[string]prometheus.Counter, len(outcomes)),
		asLatency: make(map[string]prometheus.Observer, len(outcomes)),
	}
	calls := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: cfg.Namespace, Subsystem: "introspect", Name: "as_requests_total", ConstLabels: cfg.ConstLabels,
		Help: "HTTP attempts to the authorization server, by outcome.",
	}, []string{"outcome"})
	latency := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: cfg.Namespace, Subsystem: "introspect", Name: "as_request_duration_seconds", ConstLabels: cfg.ConstLabels,
		Help: "Latency of HTTP attempts to the authorization server, by outcome.", Buckets: cfg.Buckets,
	}, []string{"outcome"})
	revocations := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: cfg.Namespace, Subsystem: "introspect", Name: "revocation_events_total", ConstLabels: cfg.ConstLabels,
		Help: "Revocation events received from the authorization server, by outcome (applied, duplicate, refused).",
	}, []string{"outcome"})
	for _, oc := range outcomes {
		o.asCalls[oc] = calls.WithLabelValues(oc)
		o.asLatency[oc] = latency.WithLabelValues(oc)
	}
	for _, oc := range revocationOutcomes {
		o.revocations[oc] = revocations.WithLabelValues(oc)
	}
	for _, c := range []prometheus.Collector{o.hits, o.negativeHits, o.misses, o.sharedHits, o.coalesced, o.stale, o.evictions, o.shed,
		o.sharedErrors, o.sharedRejected, o.circuit, o.feedUp, calls, latency, revocations} {
		if err := cfg.Registerer.Register(c); err != nil {
			return nil, fmt.Errorf("prommetrics: %w", err)
		}
	}
	return o, nil
}

// Observe records e.
func (o *Observer) Observe(e introspect.Event) {
	switch e.Kind {
	case introspect.EventCacheHit:
		o.hits.Inc()
	case introspect.EventNegativeHit:
		o.negativeHits.Inc()
	case introspect.EventCacheMiss:
		o.misses.Inc()
	case introspect.EventSharedHit:
		o.sharedHits.Inc()
	case introspect.EventCoalescedWait:
		o.coalesced.Inc()
	case introspect.EventStaleServe:
		o.stale.Inc()
	case introspect.EventEviction:
		o.evictions.Inc()
	case introspect.EventShed:
		o.shed.Inc()
	case introspect.EventSharedError:
		o.sharedErrors.Inc()
	case introspect.EventSharedRejected:
		o.sharedRejected.Inc()
	case introspect.EventRevocation:
		if c, ok := o.revocations[e.Outcome]; ok {
			c.Inc()
		}
	case introspect.EventRevocationFeed:
		switch e.Outcome {
		case "up":
			o.feedUp.Set(1)
		case "down":
			o.feedUp.Set(0)
		}
	case introspect.EventASCall:
		if c, ok := o.asCalls[e.Outcome]; ok {
			c.Inc()
			o.asLatency[e.Outcome].Observe(e.Duration.Seconds())
		}
	case introspect.EventCircuit:
		switch e.Outcome {
		case "closed":
			o.circuit.Set(0)
		case "half-open":
			o.circuit.Set(1)
		case "open":
			o.circuit.Set(2)
		}
	}
}

var _ introspect.Observer = (*Observer)(nil)
