package conformance_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	tggrpc "github.com/tokengate/tokengate/middleware/grpc"
	"github.com/tokengate/tokengate/middleware/internal/conformance"
	"github.com/tokengate/tokengate/scopes"
)

// TestConformanceGRPC is the gRPC column: every case, as a unary and a
// streaming call through middleware/grpc.
func TestConformanceGRPC(t *testing.T) {
	if err := conformance.CheckGRPCColumn(); err != nil {
		t.Fatal(err)
	}
	conformance.RunGRPC(t, grpcInterceptors)
}

// grpcInterceptors translates a case's setup: Require is the requirement
// of the suite's methods, Route a second interceptor of the same guard
// nested inside, a Skipper that skips the case's request makes them
// public, and the HTTP hooks run on a recorder, whose X-Hook header
// becomes the x-hook trailer.
func grpcInterceptors(s conformance.GRPCSetup) ([]grpc.ServerOption, error) {
	methods := func(req scopes.Requirement) map[string]scopes.Requirement {
		return map[string]scopes.Requirement{conformance.GRPCMethod: req, conformance.GRPCStreamMethod: req}
	}
	var inner *tggrpc.Interceptor
	if !s.Route.IsZero() {
		inner = tggrpc.MustNew(tggrpc.Config{Guard: s.Guard, Methods: methods(s.Route)})
	}
	cfg := tggrpc.Config{Guard: s.Guard, Methods: methods(s.Require)}
	if s.Skipper != nil && s.Skipper(s.Request) {
		cfg.Methods, cfg.Public = nil, []string{"/conformance.v1.Orders/*"}
	}
	if s.ErrorHandler != nil {
		cfg.ErrorHandler = func(ctx context.Context, err error) error {
			hook(ctx, func(w http.ResponseWriter) { s.ErrorHandler(w, s.Request.WithContext(ctx), err) })
			return nil
		}
	}
	if s.SuccessHandler != nil {
		cfg.SuccessHandler = func(ctx context.Context) (err error) {
			hook(ctx, func(w http.ResponseWriter) { err = s.SuccessHandler(w, s.Request.WithContext(ctx)) })
			return err
		}
	}
	outer, err := tggrpc.New(cfg)
	if err != nil {
		return nil, err
	}
	unary, stream := []grpc.UnaryServerInterceptor{outer.Unary}, []grpc.StreamServerInterceptor{outer.Stream}
	if inner != nil {
		unary, stream = append(unary, inner.Unary), append(stream, inner.Stream)
	}
	return []grpc.ServerOption{grpc.ChainUnaryInterceptor(unary...), grpc.ChainStreamInterceptor(stream...)}, nil
}

// hook runs an HTTP hook on a recorder and sends its X-Hook header as the
// x-hook trailer.
func hook(ctx context.Context, run func(w http.ResponseWriter)) {
	rec := httptest.NewRecorder()
	run(rec)
	if v := rec.Header().Get("X-Hook"); v != "" {
		_ = grpc.SetTrailer(ctx, metadata.Pairs("x-hook", v))
	}
}
