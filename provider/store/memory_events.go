package store

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"time"
)

// memoryEvents is the [Memory] store's log of revocation events; Memory.mu
// guards it.
type memoryEvents struct {
	id     string
	head   int64
	events []*Event // by position, ascending
}

func newMemoryEvents() memoryEvents {
	b := make([]byte, 16)
	rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	return memoryEvents{id: hex.EncodeToString(b)}
}

// appendEventLocked appends an event for t, an access token that is being
// revoked, unless it is a refresh token or revoked already; m.mu is held
// for writing.
func (m *Memory) appendEventLocked(t *Token, reason string, now time.Time) {
	if t.Revoked || t.Kind == TokenRefresh {
		return
	}
	e := &Event{TokenHash: t.Hash, TokenExpiresAt: t.ExpiresAt, ClientID: t.ClientID, Audience: t.Audience,
		Reason: reason, AppendedAt: now}
	if t.Format == "jwt" {
		e.TokenJWTID = t.JWTID
	}
	m.log.head++
	e.Position = m.log.head
	m.log.events = append(m.log.events, cloneEvent(e))
}

// Events implements [Store].
func (m *Memory) Events(_ context.Context, after int64, limit int) (*EventLog, []*Event, error) {
	if limit < 0 {
		return nil, nil, fmt.Errorf("store: Events: limit %d is negative", limit)
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	log := &EventLog{ID: m.log.id, Head: m.log.head}
	var out []*Event
	i, _ := slices.BinarySearchFunc(m.log.events, after+1, func(e *Event, p int64) int { return cmp.Compare(e.Position, p) })
	for _, e := range m.log.events[i:min(i+limit, len(m.log.events))] {
		out = append(out, cloneEvent(e))
	}
	return log, out, nil
}

// DeleteEvents implements [Store].
func (m *Memory) DeleteEvents(_ context.Context, tokenExpiredBefore, appendedBefore time.Time, limit int) (int64, error) {
	if limit <= 0 {
		return 0, fmt.Errorf("store: DeleteEvents: limit %d is not positive", limit)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var n int64
	kept := m.log.events[:0]
	for _, e := range m.log.events {
		if n < int64(limit) && (e.TokenExpiresAt.Before(tokenExpiredBefore) || e.AppendedAt.Before(appendedBefore)) {
			n++
			continue
		}
		kept = append(kept, e)
	}
	clear(m.log.events[len(kept):])
	m.log.events = kept
	return n, nil
}
