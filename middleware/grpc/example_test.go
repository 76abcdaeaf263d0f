package grpc_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	tggrpc "github.com/tokengate/tokengate/middleware/grpc"
	"github.com/tokengate/tokengate/rs"
	"github.com/tokengate/tokengate/rs/rstest"
	"github.com/tokengate/tokengate/scopes"
)

// The health service stands in for your own: its Check method needs the
// scope ops:read, and its Watch method is public.
func ExampleNew() {
	guard, err := rs.New(rs.Config{
		Introspector: rstest.Introspector{ // in production, what introspect.New returns
			"tok-ops":    {Response: rstest.Active("alice", "dashboard", "ops:read", time.Now().Add(time.Hour), "https://api.example.com")},
			"tok-orders": {Response: rstest.Active("bob", "shop", "orders:read", time.Now().Add(time.Hour), "https://api.example.com")},
		},
		Audiences: []string{"https://api.example.com"},
	})
	if err != nil {
		log.Fatal(err)
	}
	auth, err := tggrpc.New(tggrpc.Config{
		Guard:   guard,
		Methods: map[string]scopes.Requirement{"/grpc.health.v1.Health/Check": scopes.All("ops:read")},
		Public:  []string{"/grpc.health.v1.Health/Watch", "/grpc.health.v1.Health/List"},
	})
	if err != nil {
		log.Fatal(err)
	}
	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(auth.Unary), grpc.ChainStreamInterceptor(auth.Stream))
	healthpb.RegisterHealthServer(srv, health.NewServer())
	if err := auth.CheckCoverage(srv); err != nil {
		log.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()

	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	client := healthpb.NewHealthClient(conn)
	for _, token := range []string{"", "tok-orders", "tok-ops"} {
		ctx := context.Background()
		if token != "" {
			ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
		}
		var trailer metadata.MD
		resp, err := client.Check(ctx, &healthpb.HealthCheckRequest{}, grpc.Trailer(&trailer))
		if err != nil {
			fmt.Println(status.Code(err), trailer.Get("www-authenticate"))
			continue
		}
		fmt.Println(resp.GetStatus())
	}
	// Output:
	// Unauthenticated [Bearer realm="api"]
	// PermissionDenied [Bearer realm="api", error="insufficient_scope", error_description="the access token lacks the required scope: ops:read", scope="ops:read"]
	// SERVING
}
