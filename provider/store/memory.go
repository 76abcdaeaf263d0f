package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tokengate/tokengate/secevent"
)

// Memory is an in-memory [Store] for tests and single-process use; its state
// is lost when the process exits. The zero value is not usable: call
// [NewMemory].
type Memory struct {
	// mu guards every map below.
	mu           sync.RWMutex
	clients      map[string]*Client
	tokens       map[string]*Token       // by string(hash)
	keys         map[string]*Key         // by kid
	settings     *Settings               // nil until saved
	codes        map[string]*Code        // by string(hash)
	consents     map[[2]string]*Consent  // by subject, client id
	sessions     map[string]*Session     // by string(hash)
	interactions map[string]*Interaction // by string(hash)
	log          memoryEvents
}

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory {
	return &Memory{
		clients:      make(map[string]*Client),
		tokens:       make(map[string]*Token),
		keys:         make(map[string]*Key),
		codes:        make(map[string]*Code),
		consents:     make(map[[2]string]*Consent),
		sessions:     make(map[string]*Session),
		interactions: make(map[string]*Interaction),
		log:          newMemoryEvents(),
	}
}

// CreateClient implements [Store].
func (m *Memory) CreateClient(_ context.Context, c *Client) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.clients[c.ID]; ok {
		return ErrExists
	}
	m.clients[c.ID] = cloneClient(c)
	return nil
}

// Client implements [Store].
func (m *Memory) Client(_ context.Context, id string) (*Client, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	c, ok := m.clients[id]
	if !ok {
		return nil, ErrNotFound
	}
	return cloneClient(c), nil
}

// Clients implements [Store].
func (m *Memory) Clients(_ context.Context) ([]*Client, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]*Client, 0, len(m.clients))
	for _, c := range m.clients {
		out = append(out, cloneClient(c))
	}
	slices.SortFunc(out, func(a, b *Client) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// DeleteClient implements [Store].
func (m *Memory) DeleteClient(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.clients[id]; !ok {
		return ErrNotFound
	}
	delete(m.clients, id)
	now := time.Now()
	for h, t := range m.tokens {
		if t.ClientID == id {
			m.appendEventLocked(t, secevent.ReasonClientDeleted, now)
			delete(m.tokens, h)
		}
	}
	for h, c := range m.codes {
		if c.ClientID == id {
			delete(m.codes, h)
		}
	}
	for k := range m.consents {
		if k[1] == id {
			delete(m.consents, k)
		}
	}
	return nil
}

// SaveToken implements [Store]. Like the SQLite store's foreign key, it
// refuses a token of a client that does not exist (deleted while the token
// was being issued), which would otherwise outlive its client.
func (m *Memory) SaveToken(_ context.Context, t *Token) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.clients[t.ClientID]; !ok {
		return fmt.Errorf("store: token of client %q: %w", t.ClientID, ErrNotFound)
	}
	m.tokens[string(t.Hash)] = t.Clone()
	return nil
}

// Token implements [Store].
func (m *Memory) Token(_ context.Context, hash []byte) (*Token, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	t, ok := m.tokens[string(hash)]
	if !ok {
		return nil, ErrNotFound
	}
	return t.Clone(), nil
}

// RevokeGrant implements [Store].
func (m *Memory) RevokeGrant(_ context.Context, grantID, reason string) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var n int64
	now := time.Now()
	for _, t := range m.tokens {
		if t.GrantID == grantID {
			m.appendEventLocked(t, reason, now)
			t.Revoked = true
			n++
		}
	}
	return n, nil
}

// DeleteExpiredTokens implements [Store].
func (m *Memory) DeleteExpiredTokens(_ context.Context, before time.Time, limit int) (int64, error) {
	if limit <= 0 {
		return 0, fmt.Errorf("store: DeleteExpiredTokens: limit %d is not positive", limit)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var n int64
	for h, t := range m.tokens {
		if n == int64(limit) {
			break
		}
		if t.ExpiresAt.Before(before) {
			delete(m.tokens, h)
			n++
		}
	}
	return n, nil
}

// Keys implements [Store].
func (m *Memory) Keys(_ context.Context) ([]*Key, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]*Key, 0, len(m.keys))
	for _, k := range m.keys {
		out = append(out, cloneKey(k))
	}
	sortKeys(out)
	return out, nil
}

// RotateKeys implements [Store].
func (m *Memory) RotateKeys(_ context.Context, add []*Key, now, retain time.Time, onlyIfMissing bool) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, nk := range add {
		hasActive := false
		for _, k := range m.keys {
			if k.Alg == nk.Alg && k.Active() {
				hasActive = true
			}
		}
		if hasActive && onlyIfMissing {
			continue
		}
		for _, k := range m.keys {
			if k.Alg == nk.Alg && k.Active() {
				k.RetiredAt, k.NotAfter = now, retain
			}
		}
		m.keys[nk.ID] = cloneKey(nk)
		n++
	}
	for id, k := range m.keys {
		if !k.Active() && k.NotAfter.Before(now) {
			delete(m.keys, id)
		}
	}
	return n, nil
}

// Settings implements [Store].
func (m *Memory) Settings(_ context.Context) (*Settings, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.settings == nil {
		return nil, ErrNotFound
	}
	s := *m.settings
	s.KeyAlgorithms = slices.Clone(s.KeyAlgorithms)
	s.PairwiseSalt = slices.Clone(s.PairwiseSalt)
	return &s, nil
}

// SaveSettings implements [Store].
func (m *Memory) SaveSettings(_ context.Context, s *Settings) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := *s
	c.KeyAlgorithms = slices.Clone(s.KeyAlgorithms)
	c.PairwiseSalt = slices.Clone(s.PairwiseSalt)
	m.settings = &c
	return nil
}

// Close implements [Store]; it does nothing.
func (m *Memory) Close() error { return nil }

// sortKeys orders keys newest first, then by id for stability.
func sortKeys(keys []*Key) {
	slices.SortFunc(keys, func(a, b *Key) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}

var _ Store = (*Memory)(nil)
