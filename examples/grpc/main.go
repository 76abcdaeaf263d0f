// Command grpc is a gRPC API protected by tokengate: the service
// orders.v1.OrderService (ordersv1/orders.proto), whose ListOrders needs
// the scope orders:read and CreateOrder orders:write, both answering with
// the caller. The health service and server reflection are public, so
// probes and grpcurl work without a token:
//
//	grpcurl -plaintext localhost:8080 list
//	grpcurl -plaintext -H "authorization: Bearer $TOKEN" localhost:8080 orders.v1.OrderService/ListOrders
//
// It is configured only from the environment, like the HTTP examples (see
// internal/envconfig), ADDR being the address it listens on:
//
//	TOKENGATE_INTROSPECTION_URL=https://as.example.com/introspect \
//	TOKENGATE_CLIENT_ID=api TOKENGATE_CLIENT_SECRET=s3cret \
//	TOKENGATE_AUDIENCE=https://api.example.com \
//	go run ./examples/grpc
//
// A missing or contradictory setting is reported and the command exits with
// status 2. The RFC 9728 metadata document, which the HTTP examples serve,
// has no gRPC counterpart and is not served.
package main

import (
	"context"
	"log/slog"
	"net"
	"strconv"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	"github.com/tokengate/tokengate/examples/grpc/ordersv1"
	"github.com/tokengate/tokengate/examples/internal/orders"
	"github.com/tokengate/tokengate/internal/envconfig"
	tggrpc "github.com/tokengate/tokengate/middleware/grpc"
	"github.com/tokengate/tokengate/rs"
	"github.com/tokengate/tokengate/scopes"
)

func main() {
	orders.RunServer("grpc", serve)
}

// serve serves the API on ln until ctx is done, then stops gracefully.
func serve(ctx context.Context, _ *slog.Logger, svc *envconfig.Service, ln net.Listener) error {
	srv, err := newServer(svc.Guard)
	if err != nil {
		return err
	}
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		<-ctx.Done()
		srv.GracefulStop()
	}()
	err = srv.Serve(ln)
	<-stopped
	return err
}

// newServer is the protected server: every method of the order service
// has its scope, the health and reflection services are public, and the
// interceptors refuse anything else.
func newServer(guard *rs.Guard) (*grpc.Server, error) {
	auth, err := tggrpc.New(tggrpc.Config{
		Guard: guard,
		Methods: map[string]scopes.Requirement{
			ordersv1.OrderService_ListOrders_FullMethodName:  orders.Read,
			ordersv1.OrderService_CreateOrder_FullMethodName: orders.Write,
		},
		Public: tggrpc.HealthAndReflection(),
	})
	if err != nil {
		return nil, err
	}
	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(auth.Unary), grpc.ChainStreamInterceptor(auth.Stream))
	ordersv1.RegisterOrderServiceServer(srv, &orderService{})
	healthpb.RegisterHealthServer(srv, health.NewServer())
	reflection.Register(srv)
	if err := auth.CheckCoverage(srv); err != nil {
		return nil, err
	}
	return srv, nil
}

// orderService answers with the caller; it keeps no orders.
type orderService struct {
	ordersv1.UnimplementedOrderServiceServer
	last atomic.Int64 // the id of the last order created
}

func (*orderService) ListOrders(ctx context.Context, _ *ordersv1.ListOrdersRequest) (*ordersv1.ListOrdersResponse, error) {
	return &ordersv1.ListOrdersResponse{Caller: caller(ctx)}, nil
}

func (s *orderService) CreateOrder(ctx context.Context, req *ordersv1.CreateOrderRequest) (*ordersv1.CreateOrderResponse, error) {
	id := strconv.FormatInt(s.last.Add(1), 10)
	return &ordersv1.CreateOrderResponse{Caller: caller(ctx), Order: &ordersv1.Order{Id: id, Item: req.GetItem(), Quantity: req.GetQuantity()}}, nil
}

// caller describes the principal the interceptor put in ctx.
func caller(ctx context.Context) *ordersv1.Caller {
	p, _ := rs.PrincipalFrom(ctx) // never nil behind the interceptor's requirements
	a := orders.AnswerFor(p)
	return &ordersv1.Caller{Subject: a.Subject, ClientId: a.ClientID, Scopes: a.Scopes}
}
