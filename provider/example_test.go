package provider_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/tokengate/tokengate/introspect"
	"github.com/tokengate/tokengate/provider"
	"github.com/tokengate/tokengate/provider/store"
	"golang.org/x/oauth2/clientcredentials"
)

func ExampleNew() {
	// The provider is an http.Handler; here it listens on loopback. Use
	// provider/store/sqlite for a store that survives restarts.
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	p, err := provider.New(provider.Config{Issuer: srv.URL, KeyAlgorithms: []string{provider.AlgEdDSA}})
	if err != nil {
		panic(err)
	}
	defer p.Close() // stops its sweeper of expired tokens
	mux.Handle("/", p)

	ctx := context.Background()
	// A client that gets tokens for the orders API, and the API itself,
	// which may introspect tokens meant for it.
	app, appSecret, _ := p.Admin().RegisterClient(ctx, provider.ClientSpec{
		Name: "shop", Scopes: []string{"orders:read", "orders:write"}, Resources: []string{"https://orders.example/"}})
	api, apiSecret, _ := p.Admin().RegisterClient(ctx, provider.ClientSpec{
		Name: "orders API", Resources: []string{"https://orders.example/"}, Introspection: store.IntrospectOwnAudience})

	cc := clientcredentials.Config{ClientID: app.ID, ClientSecret: appSecret, TokenURL: srv.URL + "/token", Scopes: []string{"orders:read"}}
	tok, err := cc.Token(ctx)
	if err != nil {
		panic(err)
	}
	fmt.Println("opaque token:", strings.HasPrefix(tok.AccessToken, "tg_at_"))

	ic, err := introspect.New(introspect.Config{IntrospectionURL: srv.URL + "/introspect", ClientID: api.ID, ClientSecret: apiSecret})
	if err != nil {
		panic(err)
	}
	resp, err := ic.Introspect(ctx, tok.AccessToken)
	if err != nil {
		panic(err)
	}
	fmt.Println("active:", resp.Active, "scope:", resp.Scope, "aud:", resp.Audience)
	// Output:
	// opaque token: true
	// active: true scope: orders:read aud: [https://orders.example/]
}

func ExampleNewAdmin() {
	// What "tokengate client create" and "tokengate keys rotate" do: open the
	// server's store (here in memory; usually provider/store/sqlite) and
	// administer it, with no issuer and no HTTP. The server saved its key
	// families and lifetimes in the store; the Admin follows them.
	st := store.NewMemory()
	server, err := provider.New(provider.Config{Issuer: "https://as.example", Store: st, KeyAlgorithms: []string{provider.AlgEdDSA}})
	if err != nil {
		panic(err)
	}
	server.Close()

	a, err := provider.NewAdmin(provider.AdminConfig{Store: st})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	c, secret, err := a.RegisterClient(ctx, provider.ClientSpec{Name: "orders API", Introspection: store.IntrospectOwnAudience})
	if err != nil {
		panic(err)
	}
	fmt.Println("id:", strings.HasPrefix(c.ID, provider.ClientIDPrefix), "secret:", strings.HasPrefix(secret, provider.ClientSecretPrefix))

	if err := a.RotateKeys(ctx, provider.AlgEdDSA); err != nil {
		panic(err)
	}
	keys, _ := st.Keys(ctx)
	for _, k := range keys { // newest first
		fmt.Println(k.Alg, "active:", k.Active())
	}
	// Output:
	// id: true secret: true
	// EdDSA active: true
	// EdDSA active: false
}
