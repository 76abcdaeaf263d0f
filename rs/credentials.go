package rs

import (
	"context"
	"crypto/x509"
	"net/http"

	"github.com/tokengate/tokengate/dpop"
	"github.com/tokengate/tokengate/scopes"
)

// Credentials is what a request that is not an *http.Request, such as a
// gRPC call, presents to a guard: the fields [Guard.Check] would read from
// the HTTP request, taken by the adapter from its own transport.
type Credentials struct {
	// Authorization holds the values of the request's Authorization field
	// (a gRPC call's "authorization" metadata): one "Bearer <token>", or
	// "DPoP <token>" with [Config.DPoP]. Two values are invalid_request,
	// as two Authorization headers are; none is a request without token.
	Authorization []string
	// DPoP holds the request's DPoP proofs (a gRPC call's "dpop"
	// metadata); the DPoP scheme needs exactly one. Only read with
	// [Config.DPoP].
	DPoP []string
	// Method and URL are the request a DPoP proof must be for, its htm and
	// htu (RFC 9449 §4.3): for a gRPC call, POST and the scheme, authority
	// and full method name it was sent to. Only read with [Config.DPoP];
	// Config.RequestURL is not used.
	Method, URL string
	// Certificate is the client certificate the connection was
	// authenticated with, nil if none. Only read with [Config.MTLS];
	// Config.ClientCertificate is not used.
	Certificate *x509.Certificate
}

// CheckCredentials is [Guard.Check] for a request that is not an
// *http.Request: the same decision, with the same policy, answers,
// observer and logs, on what the request presents (c) instead of HTTP
// headers. Config.Extractors, which read HTTP requests, are not tried: the
// token comes from c.Authorization alone. ctx is the request's: it bounds
// the introspection, and a principal of this guard in it
// ([ContextWithPrincipal]) is reused, so that only req is checked.
func (g *Guard) CheckCredentials(ctx context.Context, c Credentials, req scopes.Requirement) (*Principal, error) {
	return g.check(presented{ctx: ctx, c: c}, req)
}

// ContextWithPrincipal returns ctx carrying p, where [PrincipalFrom] finds
// it: adapters that are not built on *http.Request call it after a
// successful [Guard.CheckCredentials]. Like [RequestWithPrincipal], it
// returns ctx itself when p is nil or ctx already carries p.
func ContextWithPrincipal(ctx context.Context, p *Principal) context.Context {
	if p == nil {
		return ctx
	}
	if cur, _ := ctx.Value(contextKey{}).(*Principal); cur == p {
		return ctx
	}
	return context.WithValue(ctx, contextKey{}, p)
}

// presented is a request as the guard reads it: an *http.Request, or the
// Credentials of another transport, used when r is nil. c is held by
// value: a pointer to it would make every CheckCredentials allocate.
type presented struct {
	ctx context.Context
	r   *http.Request
	c   Credentials
}

// tokenFrom extracts the access token: from every extractor of an HTTP request,
// from the Authorization values alone of Credentials.
func (pr presented) tokenFrom(g *Guard) (string, error) {
	if pr.r != nil {
		return g.extract(pr.r)
	}
	if g.cfg.DPoP != nil {
		return fromAuthorizationDPoP(pr.c.Authorization)
	}
	tok, _, err := fromAuthorization(pr.c.Authorization, false)
	return tok, err
}

// authorization returns the values of the Authorization field.
func (pr presented) authorization() []string {
	if pr.r != nil {
		return pr.r.Header["Authorization"]
	}
	return pr.c.Authorization
}

// proof returns the one DPoP proof.
func (pr presented) proof() (string, error) {
	if pr.r != nil {
		return dpop.FromHeader(pr.r.Header)
	}
	return dpop.FromHeader(http.Header{"Dpop": pr.c.DPoP})
}

// target returns the method and URL a DPoP proof must name; requestURL is
// Config.RequestURL, for an HTTP request.
func (pr presented) target(requestURL func(*http.Request) string) (method, url string) {
	if pr.r != nil {
		return pr.r.Method, requestURL(pr.r)
	}
	return pr.c.Method, pr.c.URL
}

// certificate returns the client certificate; clientCertificate is
// Config.ClientCertificate, for an HTTP request.
func (pr presented) certificate(clientCertificate func(*http.Request) (*x509.Certificate, error)) (*x509.Certificate, error) {
	if pr.r != nil {
		return clientCertificate(pr.r)
	}
	return pr.c.Certificate, nil
}
