// Package gin protects gin routes with an OAuth 2.0 bearer token (RFC 6750).
// It is a thin adapter over [rs.Guard]: answers, headers and bodies are byte
// for byte those of the net/http middleware. A rejected request is recorded
// with c.Error and aborted.
//
//	import tggin "github.com/tokengate/tokengate/middleware/gin"
//
//	api := r.Group("/api", tggin.MustNew(tggin.Config{Guard: guard}))
//	api.GET("/orders", tggin.RequireScopes(guard, scopes.All("orders:read")), list)
//
// Handlers read the caller with [Principal](c) or
// rs.PrincipalFrom(c.Request.Context()).
package gin
