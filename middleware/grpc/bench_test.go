package grpc_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/tokengate/tokengate/introspect"
	tggrpc "github.com/tokengate/tokengate/middleware/grpc"
	"github.com/tokengate/tokengate/middleware/internal/conformance"
	"github.com/tokengate/tokengate/rs"
	"github.com/tokengate/tokengate/scopes"
)

// cachedGuard is a guard over a real introspect.New whose authorization
// server is an httptest server; calls counts the AS's answers, so that a
// benchmark can prove it only hit the cache.
func cachedGuard(b *testing.B) (*rs.Guard, *atomic.Int64) {
	calls := new(atomic.Int64)
	as := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"active":true,"sub":"alice","client_id":"shop","scope":"orders:read profile","aud":"https://api.example.com","exp":%d}`,
			time.Now().Add(time.Hour).Unix())
	}))
	b.Cleanup(as.Close)
	client, err := introspect.New(introspect.Config{IntrospectionURL: as.URL, ClientID: "api", ClientSecret: "s", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	g, err := rs.New(rs.Config{Introspector: client, Audiences: []string{"https://api.example.com"}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	return g, calls
}

var empty = new(emptypb.Empty)

func answer(context.Context, any) (any, error) { return empty, nil }

func passThrough(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	return h(ctx, req)
}

// BenchmarkUnaryBare is the baseline of BenchmarkUnary: the unary handler
// called directly.
func BenchmarkUnaryBare(b *testing.B) {
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer cached-token"))
	b.ReportAllocs()
	for b.Loop() {
		_, _ = answer(ctx, empty)
	}
}

// BenchmarkUnary is the interceptor in front of the same handler, the
// token's verdict in the introspection cache: reading the metadata, the
// guard's decision on a cache hit, the principal in the context.
func BenchmarkUnary(b *testing.B) {
	g, calls := cachedGuard(b)
	i := tggrpc.MustNew(tggrpc.Config{Guard: g, Methods: map[string]scopes.Requirement{conformance.GRPCMethod: scopes.All("orders:read")}})
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer cached-token"))
	info := &grpc.UnaryServerInfo{FullMethod: conformance.GRPCMethod}
	if _, err := i.Unary(ctx, empty, info, answer); err != nil { // warm the cache
		b.Fatal(err)
	}
	before := calls.Load()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := i.Unary(ctx, empty, info, answer); err != nil {
			b.Fatal(err)
		}
	}
	if calls.Load() != before {
		b.Fatal("the AS was asked during the benchmark: not a cache hit")
	}
}

// BenchmarkCall is a whole unary call over an in-memory connection,
// without interceptor, with one that does nothing (what grpc-go itself
// adds for any interceptor) and with this package's (the token's verdict
// cached): what protecting a method adds to a call as a client sees it.
// The method answers an empty message whoever calls.
func BenchmarkCall(b *testing.B) {
	g, calls := cachedGuard(b)
	const method = "/bench.v1.Empty/Call"
	i := tggrpc.MustNew(tggrpc.Config{Guard: g, Methods: map[string]scopes.Requirement{method: scopes.All("orders:read")}})
	for _, bc := range []struct {
		name string
		opts []grpc.ServerOption
	}{
		{"bare", nil},
		{"noop-interceptor", []grpc.ServerOption{grpc.ChainUnaryInterceptor(passThrough)}},
		{"protected", []grpc.ServerOption{grpc.ChainUnaryInterceptor(i.Unary)}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			cc := serveEmpty(b, bc.opts...)
			ctx := metadata.NewOutgoingContext(context.Background(), metadata.Pairs("authorization", "Bearer cached-token"))
			out := new(emptypb.Empty)
			if err := cc.Invoke(ctx, method, empty, out); err != nil {
				b.Fatal(err)
			}
			before := calls.Load()
			b.ReportAllocs()
			for b.Loop() {
				if err := cc.Invoke(ctx, method, empty, out); err != nil {
					b.Fatal(err)
				}
			}
			if calls.Load() != before {
				b.Fatal("the AS was asked during the benchmark: not a cache hit")
			}
		})
	}
}

// serveEmpty serves /bench.v1.Empty/Call, which answers an empty message,
// on an in-memory listener, and returns a client of it.
func serveEmpty(b *testing.B, opts ...grpc.ServerOption) *grpc.ClientConn {
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(opts...)
	srv.RegisterService(&grpc.ServiceDesc{ServiceName: "bench.v1.Empty", HandlerType: (*any)(nil), Methods: []grpc.MethodDesc{{
		MethodName: "Call",
		Handler: func(_ any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
			if err := dec(new(emptypb.Empty)); err != nil {
				return nil, err
			}
			if ic == nil {
				return answer(ctx, nil)
			}
			return ic(ctx, nil, &grpc.UnaryServerInfo{FullMethod: "/bench.v1.Empty/Call"}, answer)
		},
	}}}, nil)
	go func() { _ = srv.Serve(lis) }()
	b.Cleanup(srv.Stop)
	cc, err := grpc.NewClient("passthrough:///bench", grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cc.Close() })
	return cc
}
