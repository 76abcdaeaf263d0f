package gin_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/gin-gonic/gin"

	tggin "github.com/tokengate/tokengate/middleware/gin"
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

	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	api := r.Group("/api", tggin.MustNew(tggin.Config{Guard: guard}))
	api.POST("/orders", tggin.RequireScopes(guard, scopes.All("orders:write")), func(c *gin.Context) {
		p, _ := tggin.Principal(c)
		c.String(http.StatusCreated, "order placed by "+p.Subject)
	})

	req := httptest.NewRequest("POST", "/api/orders", nil)
	req.Header.Set("Authorization", "Bearer tok-alice")
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Header().Get("WWW-Authenticate"))
	// Output:
	// 403 Bearer realm="orders", error="insufficient_scope", error_description="the access token lacks the required scope: orders:write", scope="orders:write"
}
