package introspect

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// SharedCache is a second cache tier shared between processes, such as
// Redis (package introspect/rediscache) or any store wrapped in three
// methods. Keys are printable ASCII and never contain a token: they are a
// hex SHA-256 of the token, prefixed with a hash of the identity of the
// [Cache]'s next layer (for a [Client], its introspection endpoint and
// client identity), so that verdicts of different authorization servers or
// credentials are never shared. Values are opaque bytes.
//
// The store is not trusted: every value the Cache writes carries an
// HMAC-SHA256 under CacheConfig.SharedKeys, bound to its key, and a value
// that does not verify (forged, altered, or moved from another key) is
// ignored and reported as [EventSharedRejected]. Whoever can write to the
// store can therefore delete verdicts, or replay one under its own key
// until it expires, but cannot mint one.
//
// Errors are logged (at most one line per 10 seconds), reported as
// [EventSharedError] and treated as misses; they never fail a request.
// Implementations should bound each operation tightly (rediscache's
// default is 50ms): a miss waits for Get, and for Set after the answer.
type SharedCache interface {
	// Get returns the value stored under key, and false if there is none.
	Get(ctx context.Context, key string) (value []byte, ok bool, err error)
	// Set stores value under key for ttl.
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// Delete removes key.
	Delete(ctx context.Context, key string) error
}

// MinSharedKeyBytes is the least length of each of CacheConfig.SharedKeys:
// 256 bits, the strength of HMAC-SHA256.
const MinSharedKeyBytes = 32

// sharedPrefix returns the prefix of the shared keys of verdicts of a next
// layer with the given CacheIdentity.
func sharedPrefix(identity string) string {
	h := sha256.Sum256([]byte(identity))
	return "tokengate:verdict:v2:" + hex.EncodeToString(h[:8]) + ":"
}

func (c *Cache) sharedKey(key tokenKey) string {
	return c.sharedPrefix + hex.EncodeToString(key[:])
}

// A shared value is
//
//	version (1 byte, 2) | key id (4) | end of freshness (8, big-endian Unix ns) | RFC 7662 JSON | HMAC-SHA256 (32)
//
// where the key id names which of CacheConfig.SharedKeys made the MAC and
// the MAC covers macContext, the entry's key, a zero byte and everything
// before the MAC. Binding the key means a value copied under another key
// (another token's, or another identity's) does not verify.
const (
	sharedVersion    = 2
	sharedHeaderLen  = 1 + 4 + 8
	sharedMACLen     = sha256.Size
	sharedMinLen     = sharedHeaderLen + sharedMACLen
	sharedMACContext = "tokengate shared verdict v2\x00"
)

// sharedKeyring holds the keys that authenticate shared values; the first
// one signs.
type sharedKeyring []sharedMACKey

type sharedMACKey struct {
	id     [4]byte
	secret []byte
}

func newSharedKeyring(keys [][]byte) (sharedKeyring, error) {
	if len(keys) == 0 {
		return nil, errors.New("is required with CacheConfig.Shared: whoever can write to the shared store could otherwise mint verdicts")
	}
	ring := make(sharedKeyring, 0, len(keys))
	for i, k := range keys {
		if len(k) < MinSharedKeyBytes {
			return nil, fmt.Errorf("[%d] is %d bytes, want at least %d", i, len(k), MinSharedKeyBytes)
		}
		// The id is a MAC of a fixed string, so that it says nothing about
		// the key, and the keys of a ring are told apart without trying
		// each one.
		m := hmac.New(sha256.New, k)
		m.Write([]byte("tokengate shared key id"))
		var id [4]byte
		copy(id[:], m.Sum(nil))
		for _, o := range ring {
			if o.id == id {
				return nil, fmt.Errorf("[%d] repeats an earlier key", i)
			}
		}
		ring = append(ring, sharedMACKey{id: id, secret: append([]byte(nil), k...)})
	}
	return ring, nil
}

// mac returns the MAC of data stored under name.
func (k *sharedMACKey) mac(name string, data []byte) []byte {
	m := hmac.New(sha256.New, k.secret)
	m.Write([]byte(sharedMACContext))
	m.Write([]byte(name))
	m.Write([]byte{0})
	m.Write(data)
	return m.Sum(nil)
}

// seal returns the shared value of body, fresh until fresh, stored under
// name.
func (r sharedKeyring) seal(name string, fresh time.Time, body []byte) []byte {
	k := &r[0]
	raw := make([]byte, sharedHeaderLen, sharedHeaderLen+len(body)+sharedMACLen)
	raw[0] = sharedVersion
	copy(raw[1:5], k.id[:])
	binary.BigEndian.PutUint64(raw[5:13], uint64(fresh.UnixNano()))
	raw = append(raw, body...)
	return append(raw, k.mac(name, raw)...)
}

// errSharedRejected: a shared value that is not one of ours.
var errSharedRejected = errors.New("introspect: shared cache value not authenticated")

// open checks a shared value read under name and returns its end of
// freshness and body.
func (r sharedKeyring) open(name string, raw []byte) (time.Time, []byte, error) {
	if len(raw) < sharedMinLen || raw[0] != sharedVersion {
		return time.Time{}, nil, fmt.Errorf("%w: unknown format", errSharedRejected)
	}
	data, sum := raw[:len(raw)-sharedMACLen], raw[len(raw)-sharedMACLen:]
	for i := range r {
		if [4]byte(raw[1:5]) != r[i].id {
			continue
		}
		if !hmac.Equal(sum, r[i].mac(name, data)) {
			return time.Time{}, nil, fmt.Errorf("%w: MAC does not verify", errSharedRejected)
		}
		return time.Unix(0, int64(binary.BigEndian.Uint64(raw[5:13]))), data[sharedHeaderLen:], nil
	}
	return time.Time{}, nil, fmt.Errorf("%w: made with a key not in CacheConfig.SharedKeys", errSharedRejected)
}

// sharedGet consults the shared tier. It reports ok only for an
// authenticated verdict that is still fresh and, if active, still valid at
// now.
func (c *Cache) sharedGet(ctx context.Context, key tokenKey, now time.Time, gen uint64) (*Response, error, bool) {
	name := c.sharedKey(key)
	raw, ok, err := c.cfg.Shared.Get(ctx, name)
	if err != nil {
		c.observe(Event{Kind: EventSharedError})
		if ok, suppressed := c.sharedReadLog.Allow(now); ok {
			c.cfg.Logger.Warn("introspect: shared cache read failed; asking the next layer", "error", err, "suppressed_since_last", suppressed)
		}
		return nil, nil, false
	}
	if !ok {
		return nil, nil, false
	}
	fresh, body, err := c.sharedKeys.open(name, raw)
	if err == nil && !utf8.Valid(body) {
		err = fmt.Errorf("%w: not UTF-8", errSharedRejected)
	}
	var r Response
	if err == nil {
		if err = json.Unmarshal(body, &r); err != nil {
			err = fmt.Errorf("%w: %w", errSharedRejected, err)
		}
	}
	if err != nil {
		c.observe(Event{Kind: EventSharedRejected})
		if ok, suppressed := c.sharedRejectLog.Allow(now); ok {
			c.cfg.Logger.Warn("introspect: shared cache value rejected; ignoring it (forged, altered, moved, or written with another key)",
				"error", err, "suppressed_since_last", suppressed)
		}
		return nil, nil, false
	}
	if !now.Before(fresh) {
		return nil, nil, false
	}
	if !r.Active {
		if limit := now.Add(max(c.cfg.NegativeTTL, 0)); limit.Before(fresh) {
			fresh = limit
		}
		if !now.Before(fresh) {
			return nil, nil, false
		}
		c.store(key, nil, fresh, gen)
		return nil, errCachedInactive, true
	}
	if c.check(&r, now) != nil {
		return nil, nil, false
	}
	// The writer's MaxTTL or clock may differ from ours: ours bounds too.
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

// sharedSet writes a verdict to the shared tier, best effort, unless an
// invalidation happened since gen was read: a verdict obtained before a
// revocation must not reach the other processes after it.
func (c *Cache) sharedSet(ctx context.Context, key tokenKey, resp *Response, now, fresh time.Time, gen uint64) {
	if c.gen.Load() != gen {
		return
	}
	body := []byte(`{"active":false}`)
	if resp != nil {
		var err error
		if body, err = json.Marshal(resp); err != nil {
			return
		}
	}
	name := c.sharedKey(key)
	if err := c.cfg.Shared.Set(ctx, name, c.sharedKeys.seal(name, fresh, body), fresh.Sub(now)); err != nil {
		c.observe(Event{Kind: EventSharedError})
		if ok, suppressed := c.sharedWriteLog.Allow(now); ok {
			c.cfg.Logger.Warn("introspect: shared cache write failed", "error", err, "suppressed_since_last", suppressed)
		}
	}
}
