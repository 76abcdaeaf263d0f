package grpc_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

	tggrpc "github.com/tokengate/tokengate/middleware/grpc"
	"github.com/tokengate/tokengate/middleware/internal/conformance"
	"github.com/tokengate/tokengate/rs"
	"github.com/tokengate/tokengate/scopes"
)

const (
	list  = conformance.GRPCMethod
	watch = conformance.GRPCStreamMethod
)

func guard(t testing.TB) *rs.Guard {
	t.Helper()
	g, err := rs.New(rs.Config{
		Introspector: conformance.Introspector(), Audiences: []string{"https://api.example.com"},
		Now: func() time.Time { return conformance.Now }, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// serve starts the suite's service behind interceptors for cfg (with the
// guard filled in).
func serve(t *testing.T, cfg tggrpc.Config) *grpc.ClientConn {
	t.Helper()
	cfg.Guard = guard(t)
	i, err := tggrpc.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return conformance.ServeGRPC(t, nil, grpc.ChainUnaryInterceptor(i.Unary), grpc.ChainStreamInterceptor(i.Stream))
}

var (
	reader    = metadata.Pairs("authorization", "Bearer reader")
	expired   = metadata.Pairs("authorization", "Bearer expired")
	anonymous = `{"anonymous":true}`
	alice     = `{"subject":"alice","client_id":"shop","scopes":["orders:read","profile"]}` + "\n"
)

// TestRules: each method is decided by its own rule, a service's rule or
// its public marking, and a method without any is refused before its
// token is looked at.
func TestRules(t *testing.T) {
	cases := []struct {
		name   string
		cfg    tggrpc.Config
		method string
		md     metadata.MD
		code   codes.Code
		body   string
	}{
		{name: "method rule", cfg: tggrpc.Config{Methods: map[string]scopes.Requirement{list: scopes.All("orders:read")}}, method: list, md: reader, code: codes.OK, body: alice},
		{name: "no rule", cfg: tggrpc.Config{Methods: map[string]scopes.Requirement{list: {}}}, method: watch, md: reader, code: codes.PermissionDenied},
		{name: "no rule at all", method: list, md: reader, code: codes.PermissionDenied},
		{name: "service rule", cfg: tggrpc.Config{Methods: map[string]scopes.Requirement{"/conformance.v1.Orders/*": scopes.All("orders:write")}}, method: watch, md: reader, code: codes.PermissionDenied},
		{
			name: "method rule before service rule", method: list, md: reader, code: codes.OK, body: alice,
			cfg: tggrpc.Config{Methods: map[string]scopes.Requirement{"/conformance.v1.Orders/*": scopes.All("orders:write"), list: scopes.All("orders:read")}},
		},
		{name: "public method", cfg: tggrpc.Config{Public: []string{list}}, method: list, md: expired, code: codes.OK, body: anonymous},
		{name: "public service", cfg: tggrpc.Config{Public: []string{"/conformance.v1.Orders/*"}}, method: watch, code: codes.OK, body: anonymous},
		{
			name: "method rule in a public service", method: list, md: expired, code: codes.Unauthenticated,
			cfg: tggrpc.Config{Public: []string{"/conformance.v1.Orders/*"}, Methods: map[string]scopes.Requirement{list: {}}},
		},
		{name: "health and reflection are not everything", cfg: tggrpc.Config{Public: tggrpc.HealthAndReflection()}, method: list, code: codes.PermissionDenied},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := conformance.CallGRPC(t, serve(t, tc.cfg), tc.method, tc.md)
			if got.Code != tc.code || got.Body != tc.body {
				t.Errorf("got %v, want %v with body %q", got, tc.code, tc.body)
			}
			if tc.code == codes.PermissionDenied && !strings.Contains(tc.name, "service rule") && (got.Message != "no access rule for this method" || got.Challenge != "") {
				t.Errorf("refusal without rule: %v", got)
			}
		})
	}
}

// TestErrNoRuleReachesErrorHandler: the ErrorHandler sees why a method
// without rule is refused, and what it returns is the answer.
func TestErrNoRuleReachesErrorHandler(t *testing.T) {
	var seen error
	cc := serve(t, tggrpc.Config{ErrorHandler: func(ctx context.Context, err error) error {
		seen = err
		return status.Error(codes.NotFound, "nothing here")
	}})
	got := conformance.CallGRPC(t, cc, list, reader)
	if !errors.Is(seen, tggrpc.ErrNoRule) || !strings.Contains(seen.Error(), list) {
		t.Errorf("ErrorHandler saw %v", seen)
	}
	if got.Code != codes.NotFound {
		t.Errorf("answer %v, want the ErrorHandler's", got)
	}
}

func TestNew(t *testing.T) {
	g := guard(t)
	bad := []struct {
		name string
		cfg  tggrpc.Config
		want string
	}{
		{"no guard", tggrpc.Config{}, "Guard is required"},
		{"no leading slash", tggrpc.Config{Guard: g, Methods: map[string]scopes.Requirement{"orders.v1.OrderService/ListOrders": {}}}, "neither a full method name"},
		{"no method", tggrpc.Config{Guard: g, Methods: map[string]scopes.Requirement{"/orders.v1.OrderService/": {}}}, "neither a full method name"},
		{"no service", tggrpc.Config{Guard: g, Public: []string{"//ListOrders"}}, "neither a full method name"},
		{"three parts", tggrpc.Config{Guard: g, Public: []string{"/a/b/c"}}, "neither a full method name"},
		{"public and required", tggrpc.Config{Guard: g, Public: []string{list}, Methods: map[string]scopes.Requirement{list: {}}}, "both public and in Config.Methods"},
		{"public and required service", tggrpc.Config{Guard: g, Public: []string{"/a.B/*"}, Methods: map[string]scopes.Requirement{"/a.B/*": {}}}, "both public and in Config.Methods"},
	}
	for _, tc := range bad {
		if _, err := tggrpc.New(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: New = %v, want an error saying %q", tc.name, err, tc.want)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("MustNew without guard did not panic")
		}
	}()
	tggrpc.MustNew(tggrpc.Config{})
}

// TestCheckCoverage: at start-up, methods that every call would be
// refused on, and rules naming nothing, are reported.
func TestCheckCoverage(t *testing.T) {
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, health.NewServer())
	reflection.Register(srv)
	orders := &grpc.ServiceDesc{ServiceName: "orders.v1.OrderService", HandlerType: (*any)(nil), Methods: []grpc.MethodDesc{
		{MethodName: "ListOrders"}, {MethodName: "CreateOrder"},
	}}
	srv.RegisterService(orders, nil)
	check := func(cfg tggrpc.Config) error {
		cfg.Guard = guard(t)
		return tggrpc.MustNew(cfg).CheckCoverage(srv)
	}
	full := map[string]scopes.Requirement{"/orders.v1.OrderService/ListOrders": scopes.All("orders:read"), "/orders.v1.OrderService/CreateOrder": scopes.All("orders:write")}
	if err := check(tggrpc.Config{Methods: full, Public: tggrpc.HealthAndReflection()}); err != nil {
		t.Errorf("every method covered: %v", err)
	}
	if err := check(tggrpc.Config{Methods: map[string]scopes.Requirement{"/orders.v1.OrderService/*": {}}, Public: tggrpc.HealthAndReflection()}); err != nil {
		t.Errorf("a service rule: %v", err)
	}
	err := check(tggrpc.Config{Methods: map[string]scopes.Requirement{"/orders.v1.OrderService/ListOrder": {}}, Public: []string{"/grpc.health.v1.Health/*"}})
	for _, want := range []string{
		"no rule for /grpc.reflection.v1.ServerReflection/ServerReflectionInfo, /grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo, /orders.v1.OrderService/CreateOrder, /orders.v1.OrderService/ListOrders",
		"rules for what the server does not have: /orders.v1.OrderService/ListOrder",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckCoverage = %v, want it to say %q", err, want)
		}
	}
}
