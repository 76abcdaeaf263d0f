package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/tokengate/tokengate/provider/store"
	"github.com/tokengate/tokengate/provider/store/sqlite"
	"github.com/tokengate/tokengate/provider/store/storetest"
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
	if v, err := b.SchemaVersion(ctx); err != nil || v != 1 {
		t.Fatalf("SchemaVersion = %d, %v; want 1", v, err)
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
