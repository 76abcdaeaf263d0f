package otelgate

import (
	"context"
	"fmt"
	"strconv"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/tokengate/tokengate/introspect"
	"github.com/tokengate/tokengate/rs"
)

// instrumentationName names the meter and the tracer.
const instrumentationName = "github.com/tokengate/tokengate/otelgate"

// Attribute keys of this package; the others are the semantic conventions'.
const (
	keyDecision         = attribute.Key("tokengate.decision")
	keyReason           = attribute.Key("tokengate.decision.reason")
	keyCacheOutcome     = attribute.Key("tokengate.cache.outcome")
	keyOutcome          = attribute.Key("tokengate.introspect.outcome")
	keyRevocationResult = attribute.Key("tokengate.revocation.outcome")
)

// Config configures a [Telemetry]. The zero value uses the global
// providers.
type Config struct {
	// MeterProvider creates the instruments. Defaults to
	// otel.GetMeterProvider().
	MeterProvider metric.MeterProvider
	// TracerProvider creates the spans. Defaults to
	// otel.GetTracerProvider().
	TracerProvider trace.TracerProvider
	// Propagator writes the trace context into the requests that
	// [Telemetry.Transport] sends. Defaults to otel.GetTextMapPropagator().
	Propagator propagation.TextMapPropagator
}

// Telemetry reports the decisions of guards and the events of
// introspection caches and clients as metrics, and traces token checks and
// their HTTP calls. One Telemetry may serve several guards and clients.
// It is safe for concurrent use; on a cache hit it adds to two counters
// without allocating.
type Telemetry struct {
	tracer     trace.Tracer
	propagator propagation.TextMapPropagator

	decisions     metric.Int64Counter
	decisionAttrs map[rs.Decision][]metric.AddOption // every rs.Decisions(), made once: read-only

	lookups                                                             metric.Int64Counter
	hit, negativeHit, miss                                              []metric.AddOption
	sharedHits, sharedErrors, sharedRejected, coalesced, stale, evicted metric.Int64Counter
	shed, revocations                                                   metric.Int64Counter
	asDuration                                                          metric.Float64Histogram
	asOutcomes                                                          map[string][]metric.RecordOption // read-only
	circuit, feedUp                                                     metric.Int64Gauge
	httpDuration                                                        metric.Float64Histogram

	// spanOutcomes are the tokengate.cache.outcome attributes of the
	// events that qualify a check, made once: read-only.
	spanOutcomes map[introspect.EventKind][]attribute.KeyValue
}

// New creates the instruments.
func New(cfg Config) (*Telemetry, error) {
	if cfg.MeterProvider == nil {
		cfg.MeterProvider = otel.GetMeterProvider()
	}
	if cfg.TracerProvider == nil {
		cfg.TracerProvider = otel.GetTracerProvider()
	}
	if cfg.Propagator == nil {
		cfg.Propagator = otel.GetTextMapPropagator()
	}
	meter := cfg.MeterProvider.Meter(instrumentationName, metric.WithSchemaURL(semconv.SchemaURL))
	t := &Telemetry{
		tracer:     cfg.TracerProvider.Tracer(instrumentationName, trace.WithSchemaURL(semconv.SchemaURL)),
		propagator: cfg.Propagator,
	}
	var errs []error
	counter := func(name, unit, desc string) metric.Int64Counter {
		c, err := meter.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return c
	}
	gauge := func(name, unit, desc string) metric.Int64Gauge {
		g, err := meter.Int64Gauge(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return g
	}
	histogram := func(name, desc string, bounds ...float64) metric.Float64Histogram {
		h, err := meter.Float64Histogram(name, metric.WithUnit("s"), metric.WithDescription(desc), metric.WithExplicitBucketBoundaries(bounds...))
		errs = append(errs, err)
		return h
	}
	t.decisions = counter("tokengate.rs.decisions", "{decision}", "Requests decided by the resource server's guard, by decision, reason and answer status.")
	t.lookups = counter("tokengate.introspect.cache.lookups", "{lookup}", "Token checks looked up in the in-memory verdict cache, by outcome.")
	t.sharedHits = counter("tokengate.introspect.cache.shared_hits", "{lookup}", "Cache misses answered by the shared second tier.")
	t.sharedErrors = counter("tokengate.introspect.cache.shared_errors", "{error}", "Reads and writes of the shared tier that failed; requests went on without it.")
	t.sharedRejected = counter("tokengate.introspect.cache.shared_rejected", "{value}", "Shared-tier values ignored because they did not verify under the shared keys.")
	t.coalesced = counter("tokengate.introspect.cache.coalesced_waits", "{wait}", "Token checks that waited on a check already in flight for the same token.")
	t.stale = counter("tokengate.introspect.cache.stale_serves", "{verdict}", "Expired active verdicts served because the authorization server was unavailable.")
	t.evicted = counter("tokengate.introspect.cache.evictions", "{verdict}", "Verdicts evicted to make room in the full cache.")
	t.shed = counter("tokengate.introspect.shed", "{call}", "Introspections refused at once because the most allowed were in flight.")
	t.revocations = counter("tokengate.introspect.revocations", "{event}", "Revocation events received from the authorization server, by outcome.")
	t.asDuration = histogram("tokengate.introspect.request.duration", "Duration of HTTP attempts to the authorization server's introspection endpoint, by outcome.",
		.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10)
	t.circuit = gauge("tokengate.introspect.circuit.state", "{state}", "Circuit breaker towards the authorization server: 0 closed, 1 half-open, 2 open.")
	t.feedUp = gauge("tokengate.introspect.revocation_feed.up", "{state}", "1 while the revocation event stream is received, 0 while it cannot be.")
	// The bucket boundaries the HTTP semantic conventions advise.
	t.httpDuration = histogram("http.client.request.duration", "Duration of HTTP client requests.",
		0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10)
	for _, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("otelgate: %w", err)
		}
	}

	t.decisionAttrs = make(map[rs.Decision][]metric.AddOption)
	for _, d := range rs.Decisions() {
		t.decisionAttrs[d] = decisionAttrs(d)
	}
	outcome := func(o string) []metric.AddOption {
		return []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(keyCacheOutcome.String(o)))}
	}
	t.hit, t.negativeHit, t.miss = outcome("hit"), outcome("negative_hit"), outcome("miss")
	t.asOutcomes = make(map[string][]metric.RecordOption)
	for _, o := range []string{"active", "inactive", "unavailable", "rejected", "malformed"} {
		t.asOutcomes[o] = []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(keyOutcome.String(o)))}
	}
	t.spanOutcomes = make(map[introspect.EventKind][]attribute.KeyValue)
	for k, o := range map[introspect.EventKind]string{
		introspect.EventCacheHit: "hit", introspect.EventNegativeHit: "negative_hit", introspect.EventCacheMiss: "miss",
		introspect.EventCoalescedWait: "coalesced_wait", introspect.EventSharedHit: "shared_hit", introspect.EventStaleServe: "stale_serve",
	} {
		t.spanOutcomes[k] = []attribute.KeyValue{keyCacheOutcome.String(o)}
	}
	return t, nil
}

func decisionAttrs(d rs.Decision) []metric.AddOption {
	allow := "deny"
	if d.Status == 200 {
		allow = "allow"
	}
	return []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(
		keyDecision.String(allow), keyReason.String(d.Reason), semconv.HTTPResponseStatusCode(d.Status)))}
}

// ObserveDecision counts a decision of a guard: give the Telemetry to
// rs.Config.Observer.
func (t *Telemetry) ObserveDecision(d rs.Decision) {
	attrs, ok := t.decisionAttrs[d]
	if !ok {
		attrs = decisionAttrs(d)
	}
	t.decisions.Add(context.Background(), 1, attrs...)
}

// Observe records an event of an introspection cache or client that
// belongs to no call: give the Telemetry to introspect.Config.Observer or
// introspect.CacheConfig.Observer.
func (t *Telemetry) Observe(e introspect.Event) { t.ObserveContext(context.Background(), e) }

// ObserveContext records an event of the call of ctx: the metric, linked
// to the call's trace, and for the events that say how the cache answered
// it, the tokengate.cache.outcome attribute of the call's span (the one
// [Telemetry.Introspector] starts), the last one winning: a miss then
// answered by the shared tier is a shared_hit.
func (t *Telemetry) ObserveContext(ctx context.Context, e introspect.Event) {
	if attrs, ok := t.spanOutcomes[e.Kind]; ok {
		if span := trace.SpanFromContext(ctx); span.IsRecording() {
			span.SetAttributes(attrs...)
		}
	}
	switch e.Kind {
	case introspect.EventCacheHit:
		t.lookups.Add(ctx, 1, t.hit...)
	case introspect.EventNegativeHit:
		t.lookups.Add(ctx, 1, t.negativeHit...)
	case introspect.EventCacheMiss:
		t.lookups.Add(ctx, 1, t.miss...)
	case introspect.EventSharedHit:
		t.sharedHits.Add(ctx, 1)
	case introspect.EventCoalescedWait:
		t.coalesced.Add(ctx, 1)
	case introspect.EventStaleServe:
		t.stale.Add(ctx, 1)
	case introspect.EventEviction:
		t.evicted.Add(ctx, 1)
	case introspect.EventShed:
		t.shed.Add(ctx, 1)
	case introspect.EventSharedError:
		t.sharedErrors.Add(ctx, 1)
	case introspect.EventSharedRejected:
		t.sharedRejected.Add(ctx, 1)
	case introspect.EventASCall:
		if attrs, ok := t.asOutcomes[e.Outcome]; ok {
			t.asDuration.Record(ctx, e.Duration.Seconds(), attrs...)
		}
	case introspect.EventCircuit:
		if state, ok := circuitStates[e.Outcome]; ok {
			t.circuit.Record(ctx, state)
		}
	case introspect.EventRevocation:
		t.revocations.Add(ctx, 1, metric.WithAttributes(keyRevocationResult.String(e.Outcome)))
	case introspect.EventRevocationFeed:
		switch e.Outcome {
		case "up":
			t.feedUp.Record(ctx, 1)
		case "down":
			t.feedUp.Record(ctx, 0)
		}
	}
}

var circuitStates = map[string]int64{"closed": 0, "half-open": 1, "open": 2}

// statusText is the error.type of an HTTP answer that failed.
func statusText(code int) string { return strconv.Itoa(code) }

var (
	_ rs.Observer                = (*Telemetry)(nil)
	_ introspect.ContextObserver = (*Telemetry)(nil)
)
