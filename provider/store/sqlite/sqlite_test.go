package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokengate/tokengate/provider/store"
	"github.com/tokengate/tokengate/provider/store/sqlite"
	"github.com/tokengate/tokengate/provider/store/storetest"
	"github.com/tokengate/tokengate/secevent"
)

func open(t testing.TB, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(sqlite.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, filepath.Join(t.TempDir(), "db"))
	})
}

func TestTwoHandlesShareOneFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tokengate.db")
	a, b := open(t, path), open(t, path)
	if v, err := b.SchemaVersion(ctx); err != nil || v != 5 {
		t.Fatalf("SchemaVersion = %d, %v; want 5", v, err)
	}
	if err := a.CreateClient(ctx, &store.Client{ID: "from-a"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Client(ctx, "from-a"); err != nil {
		t.Fatalf("second handle does not see the client: %v", err)
	}
}

func TestOpenRejectsMemory(t *testing.T) {
	for _, p := range []string{"", ":memory:", "file:x?mode=memory"} {
		if _, err := sqlite.Open(sqlite.Config{Path: p}); err == nil {
			t.Errorf("Open(%q) succeeded", p)
		}
	}
}

// TestOpenRejectsNegative: as in every Config of the module, a negative
// duration or size is an error, not the default.
func TestOpenRejectsNegative(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokengate.db")
	for _, cfg := range []sqlite.Config{{Path: path, BusyTimeout: -time.Second}, {Path: path, MaxOpenConns: -1}} {
		if s, err := sqlite.Open(cfg); err == nil {
			s.Close()
			t.Errorf("Open(%+v) succeeded", cfg)
		}
	}
}

// TestConcurrentWriters writes through two handles on one file at once, as
// "tokengate client create" and "tokengate serve" do: the busy timeout makes
// one wait for the other instead of failing with SQLITE_BUSY.
func TestConcurrentWriters(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tokengate.db")
	a, b := open(t, path), open(t, path)
	if err := a.CreateClient(ctx, &store.Client{ID: "c"}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i, s := range []*sqlite.Store{a, b} {
		wg.Go(func() {
			for j := range 200 {
				tok := &store.Token{Hash: store.Hash(fmt.Sprint(i, "-", j)), ClientID: "c", GrantID: fmt.Sprint(i, "-", j),
					IssuedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}
				if err := s.SaveToken(ctx, tok); err != nil {
					t.Errorf("handle %d: %v", i, err)
					return
				}
				if err := s.CreateClient(ctx, &store.Client{ID: fmt.Sprint("client-", i, "-", j)}); err != nil {
					t.Errorf("handle %d: %v", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	clients, err := a.Clients(ctx)
	if err != nil || len(clients) != 401 {
		t.Errorf("%d clients, %v; want 401", len(clients), err)
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokengate.db")
	s, err := sqlite.Open(sqlite.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`PRAGMA user_version = 99`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s.Close()
	if _, err := sqlite.Open(sqlite.Config{Path: path}); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("Open of a newer schema = %v, want an error", err)
	}
}

func TestFileMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokengate.db")
	open(t, path)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("database mode %v: it holds private keys and must be owner-only", fi.Mode().Perm())
	}
}

// TestFileModeTightened: a database file that already exists with group or
// other bits (made by touch, or copied) is narrowed to owner-only before the
// private keys are written to it; the -wal and -shm files inherit its mode.
func TestFileModeTightened(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tokengate.db")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil { // whatever the umask
		t.Fatal(err)
	}
	s := open(t, path)
	if err := s.CreateClient(context.Background(), &store.Client{ID: "c", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s mode %v: it holds private keys and must be owner-only", filepath.Base(p), fi.Mode().Perm())
		}
	}
}

// BenchmarkToken measures the read the introspection endpoint makes for
// every request: one token by hash, among 10,000, from parallel callers
// with a cancellable context, as HTTP requests have.
func BenchmarkToken(b *testing.B) {
	ctx := context.Background()
	s := open(b, filepath.Join(b.TempDir(), "bench.db"))
	if err := s.CreateClient(ctx, &store.Client{ID: "c", CreatedAt: time.Now()}); err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	var hash []byte
	for i := range 10000 {
		hash = store.Hash(fmt.Sprint("token-", i))
		t := &store.Token{Hash: hash, ClientID: "c", Subject: "c", Scope: "read", Audience: []string{"https://api.example/"},
			JWTID: fmt.Sprint(i), GrantID: fmt.Sprint(i), Format: "opaque", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := s.SaveToken(ctx, t); err != nil {
			b.Fatal(err)
		}
	}
	// A request's context is cancellable, which the driver handles at a cost.
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if t, err := s.Token(rctx, hash); err != nil || t.ClientID != "c" {
				b.Fatal(t, err)
			}
		}
	})
}

// TestOpenTakesNoWriteLock (finding 1 of the review): Open used to begin an
// immediate transaction to read the schema version, so opening a database
// ("tokengate client create" beside "tokengate serve") failed with
// SQLITE_BUSY while another process held the write lock. An up-to-date
// database is now opened with reads only.
func TestOpenTakesNoWriteLock(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tokengate.db")
	s := open(t, path)
	if err := s.CreateClient(ctx, &store.Client{ID: "c", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	writer, err := sql.Open("sqlite", "file:"+path+"?_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close()
	tx, err := writer.BeginTx(ctx, nil) // holds the write lock
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM tokens`); err != nil {
		t.Fatal(err)
	}
	other, err := sqlite.Open(sqlite.Config{Path: path, BusyTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatalf("Open while another connection writes: %v", err)
	}
	defer other.Close()
	if _, err := other.Client(ctx, "c"); err != nil {
		t.Errorf("reading while another connection writes: %v", err)
	}
}

// TestEventLogSurvivesReopening: the log's ID and head are in the file, so
// that a provider restarted on it answers its receivers' cursors.
func TestEventLogSurvivesReopening(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tokengate.db")
	a := open(t, path)
	now := time.Now()
	if err := a.CreateClient(ctx, &store.Client{ID: "c", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := a.SaveToken(ctx, &store.Token{Hash: store.Hash("t"), ClientID: "c", GrantID: "g", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.RevokeGrant(ctx, "g", secevent.ReasonRevoked); err != nil {
		t.Fatal(err)
	}
	before, _, err := a.Events(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	a.Close()
	after, events, err := open(t, path).Events(ctx, 0, 10)
	if err != nil || *after != *before || before.Head != 1 || len(events) != 1 {
		t.Errorf("reopened: log %+v, %d events, %v; want %+v and the event", after, len(events), err, before)
	}
}
