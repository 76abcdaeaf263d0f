// Package grpc protects gRPC services with OAuth 2.0 access tokens, with
// the rules and answers of package rs: its unary and stream server
// interceptors have an [rs.Guard] check the token of each call
// (RFC 6750 §2.1, carried in the "authorization" metadata), refuse a call
// with the gRPC status that matches the HTTP answer, and put the accepted
// [rs.Principal] in the handler's context, where [rs.PrincipalFrom] finds
// it. Its name is google.golang.org/grpc's; import it as tggrpc:
//
//	auth, err := tggrpc.New(tggrpc.Config{
//		Guard: guard,
//		Methods: map[string]scopes.Requirement{
//			"/orders.v1.OrderService/ListOrders":  scopes.All("orders:read"),
//			"/orders.v1.OrderService/CreateOrder": scopes.All("orders:write"),
//		},
//		Public: tggrpc.HealthAndReflection(),
//	})
//	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(auth.Unary), grpc.ChainStreamInterceptor(auth.Stream))
//
// # Every method has a rule
//
// A call to a method that Config.Methods does not name, and that
// Config.Public does not list, is refused with PermissionDenied: a method
// added to the server without a rule is closed, not open.
// [Interceptor.CheckCoverage] finds such methods, and rules naming no
// method (a typo), at start-up.
//
// # Answers
//
// The guard decides; this package only translates its answer
// ([rs.Guard.Reject]) into a status, whose message is the answer's
// error_description, and trailers:
//
//	no token, invalid token, bad DPoP proof  Unauthenticated   www-authenticate: Bearer realm="api"[, error="invalid_token", …]
//	missing scope                            PermissionDenied  www-authenticate: Bearer realm="api", error="insufficient_scope", …, scope="orders:write"
//	malformed request                        InvalidArgument   www-authenticate: Bearer realm="api", error="invalid_request", …
//	authorization server unavailable         Unavailable       retry-after: 5, grpc-retry-pushback-ms: 5000
//
// The www-authenticate trailer is the RFC 6750 §3 challenge the HTTP
// adapters send, byte for byte, so that clients and proxies can read the
// error and the required scope. On Unavailable, grpc-retry-pushback-ms is
// the retry hint gRPC clients with a retry policy honour (gRFC A6), and
// retry-after the HTTP one in seconds.
//
// # DPoP and mTLS
//
// With rs.Config.DPoP, "authorization: DPoP <token>" needs exactly one
// proof in the "dpop" metadata (RFC 9449). A gRPC call is an HTTP/2 POST
// to its full method name, so the proof's htm is POST and its htu the URL
// of the method: "https://api.example.com/orders.v1.OrderService/ListOrders",
// the scheme being https on a TLS connection and the host the call's
// :authority. Config.URL says otherwise behind a proxy. With
// rs.Config.MTLS, the client certificate is the leaf of the connection's
// TLS peer certificates (credentials.TLSInfo).
package grpc
