package provider

import (
	"strings"
	"testing"
	"time"
)

// TestNewIDSortsByTime: an ID made later sorts after one made earlier, as
// strings (SQLite's BINARY collation), however the time's bits fall on the
// characters, and IDs made in the same millisecond differ.
func TestNewIDSortsByTime(t *testing.T) {
	base := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	steps := []time.Duration{time.Millisecond, 63 * time.Millisecond, 64 * time.Millisecond, time.Second,
		4 * time.Second, 262 * time.Second, time.Hour, 400 * 24 * time.Hour}
	for _, d := range steps {
		for _, at := range []time.Time{base, base.Add(17 * time.Millisecond), base.Add(4095 * time.Millisecond)} {
			a, b := newID(at), newID(at.Add(d))
			if len(a) != 22 || strings.Trim(a, "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz") != "" {
				t.Fatalf("newID = %q: want 22 base64url characters", a)
			}
			if a >= b {
				t.Errorf("newID(%v) = %q does not sort before newID(+%v) = %q", at, a, d, b)
			}
		}
	}
	seen := map[string]bool{}
	for range 1000 {
		id := newID(base)
		if seen[id] {
			t.Fatalf("newID made %q twice", id)
		}
		seen[id] = true
	}
}
