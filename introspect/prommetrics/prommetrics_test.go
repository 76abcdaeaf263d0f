package prommetrics_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tokengate/tokengate/introspect"
	"github.com/tokengate/tokengate/introspect/prommetrics"
)

func TestObserverWithClient(t *testing.T) {
	as := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.PostFormValue("token") == "bad" {
			io.WriteString(w, `{"active":false}`)
			return
		}
		io.WriteString(w, `{"active":true,"sub":"alice","exp":4102444800}`)
	}))
	defer as.Close()

	reg := prometheus.NewPedanticRegistry()
	obs, err := prommetrics.New(prommetrics.Config{Registerer: reg, ConstLabels: prometheus.Labels{"as": "test"}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := introspect.New(introspect.Config{
		IntrospectionURL: as.URL,
		Observer:         obs,
		Logger:           slog.New(slog.DiscardHandler),
		Now:              func() time.Time { return time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC) },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tok := range []string{"good", "good", "good", "bad", "bad"} {
		c.Introspect(ctx, tok)
	}

	want := `
# HELP tokengate_introspect_cache_hits_total Introspections answered from the cache with an active verdict.
# TYPE tokengate_introspect_cache_hits_total counter
tokengate_introspect_cache_hits_total{as="test"} 2
# HELP tokengate_introspect_cache_misses_total Introspections the in-memory cache could not answer.
# TYPE tokengate_introspect_cache_misses_total counter
tokengate_introspect_cache_misses_total{as="test"} 2
# HELP tokengate_introspect_cache_negative_hits_total Introspections answered from the cache with an inactive verdict.
# TYPE tokengate_introspect_cache_negative_hits_total counter
tokengate_introspect_cache_negative_hits_total{as="test"} 1
# HELP tokengate_introspect_as_requests_total HTTP attempts to the authorization server, by outcome.
# TYPE tokengate_introspect_as_requests_total counter
tokengate_introspect_as_requests_total{as="test",outcome="active"} 1
tokengate_introspect_as_requests_total{as="test",outcome="inactive"} 1
tokengate_introspect_as_requests_total{as="test",outcome="malformed"} 0
tokengate_introspect_as_requests_total{as="test",outcome="rejected"} 0
tokengate_introspect_as_requests_total{as="test",outcome="unavailable"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"tokengate_introspect_cache_hits_total", "tokengate_introspect_cache_misses_total",
		"tokengate_introspect_cache_negative_hits_total", "tokengate_introspect_as_requests_total"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(reg, "tokengate_introspect_as_request_duration_seconds"); n != 5 {
		t.Errorf("latency histogram has %d series, want 5", n)
	}
}

func TestObserverCircuitAndCounters(t *testing.T) {
	reg := prometheus.NewRegistry()
	obs, err := prommetrics.New(prommetrics.Config{Registerer: reg, Namespace: "x"})
	if err != nil {
		t.Fatal(err)
	}
	events := []introspect.Event{
		{Kind: introspect.EventCircuit, Outcome: "open"},
		{Kind: introspect.EventStaleServe},
		{Kind: introspect.EventEviction},
		{Kind: introspect.EventCoalescedWait},
		{Kind: introspect.EventSharedHit},
		{Kind: introspect.EventShed},
		{Kind: introspect.EventShed},
		{Kind: introspect.EventASCall, Outcome: "nonsense"}, // ignored, no new series
		{Kind: introspect.EventSharedError},
		{Kind: introspect.EventSharedRejected},
		{Kind: introspect.EventSharedRejected},
		{Kind: introspect.EventRevocationFeed, Outcome: "up"},
		{Kind: introspect.EventRevocationFeed, Outcome: "down"},
		{Kind: introspect.EventRevocation, Outcome: "applied"},
		{Kind: introspect.EventRevocation, Outcome: "refused"},
		{Kind: introspect.EventRevocation, Outcome: "refused"},
	}
	for _, e := range events {
		obs.Observe(e)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			switch {
			case m.Counter != nil && len(m.Label) == 0:
				got[mf.GetName()] = m.Counter.GetValue()
			case m.Counter != nil && mf.GetName() == "x_introspect_revocation_events_total":
				got[mf.GetName()+"/"+m.Label[0].GetValue()] = m.Counter.GetValue()
			case m.Gauge != nil:
				got[mf.GetName()] = m.Gauge.GetValue()
			}
		}
	}
	for name, v := range map[string]float64{
		"x_introspect_circuit_state":                     2,
		"x_introspect_stale_serves_total":                1,
		"x_introspect_cache_evictions_total":             1,
		"x_introspect_coalesced_waits_total":             1,
		"x_introspect_shared_cache_hits_total":           1,
		"x_introspect_shed_total":                        2,
		"x_introspect_shared_cache_errors_total":         1,
		"x_introspect_shared_cache_rejected_total":       2,
		"x_introspect_revocation_feed_up":                0,
		"x_introspect_revocation_events_total/applied":   1,
		"x_introspect_revocation_events_total/duplicate": 0,
		"x_introspect_revocation_events_total/refused":   2,
	} {
		if got[name] != v {
			t.Errorf("%s = %v, want %v", name, got[name], v)
		}
	}
	if _, err := prommetrics.New(prommetrics.Config{Registerer: reg, Namespace: "x"}); err == nil {
		t.Error("registering twice did not fail")
	}
	if _, err := prommetrics.New(prommetrics.Config{}); err == nil || !strings.Contains(err.Error(), "Registerer") {
		t.Errorf("missing Registerer: %v", err)
	}
}
