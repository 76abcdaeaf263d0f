// Package rediscache is the shared verdict tier of a fleet of resource
// servers on Redis: an introspect.SharedCache, so that a token introspected
// by one replica is answered from Redis by the others.
//
//	store, err := rediscache.New(rediscache.Config{URL: "redis://10.0.0.5:6379/0"})
//	if err != nil { ... }
//	defer store.Close()
//	cache, err := introspect.NewCache(client, introspect.CacheConfig{
//		Shared:     store,
//		SharedKeys: [][]byte{key}, // 32 random bytes, the same on every replica
//	})
//
// What goes into Redis is decided by the introspect.Cache: keys are
// SHA-256 hashes of tokens scoped by the next layer's identity, never a
// token; values carry an HMAC-SHA256 under the shared keys, so that a
// forged or altered entry is ignored; each entry expires with its verdict
// (never after the token's exp, nor after the cache's MaxTTL).
//
// Redis is an accelerator, never a dependency: each operation is bounded
// by Config.OpTimeout (50ms by default), and after a failure to reach Redis
// the Store answers at once with ErrUnavailable for Config.Cooldown (1s)
// before it tries again, so a Redis that is down, slow or partitioned costs
// a request at most one timeout, and then nothing. The cache treats every
// error as a miss: requests are answered from memory or by introspection,
// never passed because of Redis. A full Redis (maxmemory with noeviction)
// refuses writes; reads go on. The cache logs the tier's failures at most
// once per 10 seconds; go-redis logs a failed dial on its own, through its
// package-level logger, which a program can rate-limit the same way with
// redis.SetLogger(rediscache.Logger(log)).
package rediscache
