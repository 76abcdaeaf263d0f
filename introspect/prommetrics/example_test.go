package prommetrics_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tokengate/tokengate/introspect"
	"github.com/tokengate/tokengate/introspect/prommetrics"
)

func ExampleNew() {
	as := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"active":true,"sub":"alice","exp":4102444800}`)
	}))
	defer as.Close()

	reg := prometheus.NewRegistry() // or prometheus.DefaultRegisterer
	obs, err := prommetrics.New(prommetrics.Config{Registerer: reg})
	if err != nil {
		log.Fatal(err)
	}
	client, err := introspect.New(introspect.Config{IntrospectionURL: as.URL, Observer: obs})
	if err != nil {
		log.Fatal(err)
	}
	for range 3 {
		client.Introspect(context.Background(), "some-token")
	}
	n, _ := testutil.GatherAndCount(reg, "tokengate_introspect_cache_hits_total")
	fmt.Println("series:", n)
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == "tokengate_introspect_cache_hits_total" {
			fmt.Println("cache hits:", mf.GetMetric()[0].GetCounter().GetValue())
		}
	}
	// Output:
	// series: 1
	// cache hits: 2
}
