package tokenroute

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/tokengate/tokengate/internal/compact"
	"github.com/tokengate/tokengate/introspect"
)

// Introspector validates an access token: *introspect.Cache,
// *introspect.Client, *jwtaccess.Validator and *Router satisfy it. It returns the verdict of an
// active token, or an error matching one of the introspect error categories.
type Introspector interface {
	Introspect(ctx context.Context, token string) (*introspect.Response, error)
}

// Why a token has no route, for use with [errors.Is]. Both also match
// [introspect.ErrInactive]: the guard answers invalid_token.
var (
	// ErrUnknownIssuer means a JWT-shaped token names no configured issuer
	// in its iss, or has none.
	ErrUnknownIssuer error = &cause{"tokenroute: the token's issuer is not configured"}
	// ErrNoRoute means no configured issuer takes the token: an opaque
	// token matching no OpaquePrefix with no issuer to ask in order, or a
	// JWT of an issuer with neither a JWT validator nor an introspection
	// client for it.
	ErrNoRoute error = &cause{"tokenroute: no issuer takes this token"}
)

type cause struct{ msg string }

func (c *cause) Error() string { return c.msg }
func (c *cause) Unwrap() error { return introspect.ErrInactive }

// Issuer is one authorization server and how its tokens are validated.
type Issuer struct {
	// Issuer is the issuer identifier. A JWT-shaped token whose iss is
	// identical to it belongs to this issuer. Required, and unique.
	Issuer string
	// JWT validates this issuer's JWT access tokens locally, usually a
	// *jwtaccess.Validator. nil means they are introspected by Opaque.
	JWT Introspector
	// Opaque introspects this issuer's tokens that are not JWTs, usually
	// an *introspect.Client from introspect.NewClient: the verdict cache
	// belongs above the router, not here. nil means this issuer's opaque
	// tokens are not accepted.
	Opaque Introspector
	// OpaquePrefix, if set, claims for this issuer every token that begins
	// with it and is not JWT-shaped (tokengate's provider issues "tg_at_").
	// Issuers without a prefix are asked in order for the tokens no prefix
	// claims.
	OpaquePrefix string
	// IntrospectJWTs sends this issuer's JWTs to Opaque as well, after JWT
	// (when set) has accepted them, and takes Opaque's verdict: a revoked
	// token is then refused at once rather than at its exp, for the price
	// of a round trip per token (cached). Requires Opaque.
	IntrospectJWTs bool
}

// Config configures a [Router].
type Config struct {
	// Issuers are the authorization servers whose tokens are accepted, in
	// the order opaque tokens without a matching prefix are tried. At
	// least one is required.
	Issuers []Issuer
}

// Router routes each token to the validator of its issuer. It is safe for
// concurrent use if its validators are.
type Router struct {
	issuers  []Issuer
	byIssuer map[string]*Issuer
	ordered  []*Issuer // issuers asked in turn for unclaimed opaque tokens
	identity string
}

// New returns a Router for cfg, or an error naming the issuer to fix.
func New(cfg Config) (*Router, error) {
	if len(cfg.Issuers) == 0 {
		return nil, errors.New("tokenroute: Config.Issuers is empty")
	}
	r := &Router{issuers: append([]Issuer(nil), cfg.Issuers...), byIssuer: make(map[string]*Issuer)}
	h := sha256.New()
	for i := range r.issuers {
		is := &r.issuers[i]
		name := fmt.Sprintf("tokenroute: Config.Issuers[%d]", i)
		switch {
		case is.Issuer == "":
			return nil, fmt.Errorf("%s: Issuer is required", name)
		case r.byIssuer[is.Issuer] != nil:
			return nil, fmt.Errorf("%s: issuer %q is listed twice", name, is.Issuer)
		case is.JWT == nil && is.Opaque == nil:
			return nil, fmt.Errorf("%s (%s): set JWT, Opaque or both", name, is.Issuer)
		case is.IntrospectJWTs && is.Opaque == nil:
			return nil, fmt.Errorf("%s (%s): IntrospectJWTs needs Opaque, the introspection client", name, is.Issuer)
		case is.OpaquePrefix != "" && is.Opaque == nil:
			return nil, fmt.Errorf("%s (%s): OpaquePrefix needs Opaque, the introspection client", name, is.Issuer)
		}
		for _, other := range r.issuers[:i] {
			if other.OpaquePrefix != "" && is.OpaquePrefix != "" &&
				(strings.HasPrefix(other.OpaquePrefix, is.OpaquePrefix) || strings.HasPrefix(is.OpaquePrefix, other.OpaquePrefix)) {
				return nil, fmt.Errorf("%s (%s): OpaquePrefix %q overlaps %q of %s", name, is.Issuer, is.OpaquePrefix, other.OpaquePrefix, other.Issuer)
			}
		}
		r.byIssuer[is.Issuer] = is
		if is.Opaque != nil && is.OpaquePrefix == "" {
			r.ordered = append(r.ordered, is)
		}
		for _, part := range []string{is.Issuer, identityOf(is.JWT), identityOf(is.Opaque), is.OpaquePrefix, strconv.FormatBool(is.IntrospectJWTs)} {
			h.Write([]byte(part))
			h.Write([]byte{0})
		}
	}
	r.identity = "tokenroute:" + hex.EncodeToString(h.Sum(nil)[:16])
	return r, nil
}

// identityOf names a validator for the cache identity: its own
// CacheIdentity when it has one, else its address, which no other process
// shares.
func identityOf(v Introspector) string {
	if v == nil {
		return "-"
	}
	if c, ok := v.(interface{ CacheIdentity() string }); ok {
		return c.CacheIdentity()
	}
	return fmt.Sprintf("%T@%p", v, v)
}

// CacheIdentity identifies the verdicts of this router for a verdict
// cache: its issuers, in order, with their validators' identities, prefixes
// and options.
func (r *Router) CacheIdentity() string { return r.identity }

// Introspect routes token to the validator of its issuer (see the package
// documentation) and returns that validator's answer. A token no issuer
// takes is an error matching [ErrUnknownIssuer] or [ErrNoRoute], both of
// them [introspect.ErrInactive].
func (r *Router) Introspect(ctx context.Context, token string) (*introspect.Response, error) {
	if is, ok, err := r.jwtIssuer(token); ok {
		if err != nil {
			return nil, err
		}
		return is.jwt(ctx, token)
	}
	for i := range r.issuers {
		if is := &r.issuers[i]; is.OpaquePrefix != "" && strings.HasPrefix(token, is.OpaquePrefix) {
			return is.Opaque.Introspect(ctx, token)
		}
	}
	return r.inOrder(ctx, token)
}

// jwtIssuer reports whether token is JWT-shaped and, if so, the configured
// issuer its iss names or the reason there is none.
func (r *Router) jwtIssuer(token string) (*Issuer, bool, error) {
	if strings.Count(token, ".") != 2 {
		return nil, false, nil
	}
	parts, err := compact.Parts(token)
	if err != nil {
		return nil, false, nil
	}
	if _, err := compact.ParseHeader(parts[0]); err != nil {
		return nil, false, nil
	}
	iss, err := compact.Issuer(parts[1])
	if err != nil {
		return nil, true, fmt.Errorf("%w: %w", ErrUnknownIssuer, err)
	}
	is := r.byIssuer[iss]
	if is == nil {
		return nil, true, fmt.Errorf("%w: iss %.120q", ErrUnknownIssuer, iss)
	}
	return is, true, nil
}

// jwt validates a JWT of this issuer.
func (is *Issuer) jwt(ctx context.Context, token string) (*introspect.Response, error) {
	if is.JWT == nil {
		return is.Opaque.Introspect(ctx, token)
	}
	resp, err := is.JWT.Introspect(ctx, token)
	if err != nil || !is.IntrospectJWTs {
		return resp, err
	}
	return is.Opaque.Introspect(ctx, token)
}

// inOrder asks the issuers without a prefix, in order, until one finds
// token active. If none does and one of them could not answer, the token
// may be that one's: the answer is then its error, not "inactive".
func (r *Router) inOrder(ctx context.Context, token string) (*introspect.Response, error) {
	if len(r.ordered) == 0 {
		return nil, fmt.Errorf("%w: an opaque token matching no OpaquePrefix", ErrNoRoute)
	}
	var inactive, failed error
	for _, is := range r.ordered {
		resp, err := is.Opaque.Introspect(ctx, token)
		switch {
		case err == nil:
			return resp, nil
		case errors.Is(err, introspect.ErrInactive):
			inactive = err
		case failed == nil:
			failed = err
		}
	}
	if failed != nil {
		return nil, failed
	}
	return nil, inactive
}
