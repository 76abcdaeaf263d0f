package prommetrics_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tokengate/tokengate/provider"
	"github.com/tokengate/tokengate/provider/prommetrics"
)

func ExampleNew() {
	reg := prometheus.NewRegistry() // or prometheus.DefaultRegisterer
	obs, err := prommetrics.New(prommetrics.Config{Registerer: reg})
	if err != nil {
		log.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	srv.Start()
	defer srv.Close()
	p, err := provider.New(provider.Config{Issuer: srv.URL, Observer: obs,
		KeyAlgorithms: []string{provider.AlgEdDSA}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	srv.Config.Handler = p
	app, secret, _ := p.Admin().RegisterClient(context.Background(), provider.ClientSpec{Scopes: []string{"read"}})

	for _, s := range []string{"wrong", secret} {
		res, err := http.Post(p.TokenURL(), "application/x-www-form-urlencoded", strings.NewReader(url.Values{
			"grant_type": {"client_credentials"}, "client_id": {app.ID}, "client_secret": {s}}.Encode()))
		if err != nil {
			log.Fatal(err)
		}
		res.Body.Close()
	}
	mfs, err := reg.Gather()
	if err != nil {
		log.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if v := m.GetCounter().GetValue(); v > 0 {
				var labels []string
				for _, l := range m.GetLabel() {
					labels = append(labels, l.GetName()+"="+l.GetValue())
				}
				fmt.Println(mf.GetName(), strings.Join(labels, ","), v)
			}
		}
	}
	// Output:
	// tokengate_provider_auth_failures_total endpoint=token 1
	// tokengate_provider_tokens_issued_total  1
}
