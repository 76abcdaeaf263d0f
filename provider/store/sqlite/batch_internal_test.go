package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tokengate/tokengate/provider/store"
)

// queued waits until n SaveToken calls are in s's queue.
func queued(t *testing.T, s *Store, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		s.tokens.mu.Lock()
		got := len(s.tokens.pending)
		s.tokens.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d SaveToken calls queued, want %d", got, n)
		}
	}
}

// TestSaveTokenGroupCommit: 300 concurrent SaveToken calls queue while
// another write holds the lock; some are for a deleted client, two share a
// hash, some are cancelled while they wait. Each call gets its own answer,
// the batches are of at most maxTokenBatch tokens, and after a reopen
// exactly the tokens whose SaveToken returned nil are there.
func TestSaveTokenGroupCommit(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tokengate.db")
	s, err := Open(Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { s.Close() }()
	now := time.Now()
	for _, id := range []string{"c", "gone"} {
		if err := s.CreateClient(ctx, &store.Client{ID: id, CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteClient(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	var batches []int
	s.onTokenBatch = func(n int) { batches = append(batches, n) } // under writeMu

	const calls = 300
	type call struct {
		tok                *store.Token
		cancels, gone, dup bool
		cancel             context.CancelFunc
		err                error
		returned           chan struct{}
	}
	cs := make([]*call, calls)
	for i := range cs {
		c := &call{returned: make(chan struct{})}
		c.tok = &store.Token{Hash: store.Hash(fmt.Sprint("token-", i)), ClientID: "c", GrantID: fmt.Sprint(i),
			IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
		switch {
		case i == 0: // the first is the leader: it never waits in the queue
		case i%10 == 1:
			c.tok.ClientID, c.gone = "gone", true
		case i%10 == 4:
			c.cancels = true
		case i == 298, i == 299: // the same hash: one is saved
			c.tok.Hash, c.dup = store.Hash("twin"), true
		}
		cs[i] = c
	}

	s.writeMu.Lock() // another write is under way
	var wg sync.WaitGroup
	for i, c := range cs {
		cctx := ctx
		if c.cancels {
			cctx, c.cancel = context.WithCancel(ctx)
			defer c.cancel()
		}
		wg.Go(func() {
			defer close(c.returned)
			c.err = s.SaveToken(cctx, c.tok)
		})
		if i == 0 {
			queued(t, s, 1) // the others queue behind it
		}
	}
	queued(t, s, calls)
	cancelled := 0
	for _, c := range cs {
		if c.cancels {
			c.cancel()
			<-c.returned // at once: it does not wait for the write lock
			cancelled++
		}
	}
	queued(t, s, calls-cancelled)
	s.writeMu.Unlock()
	wg.Wait()

	if want := []int{maxTokenBatch, calls - cancelled - maxTokenBatch}; !slices.Equal(batches, want) {
		t.Errorf("batches of %v tokens, want %v", batches, want)
	}
	var saved [][]byte
	twins := 0
	for i, c := range cs {
		switch {
		case c.cancels:
			if !errors.Is(c.err, context.Canceled) {
				t.Errorf("call %d, cancelled while queued: %v, want context.Canceled", i, c.err)
			}
		case c.gone:
			if !errors.Is(c.err, store.ErrNotFound) {
				t.Errorf("call %d, for a deleted client: %v, want ErrNotFound", i, c.err)
			}
		case c.dup:
			if c.err == nil {
				twins++
				saved = append(saved, c.tok.Hash)
			} else if errors.Is(c.err, store.ErrNotFound) {
				t.Errorf("call %d, a hash saved by another in the batch: %v, want a constraint error", i, c.err)
			}
		default:
			if c.err != nil {
				t.Errorf("call %d: %v", i, c.err)
			}
			saved = append(saved, c.tok.Hash)
		}
	}

	if twins != 1 {
		t.Errorf("%d of the two calls with the same hash succeeded, want 1", twins)
	}
	s.onTokenBatch = nil
	for range 3 { // alone, a call is a batch of one
		if err := s.SaveToken(ctx, &store.Token{Hash: store.Hash(fmt.Sprint("alone-", len(saved))), ClientID: "c",
			IssuedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		saved = append(saved, store.Hash(fmt.Sprint("alone-", len(saved))))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = Open(Config{Path: path}); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM tokens`).Scan(&n); err != nil || n != len(saved) {
		t.Errorf("%d tokens after reopening, %v; want the %d saved", n, err, len(saved))
	}
	for _, h := range saved {
		if _, err := s.Token(ctx, h); err != nil {
			t.Errorf("a saved token after reopening: %v", err)
		}
	}
}

// TestSaveTokenBatchFails: when the transaction itself fails (here a
// trigger rolls it back), every call of the batch gets the error and none
// of its tokens is stored.
func TestSaveTokenBatchFails(t *testing.T) {
	ctx := context.Background()
	s, err := Open(Config{Path: filepath.Join(t.TempDir(), "tokengate.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Now()
	if err := s.CreateClient(ctx, &store.Client{ID: "c", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.ExecContext(ctx, `CREATE TRIGGER refuse BEFORE INSERT ON tokens WHEN NEW.grant_id = 'bad'
		BEGIN SELECT RAISE(ROLLBACK, 'refused'); END`); err != nil {
		t.Fatal(err)
	}
	grants := []string{"a", "b", "bad", "c"}
	errs := make([]error, len(grants))
	s.writeMu.Lock()
	var wg sync.WaitGroup
	for i, g := range grants {
		wg.Go(func() {
			errs[i] = s.SaveToken(ctx, &store.Token{Hash: store.Hash(g), ClientID: "c", GrantID: g, IssuedAt: now, ExpiresAt: now.Add(time.Hour)})
		})
		queued(t, s, i+1) // in this order, one batch
	}
	s.writeMu.Unlock()
	wg.Wait()
	for i, g := range grants {
		if errs[i] == nil {
			t.Errorf("grant %s: SaveToken = nil in a batch that failed", g)
		}
		if _, err := s.Token(ctx, store.Hash(g)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("grant %s: Token = %v, want ErrNotFound", g, err)
		}
	}
	if _, err := s.db.ExecContext(ctx, `DROP TRIGGER refuse`); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveToken(ctx, &store.Token{Hash: store.Hash("after"), ClientID: "c", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Errorf("SaveToken after a failed batch: %v", err)
	}
}

// TestTokenCheckpointInterval: the connection SaveToken writes on
// checkpoints every tokenCheckpointPages pages (a DSN pragma, so also on a
// connection reopened by database/sql); the pool keeps SQLite's 1,000.
func TestTokenCheckpointInterval(t *testing.T) {
	ctx := context.Background()
	s, err := Open(Config{Path: filepath.Join(t.TempDir(), "tokengate.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, c := range []struct {
		name string
		db   interface {
			QueryRowContext(context.Context, string, ...any) *sql.Row
		}
		want int
	}{{"tokenDB", s.tokenDB, tokenCheckpointPages}, {"pool", s.db, 1000}, {"durable", s.durable, 1000}} {
		var got int
		if err := c.db.QueryRowContext(ctx, `PRAGMA wal_autocheckpoint`).Scan(&got); err != nil || got != c.want {
			t.Errorf("%s: wal_autocheckpoint = %d, %v; want %d", c.name, got, err, c.want)
		}
	}
}
