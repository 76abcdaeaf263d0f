package introspect

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tokengate/tokengate/tokeninfo"
)

// Introspector answers whether an access token is active: with its
// [Response], or with an error matching one of [ErrInactive],
// [ErrUnavailable], [ErrASRejectedClient] or [ErrMalformedResponse]. It is
// the one method every layer of this package has: a [*Client] asks the
// authorization server, a [*Cache] answers from memory in front of any
// Introspector, and package rs takes any of them.
type Introspector interface {
	Introspect(ctx context.Context, token string) (*Response, error)
}

// New returns what a resource server usually wants: a [*Client] for cfg
// behind a [*Cache] with the default [CacheConfig] (up to 10,000 active
// verdicts kept for at most 2 minutes, inactive ones for 5 seconds),
// sharing cfg's Timeout, ClockSkew, Now, Logger and Observer. It does not
// touch the network; call [Cache.Ping] at start-up to check the endpoint
// and credentials.
//
// To tune the cache, or to call the authorization server on every request,
// build the layers yourself:
//
//	client, err := introspect.NewClient(cfg)
//	...
//	verifier, err := introspect.NewCache(client, introspect.CacheConfig{MaxTTL: 30 * time.Second})
func New(cfg Config) (*Cache, error) {
	client, err := NewClient(cfg)
	if err != nil {
		return nil, err
	}
	return NewCache(client, CacheConfig{
		Timeout:   client.cfg.Timeout,
		ClockSkew: client.cfg.ClockSkew,
		Now:       client.cfg.Now,
		Logger:    client.cfg.Logger,
		Observer:  client.cfg.Observer,
	})
}

var errEmptyToken = fmt.Errorf("%w: empty token", ErrInactive)

// validAt is [tokeninfo.Response.ValidAt] with the result as an
// [ErrInactive].
func validAt(r *Response, now time.Time, skew time.Duration) error {
	switch err := r.ValidAt(now, skew); {
	case err == nil:
		return nil
	case errors.Is(err, tokeninfo.ErrNotActive):
		return errAnswerInactive
	default:
		return fmt.Errorf("%w: %w", ErrInactive, err)
	}
}

var errAnswerInactive = fmt.Errorf("%w: active is false", ErrInactive)

// ping asks in about a random token, which no authorization server can
// know: a well-formed inactive answer shows that the endpoint is reachable
// and our credentials accepted. The caller reports a failure, so the
// layers below do not log it too (see pinging).
func ping(ctx context.Context, in Introspector) error {
	random := make([]byte, 32)
	rand.Read(random) // never fails (crypto/rand, Go 1.24+)
	_, err := in.Introspect(context.WithValue(ctx, pingKey{}, true), "tokengate-ping-"+base64.RawURLEncoding.EncodeToString(random))
	switch {
	case errors.Is(err, ErrInactive):
		return nil
	case err != nil:
		return &pingError{err}
	default:
		return &pingError{fmt.Errorf("%w: a random token was reported active", ErrMalformedResponse)}
	}
}

// pingKey marks the context of a Ping's call, whose failure the caller of
// Ping reports: the client then does not log it at Error level as well.
type pingKey struct{}

// pinging reports whether ctx is that of a Ping.
func pinging(ctx context.Context) bool {
	v, _ := ctx.Value(pingKey{}).(bool)
	return v
}

// pingError is a failed Ping: "introspect: ping: " and the cause, whose own
// "introspect: " prefix is not repeated.
type pingError struct{ err error }

func (e *pingError) Error() string {
	return "introspect: ping: " + strings.TrimPrefix(e.err.Error(), "introspect: ")
}

func (e *pingError) Unwrap() error { return e.err }
