//go:build interop

package interop

import (
	"context"
	"testing"

	"github.com/tokengate/tokengate/introspect"
	"github.com/tokengate/tokengate/provider"
	"github.com/tokengate/tokengate/provider/providertest"
	"github.com/tokengate/tokengate/provider/store"
)

// benchmarkIntrospect measures one uncached introspection round trip of an
// active token through introspect.Client (no cache), with b.RunParallel's
// callers.
func benchmarkIntrospect(b *testing.B, cfg introspect.Config, token string) {
	c, err := introspect.NewClient(cfg)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.Introspect(ctx, token); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Introspect(ctx, token); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkIntrospectPeer compares the introspection endpoints of the real
// peers and of our provider (providertest: in-memory store, same process),
// each reached over loopback HTTP by the same client.
func BenchmarkIntrospectPeer(b *testing.B) {
	b.Run("oidc-provider", func(b *testing.B) {
		op := oidcProvider(b)
		benchmarkIntrospect(b, introspect.Config{IntrospectionURL: op.IntrospectionURL, ClientID: op.RSBasic.ID, ClientSecret: op.RSBasic.Secret},
			op.Token(b, "orders:read"))
	})
	b.Run("DOT", func(b *testing.B) {
		dot := djangoOAuthToolkit(b)
		benchmarkIntrospect(b, introspect.Config{IntrospectionURL: dot.IntrospectionURL, ClientID: dot.RS.ID, ClientSecret: dot.RS.Secret},
			dot.Token(b, "orders:read"))
	})
	b.Run("provider", func(b *testing.B) {
		srv := providertest.New(b)
		rsClient := srv.RegisterClient(provider.ClientSpec{Introspection: store.IntrospectAny})
		app := srv.RegisterClient(provider.ClientSpec{Scopes: []string{"orders:read"}})
		benchmarkIntrospect(b, introspect.Config{IntrospectionURL: srv.IntrospectionURL, ClientID: rsClient.ID, ClientSecret: rsClient.Secret},
			srv.Mint(providertest.Token{Client: app, Scopes: []string{"orders:read"}}))
	})
}
