package provider_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/tokengate/tokengate/introspect"
	"github.com/tokengate/tokengate/provider"
	"github.com/tokengate/tokengate/provider/store"
	"github.com/tokengate/tokengate/revocationfeed"
)

// The provider tells resource servers which tokens it revoked, at
// Provider.EventsURL: an API that caches verdicts for two minutes refuses
// a revoked token at once.
func ExampleProvider_EventsURL() {
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	p, err := provider.New(provider.Config{Issuer: srv.URL, KeyAlgorithms: []string{provider.AlgES256}})
	if err != nil {
		panic(err)
	}
	defer p.Close()
	mux.Handle("/", p)
	ctx := context.Background()
	api, apiSecret, _ := p.Admin().RegisterClient(ctx, provider.ClientSpec{
		Name: "orders API", Resources: []string{"https://orders.example/"}, Introspection: store.IntrospectOwnAudience})
	app, _, _ := p.Admin().RegisterClient(ctx, provider.ClientSpec{Name: "shop", Resources: []string{"https://orders.example/"}})

	// The API: introspection behind a cache, and the events with the same
	// credentials (the endpoint is found in the provider's metadata).
	client, _ := introspect.NewClient(introspect.Config{Issuer: srv.URL, ClientID: api.ID, ClientSecret: apiSecret})
	cache, _ := introspect.NewCache(client, introspect.CacheConfig{MaxTTL: 2 * time.Minute})
	feed, err := revocationfeed.New(revocationfeed.Config{Issuer: srv.URL, ClientID: api.ID, ClientSecret: apiSecret,
		Cache: cache, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err)
	}
	defer feed.Close()
	fmt.Println("events at", p.EventsURL() == srv.URL+"/events", "- ping:", feed.Ping(ctx))

	tok, _ := p.Mint(ctx, provider.MintRequest{ClientID: app.ID})
	_, err = cache.Introspect(ctx, tok)
	fmt.Println("before:", err)
	p.Revoke(ctx, tok)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if _, err = cache.Introspect(ctx, tok); errors.Is(err, introspect.ErrInactive) {
			break
		}
	}
	fmt.Println("refused after the revocation:", errors.Is(err, introspect.ErrInactive))
	// Output:
	// events at true - ping: <nil>
	// before: <nil>
	// refused after the revocation: true
}
