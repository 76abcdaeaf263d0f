package throttle

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// clock is a fake clock the tests move by hand.
type clock struct {
	mu sync.Mutex // guards t
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newLimiter(t testing.TB, cfg Config) (*Limiter, *clock) {
	t.Helper()
	clk := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	cfg.Now = clk.Now
	l, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l, clk
}

// failUntilRefused fails attempts for subject from address until one is
// refused and returns how many were let through.
func failUntilRefused(l *Limiter, subject, address string) int {
	for n := 0; n < 10_000; n++ {
		if l.Check(subject, address) > 0 {
			return n
		}
		l.Failed(subject, address)
	}
	return -1
}

func TestPairBudget(t *testing.T) {
	l, clk := newLimiter(t, Config{PairBurst: 5, PairInterval: 10 * time.Second, AddressBurst: 100})
	if n := failUntilRefused(l, "client", "10.0.0.1"); n != 5 {
		t.Fatalf("%d failures let through, want PairBurst (5)", n)
	}
	if wait := l.Check("client", "10.0.0.1"); wait != 10*time.Second {
		t.Errorf("wait %v, want PairInterval", wait)
	}
	// The owner, elsewhere, is not affected: nothing counts per subject.
	if wait := l.Check("client", "10.0.0.2"); wait != 0 {
		t.Errorf("the same client from another address waits %v", wait)
	}
	// One attempt per PairInterval afterwards.
	clk.Add(10 * time.Second)
	if n := failUntilRefused(l, "client", "10.0.0.1"); n != 1 {
		t.Errorf("after one interval %d attempts, want 1", n)
	}
	clk.Add(time.Minute)
	if n := failUntilRefused(l, "client", "10.0.0.1"); n != 5 {
		t.Errorf("after the budget refilled %d attempts, want 5", n)
	}
}

func TestAddressBudget(t *testing.T) {
	l, clk := newLimiter(t, Config{PairBurst: 3, AddressBurst: 10, AddressInterval: time.Second})
	// An honest client on the attacker's address (a NAT) succeeded before.
	l.Succeeded("honest", "192.0.2.1")
	for i := range 10 {
		if wait := l.Check(fmt.Sprint("guess-", i), "192.0.2.1"); wait != 0 {
			t.Fatalf("attempt %d refused (%v) within the address budget", i, wait)
		}
		l.Failed(fmt.Sprint("guess-", i), "192.0.2.1")
	}
	if wait := l.Check("guess-new", "192.0.2.1"); wait != time.Second {
		t.Errorf("a new subject from a spent address waits %v, want AddressInterval", wait)
	}
	if wait := l.Check("honest", "192.0.2.1"); wait != 0 {
		t.Errorf("a trusted pair on a spent address waits %v, want 0", wait)
	}
	if wait := l.Check("guess-new", "192.0.2.2"); wait != 0 {
		t.Errorf("another address waits %v", wait)
	}
	// Trust does not lift the pair's own budget.
	if n := failUntilRefused(l, "honest", "192.0.2.1"); n != 3 {
		t.Errorf("trusted pair: %d failures let through, want PairBurst (3)", n)
	}
	// Trust lapses.
	clk.Add(DefaultTrustFor + time.Second)
	for i := range 20 {
		l.Failed(fmt.Sprint("again-", i), "192.0.2.1")
	}
	if wait := l.Check("honest", "192.0.2.1"); wait == 0 {
		t.Error("trust outlived TrustFor")
	}
}

func TestBoundedMemory(t *testing.T) {
	l, clk := newLimiter(t, Config{MaxEntries: 100})
	for i := range 10_000 {
		l.Failed(fmt.Sprint("s", i), fmt.Sprint("a", i))
		l.Succeeded(fmt.Sprint("s", i), fmt.Sprint("a", i))
		if i%1000 == 0 {
			clk.Add(time.Millisecond)
		}
	}
	for name, n := range map[string]int{"pairs": len(l.pairs.m), "addresses": len(l.addresses.m), "trusted": len(l.trusted.until)} {
		if n > 100 {
			t.Errorf("%s: %d entries, want at most MaxEntries (100)", name, n)
		}
	}
	// Budgets that refilled are dropped first: a spent one survives a flood
	// of keys that have refilled.
	l, clk = newLimiter(t, Config{MaxEntries: 100, PairBurst: 1, AddressBurst: 1000})
	l.Failed("target", "x")
	for i := range 99 {
		l.Failed(fmt.Sprint("s", i), "y")
	}
	clk.Add(DefaultPairInterval) // the 99 refill; target too, so fail it again
	l.Failed("target", "x")
	for i := range 50 {
		l.Failed(fmt.Sprint("new", i), "z")
	}
	if l.Check("target", "x") == 0 {
		t.Error("a spent budget was dropped while refilled ones could go")
	}
}

func TestRate(t *testing.T) {
	clk := &clock{t: time.Unix(1e9, 0)}
	r, err := NewRate(RateConfig{Burst: 3, Interval: 20 * time.Second, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if wait := r.Take("c"); wait != 0 {
			t.Fatalf("take %d refused (%v) within the burst", i, wait)
		}
	}
	if wait := r.Take("c"); wait != 20*time.Second {
		t.Errorf("over the burst: wait %v, want the interval", wait)
	}
	if wait := r.Take("other"); wait != 0 {
		t.Errorf("another key refused: %v", wait)
	}
	clk.Add(5 * time.Second)
	if wait := r.Take("c"); wait != 15*time.Second {
		t.Errorf("refusals are not counted: wait %v, want 15s", wait)
	}
	clk.Add(15 * time.Second)
	if wait := r.Take("c"); wait != 0 {
		t.Errorf("after the interval: wait %v", wait)
	}
	if _, err := NewRate(RateConfig{Burst: 0, Interval: time.Second}); err == nil {
		t.Error("NewRate without a burst succeeded")
	}
}

func TestNegativeConfig(t *testing.T) {
	for _, cfg := range []Config{{PairBurst: -1}, {PairInterval: -1}, {AddressBurst: -1}, {AddressInterval: -1}, {TrustFor: -1}, {MaxEntries: -1}} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
}

func TestConcurrent(t *testing.T) {
	l, _ := newLimiter(t, Config{MaxEntries: 50})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				s, a := fmt.Sprint("s", i%70), fmt.Sprint("a", g)
				l.Check(s, a)
				if i%3 == 0 {
					l.Succeeded(s, a)
				} else {
					l.Failed(s, a)
				}
			}
		})
	}
	wg.Wait()
}

// BenchmarkSucceeded is what every successful client authentication pays:
// a Check (lock-free while nothing fails) and a Succeeded (a read lock once
// the pair is trusted).
func BenchmarkSucceeded(b *testing.B) {
	l, _ := newLimiter(b, Config{})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if l.Check("tgc_0123456789abcdef", "203.0.113.7") == 0 {
				l.Succeeded("tgc_0123456789abcdef", "203.0.113.7")
			}
		}
	})
}
