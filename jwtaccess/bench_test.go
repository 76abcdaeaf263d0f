package jwtaccess_test

import (
	"context"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/tokengate/tokengate/introspect"
	"github.com/tokengate/tokengate/provider"
	"github.com/tokengate/tokengate/provider/providertest"
	"github.com/tokengate/tokengate/provider/store"
)

// BenchmarkFirstSight measures what a token costs the first time it is
// seen, when no verdict is cached: a JWT validated locally (RS256 with
// RSA-2048, ES256, EdDSA; keys already fetched), against an introspection
// round trip to our provider on loopback (memory store, client_secret_basic,
// no cache), in the same run.
func BenchmarkFirstSight(b *testing.B) {
	v := pinnedValidator(b)
	c := claims(issuer)
	ctx := context.Background()
	for _, s := range []struct {
		name string
		alg  jose.SignatureAlgorithm
		key  any
		kid  string
	}{
		{"jwt-RS256", jose.RS256, rsaKey, "rs"},
		{"jwt-ES256", jose.ES256, ecKey, "ec"},
		{"jwt-EdDSA", jose.EdDSA, edKey, "ed"},
	} {
		tok := sign(b, s.alg, s.key, s.kid, "at+jwt", c, nil)
		b.Run(s.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Introspect(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}

	as := providertest.New(b)
	app := as.RegisterClient(provider.ClientSpec{Name: "app", Scopes: []string{"orders:read"}, Resources: []string{audience}})
	api := as.RegisterClient(provider.ClientSpec{Name: "api", Introspection: store.IntrospectAny})
	client, err := introspect.NewClient(introspect.Config{
		IntrospectionURL: as.IntrospectionURL, ClientID: api.ID, ClientSecret: api.Secret,
	})
	if err != nil {
		b.Fatal(err)
	}
	tok := as.Mint(providertest.Token{Client: app, Scopes: []string{"orders:read"}})
	b.Run("introspection-loopback", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := client.Introspect(ctx, tok); err != nil {
				b.Fatal(err)
			}
		}
	})
}
