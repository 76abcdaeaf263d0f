package rediscache_test

import (
	"context"
	"log/slog"
	"syscall"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/testserver"
	"github.com/tokengate/tokengate/introspect"
	"github.com/tokengate/tokengate/introspect/rediscache"
	"github.com/tokengate/tokengate/provider"
	"github.com/tokengate/tokengate/provider/providertest"
	"github.com/tokengate/tokengate/provider/store"
)

// BenchmarkTiers compares, in one run, what a request costs when its
// verdict comes from each place: the replica's memory (local), Redis on
// loopback (shared: the replica's memory is purged before each request, so
// every one is a miss answered by Redis, HMAC checked and JSON decoded),
// and introspection at our provider on loopback (the memory store,
// client_secret_basic, no cache; the provider hashes the token and reads
// it), with a cache in front that is purged, as a replica that has the
// token in neither tier.
func BenchmarkTiers(b *testing.B) {
	srv := testserver.SharedRedis(b)
	as := providertest.New(b)
	app := as.RegisterClient(provider.ClientSpec{Name: "app", Scopes: []string{"orders:read"}})
	api := as.RegisterClient(provider.ClientSpec{Name: "api", Introspection: store.IntrospectAny})
	tok := as.Mint(providertest.Token{Client: app, Scopes: []string{"orders:read"}})
	ctx := context.Background()
	mk := func(shared bool) *introspect.Cache {
		client, err := introspect.NewClient(introspect.Config{IntrospectionURL: as.IntrospectionURL, ClientID: api.ID, ClientSecret: api.Secret})
		if err != nil {
			b.Fatal(err)
		}
		cfg := introspect.CacheConfig{Logger: slog.New(slog.DiscardHandler)}
		if shared {
			cfg.Shared, cfg.SharedKeys = newStore(b, srv, nil), testKeys
		}
		c, err := introspect.NewCache(client, cfg)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Introspect(ctx, tok); err != nil { // fills both tiers
			b.Fatal(err)
		}
		return c
	}
	for _, bc := range []struct {
		name   string
		shared bool
		purge  bool
	}{
		{"local-hit", true, false},
		{"shared-hit-redis-loopback", true, true},
		{"introspection-loopback", false, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c := mk(bc.shared)
			b.ReportAllocs()
			cpu := cpuTime()
			for b.Loop() {
				if bc.purge {
					c.Purge()
				}
				if _, err := c.Introspect(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64((cpuTime()-cpu).Nanoseconds())/float64(b.N), "cpu-ns/op")
		})
	}
}

// cpuTime is the CPU time of this process so far: on a loaded machine,
// wall time per operation mostly measures the wait for a core, and a round
// trip to redis-server (another process) waits for two. The provider of
// introspection-loopback runs in this process, so its CPU counts here,
// while redis-server's does not.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkStore is the store alone: one GET and one SET of a 400-byte
// value on loopback.
func BenchmarkStore(b *testing.B) {
	s := newStore(b, testserver.SharedRedis(b), func(c *rediscache.Config) {})
	ctx := context.Background()
	v := make([]byte, 400)
	if err := s.Set(ctx, "bench:key", v, 60e9); err != nil {
		b.Fatal(err)
	}
	b.Run("get", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok, err := s.Get(ctx, "bench:key"); err != nil || !ok {
				b.Fatal(ok, err)
			}
		}
	})
	b.Run("set", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := s.Set(ctx, "bench:key", v, 60e9); err != nil {
				b.Fatal(err)
			}
		}
	})
}
