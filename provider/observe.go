package provider

// Observer receives an [Event] for what the provider does that a dashboard
// or an alert may count: failed and throttled client authentications,
// refused and issued tokens, swept tokens. Package provider/prommetrics
// adapts it to Prometheus.
//
// Observe is called synchronously on the request path and concurrently: it
// must be fast and safe for concurrent use. An Event never holds a token, a
// secret or a client id.
type Observer interface {
	Observe(Event)
}

// EventKind says what an [Event] counts.
type EventKind int

const (
	// EventAuthFailure is a failed client authentication (unknown client,
	// wrong secret, a secret for a public client) or an introspection
	// caller's inactive bearer token. Endpoint says where.
	EventAuthFailure EventKind = iota + 1
	// EventAuthThrottled is a request refused with 429 before its
	// credentials were looked at, because its client id or its address had
	// failed too often (Config.AuthFailuresPerMinute). Endpoint says where.
	EventAuthThrottled
	// EventQuotaRefused is a token request refused with 429 because the
	// client's quota (Config.TokensPerMinute) was spent.
	EventQuotaRefused
	// EventTokenIssued is a token stored: by the token endpoint or by
	// [Provider.Mint]. With EventTokensSwept, it shows how the store grows.
	EventTokenIssued
	// EventTokensSwept is a batch of expired tokens deleted; Count says how
	// many.
	EventTokensSwept
)

// String returns the kind's name in snake case, e.g. "auth_failure".
func (k EventKind) String() string {
	switch k {
	case EventAuthFailure:
		return "auth_failure"
	case EventAuthThrottled:
		return "auth_throttled"
	case EventQuotaRefused:
		return "quota_refused"
	case EventTokenIssued:
		return "token_issued"
	case EventTokensSwept:
		return "tokens_swept"
	}
	return "unknown"
}

// Endpoints named in [Event.Endpoint].
const (
	EndpointToken         = "token"
	EndpointIntrospection = "introspection"
	EndpointRevocation    = "revocation"
)

// Event is one observation; see [EventKind] for which fields each kind sets.
type Event struct {
	// Kind says what is counted; never the zero value.
	Kind EventKind
	// Endpoint is EndpointToken, EndpointIntrospection or
	// EndpointRevocation for EventAuthFailure and EventAuthThrottled,
	// EndpointToken for EventQuotaRefused; empty otherwise.
	Endpoint string
	// Count is how many tokens an EventTokensSwept deleted; zero
	// otherwise.
	Count int64
}

func (p *Provider) observe(e Event) {
	if p.cfg.Observer != nil {
		p.cfg.Observer.Observe(e)
	}
}
