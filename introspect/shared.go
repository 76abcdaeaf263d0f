package introspect

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"time"
	"unicode/utf8"
)

// SharedCache is a second cache tier shared between processes, such as a
// Redis client wrapped in three methods. Keys are printable ASCII and never
// contain a token: they are a hex SHA-256 of the token, prefixed with a hash
// of the identity of the [Cache]'s next layer (for a [Client], its
// introspection endpoint and client identity), so that verdicts of
// different authorization servers or credentials are never shared. Values
// are opaque bytes. Whatever can write to the store can forge verdicts:
// trust it like the authorization server.
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

// sharedPrefix returns the prefix of the shared keys of verdicts of a next
// layer with the given CacheIdentity.
func sharedPrefix(identity string) string {
	h := sha256.Sum256([]byte(identity))
	return "tokengate:verdict:v1:" + hex.EncodeToString(h[:8]) + ":"
}

func (c *Cache) sharedKey(key tokenKey) string {
	return c.sharedPrefix + hex.EncodeToString(key[:])
}

// sharedVersion is the first byte of a shared value; then come 8 bytes of
// big-endian Unix nanoseconds (the end of freshness) and the RFC 7662 JSON.
const sharedVersion = 1

// sharedGet consults the shared tier. It reports ok only for a verdict that
// is still fresh and, if active, still valid at now.
func (c *Cache) sharedGet(ctx context.Context, key tokenKey, now time.Time, gen uint64) (*Response, error, bool) {
	raw, ok, err := c.cfg.Shared.Get(ctx, c.sharedKey(key))
	if err != nil {
		c.cfg.Logger.Warn("introspect: shared cache read failed; asking the next layer", "error", err)
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
	intern(&r)
	c.store(key, &r, fresh, gen)
	return &r, nil, true
}

// sharedSet writes a verdict to the shared tier, best effort.
func (c *Cache) sharedSet(ctx context.Context, key tokenKey, resp *Response, now, fresh time.Time) {
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
	if err := c.cfg.Shared.Set(ctx, c.sharedKey(key), raw, fresh.Sub(now)); err != nil {
		c.cfg.Logger.Warn("introspect: shared cache write failed", "error", err)
	}
}
