package introspect

import (
	"context"
	"errors"
	"time"
)

// Observer receives an [Event] for everything a [Cache] or [Client] does
// that a dashboard may count: cache hits and misses, coalesced waits, stale
// serves and evictions (from the Cache); calls to the authorization server,
// circuit-breaker changes and calls shed by the in-flight bound (from the
// Client). Package introspect/prommetrics adapts it to Prometheus.
//
// Observe is called synchronously on the request path, including on every
// cache hit, and concurrently from many goroutines: it must be fast and safe
// for concurrent use. An Event never contains a token.
type Observer interface {
	Observe(Event)
}

// ContextObserver is an [Observer] that also wants the context of the
// call an event belongs to, for example to put the event on that call's
// trace span or to link a metric to it (package otelgate does both). A
// [Cache] or [Client] whose Observer has this method calls it, instead of
// Observe, for the events of one call: cache hits, negative hits and
// misses, coalesced waits, shared-tier hits, stale serves and calls to
// the authorization server. The events of a call shared by concurrent
// misses (shared-tier hit, stale serve, calls to the authorization
// server) come with the context of the caller that started it, stripped
// of its cancellation. The other events still go to Observe.
type ContextObserver interface {
	Observer
	ObserveContext(ctx context.Context, e Event)
}

// observeCall reports e, an event of the call of ctx, to o, if any.
func observeCall(o Observer, ctx context.Context, e Event) {
	switch o := o.(type) {
	case nil:
	case ContextObserver:
		o.ObserveContext(ctx, e)
	default:
		o.Observe(e)
	}
}

// EventKind says what an [Event] counts.
type EventKind int

const (
	// EventCacheHit is a request answered from the in-memory cache with an
	// active verdict.
	EventCacheHit EventKind = iota + 1
	// EventNegativeHit is a request answered from the cache with an inactive
	// verdict (see CacheConfig.NegativeTTL).
	EventNegativeHit
	// EventCacheMiss is a request the in-memory cache could not answer.
	EventCacheMiss
	// EventSharedHit is a miss answered by the shared second tier.
	EventSharedHit
	// EventCoalescedWait is a request that waited for an introspection
	// another request had already started for the same token.
	EventCoalescedWait
	// EventASCall is one HTTP attempt to the authorization server.
	// Outcome is "active", "inactive", "unavailable", "rejected" or
	// "malformed"; Duration is its latency.
	EventASCall
	// EventStaleServe is an expired active verdict served because the
	// authorization server was unavailable (see CacheConfig.StaleIfError).
	EventStaleServe
	// EventEviction is a verdict evicted, least recently used first, to make
	// room in a full cache. Many evictions of fresh verdicts mean
	// CacheConfig.Size is too small.
	EventEviction
	// EventCircuit is a change of the circuit breaker's state; Outcome is
	// "closed", "open" or "half-open".
	EventCircuit
	// EventShed is a call refused at once, without asking the authorization
	// server, because ResilienceConfig.MaxInFlight calls were in flight.
	// Many of them mean a flood of unknown tokens, or a bound too low for
	// the traffic.
	EventShed
	// EventSharedError is a read or write of the shared tier that failed
	// (the store down, slow or full); the request went on without it.
	EventSharedError
	// EventSharedRejected is a value of the shared tier that was ignored
	// because it did not verify under CacheConfig.SharedKeys: forged,
	// altered, moved from another key, or written with a key this process
	// does not hold. Any of them means someone other than the resource
	// servers writes to the store, or the keys differ between processes.
	EventSharedRejected
	// EventRevocation is a revocation event received from the
	// authorization server (package revocationfeed); Outcome is "applied",
	// "duplicate" (seen already, or about a token expired since) or
	// "refused" (it did not verify: signature, issuer, audience, type or
	// age).
	EventRevocation
	// EventRevocationFeed is a change of the state of the revocation event
	// stream; Outcome is "up" or "down". While it is down, revoked tokens
	// are noticed within CacheConfig.MaxTTL, as without events.
	EventRevocationFeed
)

// String returns the kind's name in snake case, e.g. "cache_hit".
func (k EventKind) String() string {
	switch k {
	case EventCacheHit:
		return "cache_hit"
	case EventNegativeHit:
		return "negative_hit"
	case EventCacheMiss:
		return "cache_miss"
	case EventSharedHit:
		return "shared_hit"
	case EventCoalescedWait:
		return "coalesced_wait"
	case EventASCall:
		return "as_call"
	case EventStaleServe:
		return "stale_serve"
	case EventEviction:
		return "eviction"
	case EventCircuit:
		return "circuit"
	case EventShed:
		return "shed"
	case EventSharedError:
		return "shared_error"
	case EventSharedRejected:
		return "shared_rejected"
	case EventRevocation:
		return "revocation"
	case EventRevocationFeed:
		return "revocation_feed"
	}
	return "unknown"
}

// Event is one observation; see [EventKind] for which fields each kind sets.
type Event struct {
	// Kind says what is counted; never the zero value.
	Kind EventKind
	// Outcome qualifies EventASCall, EventCircuit, EventRevocation and
	// EventRevocationFeed; empty otherwise.
	Outcome string
	// Duration is the latency of an EventASCall; zero otherwise.
	Duration time.Duration
}

// Outcomes of [EventASCall].
const (
	outcomeActive      = "active"
	outcomeInactive    = "inactive"
	outcomeUnavailable = "unavailable"
	outcomeRejected    = "rejected"
	outcomeMalformed   = "malformed"
)

func outcomeOf(err error) string {
	switch category(err) {
	case nil:
		return outcomeActive
	case ErrInactive:
		return outcomeInactive
	case ErrASRejectedClient:
		return outcomeRejected
	case ErrMalformedResponse:
		return outcomeMalformed
	default:
		return outcomeUnavailable
	}
}

// category returns the error category err matches, or nil for nil.
func category(err error) error {
	if err == nil {
		return nil
	}
	for _, c := range [...]error{ErrInactive, ErrASRejectedClient, ErrMalformedResponse, ErrUnavailable} {
		if errors.Is(err, c) {
			return c
		}
	}
	return ErrMalformedResponse
}

func (c *Client) observe(e Event) {
	if c.cfg.Observer != nil {
		c.cfg.Observer.Observe(e)
	}
}
