package revocationfeed_test

import (
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/tokengate/tokengate/internal/testserver"
)

func redisClient(t testing.TB, srv *testserver.Redis) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: srv.Addr(), DisableIdentity: true})
	t.Cleanup(func() { c.Close() })
	return c
}
