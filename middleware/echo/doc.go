// Package echo protects echo v4 routes with an OAuth 2.0 bearer token
// (RFC 6750). It is a thin adapter over [rs.Guard]: answers, headers and
// bodies are byte for byte those of the net/http middleware.
//
//	import tgecho "github.com/tokengate/tokengate/middleware/echo"
//
//	api := e.Group("/api", tgecho.MustNew(tgecho.Config{Guard: guard}))
//	api.GET("/orders", list, tgecho.RequireScopes(guard, scopes.All("orders:read")))
//
// Handlers read the caller with [Principal](c) or
// rs.PrincipalFrom(c.Request().Context()).
package echo
