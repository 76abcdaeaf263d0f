package users

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Memory is a [Store] in memory: users are lost when the process exits.
// It suits tests and demos. It is safe for concurrent use.
type Memory struct {
	// mu guards bySubject and byUsername, which always hold the same users.
	mu         sync.RWMutex
	bySubject  map[string]*User
	byUsername map[string]*User
}

// NewMemory returns an empty [Memory] store.
func NewMemory() *Memory {
	return &Memory{bySubject: map[string]*User{}, byUsername: map[string]*User{}}
}

// CreateUser implements [Store].
func (m *Memory) CreateUser(_ context.Context, u *User) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.bySubject[u.Subject] != nil || m.byUsername[u.Username] != nil {
		return fmt.Errorf("%w: %q", ErrExists, u.Username)
	}
	c := u.Clone()
	m.bySubject[c.Subject], m.byUsername[c.Username] = c, c
	return nil
}

// User implements [Store].
func (m *Memory) User(_ context.Context, subject string) (*User, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if u := m.bySubject[subject]; u != nil {
		return u.Clone(), nil
	}
	return nil, ErrNotFound
}

// UserByUsername implements [Store].
func (m *Memory) UserByUsername(_ context.Context, username string) (*User, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if u := m.byUsername[username]; u != nil {
		return u.Clone(), nil
	}
	return nil, ErrNotFound
}

// Users implements [Store].
func (m *Memory) Users(context.Context) ([]*User, error) {
	m.mu.RLock()
	us := make([]*User, 0, len(m.bySubject))
	for _, u := range m.bySubject {
		us = append(us, u.Clone())
	}
	m.mu.RUnlock()
	slices.SortFunc(us, func(a, b *User) int { return strings.Compare(a.Username, b.Username) })
	return us, nil
}

// UpdateUser implements [Store].
func (m *Memory) UpdateUser(_ context.Context, u *User) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	old := m.bySubject[u.Subject]
	if old == nil {
		return ErrNotFound
	}
	if other := m.byUsername[u.Username]; other != nil && other != old {
		return fmt.Errorf("%w: %q", ErrExists, u.Username)
	}
	delete(m.byUsername, old.Username)
	c := u.Clone()
	m.bySubject[c.Subject], m.byUsername[c.Username] = c, c
	return nil
}

// DeleteUser implements [Store].
func (m *Memory) DeleteUser(_ context.Context, subject string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	u := m.bySubject[subject]
	if u == nil {
		return ErrNotFound
	}
	delete(m.bySubject, subject)
	delete(m.byUsername, u.Username)
	return nil
}
