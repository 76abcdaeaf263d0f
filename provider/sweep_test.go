package provider_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tokengate/tokengate/provider"
	"github.com/tokengate/tokengate/provider/store"
)

// sweepLog records the batches of a sweep and the revocations between them.
type sweepLog struct {
	store.Store
	mu      sync.Mutex // guards events and onBatch
	events  []string
	onBatch func(n int) // called after batch n (1-based) returns
	batches atomic.Int64
}

func (s *sweepLog) record(e string) {
	s.mu.Lock()
	s.events = append(s.events, e)
	s.mu.Unlock()
}

func (s *sweepLog) DeleteExpiredTokens(ctx context.Context, before time.Time, limit int) (int64, error) {
	n := s.batches.Add(1)
	s.record(fmt.Sprint("batch ", n))
	deleted, err := s.Store.DeleteExpiredTokens(ctx, before, limit)
	if deleted > int64(limit) {
		s.record(fmt.Sprintf("batch %d deleted %d > limit %d", n, deleted, limit))
	}
	s.mu.Lock()
	f := s.onBatch
	s.mu.Unlock()
	if f != nil {
		f(int(n))
	}
	return deleted, err
}

func (s *sweepLog) RevokeGrant(ctx context.Context, grant, reason string) (int64, error) {
	n, err := s.Store.RevokeGrant(ctx, grant, reason)
	s.record("revoked")
	return n, err
}

// TestExpiredSweepStallsWrites (finding 1 of the review): the sweep of
// expired tokens ran inside a token request and deleted them all in one
// transaction, so every write waited for all of it. Now no request sweeps,
// and a sweep deletes at most SweepBatchSize tokens per transaction: a
// revocation sent during a sweep is committed before the next batch starts.
func TestExpiredSweepStallsWrites(t *testing.T) {
	for name, newStore := range stores {
		t.Run(name, func(t *testing.T) {
			sl := &sweepLog{Store: newStore(t)}
			e := newEnv(t, sl, func(c *provider.Config) { c.SweepInterval = time.Minute; c.SweepBatchSize = 10 })
			app := e.register(provider.ClientSpec{})
			ctx := context.Background()
			for range 35 {
				if _, err := e.p.Mint(ctx, provider.MintRequest{ClientID: app.id, ExpiresAt: e.clock.Now().Add(-time.Second)}); err != nil {
					t.Fatal(err)
				}
			}
			e.token(app)
			e.clock.Add(2 * time.Hour) // a sweep would be due, had requests swept
			live := e.token(app)
			if n := sl.batches.Load(); n != 0 {
				t.Fatalf("a token request swept (%d batches): sweeping belongs off the request path", n)
			}

			// Between the first two batches, a revocation gets through: the
			// store is not held for the whole sweep.
			revoked := make(chan error, 1)
			sl.mu.Lock()
			sl.onBatch = func(n int) {
				if n == 1 {
					revoked <- e.p.Revoke(ctx, live)
				}
			}
			sl.mu.Unlock()
			n, err := e.p.Sweep(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := <-revoked; err != nil {
				t.Fatal(err)
			}
			if n != 35+1 { // and the one issued before the clock moved
				t.Errorf("Sweep deleted %d, want 36", n)
			}
			sl.mu.Lock()
			events := slices.Clone(sl.events)
			sl.mu.Unlock()
			want := []string{"batch 1", "revoked", "batch 2", "batch 3", "batch 4"}
			if !slices.Equal(events, want) {
				t.Errorf("events %q, want %q: batches of at most 10, the revocation between the first two", events, want)
			}
		})
	}
}

// TestSweeper: New starts a sweeper that deletes expired tokens every
// SweepInterval (the first time a minute after start at the latest), Close
// stops it, and ManualSweep starts none.
func TestSweeper(t *testing.T) {
	run := func(t *testing.T, manual bool) (swept bool) {
		st := store.NewMemory()
		p, err := provider.New(provider.Config{Issuer: "https://as.example", Store: st, ManualSweep: manual,
			SweepInterval: 2 * time.Hour, KeyAlgorithms: []string{provider.AlgEdDSA}, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		ctx := context.Background()
		c, _, err := p.Admin().RegisterClient(ctx, provider.ClientSpec{})
		if err != nil {
			t.Fatal(err)
		}
		tok, err := p.Mint(ctx, provider.MintRequest{ClientID: c.ID, ExpiresAt: time.Now().Add(30 * time.Second)})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Minute + time.Second)
		synctest.Wait()
		_, err = st.Token(ctx, store.Hash(tok))
		switch {
		case errors.Is(err, store.ErrNotFound):
			return true
		case err != nil:
			t.Fatal(err)
		}
		return false
	}
	synctest.Test(t, func(t *testing.T) {
		if !run(t, false) {
			t.Error("the sweeper did not delete an expired token within a minute of New")
		}
	})
	synctest.Test(t, func(t *testing.T) {
		if run(t, true) {
			t.Error("with ManualSweep, a sweeper ran")
		}
	})
	// synctest.Test fails if a goroutine of the bubble outlives it: Close
	// stopped the sweeper.
}

// TestSweepStopsOnClose: Close stops a sweep between two batches.
func TestSweepStopsOnClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sl := &sweepLog{Store: store.NewMemory()}
		p, err := provider.New(provider.Config{Issuer: "https://as.example", Store: sl, SweepBatchSize: 1,
			KeyAlgorithms: []string{provider.AlgEdDSA}, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		c, _, err := p.Admin().RegisterClient(ctx, provider.ClientSpec{})
		if err != nil {
			t.Fatal(err)
		}
		for range 100 {
			if _, err := p.Mint(ctx, provider.MintRequest{ClientID: c.ID, ExpiresAt: time.Now().Add(-time.Second)}); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(time.Minute + time.Millisecond) // the first sweep starts
		synctest.Wait()
		p.Close()
		if n := sl.batches.Load(); n < 1 || n > 2 {
			t.Errorf("%d batches ran before Close returned, want 1 or 2 of 100", n)
		}
	})
}
