// Package nethttp protects net/http handlers with an OAuth 2.0 bearer token
// (RFC 6750): the middleware has an [rs.Guard] validate the token, answers
// failures with RFC 6750 §3 challenges written by the guard, and stores the
// accepted [rs.Principal] in the request context, where handlers read it
// with [rs.PrincipalFrom].
//
// The middleware has the standard func(http.Handler) http.Handler shape, so
// it wraps a whole http.ServeMux (Go 1.22 patterns included), one route, or
// a chi router (r.Use(mw), r.With(nethttp.RequireScopes(g, req))).
//
//	protect := nethttp.MustNew(nethttp.Config{Guard: guard})
//	mux.Handle("GET /api/orders", nethttp.RequireScopes(guard, scopes.All("orders:read"))(http.HandlerFunc(listOrders)))
//	http.ListenAndServe(addr, protect(mux))
//
// With rs.Config.AllowAnonymous a request without token passes with no
// principal, while a malformed or invalid token is still rejected.
package nethttp
