//go:build unix

package testserver

import (
	"os"
	"sync"
	"sync/atomic"
	"testing"
)

// mainRunning is set by Main: shared servers are stopped only by it.
var mainRunning atomic.Bool

// shared holds the servers started once per test binary.
var shared struct {
	mu       sync.Mutex // guards the fields below
	postgres *Postgres
	pgErr    error
	redis    *Redis
	redisErr error
}

// Main runs the tests, then stops the shared servers whatever the result,
// and exits with the tests' code. Call it from TestMain.
func Main(m *testing.M) {
	mainRunning.Store(true)
	code := m.Run()
	shared.mu.Lock()
	if shared.postgres != nil {
		shared.postgres.Close()
	}
	if shared.redis != nil {
		shared.redis.Close()
	}
	shared.mu.Unlock()
	if template.dir != "" {
		os.RemoveAll(template.dir)
	}
	os.Exit(code)
}

// SharedPostgres returns a fresh database (its connection URL) on the
// PostgreSQL server shared by the package's tests, starting the server on
// first use. It fails the test, saying what to install, if the server
// cannot start.
func SharedPostgres(t testing.TB) string {
	t.Helper()
	requireMain(t)
	shared.mu.Lock()
	if shared.postgres == nil && shared.pgErr == nil {
		shared.postgres, shared.pgErr = StartPostgres()
	}
	pg, err := shared.postgres, shared.pgErr
	shared.mu.Unlock()
	if err != nil {
		t.Fatalf("PostgreSQL is needed and could not be started: %v", err)
	}
	dsn, err := pg.CreateDatabase()
	if err != nil {
		t.Fatal(err)
	}
	return dsn
}

// SharedRedis returns the Redis server shared by the package's tests,
// starting it on first use; it fails the test, saying what to install, if
// the server cannot start. Tests share its keyspace: use distinct keys, or
// a server of your own ([StartRedis]) for tests that flush or stop it.
func SharedRedis(t testing.TB) *Redis {
	t.Helper()
	requireMain(t)
	shared.mu.Lock()
	if shared.redis == nil && shared.redisErr == nil {
		shared.redis, shared.redisErr = StartRedis()
	}
	r, err := shared.redis, shared.redisErr
	shared.mu.Unlock()
	if err != nil {
		t.Fatalf("Redis is needed and could not be started: %v", err)
	}
	return r
}

func requireMain(t testing.TB) {
	if !mainRunning.Load() {
		t.Fatal("testserver: shared servers need TestMain to call testserver.Main (so that they are stopped)")
	}
}
