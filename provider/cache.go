package provider

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/tokengate/tokengate/provider/store"
)

// The provider's two caches: client registrations read to authenticate
// requests (clientCache) and clients' JWK Sets fetched from their jwks_uri
// to encrypt RFC 9701 answers (jwksCache, used by clientJWKS).

// clientCache keeps recently read client registrations, and the absence of
// a client, for ClientCacheTTL.
type clientCache struct {
	// mu guards entries.
	mu      sync.RWMutex
	entries map[string]clientEntry
}

type clientEntry struct {
	client  *Client // shared: callers must not modify it; nil: no such client
	expires time.Time
}

// maxCachedClients bounds the client cache; it is cleared when full.
const maxCachedClients = 10000

// client returns the registration of id, from the cache when fresh, or an
// error matching store.ErrNotFound. An unknown id is cached like a known
// one: a request naming it costs the same (one cache read; no store read
// after the first), so the answer's timing does not tell whether it
// exists, and a flood of made-up ids does not become a flood of reads.
func (p *Provider) client(ctx context.Context, id string) (*Client, error) {
	now := p.now()
	p.clients.mu.RLock()
	e, ok := p.clients.entries[id]
	p.clients.mu.RUnlock()
	if ok && now.Before(e.expires) {
		if e.client == nil {
			return nil, store.ErrNotFound
		}
		return e.client, nil
	}
	c, err := p.cfg.Store.Client(ctx, id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	p.clients.mu.Lock()
	if len(p.clients.entries) >= maxCachedClients {
		clear(p.clients.entries)
	}
	p.clients.entries[id] = clientEntry{client: c, expires: now.Add(p.cfg.ClientCacheTTL)}
	p.clients.mu.Unlock()
	return c, err
}

// forgetClient drops id from the cache (after this process registered or
// deleted it).
func (p *Provider) forgetClient(id string) {
	p.clients.mu.Lock()
	delete(p.clients.entries, id)
	p.clients.mu.Unlock()
}

// jwksCache caches clients' JWK Sets fetched from their jwks_uri.
type jwksCache struct {
	// mu guards entries.
	mu      sync.Mutex
	entries map[string]*jwksEntry
}

type jwksEntry struct {
	set       []byte
	fetchedAt time.Time
}
