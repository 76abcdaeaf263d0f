package store

import (
	"slices"
	"time"
)

// Event is a revocation event: one access token revoked, as the provider
// tells resource servers (docs/revocation-events.md). The revoking methods
// of a [Store] — [Store.RevokeGrant], [Store.RevokeConsent],
// [Store.DeleteClient] — append one for each access token they revoke, in
// the transaction that revokes it, so that an event is never lost nor sent
// for a revocation that did not commit. Refresh tokens, which no resource
// server sees, and tokens revoked already get none.
type Event struct {
	// Position is the event's place in the log: 1 for the first event
	// ever appended, then one more for each. Positions follow the order
	// in which the appends committed and are never reused, even after
	// the events are deleted: a reader that has read every event up to
	// position p and asks for those after p misses none committed since.
	Position int64
	// TokenHash is [Hash] of the revoked access token, what resource
	// servers key their caches by.
	TokenHash []byte
	// TokenJWTID is the "jti" of a JWT access token (Token.Format "jwt");
	// "" for an opaque token.
	TokenJWTID string
	// TokenExpiresAt is when the token expires: the event matters until
	// then.
	TokenExpiresAt time.Time
	// ClientID is the client the token was issued to, and Audience the
	// token's audience: they say which clients may introspect the token,
	// and so may hear of its revocation.
	ClientID string
	Audience []string
	// Reason says why the token was revoked: one of the secevent.Reason*
	// values.
	Reason string
	// AppendedAt is when the event was appended, by the store's clock.
	AppendedAt time.Time
}

// EventLog describes a store's log of revocation events.
type EventLog struct {
	// ID tells this log from any other (another database, or one made
	// anew): a position means nothing in another log. It is made with the
	// log and never changes.
	ID string
	// Head is the position of the last event appended, deleted or not; 0
	// before the first.
	Head int64
}

func cloneEvent(e *Event) *Event {
	ee := *e
	ee.TokenHash = slices.Clone(e.TokenHash)
	ee.Audience = slices.Clone(e.Audience)
	return &ee
}
