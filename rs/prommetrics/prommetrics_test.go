package prommetrics_test

import (
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tokengate/tokengate/introspect"
	"github.com/tokengate/tokengate/rs"
	"github.com/tokengate/tokengate/rs/prommetrics"
	"github.com/tokengate/tokengate/rs/rstest"
	"github.com/tokengate/tokengate/scopes"
)

func TestObserverWithGuard(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	obs, err := prommetrics.New(prommetrics.Config{Registerer: reg, ConstLabels: prometheus.Labels{"api": "orders"}})
	if err != nil {
		t.Fatal(err)
	}
	const api = "https://api.example.com"
	guard, err := rs.New(rs.Config{
		Introspector: rstest.Introspector{
			"reader": {Response: rstest.Active("alice", "shop", "orders:read", time.Now().Add(time.Hour), api)},
			"down":   {Err: introspect.ErrUnavailable},
		},
		Audiences: []string{api},
		Observer:  obs,
		Logger:    slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		token string
		req   scopes.Requirement
	}{
		{"reader", scopes.All("orders:read")},
		{"reader", scopes.All("orders:read")},
		{"reader", scopes.All("orders:write")},
		{"unknown", scopes.Requirement{}},
		{"down", scopes.Requirement{}},
		{"", scopes.Requirement{}},
	} {
		r := httptest.NewRequest("GET", "/orders", nil)
		if tt.token != "" {
			r.Header.Set("Authorization", "Bearer "+tt.token)
		}
		_, _ = guard.Check(r, tt.req)
	}
	// A decision rs.Decisions does not list still counts.
	obs.ObserveDecision(rs.Decision{Status: 401, Reason: "something_new"})

	counts := map[string]float64{}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "tokengate_rs_decisions_total" {
			t.Errorf("unexpected metric %s", mf.GetName())
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["api"] != "orders" {
				t.Errorf("series %v lacks the constant label", labels)
			}
			counts[labels["status"]+" "+labels["reason"]] = m.GetCounter().GetValue()
		}
	}
	if len(counts) != len(rs.Decisions())+1 {
		t.Errorf("%d series, want one per decision (%d) and the new one", len(counts), len(rs.Decisions())+1)
	}
	for key, want := range map[string]float64{
		"200 ok": 2, "403 insufficient_scope": 1, "401 inactive": 1, "503 unavailable": 1, "401 no_token": 1,
		"401 something_new": 1, "401 audience": 0, "200 anonymous": 0,
	} {
		if got, ok := counts[key]; !ok || got != want {
			t.Errorf("%s: %v (present %v), want %v", key, got, ok, want)
		}
	}
	if _, err := prommetrics.New(prommetrics.Config{Registerer: reg}); err == nil {
		t.Error("registering the metric twice succeeded")
	}
	if _, err := prommetrics.New(prommetrics.Config{}); err == nil {
		t.Error("New without Registerer succeeded")
	}
}

// TestObserveDoesNotAllocate: counting a decision is on every request's
// path.
func TestObserveDoesNotAllocate(t *testing.T) {
	obs, err := prommetrics.New(prommetrics.Config{Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	d := rs.Decision{Status: 200, Reason: "ok"}
	if n := testing.AllocsPerRun(100, func() { obs.ObserveDecision(d) }); n != 0 {
		t.Errorf("ObserveDecision allocates %v times", n)
	}
}
