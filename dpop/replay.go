package dpop

import (
	"crypto/sha256"
	"sync"
	"time"
)

// replayCache remembers accepted proofs until they could no longer pass the
// iat check. It is bounded: when full of live entries it refuses new ones.
type replayCache struct {
	max int
	// mu guards seen and heap, which always hold the same keys.
	mu   sync.Mutex
	seen map[[sha256.Size]byte]struct{}
	heap []replayEntry // min-heap on exp
}

type replayEntry struct {
	key [sha256.Size]byte
	exp int64 // Unix nanoseconds after which the proof is stale
}

func newReplayCache(max int) *replayCache {
	return &replayCache{max: max, seen: make(map[[sha256.Size]byte]struct{})}
}

// add records key until exp, or fails with ErrReplay if it is already
// there, or with ErrReplayCacheFull if there is no room.
func (c *replayCache) add(key [sha256.Size]byte, exp, now time.Time) error {
	n := now.UnixNano()
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.heap) > 0 && c.heap[0].exp < n {
		delete(c.seen, c.heap[0].key)
		c.pop()
	}
	if _, dup := c.seen[key]; dup {
		return ErrReplay
	}
	if len(c.seen) >= c.max {
		return ErrReplayCacheFull
	}
	c.seen[key] = struct{}{}
	c.push(replayEntry{key: key, exp: exp.UnixNano()})
	return nil
}

// len returns the number of entries, for tests.
func (c *replayCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}

func (c *replayCache) push(e replayEntry) {
	c.heap = append(c.heap, e)
	i := len(c.heap) - 1
	for i > 0 {
		parent := (i - 1) / 2
		if c.heap[parent].exp <= c.heap[i].exp {
			break
		}
		c.heap[parent], c.heap[i] = c.heap[i], c.heap[parent]
		i = parent
	}
}

func (c *replayCache) pop() {
	last := len(c.heap) - 1
	c.heap[0] = c.heap[last]
	c.heap = c.heap[:last]
	i := 0
	for {
		l, r, least := 2*i+1, 2*i+2, i
		if l < len(c.heap) && c.heap[l].exp < c.heap[least].exp {
			least = l
		}
		if r < len(c.heap) && c.heap[r].exp < c.heap[least].exp {
			least = r
		}
		if least == i {
			return
		}
		c.heap[i], c.heap[least] = c.heap[least], c.heap[i]
		i = least
	}
}
