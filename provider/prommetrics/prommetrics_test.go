package prommetrics_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tokengate/tokengate/provider"
	"github.com/tokengate/tokengate/provider/prommetrics"
)

func TestObserve(t *testing.T) {
	reg := prometheus.NewRegistry()
	obs, err := prommetrics.New(prommetrics.Config{Registerer: reg, ConstLabels: prometheus.Labels{"server": "a"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []provider.Event{
		{Kind: provider.EventAuthFailure, Endpoint: provider.EndpointToken},
		{Kind: provider.EventAuthFailure, Endpoint: provider.EndpointToken},
		{Kind: provider.EventAuthFailure, Endpoint: provider.EndpointIntrospection},
		{Kind: provider.EventAuthThrottled, Endpoint: provider.EndpointRevocation},
		{Kind: provider.EventAuthThrottled, Endpoint: "elsewhere"}, // ignored, not a new series
		{Kind: provider.EventQuotaRefused, Endpoint: provider.EndpointToken},
		{Kind: provider.EventTokenIssued},
		{Kind: provider.EventTokenIssued},
		{Kind: provider.EventTokensSwept, Count: 250},
		{Kind: provider.EventTokensSwept, Count: 7},
		{Kind: provider.EventAuthFailure, Endpoint: provider.EndpointUserinfo},
		{Kind: provider.EventLogin},
		{Kind: provider.EventLogin},
		{Kind: provider.EventConsentGranted},
		{Kind: provider.EventConsentDenied},
		{Kind: provider.EventLogout},
		{Kind: provider.EventReuseDetected, Endpoint: provider.EndpointToken},
		{Kind: provider.EventPollAnswered, Endpoint: provider.EndpointEvents, Count: 3},
		{Kind: provider.EventPollAnswered, Endpoint: provider.EndpointEvents},
		{Kind: provider.EventPollRefused, Endpoint: provider.EndpointEvents},
	} {
		obs.Observe(e)
	}
	got := map[string]float64{}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			name := mf.GetName()
			for _, l := range m.GetLabel() {
				if l.GetName() == "endpoint" || l.GetName() == "event" || l.GetName() == "result" {
					name += "/" + l.GetValue()
				}
				if l.GetName() == "server" && l.GetValue() != "a" {
					t.Errorf("%s: server label %q", name, l.GetValue())
				}
			}
			got[name] = m.GetCounter().GetValue()
		}
	}
	want := map[string]float64{
		"tokengate_provider_auth_failures_total/token":           2,
		"tokengate_provider_auth_failures_total/introspection":   1,
		"tokengate_provider_auth_failures_total/revocation":      0,
		"tokengate_provider_auth_failures_total/userinfo":        1,
		"tokengate_provider_auth_throttled_total/token":          0,
		"tokengate_provider_auth_throttled_total/introspection":  0,
		"tokengate_provider_auth_throttled_total/revocation":     1,
		"tokengate_provider_auth_throttled_total/userinfo":       0,
		"tokengate_provider_signin_events_total/login":           2,
		"tokengate_provider_signin_events_total/login_denied":    0,
		"tokengate_provider_signin_events_total/consent_granted": 1,
		"tokengate_provider_signin_events_total/consent_denied":  1,
		"tokengate_provider_signin_events_total/logout":          1,
		"tokengate_provider_reuse_detected_total":                1,
		"tokengate_provider_quota_refusals_total":                1,
		"tokengate_provider_tokens_issued_total":                 2,
		"tokengate_provider_tokens_swept_total":                  257,
		"tokengate_provider_event_polls_total/answered":          2,
		"tokengate_provider_event_polls_total/refused":           1,
		"tokengate_provider_sets_delivered_total":                3,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("series %v, want %v", got, want)
	}
	if _, err := prommetrics.New(prommetrics.Config{Registerer: reg}); err == nil {
		t.Error("registering twice succeeded")
	}
	if _, err := prommetrics.New(prommetrics.Config{}); err == nil {
		t.Error("New without a Registerer succeeded")
	}
}
