package introspect

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
	"unique"
	"unsafe"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// Cache defaults used by [New] for zero [CacheConfig] fields.
const (
	defaultCacheSize    = 10_000
	defaultNegativeSize = 10_000
	defaultMaxTTL       = 2 * time.Minute
	defaultNegativeTTL  = 5 * time.Second
)

// CacheConfig configures the verdict cache of a [Client]. The zero value
// caches up to 10,000 active verdicts in memory for at most 2 minutes, and
// up to 10,000 inactive ones for 5 seconds.
//
// An active verdict lives min(exp − ClockSkew − now, MaxTTL); its exp and
// nbf are checked again on every hit, so a cached verdict never outlives its
// token. Errors (unavailable, malformed, rejected) are never cached.
type CacheConfig struct {
	// Disabled turns the cache off: every call asks the authorization
	// server (concurrent calls for one token still share one request).
	Disabled bool
	// Size is the number of active verdicts kept in memory; the least
	// recently used is evicted first. A cache of 1,024 entries or more is
	// split into 16 shards with their own LRU order, so the bound holds per
	// shard and the total may fall slightly short of Size. Each verdict
	// costs about 500 bytes (see docs/benchmarks.md). Defaults to 10,000.
	Size int
	// NegativeSize is the number of inactive verdicts kept in memory, in a
	// space of their own (sharded like Size): a flood of bogus tokens
	// evicts older bogus tokens, never the active verdicts of real callers.
	// Each costs about 100 bytes. Defaults to 10,000.
	NegativeSize int
	// MaxTTL is the longest an active verdict is reused, and therefore the
	// longest a token revoked at the authorization server may still be
	// accepted here. Lower it for faster revocation, raise it for fewer
	// calls. Defaults to 2 minutes.
	MaxTTL time.Duration
	// NegativeTTL is how long an inactive verdict is reused, so that a
	// client retrying a bad token does not hammer the authorization server.
	// Defaults to 5 seconds; a negative value disables negative caching.
	NegativeTTL time.Duration
	// CacheWithoutExpiry caches active verdicts that carry no exp member for
	// MaxTTL. The zero value does not cache them at all: without exp,
	// nothing but MaxTTL bounds their life, so every request asks the AS.
	CacheWithoutExpiry bool
	// StaleIfError, if positive, lets an active verdict be served for up to
	// this long after its TTL when the authorization server is unavailable,
	// provided the token's own exp has not passed. This deliberately trades
	// revocation latency for availability. The zero value serves nothing
	// stale.
	StaleIfError time.Duration
	// Shared, if set, is a second tier consulted on a miss of the in-memory
	// cache and filled after each answer, so that several processes share
	// verdicts. The in-memory cache stays the fast path. Clients configured
	// with the same IntrospectionURL (or Issuer), ClientID and kind of
	// authentication share entries; any other pair never does. With a
	// TokenSource, ClientID is all that tells one identity from another:
	// set it to the client the TokenSource authenticates as, or clients
	// with different TokenSources share verdicts. Ignored when Disabled is
	// set.
	Shared SharedCache
}

// SharedCache is a second cache tier shared between processes, such as a
// Redis client wrapped in three methods. Keys are printable ASCII and never
// contain a token: they are a hex SHA-256 of the token, prefixed with a hash
// of the introspection endpoint and client identity, so clients of different
// authorization servers or credentials never share a verdict. Values are
// opaque bytes. Whatever can write to the store can forge verdicts: trust it
// like the authorization server.
//
// Errors are logged and treated as misses; they never fail a request.
type SharedCache interface {
	// Get returns the value stored under key, and false if there is none.
	Get(ctx context.Context, key string) (value []byte, ok bool, err error)
	// Set stores value under key for ttl.
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// Delete removes key.
	Delete(ctx context.Context, key string) error
}

// tokenKey is the cache key of a token: its SHA-256, so that no raw token is
// kept in memory or reaches the shared tier.
type tokenKey = [sha256.Size]byte

func keyOf(token string) tokenKey {
	// Hash the string's bytes without copying them: sha256 only reads.
	return sha256.Sum256(unsafe.Slice(unsafe.StringData(token), len(token)))
}

// verdict is a cached active answer.
type verdict struct {
	resp *Response
	// fresh is when the verdict stops being served (Unix nanoseconds).
	fresh int64
	// stale is when it stops being eligible for stale-if-error.
	stale int64
}

// cache is the in-memory tier, plus the shared tier if configured. Active
// and inactive verdicts live in separate LRUs, so that inactive ones (cheap
// for anyone to produce) cannot evict active ones. A key is in at most one
// of them: storing it in one removes it from the other.
type cache struct {
	cfg CacheConfig
	// active holds active verdicts, inactive the end of freshness (Unix
	// nanoseconds) of inactive ones.
	active   shardedLRU[verdict]
	inactive shardedLRU[int64]
	// gen counts invalidations; a fetch that started before one must not
	// store its answer.
	gen atomic.Uint64
	// sharedPrefix scopes shared keys to the endpoint and client identity.
	sharedPrefix string
}

// shardedLRU is an LRU split into shards, each with its own lock, so that
// hits on different tokens from different CPUs rarely contend.
type shardedLRU[V any] struct {
	shards []shard[V]
}

// shard is one lock-protected part of a shardedLRU.
type shard[V any] struct {
	// mu guards lru, whose Get reorders it.
	mu  sync.Mutex
	lru *simplelru.LRU[tokenKey, V]
	// pad keeps shards on separate cache lines, so that CPUs locking
	// neighbouring shards do not contend.
	_ [48]byte
}

// shardsFor returns the number of shards for a cache of size entries: 16,
// or 1 for a small cache, whose bound should then be exact.
func shardsFor(size int) int {
	if size < 1024 {
		return 1
	}
	return 16
}

func newCache(cfg CacheConfig, scope string) (*cache, error) {
	c := &cache{cfg: cfg}
	if err := c.active.init(cfg.Size); err != nil {
		return nil, err
	}
	if err := c.inactive.init(cfg.NegativeSize); err != nil {
		return nil, err
	}
	h := sha256.Sum256([]byte(scope))
	c.sharedPrefix = "tokengate:introspect:v1:" + hex.EncodeToString(h[:8]) + ":"
	return c, nil
}

func (l *shardedLRU[V]) init(size int) error {
	n := shardsFor(size)
	l.shards = make([]shard[V], n)
	for i := range l.shards {
		lru, err := simplelru.NewLRU[tokenKey, V]((size+n-1)/n, nil)
		if err != nil {
			return err
		}
		l.shards[i].lru = lru
	}
	return nil
}

func (l *shardedLRU[V]) shard(key tokenKey) *shard[V] {
	return &l.shards[int(key[0])%len(l.shards)]
}

func (l *shardedLRU[V]) get(key tokenKey) (V, bool) {
	s := l.shard(key)
	s.mu.Lock()
	v, ok := s.lru.Get(key)
	s.mu.Unlock()
	return v, ok
}

func (l *shardedLRU[V]) peek(key tokenKey) (V, bool) {
	s := l.shard(key)
	s.mu.Lock()
	v, ok := s.lru.Peek(key)
	s.mu.Unlock()
	return v, ok
}

// add stores v and reports whether another entry was evicted for it.
func (l *shardedLRU[V]) add(key tokenKey, v V) (evicted bool) {
	s := l.shard(key)
	s.mu.Lock()
	evicted = s.lru.Add(key, v)
	s.mu.Unlock()
	return evicted
}

func (l *shardedLRU[V]) remove(key tokenKey) {
	s := l.shard(key)
	s.mu.Lock()
	s.lru.Remove(key)
	s.mu.Unlock()
}

func (l *shardedLRU[V]) purge() {
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		s.lru.Purge()
		s.mu.Unlock()
	}
}

// len returns the number of entries, fresh or not.
func (l *shardedLRU[V]) len() int {
	n := 0
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		n += s.lru.Len()
		s.mu.Unlock()
	}
	return n
}

// remove forgets key in both spaces.
func (c *cache) remove(key tokenKey) {
	c.active.remove(key)
	c.inactive.remove(key)
}

func (c *cache) purge() {
	c.active.purge()
	c.inactive.purge()
}

// len returns the number of entries in both spaces, fresh or not.
func (c *cache) len() int { return c.active.len() + c.inactive.len() }

// lookup returns a cached answer for key at now: (resp, nil, true) for an
// active verdict still valid, (nil, err, true) for an inactive one, and
// false on a miss. It reports hits to the Observer if observe is set.
func (c *Client) lookup(key tokenKey, now time.Time, observe bool) (*Response, error, bool) {
	n := now.UnixNano()
	if v, ok := c.cache.active.get(key); ok {
		if n >= v.fresh {
			if n >= v.stale {
				c.cache.active.remove(key)
			}
			return nil, nil, false
		}
		if err := c.check(v.resp, now); err != nil {
			return nil, err, true
		}
		if observe {
			c.observe(Event{Kind: EventCacheHit})
		}
		return v.resp, nil, true
	}
	fresh, ok := c.cache.inactive.get(key)
	if !ok {
		return nil, nil, false
	}
	if n >= fresh {
		c.cache.inactive.remove(key)
		return nil, nil, false
	}
	if observe {
		c.observe(Event{Kind: EventNegativeHit})
	}
	return nil, errCachedInactive, true
}

var errCachedInactive = fmt.Errorf("%w (cached verdict)", ErrInactive)

// ttl returns how long an answer obtained at now may be served: zero means
// not at all.
func (c *Client) ttl(resp *Response, now time.Time) time.Duration {
	cc := &c.cache.cfg
	if resp == nil {
		return max(cc.NegativeTTL, 0)
	}
	if resp.Expiry.IsZero() {
		if !cc.CacheWithoutExpiry {
			return 0
		}
		return cc.MaxTTL
	}
	return max(min(cc.MaxTTL, resp.Expiry.Sub(now)-c.cfg.ClockSkew), 0)
}

// store caches an answer (resp nil for inactive) until fresh, unless an
// invalidation happened since gen was read.
func (c *Client) store(key tokenKey, resp *Response, fresh time.Time, gen uint64) {
	if c.cache.gen.Load() != gen {
		return
	}
	var evicted bool
	if resp == nil {
		// An active verdict kept for stale-if-error must not outlive the
		// server's word that the token is inactive.
		c.cache.active.remove(key)
		evicted = c.cache.inactive.add(key, fresh.UnixNano())
	} else {
		intern(resp)
		v := verdict{resp: resp, fresh: fresh.UnixNano(), stale: fresh.UnixNano()}
		if c.cache.cfg.StaleIfError > 0 {
			v.stale += int64(c.cache.cfg.StaleIfError)
		}
		c.cache.inactive.remove(key)
		evicted = c.cache.active.add(key, v)
	}
	if evicted {
		c.observe(Event{Kind: EventEviction})
	}
}

// staleFor returns an expired active verdict for key that stale-if-error
// allows serving at now, or nil.
func (c *Client) staleFor(key tokenKey, now time.Time) *Response {
	if c.cache == nil || c.cache.cfg.StaleIfError <= 0 {
		return nil
	}
	v, ok := c.cache.active.peek(key)
	if !ok || now.UnixNano() >= v.stale || c.check(v.resp, now) != nil {
		return nil
	}
	return v.resp
}

// Invalidate forgets the verdict on token, in memory and in the shared tier,
// so that the next call asks the authorization server. Use it when the
// application learns of a revocation. It returns the shared tier's error, if
// any; the in-memory verdict is gone regardless.
func (c *Client) Invalidate(ctx context.Context, token string) error {
	if c.cache == nil {
		return nil
	}
	key := keyOf(token)
	c.cache.gen.Add(1)
	c.cache.remove(key)
	if c.cache.cfg.Shared != nil {
		if err := c.cache.cfg.Shared.Delete(ctx, c.sharedKey(key)); err != nil {
			return fmt.Errorf("introspect: shared cache: %w", err)
		}
	}
	return nil
}

// Purge forgets every verdict held in memory. The shared tier, which other
// processes use too, is left alone.
func (c *Client) Purge() {
	if c.cache == nil {
		return
	}
	c.cache.gen.Add(1)
	c.cache.purge()
}

func (c *Client) sharedKey(key tokenKey) string {
	return c.cache.sharedPrefix + hex.EncodeToString(key[:])
}

// sharedVersion is the first byte of a shared value; then come 8 bytes of
// big-endian Unix nanoseconds (the end of freshness) and the RFC 7662 JSON.
const sharedVersion = 1

// sharedGet consults the shared tier. It reports ok only for a verdict that
// is still fresh and, if active, still valid at now.
func (c *Client) sharedGet(ctx context.Context, key tokenKey, now time.Time, gen uint64) (*Response, error, bool) {
	raw, ok, err := c.cache.cfg.Shared.Get(ctx, c.sharedKey(key))
	if err != nil {
		c.cfg.Logger.Warn("introspect: shared cache read failed; asking the authorization server", "error", err)
		return nil, nil, false
	}
	if !ok {
		return nil, nil, false
	}
	if len(raw) < 9 || raw[0] != sharedVersion || !utf8.Valid(raw[9:]) {
		c.cfg.Logger.Warn("introspect: shared cache value has an unknown format; ignoring it")
		return nil, nil, false
	}
	fresh := time.Unix(0, int64(binary.BigEndian.Uint64(raw[1:9])))
	if !now.Before(fresh) {
		return nil, nil, false
	}
	var r Response
	if err := json.Unmarshal(raw[9:], &r); err != nil {
		c.cfg.Logger.Warn("introspect: shared cache value does not decode; ignoring it", "error", err)
		return nil, nil, false
	}
	if !r.Active {
		c.store(key, nil, fresh, gen)
		return nil, errCachedInactive, true
	}
	if c.check(&r, now) != nil {
		return nil, nil, false
	}
	if ttl := c.ttl(&r, now); now.Add(ttl).Before(fresh) {
		fresh = now.Add(ttl)
	}
	if !now.Before(fresh) {
		return nil, nil, false
	}
	c.store(key, &r, fresh, gen)
	return &r, nil, true
}

// sharedSet writes a verdict to the shared tier, best effort.
func (c *Client) sharedSet(ctx context.Context, key tokenKey, resp *Response, now, fresh time.Time) {
	body := []byte(`{"active":false}`)
	if resp != nil {
		var err error
		if body, err = json.Marshal(resp); err != nil {
			return
		}
	}
	raw := make([]byte, 9, 9+len(body))
	raw[0] = sharedVersion
	binary.BigEndian.PutUint64(raw[1:9], uint64(fresh.UnixNano()))
	raw = append(raw, body...)
	if err := c.cache.cfg.Shared.Set(ctx, c.sharedKey(key), raw, fresh.Sub(now)); err != nil {
		c.cfg.Logger.Warn("introspect: shared cache write failed", "error", err)
	}
}

// intern replaces the members that most tokens share (client, scope, type,
// issuer, audience) with canonical copies, so that a cache of many tokens
// from few clients keeps one copy of each. It runs before resp is shared.
func intern(resp *Response) {
	in := func(s *string) {
		if *s != "" {
			*s = unique.Make(*s).Value()
		}
	}
	in(&resp.ClientID)
	in(&resp.Scope)
	in(&resp.TokenType)
	in(&resp.Issuer)
	for i := range resp.Audience {
		in(&resp.Audience[i])
	}
}
