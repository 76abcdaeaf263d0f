package conformance

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	grpcmd "google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// The gRPC column of the suite: every case is also a gRPC call, a unary
// one and a server-streaming one, and has one expected status code,
// message and www-authenticate trailer. The expectation comes from the
// case's HTTP answer (the guard's answer is the same, only its transport
// differs: 401 is Unauthenticated, the challenge moves to a trailer),
// except for the few cases, in [grpcAnswers], whose request has no gRPC
// counterpart.

// GRPCResult is what a gRPC client saw.
type GRPCResult struct {
	Code      codes.Code
	Message   string
	Challenge string // the www-authenticate trailer
	Pushback  string // the grpc-retry-pushback-ms trailer
	Retry     string // the retry-after trailer
	Hook      string // the x-hook trailer a hook sets
	Body      string // the answer of an accepted call: [AnswerBody]
}

func (r GRPCResult) String() string {
	return fmt.Sprintf("%v %q www-authenticate=%q grpc-retry-pushback-ms=%q retry-after=%q x-hook=%q body=%q",
		r.Code, r.Message, r.Challenge, r.Pushback, r.Retry, r.Hook, r.Body)
}

// grpcAnswers is the gRPC column where it differs from the HTTP answer:
// gRPC has no query string, no form body and no redirect.
var grpcAnswers = map[string]GRPCResult{
	"query token enabled":    noTokenGRPC,
	"form token enabled":     noTokenGRPC,
	"query token and header": {Code: codes.OK, Body: alice},
	// The HTTP ErrorHandler redirects; over gRPC the adapter's
	// ErrorHandler returns nil, which the adapter answers as the guard
	// does, so that a refusal stays a refusal.
	"ErrorHandler: redirect to sign in": {Code: codes.Unauthenticated, Message: descNoToken, Challenge: realm, Hook: "sign-in"},
	// Another key's proof cannot be made for the gRPC call (the suite
	// does not hold that key), so its HTTP htm and htu fail first.
	"DPoP: proof by another key": func() GRPCResult {
		ch, _ := proofFailure("the DPoP proof is for another request")
		return GRPCResult{Code: codes.Unauthenticated, Message: "the DPoP proof is for another request", Challenge: ch}
	}(),
}

const descNoToken = "an access token is required"

var noTokenGRPC = GRPCResult{Code: codes.Unauthenticated, Message: descNoToken, Challenge: realm}

// WantGRPC is the answer the case expects from a gRPC adapter.
func (c Case) WantGRPC() (GRPCResult, error) {
	if w, ok := grpcAnswers[c.Name]; ok {
		return w, nil
	}
	w := GRPCResult{Challenge: c.Challenge, Retry: c.RetryAfter, Hook: c.Hook}
	switch c.Status {
	case http.StatusOK:
		w.Code, w.Body = codes.OK, c.Body
		return w, nil
	case http.StatusBadRequest:
		w.Code = codes.InvalidArgument
	case http.StatusUnauthorized:
		w.Code = codes.Unauthenticated
	case http.StatusForbidden:
		w.Code = codes.PermissionDenied
	case http.StatusServiceUnavailable:
		w.Code = codes.Unavailable
	default:
		return w, fmt.Errorf("HTTP status %d has no gRPC counterpart: give the case an entry in grpcAnswers", c.Status)
	}
	if c.RetryAfter != "" {
		secs, err := strconv.Atoi(c.RetryAfter)
		if err != nil {
			return w, err
		}
		w.Pushback = strconv.Itoa(secs * 1000)
	}
	w.Message = descNoToken
	if m := descriptionRE.FindStringSubmatch(c.Challenge); m != nil {
		w.Message = m[1]
	} else if c.Status == http.StatusServiceUnavailable {
		w.Message = "the access token cannot be checked right now, retry later"
	}
	return w, nil
}

var descriptionRE = regexp.MustCompile(`error_description="([^"]*)"`)

// GRPCMethod and GRPCStreamMethod are the full method names of the
// suite's service; [GRPCAuthority] is the :authority of its calls.
const (
	GRPCMethod       = "/conformance.v1.Orders/List"
	GRPCStreamMethod = "/conformance.v1.Orders/Watch"
	GRPCAuthority    = "example.com"
)

// GRPCSetup is what one case asks a gRPC adapter to build: the interceptors
// for Setup (Require on [GRPCMethod] and [GRPCStreamMethod], then Route
// nested inside), with the HTTP hooks translated, which may run them on
// Request.
type GRPCSetup struct {
	Setup
	Request *http.Request
}

// GRPCAdapter builds the server options (the interceptors) of a gRPC
// adapter for a case.
type GRPCAdapter func(s GRPCSetup) ([]grpc.ServerOption, error)

// RunGRPC runs every case, unary and streaming, against a gRPC adapter.
func RunGRPC(t *testing.T, build GRPCAdapter) {
	for _, c := range Cases {
		t.Run(c.Name, func(t *testing.T) {
			want, err := c.WantGRPC()
			if err != nil {
				t.Fatal(err)
			}
			g, calls := c.countingGuard(t)
			s := GRPCSetup{Setup: Setup{Guard: g, Require: c.Require, Route: c.Route}, Request: c.Request()}
			if c.Hooks != nil {
				s.Hooks = c.Hooks(g)
			}
			opts, err := build(s)
			if err != nil {
				t.Fatal(err)
			}
			conn := ServeGRPC(t, c.TLS, opts...)
			for _, method := range []string{GRPCMethod, GRPCStreamMethod} {
				calls.Store(0)
				if got := CallGRPC(t, conn, method, c.grpcMetadata(method)); got != want {
					t.Errorf("%s:\n got %v\nwant %v", method, got, want)
				}
				if n := calls.Load(); n > 1 {
					t.Errorf("%s: %d introspections for one call, want at most 1", method, n)
				}
			}
		})
	}
}

// CheckGRPCColumn checks that every entry of the gRPC column names a case.
func CheckGRPCColumn() error {
	names := map[string]bool{}
	for _, c := range Cases {
		names[c.Name] = true
	}
	for name := range grpcAnswers {
		if !names[name] {
			return fmt.Errorf("grpcAnswers names %q, which is not a case", name)
		}
	}
	return nil
}

// grpcMetadata is the case's request as gRPC metadata: its Authorization
// values, and its DPoP proofs made for a call of method (see grpcProof).
func (c Case) grpcMetadata(method string) grpcmd.MD {
	md := grpcmd.MD{}
	if len(c.Auth) > 0 {
		md["authorization"] = c.Auth
	}
	for _, p := range c.DPoP {
		md["dpop"] = append(md["dpop"], c.grpcProof(p, method))
	}
	return md
}

// grpcProof returns the DPoP proof the suite's client would send with the
// gRPC call of fullMethod instead of the case's HTTP request: signed by
// the same key,
// with the same claims but htm and htu. A proof for the case's request
// becomes one for the call (POST to the method's URL), a proof for another
// method or URL stays one for another. A proof the suite's client did not
// sign, or that is not a JWS, is sent as it is.
func (c Case) grpcProof(proof, fullMethod string) string {
	parts := strings.Split(proof, ".")
	if len(parts) != 3 {
		return proof
	}
	var header, claims map[string]any
	if decodeSegment(parts[0], &header) != nil || decodeSegment(parts[1], &claims) != nil {
		return proof
	}
	jwk, _ := json.Marshal(header["jwk"])
	mine, _ := json.Marshal(ClientKey.PublicJWK())
	if !bytes.Equal(jwk, mine) {
		return proof
	}
	httpMethod := c.Method
	if httpMethod == "" {
		httpMethod = http.MethodGet
	}
	switch claims["htm"] {
	case httpMethod:
		claims["htm"] = http.MethodPost
	case http.MethodPost:
		claims["htm"] = httpMethod
	}
	r := c.Request()
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if claims["htu"] == scheme+"://"+r.Host+r.URL.EscapedPath() {
		claims["htu"] = scheme + "://" + GRPCAuthority + fullMethod
	}
	return ClientKey.Sign(header, claims)
}

func decodeSegment(seg string, v any) error {
	raw, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	return d.Decode(v)
}

// grpcService is the suite's service: List answers [AnswerBody], Watch
// streams it once.
var grpcService = grpc.ServiceDesc{
	ServiceName: "conformance.v1.Orders",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{{MethodName: "List", Handler: func(_ any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
		if err := dec(new(emptypb.Empty)); err != nil {
			return nil, err
		}
		answer := func(ctx context.Context, _ any) (any, error) { return wrapperspb.String(AnswerBody(ctx)), nil }
		if ic == nil {
			return answer(ctx, nil)
		}
		return ic(ctx, nil, &grpc.UnaryServerInfo{FullMethod: GRPCMethod}, answer)
	}}},
	Streams: []grpc.StreamDesc{{StreamName: "Watch", ServerStreams: true, Handler: func(_ any, ss grpc.ServerStream) error {
		if err := ss.RecvMsg(new(emptypb.Empty)); err != nil {
			return err
		}
		return ss.SendMsg(wrapperspb.String(AnswerBody(ss.Context())))
	}}},
}

// ServeGRPC starts a gRPC server with opts and the suite's service on an
// in-memory listener, and returns a client connection to it whose calls
// have [GRPCAuthority]. With conn set, the server sees every connection
// as TLS with that state, so that the client certificate is conn's. Both
// stop with the test.
func ServeGRPC(t testing.TB, conn *tls.ConnectionState, opts ...grpc.ServerOption) *grpc.ClientConn {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	if conn != nil {
		opts = append(opts, grpc.Creds(peerTLS{state: *conn}))
	}
	srv := grpc.NewServer(opts...)
	srv.RegisterService(&grpcService, nil)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	cc, err := grpc.NewClient("passthrough:///"+GRPCAuthority,
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithAuthority(GRPCAuthority))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

// CallGRPC calls method (unary [GRPCMethod] or streaming
// [GRPCStreamMethod]) with md and returns what the client saw.
func CallGRPC(t testing.TB, cc *grpc.ClientConn, method string, md grpcmd.MD) GRPCResult {
	t.Helper()
	ctx := grpcmd.NewOutgoingContext(t.Context(), md)
	var trailer grpcmd.MD
	out := new(wrapperspb.StringValue)
	var err error
	if method == GRPCStreamMethod {
		err = stream(ctx, cc, out, &trailer)
	} else {
		err = cc.Invoke(ctx, method, new(emptypb.Empty), out, grpc.Trailer(&trailer))
	}
	st := status.Convert(err)
	get := func(k string) string { return strings.Join(trailer.Get(k), "|") }
	return GRPCResult{
		Code: st.Code(), Message: st.Message(), Challenge: get("www-authenticate"), Pushback: get("grpc-retry-pushback-ms"),
		Retry: get("retry-after"), Hook: get("x-hook"), Body: out.GetValue(),
	}
}

func stream(ctx context.Context, cc *grpc.ClientConn, out *wrapperspb.StringValue, trailer *grpcmd.MD) error {
	cs, err := cc.NewStream(ctx, &grpcService.Streams[0], GRPCStreamMethod)
	if err != nil {
		return err
	}
	if err := cs.SendMsg(new(emptypb.Empty)); err != nil {
		return err
	}
	if err := cs.CloseSend(); err != nil {
		return err
	}
	if err = cs.RecvMsg(out); err == nil {
		// Trailers are there only once the stream has ended: read to its
		// end (io.EOF), or Trailer races the server's last frame.
		if err = cs.RecvMsg(new(wrapperspb.StringValue)); err == io.EOF {
			err = nil
		} else if err == nil {
			err = fmt.Errorf("the stream sent a second message")
		}
	}
	*trailer = cs.Trailer()
	return err
}

// peerTLS is server credentials that do no handshake but report every
// connection as TLS with state: the suite's stand-in for a client that
// authenticated with a certificate.
type peerTLS struct{ state tls.ConnectionState }

func (p peerTLS) ServerHandshake(c net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return c, credentials.TLSInfo{State: p.state, CommonAuthInfo: credentials.CommonAuthInfo{SecurityLevel: credentials.PrivacyAndIntegrity}}, nil
}

func (peerTLS) ClientHandshake(context.Context, string, net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return nil, nil, fmt.Errorf("peerTLS is for servers")
}

func (peerTLS) Info() credentials.ProtocolInfo {
	return credentials.ProtocolInfo{SecurityProtocol: "tls"}
}

func (p peerTLS) Clone() credentials.TransportCredentials { return p }

func (peerTLS) OverrideServerName(string) error { return nil }
