package introspect

import (
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"
	"unique"

	"golang.org/x/sync/singleflight"

	"github.com/tokengate/tokengate/internal/lograte"
)

// Cache defaults used by [NewCache] for zero [CacheConfig] fields.
const (
	defaultCacheSize    = 10_000
	defaultNegativeSize = 10_000
	defaultMaxTTL       = 2 * time.Minute
	defaultNegativeTTL  = 5 * time.Second
)

// CacheConfig configures a [Cache]. The zero value caches up to 10,000
// active verdicts in memory for at most 2 minutes, and up to 10,000
// inactive ones for 5 seconds.
//
// An active verdict lives min(exp − ClockSkew − now, MaxTTL); its exp and
// nbf are checked again on every hit, so a cached verdict never outlives its
// token. Errors (unavailable, malformed, rejected) are never cached.
type CacheConfig struct {
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
	// this long after its TTL when the next layer answers [ErrUnavailable],
	// provided the token's own exp has not passed. This deliberately trades
	// revocation latency for availability. The zero value serves nothing
	// stale.
	StaleIfError time.Duration
	// Shared, if set, is a second tier consulted on a miss of the in-memory
	// cache and filled after each answer, so that several processes share
	// verdicts. The in-memory cache stays the fast path. It needs a next
	// layer with a CacheIdentity method (see [NewCache]): caches whose next
	// layers have the same identity share entries; any other pair never
	// does. It needs SharedKeys too.
	Shared SharedCache
	// SharedKeys authenticate what goes through Shared: each value written
	// carries an HMAC-SHA256 under the first key, bound to the entry's key,
	// and a value read is used only if one of the keys verifies it, so that
	// whoever can write to the shared store cannot mint a verdict (see
	// [SharedCache]). Every process sharing verdicts needs the same keys;
	// each must be random and at least [MinSharedKeyBytes] long. Required
	// with Shared.
	//
	// To rotate without a window of misses: deploy [old, new] everywhere
	// (both verify, old signs), then [new, old] (new signs), then [new].
	SharedKeys [][]byte

	// Timeout bounds the call to the next layer that concurrent misses of
	// one token share, and each caller's wait for it. Defaults to 10s, the
	// default [Config].Timeout.
	Timeout time.Duration
	// ClockSkew is the leeway when checking exp and nbf on a hit; it is
	// also taken off exp when deciding how long a verdict is kept. Defaults
	// to 30s.
	ClockSkew time.Duration
	// Now returns the current time, for expiry. Defaults to time.Now.
	Now func() time.Time
	// Logger receives the shared tier's failures and stale serves; it never
	// sees a token. Defaults to slog.Default().
	Logger *slog.Logger
	// Observer, if set, receives an [Event] for each cache hit or miss,
	// coalesced wait, stale serve and eviction. The zero value observes
	// nothing.
	Observer Observer
}

// Cache is a verdict cache in front of any [Introspector]: a [*Client], or
// a local validator such as jwtaccess.Validator. It keeps the verdicts of
// next in memory, keyed by the SHA-256 of the token, makes concurrent
// misses of one token share one call to next, and may serve a stale verdict
// while next is unavailable. It is safe for concurrent use and starts no
// goroutine beyond those serving calls in flight, so it needs no Close.
//
// The *Response a call returns may be shared with other callers and MUST
// be treated as read-only.
type Cache struct {
	next Introspector
	cfg  CacheConfig

	// active holds active verdicts, inactive the end of freshness (Unix
	// nanoseconds) of inactive ones. They are separate so that inactive
	// verdicts (cheap for anyone to produce) cannot evict active ones. A
	// key is in at most one of them: storing it in one removes it from the
	// other.
	active   shardedLRU[verdict]
	inactive shardedLRU[int64]
	// gen counts invalidations; a call to next that started before one must
	// not store its answer.
	gen atomic.Uint64
	// sharedPrefix scopes shared keys to next's CacheIdentity.
	sharedPrefix string
	// sharedKeys authenticate shared values.
	sharedKeys sharedKeyring
	// sharedReadLog, sharedWriteLog and sharedRejectLog rate-limit the
	// Warn lines of a shared tier that fails, or holds values that are not
	// ours: a Redis that is down fails every miss.
	sharedReadLog, sharedWriteLog, sharedRejectLog lograte.Limiter
	// calls coalesces concurrent misses of one token; its keys are token
	// hashes.
	calls singleflight.Group
}

// verdict is a cached active answer.
type verdict struct {
	resp *Response
	// fresh is when the verdict stops being served (Unix nanoseconds).
	fresh int64
	// stale is when it stops being eligible for stale-if-error.
	stale int64
}

// NewCache returns a Cache in front of next, or an error naming the first
// invalid field.
//
// next must answer as [Client.Introspect] does: the response of an active
// token, or an error matching one of [ErrInactive], [ErrUnavailable],
// [ErrASRejectedClient] or [ErrMalformedResponse]. Only the first two are
// remembered (inactive verdicts for NegativeTTL; ErrUnavailable only to
// serve stale). The cache does not modify the responses of next.
//
// If next has a method
//
//	CacheIdentity() string
//
// its result scopes the keys of the shared tier: it must differ whenever
// the verdicts of two next layers may differ (another authorization server,
// issuer, audience, credentials or key source), and be equal for layers
// that would answer alike in every process. A [*Client] and
// jwtaccess.Validator implement it. Without it, CacheConfig.Shared is an
// error.
//
// A Cache does not wrap a Cache: NewCache returns an error if next is a
// *Cache, since the outer one would keep verdicts the inner one already
// keeps, with a second TTL that nobody asked for. Tune the one cache instead.
func NewCache(next Introspector, cfg CacheConfig) (*Cache, error) {
	if next == nil {
		return nil, errors.New("introspect: NewCache: next is nil")
	}
	if _, ok := next.(*Cache); ok {
		return nil, errors.New("introspect: NewCache: next is already a *Cache; configure that one instead of wrapping it")
	}
	if cfg.Size < 0 || cfg.NegativeSize < 0 || cfg.MaxTTL < 0 || cfg.StaleIfError < 0 || cfg.Timeout < 0 || cfg.ClockSkew < 0 {
		return nil, errors.New("introspect: CacheConfig.Size, NegativeSize, MaxTTL, StaleIfError, Timeout and ClockSkew must not be negative")
	}
	cfg.Size = cmp.Or(cfg.Size, defaultCacheSize)
	cfg.NegativeSize = cmp.Or(cfg.NegativeSize, defaultNegativeSize)
	cfg.MaxTTL = cmp.Or(cfg.MaxTTL, defaultMaxTTL)
	cfg.NegativeTTL = cmp.Or(cfg.NegativeTTL, defaultNegativeTTL)
	cfg.Timeout = cmp.Or(cfg.Timeout, defaultTimeout)
	cfg.ClockSkew = cmp.Or(cfg.ClockSkew, defaultClockSkew)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.Logger = cmp.Or(cfg.Logger, slog.Default())
	c := &Cache{next: next, cfg: cfg}
	if cfg.Shared != nil {
		id, ok := next.(interface{ CacheIdentity() string })
		if !ok {
			return nil, fmt.Errorf("introspect: CacheConfig.Shared: %T has no CacheIdentity method, so its verdicts cannot be told from another's in a shared tier", next)
		}
		c.sharedPrefix = sharedPrefix(id.CacheIdentity())
		ring, err := newSharedKeyring(cfg.SharedKeys)
		if err != nil {
			return nil, fmt.Errorf("introspect: CacheConfig.SharedKeys%s", prefixErr(err))
		}
		c.sharedKeys = ring
	} else if len(cfg.SharedKeys) > 0 {
		return nil, errors.New("introspect: CacheConfig.SharedKeys is set without CacheConfig.Shared")
	}
	if err := c.active.init(cfg.Size); err != nil {
		return nil, fmt.Errorf("introspect: CacheConfig.Size: %w", err)
	}
	if err := c.inactive.init(cfg.NegativeSize); err != nil {
		return nil, fmt.Errorf("introspect: CacheConfig.NegativeSize: %w", err)
	}
	return c, nil
}

// Introspect answers from the cache, or asks the next layer on a miss. It
// returns the response of an active token, or an error matching exactly one
// of [ErrInactive], [ErrUnavailable], [ErrASRejectedClient] or
// [ErrMalformedResponse]. The returned *Response may be shared with other
// callers: treat it as read-only.
//
// Concurrent misses of one token make one call to the next layer, which runs
// detached from the callers and bounded by CacheConfig.Timeout: if ctx is
// done before the answer arrives, Introspect returns at once with
// [ErrUnavailable] (wrapping ctx.Err()), and the call goes on for the
// others.
func (c *Cache) Introspect(ctx context.Context, token string) (*Response, error) {
	if token == "" {
		return nil, errEmptyToken
	}
	key := keyOf(token)
	if resp, err, ok := c.lookup(ctx, key, c.cfg.Now(), true); ok {
		return resp, err
	}
	observeCall(c.cfg.Observer, ctx, Event{Kind: EventCacheMiss})
	return c.load(ctx, key, token)
}

// load answers a cache miss. Concurrent loads of one token share one
// resolve, which runs on a context detached from every caller and bounded by
// CacheConfig.Timeout; each caller stops waiting when its own ctx is done.
func (c *Cache) load(ctx context.Context, key tokenKey, token string) (*Response, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	var led atomic.Bool
	ch := c.calls.DoChan(string(key[:]), func() (any, error) {
		led.Store(true)
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.Timeout)
		defer cancel()
		return c.resolve(rctx, key, token)
	})
	select {
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, ctx.Err())
	case res := <-ch:
		if !led.Load() {
			observeCall(c.cfg.Observer, ctx, Event{Kind: EventCoalescedWait})
		}
		if res.Err != nil {
			return nil, res.Err
		}
		return res.Val.(*Response), nil
	}
}

// resolve gets a verdict from the shared tier or the next layer, caches
// it, and falls back to a stale verdict if the next layer is unavailable.
func (c *Cache) resolve(ctx context.Context, key tokenKey, token string) (*Response, error) {
	gen := c.gen.Load()
	// A caller that missed just as an earlier flight for this token ended
	// finds its verdict here rather than asking again.
	if resp, err, ok := c.lookup(ctx, key, c.cfg.Now(), false); ok {
		return resp, err
	}
	if c.cfg.Shared != nil {
		if resp, err, ok := c.sharedGet(ctx, key, c.cfg.Now(), gen); ok {
			observeCall(c.cfg.Observer, ctx, Event{Kind: EventSharedHit})
			return resp, err
		}
	}
	resp, err := c.next.Introspect(ctx, token)
	now := c.cfg.Now()
	if err == nil {
		resp, err = c.adopt(resp, now)
	}
	switch {
	case err == nil, errors.Is(err, ErrInactive):
		if ttl := c.ttl(resp, now); ttl > 0 {
			c.store(key, resp, now.Add(ttl), gen)
			if c.cfg.Shared != nil {
				c.sharedSet(ctx, key, resp, now, now.Add(ttl), gen)
			}
		} else if resp == nil {
			// Not cached, but a stale active verdict must not be served
			// after this.
			c.active.remove(key)
		}
	case errors.Is(err, ErrUnavailable):
		if stale := c.staleFor(key, now); stale != nil {
			observeCall(c.cfg.Observer, ctx, Event{Kind: EventStaleServe})
			c.cfg.Logger.Warn("introspect: next layer unavailable; serving a stale verdict", "error", err)
			return stale, nil
		}
	}
	return resp, err
}

// adopt checks an answer of the next layer and returns the cache's own copy
// of it, with the members most tokens share interned: the next layer may
// keep or share its response, which the cache must then not modify.
func (c *Cache) adopt(resp *Response, now time.Time) (*Response, error) {
	if resp == nil {
		return nil, fmt.Errorf("%w: %T returned no response and no error", ErrMalformedResponse, c.next)
	}
	if err := c.check(resp, now); err != nil {
		return nil, err
	}
	own := *resp
	if len(own.Audience) > 0 {
		own.Audience = append([]string(nil), own.Audience...)
	}
	intern(&own)
	return &own, nil
}

// lookup returns a cached answer for key at now: (resp, nil, true) for an
// active verdict still valid, (nil, err, true) for an inactive one, and
// false on a miss. It reports hits to the Observer, as events of the call
// of ctx, if observe is set.
func (c *Cache) lookup(ctx context.Context, key tokenKey, now time.Time, observe bool) (*Response, error, bool) {
	n := now.UnixNano()
	if v, ok := c.active.get(key); ok {
		if n >= v.fresh {
			if n >= v.stale {
				c.active.remove(key)
			}
			return nil, nil, false
		}
		if err := c.check(v.resp, now); err != nil {
			return nil, err, true
		}
		if observe {
			observeCall(c.cfg.Observer, ctx, Event{Kind: EventCacheHit})
		}
		return v.resp, nil, true
	}
	fresh, ok := c.inactive.get(key)
	if !ok {
		return nil, nil, false
	}
	if n >= fresh {
		c.inactive.remove(key)
		return nil, nil, false
	}
	if observe {
		observeCall(c.cfg.Observer, ctx, Event{Kind: EventNegativeHit})
	}
	return nil, errCachedInactive, true
}

var errCachedInactive = fmt.Errorf("%w (cached verdict)", ErrInactive)

// check reports whether a verdict is active and valid at now, with
// CacheConfig.ClockSkew of leeway.
func (c *Cache) check(r *Response, now time.Time) error {
	return validAt(r, now, c.cfg.ClockSkew)
}

// ttl returns how long an answer obtained at now may be served: zero means
// not at all.
func (c *Cache) ttl(resp *Response, now time.Time) time.Duration {
	if resp == nil {
		return max(c.cfg.NegativeTTL, 0)
	}
	if resp.Expiry.IsZero() {
		if !c.cfg.CacheWithoutExpiry {
			return 0
		}
		return c.cfg.MaxTTL
	}
	return max(min(c.cfg.MaxTTL, resp.Expiry.Sub(now)-c.cfg.ClockSkew), 0)
}

// store caches an answer (resp nil for inactive) until fresh, unless an
// invalidation happened since gen was read. resp must be the cache's own.
func (c *Cache) store(key tokenKey, resp *Response, fresh time.Time, gen uint64) {
	if c.gen.Load() != gen {
		return
	}
	var evicted bool
	if resp == nil {
		// An active verdict kept for stale-if-error must not outlive the
		// word that the token is inactive.
		c.active.remove(key)
		evicted = c.inactive.add(key, fresh.UnixNano())
	} else {
		v := verdict{resp: resp, fresh: fresh.UnixNano(), stale: fresh.UnixNano()}
		if c.cfg.StaleIfError > 0 {
			v.stale += int64(c.cfg.StaleIfError)
		}
		c.inactive.remove(key)
		evicted = c.active.add(key, v)
	}
	if evicted {
		c.observe(Event{Kind: EventEviction})
	}
}

// staleFor returns an expired active verdict for key that stale-if-error
// allows serving at now, or nil.
func (c *Cache) staleFor(key tokenKey, now time.Time) *Response {
	if c.cfg.StaleIfError <= 0 {
		return nil
	}
	v, ok := c.active.peek(key)
	if !ok || now.UnixNano() >= v.stale || c.check(v.resp, now) != nil {
		return nil
	}
	return v.resp
}

// len returns the number of verdicts held, active and inactive, fresh or
// not.
func (c *Cache) len() int { return c.active.len() + c.inactive.len() }

// Invalidate forgets the verdict on token, in memory and in the shared tier,
// so that the next call asks the next layer. Use it when the application
// learns of a revocation. It returns the shared tier's error, if any; the
// in-memory verdict is gone regardless. A call to the next layer in flight
// meanwhile does not store its answer, here or in the shared tier.
func (c *Cache) Invalidate(ctx context.Context, token string) error {
	return c.InvalidateHash(ctx, keyOf(token))
}

// InvalidateHash is [Cache.Invalidate] for a token known only by its
// SHA-256, as revocation events name it (package revocationfeed).
func (c *Cache) InvalidateHash(ctx context.Context, tokenSHA256 [sha256.Size]byte) error {
	key := tokenKey(tokenSHA256)
	c.gen.Add(1)
	c.active.remove(key)
	c.inactive.remove(key)
	if c.cfg.Shared != nil {
		if err := c.cfg.Shared.Delete(ctx, c.sharedKey(key)); err != nil {
			return fmt.Errorf("introspect: shared cache: %w", err)
		}
	}
	return nil
}

// Purge forgets every verdict held in memory. The shared tier, which other
// processes use too, is left alone.
func (c *Cache) Purge() {
	c.gen.Add(1)
	c.active.purge()
	c.inactive.purge()
}

// Ping checks, without using the cache, that the next layer works: it
// calls next's own Ping method if it has one (a [*Client] has), and
// otherwise asks next about a random token, which must come back inactive.
// Call it at start-up, so that a wrong endpoint or wrong credentials show
// there rather than as 503s on the first requests.
func (c *Cache) Ping(ctx context.Context) error {
	if p, ok := c.next.(interface{ Ping(context.Context) error }); ok {
		return p.Ping(ctx)
	}
	return ping(ctx, c.next)
}

func (c *Cache) observe(e Event) {
	if c.cfg.Observer != nil {
		c.cfg.Observer.Observe(e)
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

// prefixErr formats a field's error after its name: "[1] is 3 bytes"
// joins the name, "is required" follows a space.
func prefixErr(err error) string {
	if msg := err.Error(); len(msg) > 0 && msg[0] == '[' {
		return msg
	}
	return " " + err.Error()
}
