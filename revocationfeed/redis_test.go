package revocationfeed_test

import (
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/tokengate/tokengate/internal/testserver"
	"github.com/tokengate/tokengate/introspect/rediscache"
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
