// Package proxy puts the token check of package rs in front of any HTTP
// service, whatever it is written in: as a reverse proxy, or as the
// forward-auth endpoint that nginx auth_request, Traefik forwardAuth and
// Envoy ext_authz (HTTP) ask about each request. It is the core of
// "tokengate proxy".
//
//	guard, _ := rs.New(rs.Config{Introspector: verifier, Audiences: []string{"https://api.example.com"}})
//	read, _ := proxy.ParseRoute("GET /api/orders orders:read")
//	write, _ := proxy.ParseRoute("POST /api/orders orders:write")
//	p, err := proxy.New(proxy.Config{Guard: guard, Routes: []proxy.Route{read, write}, Upstream: upstreamURL})
//	http.ListenAndServe(addr, p)
//
// # Routes
//
// A route is an [net/http.ServeMux] pattern without host ("GET /api/orders",
// "/static/") and the scopes a token must grant (RFC 6750 §3.1
// insufficient_scope when it does not), or Public for no token at all. A
// request matching no route is refused with 403 unless Config.DefaultAllow
// lets it through with any valid token. A path that is not canonical
// ("//", "." or ".." segments, an escaped slash or backslash) is refused
// with 400 before matching, since the upstream might resolve it to another
// route than the one it matched here.
//
// # Identity
//
// An authorised request reaches the upstream with X-Auth-Subject,
// X-Auth-Client-Id and X-Auth-Scope (a forward-auth answer carries them
// for the proxy to copy). Every X-Auth-* header the client sent is removed
// first, in any letter case and with underscores for hyphens (which CGI and
// WSGI read as the same name), so that the upstream can believe the ones it
// gets. The Authorization header is kept unless Config.StripAuthorization.
//
// # Answers
//
// A refusal of the token is the guard's RFC 6750 answer (401, 403, 400, or
// 503 with Retry-After when the authorization server cannot say). The proxy's
// own refusals are plain text: 403 for no route, 400 for a path that is not
// canonical, 502 and 504 when the upstream fails or is too slow.
//
// # Streams and WebSockets
//
// Bodies are streamed both ways without buffering, and a response without
// length (chunked, or Server-Sent Events) is flushed as it comes. A protocol
// switch (a WebSocket upgrade) is passed through once the upgrade request has
// been authorised. Once forwarded, a request is bounded by idle timeouts
// rather than by the server's whole-request ones: Config.IdleTimeout for
// every byte in either direction, Config.UpstreamTimeout for the upstream's
// response headers.
//
// # Forward authentication
//
// With Config.AuthOnly the Proxy answers instead of forwarding: 200 with the
// identity headers, or the guard's refusal. It reads the original request
// from X-Original-Method and X-Original-URI (nginx), or X-Forwarded-Method
// and X-Forwarded-Uri (Traefik), or takes the request itself for one (Envoy,
// which sends the original method and path), and it answers only the
// addresses in Config.TrustedProxies. A call with both pairs is refused with
// 400: each proxy sets its own pair and passes the client's headers on, so
// the other pair would be the client's choice of what is checked. (Envoy
// passes on only the headers its allowed_headers names: leave these out.)
// nginx passes on only 401 and 403 from
// auth_request; the README shows the configuration that passes on 400 and
// 503 with its Retry-After too.
package proxy
