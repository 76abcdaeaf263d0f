package grpc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/tokengate/tokengate/rs"
	"github.com/tokengate/tokengate/scopes"
)

// ErrNoRule is the error a call to a method with no rule (neither in
// Config.Methods nor in Config.Public) is refused with, before any token is
// looked at. [Interceptor.Reject] answers it with PermissionDenied.
var ErrNoRule = errors.New("grpc: no access rule for this method")

// Config configures the interceptors. Guard is required, and every method
// the server serves needs an entry in Methods or Public.
type Config struct {
	// Guard checks tokens and shapes every answer. Required.
	Guard *rs.Guard
	// Methods maps full method names, such as
	// "/orders.v1.OrderService/ListOrders", to the scopes a call needs;
	// the zero Requirement asks only for a valid token. A name ending in
	// "/*", such as "/orders.v1.OrderService/*", gives every method of a
	// service a requirement; a method's own entry comes first.
	Methods map[string]scopes.Requirement
	// Public lists the methods called without any check and with no
	// principal, named as in Methods ("/pkg.Service/*" for a whole
	// service). [HealthAndReflection] lists the health and reflection
	// services. A method cannot be both public and in Methods.
	Public []string
	// URL returns the URL that a DPoP proof's htu must name for a call to
	// fullMethod (RFC 9449 §4.3). Defaults to "https://" (or "http://" on
	// a connection without TLS), the call's :authority and fullMethod,
	// which is right when clients connect to this server directly. Behind
	// a proxy that terminates TLS or changes the authority, return the
	// public URL instead. Only used for calls that carry a DPoP proof.
	URL func(ctx context.Context, fullMethod string) string
	// ErrorHandler returns the error a refused call ends with. Defaults to
	// [Interceptor.Reject], the guard's answer as a status with the
	// challenge in trailers; a custom one can log and then call it. A nil
	// error from it is replaced by Reject's answer: a refusal stays one.
	ErrorHandler func(ctx context.Context, err error) error
	// SuccessHandler, if set, runs after a call is accepted, with the
	// principal in ctx. If it returns an error, the call is refused
	// through ErrorHandler instead of reaching the handler.
	SuccessHandler func(ctx context.Context) error
}

// HealthAndReflection returns, for Config.Public, the gRPC health service
// (grpc.health.v1) and server reflection (v1 and v1alpha), so that probes
// and grpcurl reach them without token.
func HealthAndReflection() []string {
	return []string{"/grpc.health.v1.Health/*", "/grpc.reflection.v1.ServerReflection/*", "/grpc.reflection.v1alpha.ServerReflection/*"}
}

// Interceptor holds the unary and stream server interceptors of one
// configuration. It is safe for concurrent use.
type Interceptor struct {
	cfg   Config
	rules rules
}

// New returns the interceptors for cfg, or an error naming what is wrong
// with it.
func New(cfg Config) (*Interceptor, error) {
	if cfg.Guard == nil {
		return nil, errors.New("grpc: Config.Guard is required")
	}
	rules, err := newRules(cfg.Methods, cfg.Public)
	if err != nil {
		return nil, err
	}
	i := &Interceptor{cfg: cfg, rules: rules}
	if i.cfg.URL == nil {
		i.cfg.URL = defaultURL
	}
	if i.cfg.ErrorHandler == nil {
		i.cfg.ErrorHandler = i.Reject
	}
	return i, nil
}

// MustNew is like [New] but panics if cfg is invalid; for program start-up.
func MustNew(cfg Config) *Interceptor {
	i, err := New(cfg)
	if err != nil {
		panic(err)
	}
	return i
}

// Unary is the unary server interceptor: grpc.ChainUnaryInterceptor(i.Unary).
func (i *Interceptor) Unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	ctx, err := i.admit(ctx, info.FullMethod)
	if err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

// Stream is the stream server interceptor: grpc.ChainStreamInterceptor(i.Stream).
func (i *Interceptor) Stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	ctx, err := i.admit(ss.Context(), info.FullMethod)
	if err != nil {
		return err
	}
	if ctx != ss.Context() {
		ss = &principalStream{ServerStream: ss, ctx: ctx}
	}
	return handler(srv, ss)
}

// principalStream is a stream whose context carries the principal.
type principalStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *principalStream) Context() context.Context { return s.ctx }

// admit decides a call to method: it returns the context for the handler,
// or the error the call ends with.
func (i *Interceptor) admit(ctx context.Context, method string) (context.Context, error) {
	req, public, ok := i.rules.lookup(method)
	switch {
	case public:
		return ctx, nil
	case !ok:
		return ctx, i.refuse(ctx, fmt.Errorf("%w %s", ErrNoRule, method))
	}
	p, err := i.cfg.Guard.CheckCredentials(ctx, i.credentials(ctx, method), req)
	if err != nil {
		return ctx, i.refuse(ctx, err)
	}
	ctx = rs.ContextWithPrincipal(ctx, p)
	if i.cfg.SuccessHandler != nil {
		if err := i.cfg.SuccessHandler(ctx); err != nil {
			return ctx, i.refuse(ctx, err)
		}
	}
	return ctx, nil
}

func (i *Interceptor) refuse(ctx context.Context, err error) error {
	if out := i.cfg.ErrorHandler(ctx, err); out != nil {
		return out
	}
	return i.Reject(ctx, err)
}

// credentials returns what the call presents to the guard.
func (i *Interceptor) credentials(ctx context.Context, method string) rs.Credentials {
	c := rs.Credentials{Authorization: metadata.ValueFromIncomingContext(ctx, "authorization")}
	if proofs := metadata.ValueFromIncomingContext(ctx, "dpop"); len(proofs) > 0 {
		c.DPoP, c.Method, c.URL = proofs, http.MethodPost, i.cfg.URL(ctx, method)
	}
	if tlsInfo, ok := tlsOf(ctx); ok && len(tlsInfo.State.PeerCertificates) > 0 {
		c.Certificate = tlsInfo.State.PeerCertificates[0]
	}
	return c
}

func tlsOf(ctx context.Context) (credentials.TLSInfo, bool) {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return credentials.TLSInfo{}, false
	}
	tlsInfo, ok := p.AuthInfo.(credentials.TLSInfo)
	return tlsInfo, ok
}

// defaultURL is Config.URL when unset.
func defaultURL(ctx context.Context, fullMethod string) string {
	scheme := "http://"
	if _, ok := tlsOf(ctx); ok {
		scheme = "https://"
	}
	authority := ""
	if a := metadata.ValueFromIncomingContext(ctx, ":authority"); len(a) == 1 {
		authority = a[0]
	}
	return scheme + authority + fullMethod
}

// Reject is the default Config.ErrorHandler: it turns err into the
// guard's answer ([rs.Guard.Reject]) as a gRPC status, and sets the
// call's trailers: www-authenticate with the RFC 6750 challenge, and on
// Unavailable retry-after and grpc-retry-pushback-ms. [ErrNoRule] is
// PermissionDenied without challenge. ctx must be the call's.
func (i *Interceptor) Reject(ctx context.Context, err error) error {
	if errors.Is(err, ErrNoRule) {
		return status.Error(codes.PermissionDenied, "no access rule for this method")
	}
	rj := i.cfg.Guard.Reject(err)
	md := metadata.MD{}
	if ch := rj.Header.Get("WWW-Authenticate"); ch != "" {
		md["www-authenticate"] = []string{ch}
	}
	if ra := rj.Header.Get("Retry-After"); ra != "" {
		md["retry-after"] = []string{ra}
		if secs, err := strconv.Atoi(ra); err == nil {
			md["grpc-retry-pushback-ms"] = []string{strconv.Itoa(secs * 1000)}
		}
	}
	_ = grpc.SetTrailer(ctx, md) // fails only outside a call, where there are no trailers to set
	msg := rj.Description
	if msg == "" {
		msg = "an access token is required"
	}
	return status.Error(codeOf(rj.Status), msg)
}

// codeOf is the gRPC status code of an HTTP answer of the guard.
func codeOf(httpStatus int) codes.Code {
	switch httpStatus {
	case http.StatusBadRequest:
		return codes.InvalidArgument
	case http.StatusForbidden:
		return codes.PermissionDenied
	case http.StatusServiceUnavailable:
		return codes.Unavailable
	default: // 401, and anything new fails closed
		return codes.Unauthenticated
	}
}
