package lograte

import (
	"sync"
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	var l Limiter
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	steps := []struct {
		at             time.Duration
		ok             bool
		wantSuppressed int64
	}{
		{0, true, 0},
		{time.Second, false, 0},
		{9 * time.Second, false, 0},
		{10 * time.Second, true, 2},
		{15 * time.Second, false, 0},
		{time.Minute, true, 1},
	}
	for _, s := range steps {
		ok, suppressed := l.Allow(t0.Add(s.at))
		if ok != s.ok || suppressed != s.wantSuppressed {
			t.Errorf("Allow at +%v = %v, %d; want %v, %d", s.at, ok, suppressed, s.ok, s.wantSuppressed)
		}
	}
}

func TestLimiterConcurrent(t *testing.T) {
	var l Limiter
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	var mu sync.Mutex // guards allowed
	allowed := 0
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ok, _ := l.Allow(now); ok {
				mu.Lock()
				allowed++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if allowed != 1 {
		t.Errorf("%d lines let through at one instant, want 1", allowed)
	}
	if ok, suppressed := l.Allow(now.Add(Every)); !ok || suppressed != 49 {
		t.Errorf("Allow after Every = %v, %d; want true, 49", ok, suppressed)
	}
}
