package rstest

import (
	"context"
	"time"

	"github.com/tokengate/tokengate/introspect"
	"github.com/tokengate/tokengate/rs"
)

// Answer is what the fake introspector returns for one token.
type Answer struct {
	// Response is returned for the token; nil with a nil Err makes the
	// guard fail closed, as for a broken introspector.
	Response *introspect.Response
	// Err, if set, is returned instead, e.g. introspect.ErrInactive or an
	// *introspect.Error.
	Err error
}

// Introspector is an [rs.Introspector] answering from a fixed table keyed by
// token. Unknown tokens are inactive (introspect.ErrInactive). It answers
// instantly, never touches the network, and is safe for concurrent use as
// long as the map is not modified. NOT suitable outside tests.
type Introspector map[string]Answer

var _ rs.Introspector = Introspector(nil)

// Introspect returns the answer recorded for token, or introspect.ErrInactive.
// A cancelled ctx returns ctx.Err().
func (m Introspector) Introspect(ctx context.Context, token string) (*introspect.Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	a, ok := m[token]
	if !ok {
		return nil, introspect.ErrInactive
	}
	return a.Response, a.Err
}

// Active returns an active Bearer response for subject and clientID with the
// given space-delimited scope and audience, expiring at exp.
func Active(subject, clientID, scope string, exp time.Time, audience ...string) *introspect.Response {
	return &introspect.Response{
		Active:    true,
		Subject:   subject,
		ClientID:  clientID,
		Scope:     scope,
		TokenType: "Bearer",
		Expiry:    exp,
		Audience:  audience,
	}
}
