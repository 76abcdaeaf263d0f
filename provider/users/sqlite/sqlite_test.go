package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	provsqlite "github.com/tokengate/tokengate/provider/store/sqlite"
	"github.com/tokengate/tokengate/provider/users"
	"github.com/tokengate/tokengate/provider/users/sqlite"
	"github.com/tokengate/tokengate/provider/users/userstest"
)

func open(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(sqlite.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	userstest.Run(t, func(t *testing.T) users.Store {
		return open(t, filepath.Join(t.TempDir(), "tokengate.db"))
	})
}

// TestSharesTheProvidersFile opens the users' store and the provider's
// store on one file, in both orders: each migrates its own tables and
// reads the other's file without complaint, and users survive a reopen.
func TestSharesTheProvidersFile(t *testing.T) {
	ctx := context.Background()
	for _, providerFirst := range []bool{true, false} {
		path := filepath.Join(t.TempDir(), "tokengate.db")
		openProvider := func() {
			ps, err := provsqlite.Open(provsqlite.Config{Path: path})
			if err != nil {
				t.Fatalf("the provider's store on the shared file: %v", err)
			}
			if v, _ := ps.SchemaVersion(ctx); v == 0 {
				t.Error("the provider's store did not migrate")
			}
			ps.Close()
		}
		if providerFirst {
			openProvider()
		}
		s := open(t, path)
		now := time.Now()
		if err := s.CreateUser(ctx, &users.User{Subject: "s1", Username: "alice", CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
		s.Close()
		if !providerFirst {
			openProvider()
		}
		again := open(t, path)
		if v, err := again.SchemaVersion(ctx); err != nil || v != 1 {
			t.Errorf("SchemaVersion = %d, %v; want 1", v, err)
		}
		if u, err := again.UserByUsername(ctx, "alice"); err != nil || u.Subject != "s1" {
			t.Errorf("after reopening: %v, %v", u, err)
		}
	}
}

func TestOwnerOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokengate.db")
	open(t, path)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("a new database has mode %v, want 0600", fi.Mode().Perm())
	}
	loose := filepath.Join(t.TempDir(), "loose.db")
	if err := os.WriteFile(loose, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	open(t, loose)
	if fi, _ := os.Stat(loose); fi.Mode().Perm() != 0o600 {
		t.Errorf("a readable database was left at %v, want 0600", fi.Mode().Perm())
	}
}

func TestOpenRefuses(t *testing.T) {
	for _, path := range []string{"", ":memory:", "file:x.db"} {
		if _, err := sqlite.Open(sqlite.Config{Path: path}); err == nil {
			t.Errorf("Open(%q) succeeded", path)
		}
	}
	if _, err := sqlite.Open(sqlite.Config{Path: filepath.Join(t.TempDir(), "x.db"), BusyTimeout: -1}); err == nil {
		t.Error("a negative BusyTimeout was accepted")
	}
}
