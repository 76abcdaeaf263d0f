package echo_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/labstack/echo/v4"

	tgecho "github.com/tokengate/tokengate/middleware/echo"
	"github.com/tokengate/tokengate/rs"
	"github.com/tokengate/tokengate/rs/rstest"
	"github.com/tokengate/tokengate/scopes"
)

func ExampleNew() {
	// In production the Introspector is what introspect.New returns.
	fakeAS := rstest.Introspector{
		"tok-alice": {Response: rstest.Active("alice", "shop", "orders:read", time.Now().Add(time.Hour), "https://api.example.com")},
	}
	guard, err := rs.New(rs.Config{Introspector: fakeAS, Audiences: []string{"https://api.example.com"}, Realm: "orders"})
	if err != nil {
		panic(err)
	}

	e := echo.New()
	api := e.Group("/api", tgecho.MustNew(tgecho.Config{Guard: guard}))
	api.GET("/orders", func(c echo.Context) error {
		p, _ := tgecho.Principal(c)
		return c.String(http.StatusOK, "orders of "+p.Subject)
	}, tgecho.RequireScopes(guard, scopes.All("orders:read")))

	for _, auth := range []string{"Bearer tok-alice", "Bearer tok-mallory"} {
		r := httptest.NewRequest("GET", "/api/orders", nil)
		r.Header.Set("Authorization", auth)
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, r)
		fmt.Println(rec.Code, rec.Header().Get("WWW-Authenticate"), rec.Body)
	}
	// Output:
	// 200  orders of alice
	// 401 Bearer realm="orders", error="invalid_token", error_description="the access token is not active" {"error":"invalid_token","error_description":"the access token is not active"}
}
