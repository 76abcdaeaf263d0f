package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	"github.com/tokengate/tokengate/examples/grpc/ordersv1"
	"github.com/tokengate/tokengate/examples/internal/orders"
	"github.com/tokengate/tokengate/rs"
	"github.com/tokengate/tokengate/rs/rstest"
)

// dial returns a client of the server at addr, closed with the test.
func dial(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

// TestServer is the examples' handler test over gRPC: the same tokens get
// the same answers as from the HTTP examples (orderstest.CheckHandler),
// as status codes with the challenge in a trailer.
func TestServer(t *testing.T) {
	exp := time.Now().Add(time.Hour)
	guard, err := rs.New(rs.Config{
		Introspector: rstest.Introspector{
			"reader": {Response: rstest.Active("alice", "cli", "orders:read", exp, "https://api.example.com")},
			"writer": {Response: rstest.Active("bob", "cli", "orders:write orders:read", exp, "https://api.example.com")},
			"none":   {Response: rstest.Active("carol", "cli", "", exp, "https://api.example.com")},
		},
		Audiences: []string{"https://api.example.com"},
		Realm:     "tokengate example",
		Logger:    slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := newServer(guard)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	cc := dial(t, ln.Addr().String())
	client := ordersv1.NewOrderServiceClient(cc)

	const realm = `Bearer realm="tokengate example"`
	tests := []struct {
		name, method, token string
		code                codes.Code
		caller              string // for OK: subject and scopes
		challenge           string
	}{
		{name: "list", method: "list", token: "reader", code: codes.OK, caller: "alice [orders:read]"},
		{name: "create", method: "create", token: "writer", code: codes.OK, caller: "bob [orders:read orders:write]"},
		{
			name: "create without scope", method: "create", token: "reader", code: codes.PermissionDenied,
			challenge: realm + `, error="insufficient_scope", error_description="the access token lacks the required scope: orders:write", scope="orders:write"`,
		},
		{
			name: "no scopes at all", method: "list", token: "none", code: codes.PermissionDenied,
			challenge: realm + `, error="insufficient_scope", error_description="the access token lacks the required scope: orders:read", scope="orders:read"`,
		},
		{name: "no token", method: "list", code: codes.Unauthenticated, challenge: realm},
		{
			name: "unknown token", method: "list", token: "forged", code: codes.Unauthenticated,
			challenge: realm + `, error="invalid_token", error_description="the access token is not active"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			if tt.token != "" {
				ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tt.token)
			}
			var trailer metadata.MD
			var caller *ordersv1.Caller
			if tt.method == "list" {
				resp, err := client.ListOrders(ctx, &ordersv1.ListOrdersRequest{}, grpc.Trailer(&trailer))
				caller = resp.GetCaller()
				expect(t, err, tt.code)
			} else {
				resp, err := client.CreateOrder(ctx, &ordersv1.CreateOrderRequest{Item: "tea", Quantity: 2}, grpc.Trailer(&trailer))
				caller = resp.GetCaller()
				expect(t, err, tt.code)
				if err == nil && (resp.GetOrder().GetItem() != "tea" || resp.GetOrder().GetQuantity() != 2 || resp.GetOrder().GetId() == "") {
					t.Errorf("order %v", resp.GetOrder())
				}
			}
			if got := fmt.Sprintf("%s %v", caller.GetSubject(), caller.GetScopes()); tt.caller != "" && got != tt.caller {
				t.Errorf("caller %q, want %q", got, tt.caller)
			}
			if got := strings.Join(trailer.Get("www-authenticate"), "|"); got != tt.challenge {
				t.Errorf("www-authenticate %q, want %q", got, tt.challenge)
			}
		})
	}

	t.Run("health is public", func(t *testing.T) {
		resp, err := healthpb.NewHealthClient(cc).Check(t.Context(), &healthpb.HealthCheckRequest{})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("health check: %v, %v", resp, err)
		}
	})
	t.Run("reflection is public", func(t *testing.T) {
		if got := listServices(t, cc); !slices.Contains(got, "orders.v1.OrderService") {
			t.Errorf("reflection lists %v, want orders.v1.OrderService among them", got)
		}
	})
}

// expect fails t unless err has code want.
func expect(t *testing.T, err error, want codes.Code) {
	t.Helper()
	if got := status.Code(err); got != want {
		t.Errorf("code %v (%v), want %v", got, err, want)
	}
}

// listServices asks server reflection, as grpcurl list does.
func listServices(t *testing.T, cc *grpc.ClientConn) []string {
	t.Helper()
	stream, err := reflectionpb.NewServerReflectionClient(cc).ServerReflectionInfo(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	return names
}

// TestEnvironmentContract runs the command's Main as the HTTP examples'
// is run: configured from the environment, checking the authorization
// server at start, listening on ADDR, and stopping cleanly.
func TestEnvironmentContract(t *testing.T) {
	as := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, secret, ok := r.BasicAuth()
		if r.Method != "POST" || r.URL.Path != "/introspect" || !ok || id != "api" || secret != "s3cret" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if r.PostFormValue("token") != "good" {
			io.WriteString(w, `{"active":false}`)
			return
		}
		fmt.Fprintf(w, `{"active":true,"sub":"alice","client_id":"cli","scope":"orders:read","aud":"https://api.example.com","exp":%d}`, time.Now().Add(time.Hour).Unix())
	}))
	defer as.Close()
	env := map[string]string{
		"TOKENGATE_INTROSPECTION_URL": as.URL + "/introspect",
		"TOKENGATE_CLIENT_ID":         "api", "TOKENGATE_CLIENT_SECRET": "s3cret",
		"TOKENGATE_AUDIENCE": "https://api.example.com",
		"ADDR":               "127.0.0.1:0",
	}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- orders.MainServer(ctx, "grpc", func(k string) string { return env[k] }, pw, serve)
		pw.Close()
	}()
	addrc, logs := make(chan string, 1), make(chan string, 1)
	go func() {
		var all strings.Builder
		listening := regexp.MustCompile(`msg=listening example=grpc addr=(\S+)`)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			all.WriteString(sc.Text() + "\n")
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				addrc <- m[1]
			}
		}
		close(addrc)
		logs <- all.String()
	}()
	addr, ok := <-addrc
	if !ok {
		t.Fatalf("Main stopped before it listened:\n%s", <-logs)
	}
	client := ordersv1.NewOrderServiceClient(dial(t, addr))
	resp, err := client.ListOrders(metadata.AppendToOutgoingContext(t.Context(), "authorization", "Bearer good"), &ordersv1.ListOrdersRequest{})
	if err != nil || resp.GetCaller().GetSubject() != "alice" {
		t.Errorf("ListOrders with a good token: %v, %v", resp, err)
	}
	if _, err := client.ListOrders(t.Context(), &ordersv1.ListOrdersRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("ListOrders without token: %v", err)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("exit code %d after a clean stop; output:\n%s", code, <-logs)
	}
}
