package provider

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/tokengate/tokengate/internal/oauthhttp"
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

// clientJWKSTTL is how long a client's fetched JWK Set is reused.
const clientJWKSTTL = 5 * time.Minute

// maxClientJWKSBytes caps a client's JWK Set document.
const maxClientJWKSBytes = 256 << 10

// clientJWKS returns the JWK Set at uri, cached for clientJWKSTTL.
func (p *Provider) clientJWKS(ctx context.Context, uri string) ([]byte, error) {
	now := p.now()
	p.jwksCache.mu.Lock()
	e := p.jwksCache.entries[uri]
	p.jwksCache.mu.Unlock()
	if e != nil && now.Sub(e.fetchedAt) < clientJWKSTTL {
		return e.set, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	res, err := p.jwksHTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching client JWK Set: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetching client JWK Set: status %d", res.StatusCode)
	}
	body, err := oauthhttp.ReadBody(res.Body, maxClientJWKSBytes)
	if err != nil {
		return nil, fmt.Errorf("fetching client JWK Set: %w", err)
	}
	p.jwksCache.mu.Lock()
	if len(p.jwksCache.entries) > 1000 {
		clear(p.jwksCache.entries)
	}
	p.jwksCache.entries[uri] = &jwksEntry{set: body, fetchedAt: now}
	p.jwksCache.mu.Unlock()
	return body, nil
}
