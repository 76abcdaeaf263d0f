package introspect

import (
	"crypto/sha256"
	"sync"
	"unsafe"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// tokenKey is the cache key of a token: its SHA-256, so that no raw token is
// kept in memory or reaches the shared tier.
type tokenKey = [sha256.Size]byte

func keyOf(token string) tokenKey {
	// Hash the string's bytes without copying them: sha256 only reads.
	return sha256.Sum256(unsafe.Slice(unsafe.StringData(token), len(token)))
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
