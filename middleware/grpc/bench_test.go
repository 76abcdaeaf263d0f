package grpc_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

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

// BenchmarkCall is a whole unary call over an in-memory connection, with
// and without the interceptor (the token's verdict cached): what the
// interceptor adds to a call as a client sees it.
func BenchmarkCall(b *testing.B) {
	g, calls := cachedGuard(b)
	i := tggrpc.MustNew(tggrpc.Config{Guard: g, Methods: map[string]scopes.Requirement{conformance.GRPCMethod: scopes.All("orders:read")}})
	for _, bc := range []struct {
		name string
		opts []grpc.ServerOption
	}{
		{"bare", nil},
		{"protected", []grpc.ServerOption{grpc.ChainUnaryInterceptor(i.Unary)}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			cc := conformance.ServeGRPC(b, nil, bc.opts...)
			ctx := metadata.NewOutgoingContext(context.Background(), metadata.Pairs("authorization", "Bearer cached-token"))
			out := new(wrapperspb.StringValue)
			if err := cc.Invoke(ctx, conformance.GRPCMethod, empty, out); err != nil {
				b.Fatal(err)
			}
			before := calls.Load()
			b.ReportAllocs()
			for b.Loop() {
				if err := cc.Invoke(ctx, conformance.GRPCMethod, empty, out); err != nil {
					b.Fatal(err)
				}
			}
			if calls.Load() != before {
				b.Fatal("the AS was asked during the benchmark: not a cache hit")
			}
		})
	}
}
