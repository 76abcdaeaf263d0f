package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/tokengate/tokengate/provider/store"
	"github.com/tokengate/tokengate/secevent"
)

// TestRevocationIsDurable (finding 8 of the review): under
// synchronous=NORMAL a power loss may undo the last commits, including a
// revocation already answered with 200. Revocations, client deletions and
// key rotations run on the synchronous=FULL connection, and so do the
// writes of signing in whose loss would give access back: redeeming a code
// (it could be redeemed again), rotating a refresh token (the old one
// would work again), revoking consent and ending sessions. Issuing a token,
// a code, a session, a consent or an interaction stays on the NORMAL pool:
// losing one only takes access away.
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
	if err := s.SaveToken(ctx, &store.Token{Hash: store.Hash("rt"), Kind: store.TokenRefresh, ClientID: "c", Subject: "alice",
		GrantID: "g2", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveCode(ctx, &store.Code{Hash: store.Hash("code"), ClientID: "c", GrantID: "g3", Subject: "alice",
		CodeChallenge: "x", IssuedAt: now, ExpiresAt: now.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveSession(ctx, &store.Session{Hash: store.Hash("s"), Subject: "alice", AuthTime: now, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveConsent(ctx, &store.Consent{Subject: "alice", ClientID: "c", GrantedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveInteraction(ctx, &store.Interaction{Hash: store.Hash("i"), BrowserHash: []byte{1}, Kind: "login",
		Request: []byte("{}"), CreatedAt: now, ExpiresAt: now.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if calls != 0 {
		t.Errorf("creating a client or saving a token, code, session, consent or interaction went through the durable connection (%d calls): they may stay on NORMAL", calls)
	}
	var normal int
	if err := s.db.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&normal); err != nil || normal != 1 {
		t.Errorf("pool synchronous = %d, %v; want 1 (NORMAL)", normal, err)
	}

	for _, w := range []struct {
		name  string
		write func() error
	}{
		{"RevokeGrant", func() error { _, err := s.RevokeGrant(ctx, "g", secevent.ReasonRevoked); return err }},
		{"RotateKeys", func() error {
			_, err := s.RotateKeys(ctx, []*store.Key{{ID: "k", Alg: "ES256", Private: []byte{1}, CreatedAt: now}}, now, now.Add(time.Hour), false)
			return err
		}},
		{"RedeemCode", func() error { return s.RedeemCode(ctx, store.Hash("code"), now) }},
		{"RotateToken", func() error { return s.RotateToken(ctx, store.Hash("rt"), now) }},
		{"RevokeConsent", func() error { _, err := s.RevokeConsent(ctx, "alice", "c"); return err }},
		{"DeleteSession", func() error { return s.DeleteSession(ctx, store.Hash("s")) }},
		{"DeleteSessions", func() error { _, err := s.DeleteSessions(ctx, "alice"); return err }},
		{"DeleteClient", func() error { return s.DeleteClient(ctx, "c") }},
	} {
		name, write := w.name, w.write
		calls, synchronous = 0, nil
		if err := write(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if calls != 1 || synchronous[0] != 2 {
			t.Errorf("%s: %d durable transactions with synchronous %v; want 1 with 2 (FULL)", name, calls, synchronous)
		}
	}
}
