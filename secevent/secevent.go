// Package secevent is the wire model of tokengate's revocation events,
// shared by the authorization server that sends them and the resource
// servers that receive them (package revocationfeed), as package tokeninfo
// is for introspection: the Security Event Token (RFC 8417) of a revoked
// access token, the poll request and response of RFC 8936 with the one
// member this profile adds (a cursor, so that every replica of a fleet
// receives every event), the metadata member that names the endpoint, and
// the Redis channel of the pub/sub transport.
//
// It holds shapes and names only: no signing, no verification, no I/O.
// The full contract, with what each side must check and do, is
// docs/revocation-events.md.
package secevent

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"
)

const (
	// MetadataMember is the authorization server metadata member (RFC
	// 8414) naming the poll endpoint.
	MetadataMember = "revocation_events_endpoint"
	// TokenRevoked is the event type of a revoked access token, the one
	// member of a SET's "events" claim.
	TokenRevoked = "https://github.com/tokengate/tokengate/secevent/token-revoked"
	// Type is the "typ" header of a SET (RFC 8417 §2.3).
	Type = "secevent+jwt"

	// MaxEvents is the most SETs a poll response holds, and the default.
	MaxEvents = 100
	// MaxHold is the longest a transmitter holds a long poll with nothing
	// to return.
	MaxHold = 25 * time.Second
	// MaxAge is the longest a transmitter delivers a SET after its iat,
	// and the oldest a receiver accepts.
	MaxAge = 24 * time.Hour
	// RetainAfterExp is how long a transmitter keeps a SET at least after
	// its token_exp.
	RetainAfterExp = 5 * time.Minute
	// MaxCursorBytes bounds a cursor.
	MaxCursorBytes = 256
)

// Claims are the claims of a SET (RFC 8417 §2.2) as this profile uses
// them. Audience is a string or an array of strings on the wire.
type Claims struct {
	Issuer      string                     `json:"iss"`
	Audience    Audience                   `json:"aud"`
	IssuedAt    int64                      `json:"iat"`
	ID          string                     `json:"jti"`
	TimeOfEvent int64                      `json:"toe,omitempty"`
	Transaction string                     `json:"txn,omitempty"`
	Events      map[string]json.RawMessage `json:"events"`
}

// Audience is the "aud" claim: one string, or an array of them (RFC 7519
// §4.1.3). It is encoded as a string when it holds one.
type Audience []string

// MarshalJSON encodes one audience as a string, several as an array.
func (a Audience) MarshalJSON() ([]byte, error) {
	if len(a) == 1 {
		return json.Marshal(a[0])
	}
	return json.Marshal([]string(a))
}

// UnmarshalJSON accepts a string or an array of strings.
func (a *Audience) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = Audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("secevent: aud is neither a string nor an array of strings")
	}
	*a = many
	return nil
}

// TokenRevokedEvent is the payload of the [TokenRevoked] event.
type TokenRevokedEvent struct {
	// TokenSHA256 is the SHA-256 of the token as clients send it,
	// base64url without padding: see [TokenHash].
	TokenSHA256 string `json:"token_sha256"`
	// TokenJTI is the jti of a JWT access token; empty for an opaque one.
	TokenJTI string `json:"token_jti,omitempty"`
	// TokenExp is the token's exp, as a NumericDate.
	TokenExp int64 `json:"token_exp"`
	// Reason says why, for logs: one of the Reason* constants.
	Reason string `json:"reason,omitempty"`
}

// Reasons of a [TokenRevokedEvent]; informative only.
const (
	ReasonRevoked           = "revoked" // RFC 7009
	ReasonGrantRevoked      = "grant_revoked"
	ReasonRefreshTokenReuse = "refresh_token_reuse"
	ReasonClientDeleted     = "client_deleted"
	ReasonAdmin             = "admin"
)

// TokenHash returns the value of TokenSHA256 for token.
func TokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// PollRequest is the body of a poll (RFC 8936 §2.4) plus Cursor.
type PollRequest struct {
	// ReturnImmediately false asks for a long poll.
	ReturnImmediately bool `json:"returnImmediately"`
	// MaxEvents is the most SETs wanted; zero means the transmitter's
	// default ([MaxEvents]).
	MaxEvents int `json:"maxEvents,omitempty"`
	// Ack lists jti values; accepted and without effect in this profile,
	// where retention is by time.
	Ack []string `json:"ack,omitempty"`
	// SetErrs reports SETs the receiver refused, by jti.
	SetErrs map[string]SetError `json:"setErrs,omitempty"`
	// Cursor is the position returned by the previous response; empty
	// asks for the log from its oldest retained SET.
	Cursor string `json:"cursor,omitempty"`
}

// SetError is why a SET was refused (RFC 8936 §2.6, RFC 8935 §2.3 codes).
type SetError struct {
	Err         string `json:"err"`
	Description string `json:"description,omitempty"`
}

// Error codes of [SetError] and of error responses (RFC 8935 §2.3).
const (
	ErrCodeInvalidRequest  = "invalid_request"
	ErrCodeInvalidKey      = "invalid_key"
	ErrCodeInvalidIssuer   = "invalid_issuer"
	ErrCodeInvalidAudience = "invalid_audience"
	ErrCodeAuthentication  = "authentication_failed"
	ErrCodeAccessDenied    = "access_denied"
)

// PollResponse is the answer to a poll (RFC 8936 §2.5) plus Cursor.
type PollResponse struct {
	// Sets maps each SET's jti to the SET in compact serialization.
	Sets map[string]string `json:"sets"`
	// MoreAvailable says that more SETs follow Cursor: poll again at once.
	MoreAvailable bool `json:"moreAvailable,omitempty"`
	// Cursor is the position after the SETs returned.
	Cursor string `json:"cursor"`
}

// Channel returns the Redis pub/sub channel of the SETs that issuer sends
// to clientID.
func Channel(issuer, clientID string) string {
	sum := sha256.Sum256([]byte(issuer + "\n" + clientID))
	return "tokengate:secevents:v1:" + hex.EncodeToString(sum[:16])
}

// RelayClaimKey returns the Redis key a replica sets (NX) to be the one
// that publishes the SET with this jti on [Channel].
func RelayClaimKey(channel, jti string) string {
	sum := sha256.Sum256([]byte(jti))
	return channel + ":relayed:" + hex.EncodeToString(sum[:16])
}

// RelayClaimTTL is how long a relay claim is kept.
const RelayClaimTTL = 10 * time.Minute
