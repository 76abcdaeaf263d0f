package revocationfeed_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tokengate/tokengate/internal/testserver"
	"github.com/tokengate/tokengate/introspect"
	"github.com/tokengate/tokengate/introspect/rediscache"
	"github.com/tokengate/tokengate/revocationfeed"
)

// redisClient is a client bounded as the shared tier's is (50 ms per
// operation), since a fleet uses one client for both.
func redisClient(t testing.TB, srv *testserver.Redis) *redis.Client {
	opts := &redis.Options{Addr: srv.Addr()}
	rediscache.BoundOptions(opts, rediscache.DefaultOpTimeout)
	c := redis.NewClient(opts)
	t.Cleanup(func() { c.Close() })
	return c
}

// TestEventDropsTheSharedVerdict: two replicas share verdicts through
// Redis; only the first receives events. After the event, the second,
// whose memory no longer holds the verdict, does not find it in Redis
// either: it asks the layer below.
func TestEventDropsTheSharedVerdict(t *testing.T) {
	srv := testserver.SharedRedis(t)
	f := newFeed(t)
	mk := func() (*introspect.Cache, *countingNext) {
		// Bounded at 1 s, not the 50 ms default: on a loaded CI machine
		// (-race) a SET or GET now and then takes longer, and this test is
		// about what reaches Redis, not how fast.
		store, err := rediscache.New(rediscache.Config{URL: srv.URL(), OpTimeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
		next := &identifiedNext{}
		c, err := introspect.NewCache(next, introspect.CacheConfig{Shared: store, SharedKeys: [][]byte{[]byte(f.issuer + "/a shared key of 32 bytes or more")}})
		if err != nil {
			t.Fatal(err)
		}
		return c, &next.countingNext
	}
	a, _ := mk()
	b, nextB := mk()
	ctx := context.Background()
	if _, err := a.Introspect(ctx, "shared-tok"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Introspect(ctx, "shared-tok"); err != nil || nextB.n() != 0 {
		t.Fatalf("b: %v, %d calls below; want a shared hit", err, nextB.n())
	}
	rec := newRecorder()
	newSubscriber(t, f, rec, func(c *revocationfeed.Config) { c.Cache, c.JWT = a, nil })
	f.revoke("shared-tok", "", time.Now().Add(time.Hour), time.Now())
	rec.waitFor(t, "the revocation", func(r *recorder) bool { return r.events["revocation/applied"] == 1 })
	b.Purge() // as if its verdict had expired from memory
	if _, err := b.Introspect(ctx, "shared-tok"); err != nil || nextB.n() != 1 {
		t.Errorf("b after the event: %v, %d calls below; want 1 (the shared verdict is gone)", err, nextB.n())
	}
}

// identifiedNext is a countingNext with the CacheIdentity a shared tier
// needs.
type identifiedNext struct{ countingNext }

func (*identifiedNext) CacheIdentity() string { return "revocationfeed-test" }
