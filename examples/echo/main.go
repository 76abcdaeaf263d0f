// Command echo is the echo v4 version of examples/nethttp: the same routes,
// scopes, JSON answer and environment contract (see
// internal/envconfig).
//
//	TOKENGATE_ISSUER=https://as.example.com TOKENGATE_BEARER_TOKEN=… go run ./examples/echo
package main

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/tokengate/tokengate/examples/internal/orders"
	tgecho "github.com/tokengate/tokengate/middleware/echo"
	"github.com/tokengate/tokengate/rs"
)

func main() {
	orders.Run("echo", newHandler)
}

func newHandler(guard *rs.Guard) http.Handler {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	api := e.Group("", tgecho.MustNew(tgecho.Config{Guard: guard}))
	api.GET(orders.Path, answer, tgecho.RequireScopes(guard, orders.Read))
	api.POST(orders.Path, answer, tgecho.RequireScopes(guard, orders.Write))
	return e
}

func answer(c echo.Context) error {
	p, _ := tgecho.Principal(c) // never nil behind RequireScopes
	return c.JSON(http.StatusOK, orders.AnswerFor(p))
}
