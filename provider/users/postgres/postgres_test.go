package postgres_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/testserver"
	provpg "github.com/tokengate/tokengate/provider/store/postgres"
	"github.com/tokengate/tokengate/provider/users"
	"github.com/tokengate/tokengate/provider/users/postgres"
	"github.com/tokengate/tokengate/provider/users/userstest"
)

func TestMain(m *testing.M) { testserver.Main(m) }

func open(t *testing.T, dsn string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), postgres.Config{DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	userstest.Run(t, func(t *testing.T) users.Store {
		return open(t, testserver.SharedPostgres(t))
	})
}

// TestSharesTheProvidersDatabase opens the users' store and the provider's
// store on one database, in both orders and at once: each migrates its own
// tables, and users survive a reopen.
func TestSharesTheProvidersDatabase(t *testing.T) {
	ctx := context.Background()
	for _, order := range []string{"provider first", "users first", "at once"} {
		t.Run(order, func(t *testing.T) {
			dsn := testserver.SharedPostgres(t)
			openProvider := func() {
				ps, err := provpg.Open(ctx, provpg.Config{DSN: dsn})
				if err != nil {
					t.Errorf("the provider's store on the shared database: %v", err)
					return
				}
				if v, _ := ps.SchemaVersion(ctx); v == 0 {
					t.Error("the provider's store did not migrate")
				}
				ps.Close()
			}
			var wg sync.WaitGroup
			switch order {
			case "provider first":
				openProvider()
			case "at once":
				wg.Go(openProvider)
			}
			s := open(t, dsn)
			now := time.Now()
			if err := s.CreateUser(ctx, &users.User{Subject: "s1", Username: "alice", CreatedAt: now, UpdatedAt: now}); err != nil {
				t.Fatal(err)
			}
			s.Close()
			wg.Wait()
			if order == "users first" {
				openProvider()
			}
			again := open(t, dsn)
			if v, err := again.SchemaVersion(ctx); err != nil || v != 1 {
				t.Errorf("SchemaVersion = %d, %v; want 1", v, err)
			}
			if u, err := again.UserByUsername(ctx, "alice"); err != nil || u.Subject != "s1" {
				t.Errorf("after reopening: %v, %v", u, err)
			}
		})
	}
}

func TestOpenRefuses(t *testing.T) {
	for _, cfg := range []postgres.Config{{}, {DSN: "postgres://127.0.0.1:1/x", MaxConns: -1}} {
		if s, err := postgres.Open(context.Background(), cfg); err == nil {
			s.Close()
			t.Errorf("Open(%+v) succeeded", cfg)
		}
	}
}
