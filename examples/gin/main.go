// Command gin is the gin version of examples/nethttp: the same routes,
// scopes, JSON answer and environment contract (see
// internal/envconfig).
//
//	TOKENGATE_ISSUER=https://as.example.com TOKENGATE_BEARER_TOKEN=… go run ./examples/gin
package main

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/tokengate/tokengate/examples/internal/orders"
	tggin "github.com/tokengate/tokengate/middleware/gin"
	"github.com/tokengate/tokengate/rs"
)

func main() {
	gin.SetMode(gin.ReleaseMode)
	orders.Run("gin", newHandler)
}

func newHandler(guard *rs.Guard) http.Handler {
	r := gin.New()
	r.Use(gin.Recovery(), tggin.MustNew(tggin.Config{Guard: guard}))
	r.GET(orders.Path, tggin.RequireScopes(guard, orders.Read), answer)
	r.POST(orders.Path, tggin.RequireScopes(guard, orders.Write), answer)
	return r
}

func answer(c *gin.Context) {
	p, _ := tggin.Principal(c) // never nil behind RequireScopes
	c.JSON(http.StatusOK, orders.AnswerFor(p))
}
