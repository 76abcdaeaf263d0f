package conformance_test

import (
	"net/http"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/labstack/echo/v4"

	tgecho "github.com/tokengate/tokengate/middleware/echo"
	tggin "github.com/tokengate/tokengate/middleware/gin"
	"github.com/tokengate/tokengate/middleware/internal/conformance"
	"github.com/tokengate/tokengate/middleware/nethttp"
	"github.com/tokengate/tokengate/rs"
	"github.com/tokengate/tokengate/scopes"
)

// adapters is every framework adapter; adding one is one line here.
var adapters = []conformance.Adapter{
	{Name: "net/http", Build: netHTTP, Bare: bareNetHTTP},
	{Name: "echo", Build: echoV4, Bare: bareEcho},
	{Name: "gin", Build: ginV1, Bare: bareGin},
}

func TestConformance(t *testing.T) { conformance.Run(t, adapters...) }

func netHTTP(g *rs.Guard, req scopes.Requirement, final http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", final)
	return nethttp.MustNew(nethttp.Config{Guard: g, Require: req})(mux)
}

func echoV4(g *rs.Guard, req scopes.Requirement, final http.Handler) http.Handler {
	e := echo.New()
	e.Any("/*", func(c echo.Context) error {
		p, ok := tgecho.Principal(c)
		if q, qok := rs.PrincipalFrom(c.Request().Context()); p != q || ok != qok {
			return c.String(http.StatusInternalServerError, "tgecho.Principal and rs.PrincipalFrom disagree")
		}
		final.ServeHTTP(c.Response(), c.Request())
		return nil
	}, tgecho.MustNew(tgecho.Config{Guard: g, Require: req}))
	return e
}

func ginV1(g *rs.Guard, req scopes.Requirement, final http.Handler) http.Handler {
	gin.SetMode(gin.TestMode)
	r := gin.New()
	r.Any("/*path", tggin.MustNew(tggin.Config{Guard: g, Require: req}), func(c *gin.Context) {
		p, ok := tggin.Principal(c)
		if q, qok := rs.PrincipalFrom(c.Request.Context()); p != q || ok != qok {
			c.String(http.StatusInternalServerError, "tggin.Principal and rs.PrincipalFrom disagree")
			return
		}
		final.ServeHTTP(c.Writer, c.Request)
	})
	return r
}

func bareNetHTTP(final http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", final)
	return mux
}

func bareEcho(final http.Handler) http.Handler {
	e := echo.New()
	e.Any("/*", func(c echo.Context) error {
		final.ServeHTTP(c.Response(), c.Request())
		return nil
	})
	return e
}

func bareGin(final http.Handler) http.Handler {
	gin.SetMode(gin.TestMode)
	r := gin.New()
	r.Any("/*path", func(c *gin.Context) { final.ServeHTTP(c.Writer, c.Request) })
	return r
}
