package otelgate_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"
	"slices"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/tokengate/tokengate/otelgate"
	"github.com/tokengate/tokengate/rs"
	"github.com/tokengate/tokengate/rs/rstest"
	"github.com/tokengate/tokengate/scopes"
)

func ExampleNew() {
	reader := sdkmetric.NewManualReader() // in production, the MeterProvider of your exporter, or none for the global one
	tel, err := otelgate.New(otelgate.Config{MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))})
	if err != nil {
		log.Fatal(err)
	}
	verifier := rstest.Introspector{ // in production, what introspect.New returns, with Observer: tel
		"tok-alice": {Response: rstest.Active("alice", "shop", "orders:read", time.Now().Add(time.Hour), "https://api.example.com")},
	}
	guard, err := rs.New(rs.Config{Introspector: tel.Introspector(verifier), Audiences: []string{"https://api.example.com"}, Observer: tel})
	if err != nil {
		log.Fatal(err)
	}
	for _, tok := range []string{"tok-alice", "tok-alice", "tok-stolen"} {
		r := httptest.NewRequest("GET", "/orders", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		_, _ = guard.Check(r, scopes.All("orders:read"))
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		log.Fatal(err)
	}
	var lines []string
	for _, p := range rm.ScopeMetrics[0].Metrics[0].Data.(metricdata.Sum[int64]).DataPoints {
		lines = append(lines, fmt.Sprintf("%s %d", p.Attributes.Encoded(attribute.DefaultEncoder()), p.Value))
	}
	slices.Sort(lines)
	fmt.Println(rm.ScopeMetrics[0].Metrics[0].Name)
	for _, l := range lines {
		fmt.Println(l)
	}
	// Output:
	// tokengate.rs.decisions
	// http.response.status_code=200,tokengate.decision=allow,tokengate.decision.reason=ok 2
	// http.response.status_code=401,tokengate.decision=deny,tokengate.decision.reason=inactive 1
}
