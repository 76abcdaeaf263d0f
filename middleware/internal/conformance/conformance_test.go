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
)

// adapters is every framework adapter; adding one is one line here.
var adapters = []conformance.Adapter{
	{Name: "net/http", Build: netHTTP, Bare: bareNetHTTP},
	{Name: "echo", Build: echoV4, Bare: bareEcho},
	{Name: "gin", Build: ginV1, Bare: bareGin},
}

func TestConformance(t *testing.T) { conformance.Run(t, adapters...) }

func TestConstruction(t *testing.T) { conformance.RunConstruction(t, adapters...) }

func netHTTP(s conformance.Setup) (http.Handler, error) {
	final := s.Final
	if !s.Route.IsZero() {
		final = nethttp.RequireScopes(s.Guard, s.Route)(final)
	}
	mw, err := nethttp.New(nethttp.Config{
		Guard: s.Guard, Require: s.Require, Skipper: s.Skipper, ErrorHandler: s.ErrorHandler, SuccessHandler: s.SuccessHandler,
	})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/", final)
	return mw(mux), nil
}

func echoV4(s conformance.Setup) (http.Handler, error) {
	var route []echo.MiddlewareFunc
	if !s.Route.IsZero() {
		route = append(route, tgecho.RequireScopes(s.Guard, s.Route))
	}
	cfg := tgecho.Config{Guard: s.Guard, Require: s.Require}
	if s.Skipper != nil {
		cfg.Skipper = func(c echo.Context) bool { return s.Skipper(c.Request()) }
	}
	if s.ErrorHandler != nil {
		cfg.ErrorHandler = func(c echo.Context, err error) error { s.ErrorHandler(c.Response(), c.Request(), err); return nil }
	}
	if s.SuccessHandler != nil {
		cfg.SuccessHandler = func(c echo.Context) error { return s.SuccessHandler(c.Response(), c.Request()) }
	}
	mw, err := tgecho.New(cfg)
	if err != nil {
		return nil, err
	}
	e := echo.New()
	e.Use(mw)
	e.Any("/*", func(c echo.Context) error {
		p, ok := tgecho.Principal(c)
		if q, qok := rs.PrincipalFrom(c.Request().Context()); p != q || ok != qok {
			return c.String(http.StatusInternalServerError, "tgecho.Principal and rs.PrincipalFrom disagree")
		}
		s.Final.ServeHTTP(c.Response(), c.Request())
		return nil
	}, route...)
	return e, nil
}

func ginV1(s conformance.Setup) (http.Handler, error) {
	var route []gin.HandlerFunc
	if !s.Route.IsZero() {
		route = append(route, tggin.RequireScopes(s.Guard, s.Route))
	}
	cfg := tggin.Config{Guard: s.Guard, Require: s.Require}
	if s.Skipper != nil {
		cfg.Skipper = func(c *gin.Context) bool { return s.Skipper(c.Request) }
	}
	if s.ErrorHandler != nil {
		cfg.ErrorHandler = func(c *gin.Context, err error) { s.ErrorHandler(c.Writer, c.Request, err) }
	}
	if s.SuccessHandler != nil {
		cfg.SuccessHandler = func(c *gin.Context) error { return s.SuccessHandler(c.Writer, c.Request) }
	}
	mw, err := tggin.New(cfg)
	if err != nil {
		return nil, err
	}
	gin.SetMode(gin.TestMode)
	r := gin.New()
	r.Use(mw)
	r.Any("/*path", append(route, func(c *gin.Context) {
		p, ok := tggin.Principal(c)
		if q, qok := rs.PrincipalFrom(c.Request.Context()); p != q || ok != qok {
			c.String(http.StatusInternalServerError, "tggin.Principal and rs.PrincipalFrom disagree")
			return
		}
		s.Final.ServeHTTP(c.Writer, c.Request)
	})...)
	return r, nil
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
