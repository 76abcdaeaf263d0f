package provider

// Observer receives an [Event] for what the provider does that a dashboard
// or an alert may count: failed and throttled client authentications,
// refused and issued tokens, swept tokens, logins, consents, logouts,
// reused codes or refresh tokens, and polls of the revocation events
// endpoint. Package provider/prommetrics adapts it to Prometheus.
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
	// EventLogin is a user signed in: the application finished a login
	// interaction and the provider started a session.
	EventLogin
	// EventLoginDenied is a login interaction the application ended with
	// [Provider.Deny].
	EventLoginDenied
	// EventConsentGranted is a consent interaction the application
	// finished with [Provider.FinishConsent].
	EventConsentGranted
	// EventConsentDenied is a consent interaction the application ended
	// with [Provider.Deny].
	EventConsentDenied
	// EventLogout is a provider session ended at the end_session_endpoint.
	EventLogout
	// EventReuseDetected is an authorization code or a refresh token
	// presented again after it was used: a sign that it was stolen. Every
	// token of its grant has been revoked.
	EventReuseDetected
	// EventPollAnswered is a poll of the revocation events endpoint
	// answered; Count says with how many Security Event Tokens.
	EventPollAnswered
	// EventPollRefused is a poll of the revocation events endpoint refused
	// with 503 because Config.MaxHeldPolls polls were held.
	EventPollRefused
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
	case EventLogin:
		return "login"
	case EventLoginDenied:
		return "login_denied"
	case EventConsentGranted:
		return "consent_granted"
	case EventConsentDenied:
		return "consent_denied"
	case EventLogout:
		return "logout"
	case EventReuseDetected:
		return "reuse_detected"
	case EventPollAnswered:
		return "poll_answered"
	case EventPollRefused:
		return "poll_refused"
	}
	return "unknown"
}

// Endpoints named in [Event.Endpoint].
const (
	EndpointToken         = "token"
	EndpointIntrospection = "introspection"
	EndpointRevocation    = "revocation"
	EndpointEvents        = "events"
)

// Event is one observation; see [EventKind] for which fields each kind sets.
type Event struct {
	// Kind says what is counted; never the zero value.
	Kind EventKind
	// Endpoint is EndpointToken, EndpointIntrospection or
	// EndpointRevocation for EventAuthFailure and EventAuthThrottled,
	// EndpointToken for EventQuotaRefused, EndpointEvents for
	// EventPollAnswered and EventPollRefused; empty otherwise.
	Endpoint string
	// Count is how many tokens an EventTokensSwept deleted, how many
	// Security Event Tokens an EventPollAnswered carried; zero otherwise.
	Count int64
}

func (p *Provider) observe(e Event) {
	if p.cfg.Observer != nil {
		p.cfg.Observer.Observe(e)
	}
}
