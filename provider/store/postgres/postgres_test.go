package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tokengate/tokengate/internal/pgdb"
	"github.com/tokengate/tokengate/internal/testserver"
	"github.com/tokengate/tokengate/provider/store"
	"github.com/tokengate/tokengate/provider/store/postgres"
	"github.com/tokengate/tokengate/provider/store/storetest"
)

func TestMain(m *testing.M) { testserver.Main(m) }

func open(t testing.TB, dsn string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), postgres.Config{DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, testserver.SharedPostgres(t))
	})
}

// TestConcurrentOpen: eight replicas starting at once on a new database
// all open it, and the schema is made once (the advisory lock serialises
// the migration; without it, CREATE TABLE races fail with a unique
// violation in pg_type or "relation already exists").
func TestConcurrentOpen(t *testing.T) {
	dsn := testserver.SharedPostgres(t)
	var wg sync.WaitGroup
	stores := make([]*postgres.Store, 8)
	for i := range stores {
		wg.Go(func() {
			s, err := postgres.Open(context.Background(), postgres.Config{DSN: dsn, MaxConns: 2})
			if err != nil {
				t.Errorf("replica %d: %v", i, err)
				return
			}
			stores[i] = s
		})
	}
	wg.Wait()
	for _, s := range stores {
		if s != nil {
			defer s.Close()
		}
	}
	if t.Failed() {
		return
	}
	ctx := context.Background()
	for i, s := range stores {
		if v, err := s.SchemaVersion(ctx); err != nil || v != 2 {
			t.Errorf("replica %d: SchemaVersion = %d, %v; want 2", i, v, err)
		}
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var tables int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename = 'tokens'`).Scan(&tables); err != nil || tables != 1 {
		t.Errorf("%d tables named tokens, %v; want 1", tables, err)
	}
	if err := stores[0].CreateClient(ctx, &store.Client{ID: "c", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := stores[7].Client(ctx, "c"); err != nil {
		t.Errorf("another replica does not see the client: %v", err)
	}
}

// holdMigrationLock takes the lock a migration of dsn takes, in a
// transaction of its own that lasts until the test ends.
func holdMigrationLock(t *testing.T, dsn string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(ctx) })
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tx.Rollback(ctx) })
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, pgdb.LockKey("tokengate_schema")); err != nil {
		t.Fatal(err)
	}
}

// TestOpenUpToDateTakesNoLock: opening a database that is up to date only
// reads its version, so it does not wait behind a session holding the
// migration lock (a replica migrating, or one stuck while it did).
func TestOpenUpToDateTakesNoLock(t *testing.T) {
	ctx := context.Background()
	dsn := testserver.SharedPostgres(t)
	open(t, dsn)
	holdMigrationLock(t, dsn)
	octx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	s, err := postgres.Open(octx, postgres.Config{DSN: dsn})
	if err != nil {
		t.Fatalf("Open while another session holds the migration lock: %v", err)
	}
	s.Close()
	// The lock is the one a migration takes: a new database waits for it.
	fresh := testserver.SharedPostgres(t)
	holdMigrationLock(t, fresh)
	wctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if s, err := postgres.Open(wctx, postgres.Config{DSN: fresh}); err == nil {
		s.Close()
		t.Error("a new database was migrated while another session held the migration lock")
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	dsn := testserver.SharedPostgres(t)
	open(t, dsn)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `UPDATE tokengate_schema SET version = 99`); err != nil {
		t.Fatal(err)
	}
	if _, err := postgres.Open(ctx, postgres.Config{DSN: dsn}); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("Open of a newer schema = %v, want an error", err)
	}
}

// TestOpenRefuses: a bad Config is refused by name, and no error shows the
// DSN's password, whatever failed.
func TestOpenRefuses(t *testing.T) {
	const secret = "s3cr3t-pw"
	dsn := testserver.SharedPostgres(t)
	for _, tc := range []struct {
		name string
		cfg  postgres.Config
		want string
	}{
		{"empty", postgres.Config{}, "DSN is empty"},
		{"negative MaxConns", postgres.Config{DSN: dsn, MaxConns: -1}, "MaxConns"},
		{"not a DSN", postgres.Config{DSN: "postgres://u:" + secret + "@[::1"}, "not a PostgreSQL connection string"},
		{"asynchronous commit", postgres.Config{DSN: dsn + "&synchronous_commit=off"}, "synchronous_commit=off"},
		{"local commit", postgres.Config{DSN: dsn + "&synchronous_commit=local"}, "synchronous_commit=local"},
		{"wrong password", postgres.Config{DSN: strings.Replace(dsn, "postgres@", "nobody:"+secret+"@", 1) + "&connect_timeout=5"}, "nobody"},
		{"unreachable", postgres.Config{DSN: "postgres://u:" + secret + "@127.0.0.1:1/db?connect_timeout=2"}, "127.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := postgres.Open(context.Background(), tc.cfg)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Open = %v, want it to mention %q", err, tc.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("the error shows the password: %v", err)
			}
		})
	}
}

// TestDurableSetting: the store's sessions commit synchronously whatever
// the server's default, and keep a stricter value from the DSN.
func TestDurableSetting(t *testing.T) {
	ctx := context.Background()
	dsn := testserver.SharedPostgres(t)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	// A database whose default is asynchronous commit.
	var db string
	if err := conn.QueryRow(ctx, `SELECT current_database()`).Scan(&db); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `ALTER DATABASE `+pgx.Identifier{db}.Sanitize()+` SET synchronous_commit = off`); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ dsn, want string }{{dsn, "on"}, {dsn + "&synchronous_commit=remote_apply", "remote_apply"}} {
		s := open(t, tc.dsn)
		if err := s.CreateClient(ctx, &store.Client{ID: tc.want, CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		plain, err := pgx.Connect(ctx, dsn) // a new session, as the database's default sets it
		if err != nil {
			t.Fatal(err)
		}
		var got string
		err = plain.QueryRow(ctx, `SHOW synchronous_commit`).Scan(&got)
		plain.Close(ctx)
		if err != nil || got != "off" {
			t.Fatalf("a plain session: synchronous_commit = %q, %v; want the database's default, off", got, err)
		}
		if got := postgres.SynchronousCommit(ctx, s); got != tc.want {
			t.Errorf("DSN %q: the store's sessions have synchronous_commit = %q, want %q", tc.dsn, got, tc.want)
		}
	}
}

// BenchmarkToken measures the read the introspection endpoint makes for
// every request: one token by hash, among 10,000, over loopback TCP to a
// real PostgreSQL, from 2 callers at once (each read its own query) and
// from 32 (as many as wrk's connections in scripts/bench-provider.sh: the
// reads share queries). cpu-us/op is this process's CPU time per read,
// without PostgreSQL's.
func BenchmarkToken(b *testing.B) {
	ctx := context.Background()
	s := open(b, testserver.SharedPostgres(b))
	if err := s.CreateClient(ctx, &store.Client{ID: "c", CreatedAt: time.Now()}); err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	hashes := make([][]byte, 10000)
	for i := range hashes {
		hashes[i] = store.Hash(fmt.Sprint("token-", i))
		t := &store.Token{Hash: hashes[i], ClientID: "c", Subject: "c", Scope: "read", Audience: []string{"https://api.example/"},
			JWTID: fmt.Sprint(i), GrantID: fmt.Sprint(i), Format: "opaque", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := s.SaveToken(ctx, t); err != nil {
			b.Fatal(err)
		}
	}
	for _, callers := range []int{2, 32} {
		b.Run(fmt.Sprint("callers=", callers), func(b *testing.B) {
			rctx, cancel := context.WithCancel(ctx)
			defer cancel()
			reads0, queries0 := postgres.TokenQueries(s)
			b.SetParallelism(max(1, callers/runtime.GOMAXPROCS(0)))
			cpu0 := cpuTime()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					h := hashes[rand.IntN(len(hashes))]
					if t, err := s.Token(rctx, h); err != nil || t.ClientID != "c" {
						b.Fatal(t, err)
					}
				}
			})
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(time.Microsecond)/float64(b.N), "cpu-us/op")
			reads, queries := postgres.TokenQueries(s)
			b.ReportMetric(float64(reads-reads0)/float64(max(1, queries-queries0)), "reads/query")
		})
	}
}

// cpuTime is the process's user and system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSaveToken measures issuance's write: one insert, committed
// durably, from parallel callers.
func BenchmarkSaveToken(b *testing.B) {
	ctx := context.Background()
	s := open(b, testserver.SharedPostgres(b))
	if err := s.CreateClient(ctx, &store.Client{ID: "c", CreatedAt: time.Now()}); err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	var mu sync.Mutex
	n := 0
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			mu.Lock()
			n++
			i := n
			mu.Unlock()
			t := &store.Token{Hash: store.Hash(fmt.Sprint("token-", i)), ClientID: "c", Subject: "c", Scope: "read",
				GrantID: fmt.Sprint(i), Format: "opaque", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
			if err := s.SaveToken(ctx, t); err != nil {
				b.Fatal(err)
			}
		}
	})
}
