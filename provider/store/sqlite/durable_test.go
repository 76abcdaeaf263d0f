package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/tokengate/tokengate/provider/store"
)

// TestRevocationIsDurable (finding 8 of the review): under
// synchronous=NORMAL a power loss may undo the last commits, including a
// revocation already answered with 200. Revocations, client deletions and
// key rotations run on the synchronous=FULL connection; issuing a token
// stays on the NORMAL pool.
func TestRevocationIsDurable(t *testing.T) {
	ctx := context.Background()
	s, err := Open(Config{Path: filepath.Join(t.TempDir(), "tokengate.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var calls int
	var synchronous []int
	s.onDurable = func(tx *sql.Tx) {
		calls++
		var v int
		if err := tx.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&v); err != nil {
			t.Error(err)
		}
		synchronous = append(synchronous, v)
	}
	now := time.Now()
	if err := s.CreateClient(ctx, &store.Client{ID: "c", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveToken(ctx, &store.Token{Hash: store.Hash("t"), ClientID: "c", GrantID: "g", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if calls != 0 {
		t.Errorf("creating a client or saving a token went through the durable connection (%d calls): they may stay on NORMAL", calls)
	}
	var normal int
	if err := s.db.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&normal); err != nil || normal != 1 {
		t.Errorf("pool synchronous = %d, %v; want 1 (NORMAL)", normal, err)
	}

	for name, write := range map[string]func() error{
		"RevokeGrant": func() error { _, err := s.RevokeGrant(ctx, "g"); return err },
		"RotateKeys": func() error {
			_, err := s.RotateKeys(ctx, []*store.Key{{ID: "k", Alg: "ES256", Private: []byte{1}, CreatedAt: now}}, now, now.Add(time.Hour), false)
			return err
		},
		"DeleteClient": func() error { return s.DeleteClient(ctx, "c") },
	} {
		calls, synchronous = 0, nil
		if err := write(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if calls != 1 || synchronous[0] != 2 {
			t.Errorf("%s: %d durable transactions with synchronous %v; want 1 with 2 (FULL)", name, calls, synchronous)
		}
	}
}
