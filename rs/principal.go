package rs

import (
	"context"
	"net/http"
	"time"

	"github.com/tokengate/tokengate/introspect"
	"github.com/tokengate/tokengate/scopes"
)

// Principal is the verdict on an accepted access token: who the token
// speaks for and what it allows. Adapters store it in the request context;
// handlers read it with [PrincipalFrom].
//
// Audience and Response are shared with the introspector's verdict cache,
// and so with every other request presenting the same token: treat them as
// read-only.
type Principal struct {
	// Subject is the "sub" member: the resource owner, or the client for a
	// client-credentials token. It may be empty.
	Subject string
	// ClientID is the client the token was issued to.
	ClientID string
	// Scopes is the parsed "scope" member.
	Scopes scopes.Set
	// Audience is the "aud" member.
	Audience []string
	// Expiry is the "exp" member; the zero Time means the AS sent none.
	Expiry time.Time
	// Issuer is the "iss" member.
	Issuer string
	// Response is the full introspection response, for custom claims.
	Response *introspect.Response
	// DPoPThumbprint is the RFC 7638 thumbprint (cnf.jkt) of the key whose
	// possession the request proved with a DPoP proof (RFC 9449); empty for
	// a bearer token.
	DPoPThumbprint string

	guard *Guard // the guard that vouched for it, so nested middleware can reuse it
}

// contextKey is unexported so that no other package can read or overwrite
// the principal except through this package's functions.
type contextKey struct{}

// RequestWithPrincipal returns r carrying p in its context, where
// [PrincipalFrom] finds it: adapters call it after a successful
// [Guard.Check], and tests may call it to fake a caller (a guard trusts
// only principals it made itself, so a faked one is validated again). It
// returns r itself when p is nil or r already carries p, as behind an
// outer middleware of the same guard, so nested middleware does not copy
// the request again.
func RequestWithPrincipal(r *http.Request, p *Principal) *http.Request {
	ctx := r.Context()
	if pctx := ContextWithPrincipal(ctx, p); pctx != ctx {
		return r.WithContext(pctx)
	}
	return r
}

// PrincipalFrom returns the principal stored in ctx by an adapter, and
// whether there is one. It returns false for anonymous requests let through
// by [Config.AllowAnonymous].
func PrincipalFrom(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(contextKey{}).(*Principal)
	return p, ok && p != nil
}
