package dpop

import (
	"crypto/sha256"
	"errors"
	"math/rand/v2"
	"testing"
	"time"
)

// TestReplayCacheExpiry inserts entries with shuffled expiries and checks
// that, as the clock moves, exactly the live ones remain.
func TestReplayCacheExpiry(t *testing.T) {
	c := newReplayCache(1000)
	base := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	r := rand.New(rand.NewPCG(1, 2))
	exps := make([]time.Time, 500)
	for i := range exps {
		exps[i] = base.Add(time.Duration(r.IntN(120)) * time.Second)
		if err := c.add(sha256.Sum256([]byte{byte(i), byte(i >> 8)}), exps[i], base); err != nil {
			t.Fatalf("add %d: %v", i, err)
		}
	}
	if err := c.add(sha256.Sum256([]byte{7, 0}), base.Add(time.Hour), base); !errors.Is(err, ErrReplay) {
		t.Fatalf("duplicate: %v", err)
	}
	for step := time.Duration(0); step <= 130*time.Second; step += 7 * time.Second {
		now := base.Add(step)
		// The probe prunes, and lives until now: the next step prunes it.
		_ = c.add(sha256.Sum256([]byte("probe"+now.String())), now, now)
		live := 1
		for _, e := range exps {
			if !e.Before(now) {
				live++
			}
		}
		if got := c.len(); got != live {
			t.Fatalf("at +%v: %d entries, want %d", step, got, live)
		}
	}
}
