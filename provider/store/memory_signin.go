package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tokengate/tokengate/secevent"
)

// SaveCode implements [Store].
func (m *Memory) SaveCode(_ context.Context, c *Code) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.clients[c.ClientID]; !ok {
		return fmt.Errorf("store: code of client %q: %w", c.ClientID, ErrNotFound)
	}
	m.codes[string(c.Hash)] = cloneCode(c)
	return nil
}

// Code implements [Store].
func (m *Memory) Code(_ context.Context, hash []byte) (*Code, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	c, ok := m.codes[string(hash)]
	if !ok {
		return nil, ErrNotFound
	}
	return cloneCode(c), nil
}

// RedeemCode implements [Store].
func (m *Memory) RedeemCode(_ context.Context, hash []byte, usedAt time.Time, tokens ...*Token) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.codes[string(hash)]
	switch {
	case !ok:
		return ErrNotFound
	case !c.UsedAt.IsZero():
		return ErrUsed
	}
	if err := m.saveTokensLocked(tokens); err != nil {
		return err
	}
	c.UsedAt = usedAt
	return nil
}

// RotateToken implements [Store].
func (m *Memory) RotateToken(_ context.Context, hash []byte, usedAt time.Time, tokens ...*Token) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.tokens[string(hash)]
	switch {
	case !ok:
		return ErrNotFound
	case !t.UsedAt.IsZero() || t.Revoked:
		return ErrUsed
	}
	if err := m.saveTokensLocked(tokens); err != nil {
		return err
	}
	t.UsedAt = usedAt
	return nil
}

// saveTokensLocked saves tokens, all or none; m.mu is held.
func (m *Memory) saveTokensLocked(tokens []*Token) error {
	for _, t := range tokens {
		if _, ok := m.clients[t.ClientID]; !ok {
			return fmt.Errorf("store: token of client %q: %w", t.ClientID, ErrNotFound)
		}
	}
	for _, t := range tokens {
		m.tokens[string(t.Hash)] = t.Clone()
	}
	return nil
}

// RevokeConsent implements [Store].
func (m *Memory) RevokeConsent(_ context.Context, subject, clientID string) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	of := func(sub, client string) bool { return sub == subject && (clientID == "" || client == clientID) }
	for k := range m.consents {
		if of(k[0], k[1]) {
			delete(m.consents, k)
		}
	}
	var n int64
	now := time.Now()
	for _, t := range m.tokens {
		if of(t.Subject, t.ClientID) && !t.Revoked {
			m.appendEventLocked(t, secevent.ReasonGrantRevoked, now)
			t.Revoked = true
			n++
		}
	}
	for _, c := range m.codes {
		if of(c.Subject, c.ClientID) && c.UsedAt.IsZero() {
			c.UsedAt = c.IssuedAt // used by nobody: redeeming it fails
		}
	}
	return n, nil
}

// SaveConsent implements [Store].
func (m *Memory) SaveConsent(_ context.Context, c *Consent) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.clients[c.ClientID]; !ok {
		return fmt.Errorf("store: consent to client %q: %w", c.ClientID, ErrNotFound)
	}
	m.consents[[2]string{c.Subject, c.ClientID}] = cloneConsent(c)
	return nil
}

// Consent implements [Store].
func (m *Memory) Consent(_ context.Context, subject, clientID string) (*Consent, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	c, ok := m.consents[[2]string{subject, clientID}]
	if !ok {
		return nil, ErrNotFound
	}
	return cloneConsent(c), nil
}

// Consents implements [Store].
func (m *Memory) Consents(_ context.Context, subject string) ([]*Consent, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []*Consent
	for k, c := range m.consents {
		if k[0] == subject {
			out = append(out, cloneConsent(c))
		}
	}
	slices.SortFunc(out, func(a, b *Consent) int { return strings.Compare(a.ClientID, b.ClientID) })
	return out, nil
}

// SaveSession implements [Store].
func (m *Memory) SaveSession(_ context.Context, s *Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sessions[string(s.Hash)] = cloneSession(s)
	return nil
}

// Session implements [Store].
func (m *Memory) Session(_ context.Context, hash []byte) (*Session, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	s, ok := m.sessions[string(hash)]
	if !ok {
		return nil, ErrNotFound
	}
	return cloneSession(s), nil
}

// DeleteSession implements [Store].
func (m *Memory) DeleteSession(_ context.Context, hash []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.sessions, string(hash))
	return nil
}

// DeleteSessions implements [Store].
func (m *Memory) DeleteSessions(_ context.Context, subject string) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var n int64
	for h, s := range m.sessions {
		if s.Subject == subject {
			delete(m.sessions, h)
			n++
		}
	}
	return n, nil
}

// SaveInteraction implements [Store].
func (m *Memory) SaveInteraction(_ context.Context, i *Interaction) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.interactions[string(i.Hash)] = cloneInteraction(i)
	return nil
}

// Interaction implements [Store].
func (m *Memory) Interaction(_ context.Context, hash []byte) (*Interaction, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	i, ok := m.interactions[string(hash)]
	if !ok {
		return nil, ErrNotFound
	}
	return cloneInteraction(i), nil
}

// FinishInteraction implements [Store].
func (m *Memory) FinishInteraction(_ context.Context, hash []byte, result []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	i, ok := m.interactions[string(hash)]
	switch {
	case !ok:
		return ErrNotFound
	case i.Result != nil:
		return ErrUsed
	}
	i.Result = slices.Clone(result)
	if i.Result == nil {
		i.Result = []byte{}
	}
	return nil
}

// TakeInteraction implements [Store].
func (m *Memory) TakeInteraction(_ context.Context, hash []byte) (*Interaction, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	i, ok := m.interactions[string(hash)]
	if !ok {
		return nil, ErrNotFound
	}
	delete(m.interactions, string(hash))
	return i, nil
}

// DeleteExpired implements [Store].
func (m *Memory) DeleteExpired(_ context.Context, before time.Time, limit int) (int64, error) {
	if limit <= 0 {
		return 0, fmt.Errorf("store: DeleteExpired: limit %d is not positive", limit)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var n int64
	sweep := func(expired func() bool, del func()) {
		if n < int64(limit) && expired() {
			del()
			n++
		}
	}
	for h, c := range m.codes {
		sweep(func() bool { return c.ExpiresAt.Before(before) }, func() { delete(m.codes, h) })
	}
	for h, s := range m.sessions {
		sweep(func() bool { return s.ExpiresAt.Before(before) }, func() { delete(m.sessions, h) })
	}
	for k, c := range m.consents {
		sweep(func() bool { return c.ExpiresAt.Before(before) }, func() { delete(m.consents, k) })
	}
	for h, i := range m.interactions {
		sweep(func() bool { return i.ExpiresAt.Before(before) }, func() { delete(m.interactions, h) })
	}
	return n, nil
}
