package prommetrics_test

import (
	"fmt"
	"log"
	"net/http/httptest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tokengate/tokengate/rs"
	"github.com/tokengate/tokengate/rs/prommetrics"
	"github.com/tokengate/tokengate/rs/rstest"
	"github.com/tokengate/tokengate/scopes"
)

func ExampleNew() {
	reg := prometheus.NewRegistry() // or prometheus.DefaultRegisterer
	obs, err := prommetrics.New(prommetrics.Config{Registerer: reg})
	if err != nil {
		log.Fatal(err)
	}
	guard, err := rs.New(rs.Config{
		Introspector: rstest.Introspector{ // in production, what introspect.New returns
			"tok-alice": {Response: rstest.Active("alice", "shop", "orders:read", time.Now().Add(time.Hour), "https://api.example.com")},
		},
		Audiences: []string{"https://api.example.com"},
		Observer:  obs,
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, tok := range []string{"tok-alice", "tok-alice", "tok-stolen"} {
		r := httptest.NewRequest("GET", "/orders", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		_, _ = guard.Check(r, scopes.All("orders:read"))
	}
	mfs, _ := reg.Gather() // series sorted by reason, then status
	for _, m := range mfs[0].GetMetric() {
		if v := m.GetCounter().GetValue(); v > 0 {
			fmt.Println(m.GetLabel()[1].GetValue(), m.GetLabel()[0].GetValue(), v)
		}
	}
	n, _ := testutil.GatherAndCount(reg)
	fmt.Println("series:", n)
	// Output:
	// 401 inactive 1
	// 200 ok 2
	// series: 18
}
