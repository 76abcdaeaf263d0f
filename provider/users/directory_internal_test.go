package users

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// cheap are the parameters tests hash with: the smallest Argon2id allows.
var cheap = Params{MemoryKiB: 8, Passes: 1, Lanes: 1}

// clock is a fake clock the tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// newTestDirectory returns a Directory on a memory store with one user,
// alice (password "correct horse"), and counts the hashes it computes.
func newTestDirectory(t *testing.T, cfg Config) (*Directory, *atomic.Int64) {
	t.Helper()
	if cfg.Store == nil {
		cfg.Store = NewMemory()
	}
	if cfg.Params == (Params{}) {
		cfg.Params = cheap
	}
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Create(context.Background(), "alice", "correct horse", Profile{Name: "Alice"}); err != nil {
		t.Fatal(err)
	}
	var hashes atomic.Int64
	d.onHash = func(p Params) {
		if p != d.params {
			t.Errorf("a hash with %+v, want the current %+v", p, d.params)
		}
		hashes.Add(1)
	}
	return d, &hashes
}

func TestAuthenticate(t *testing.T) {
	ctx := context.Background()
	d, hashes := newTestDirectory(t, Config{})
	u, err := d.Authenticate(ctx, "alice", "correct horse", "192.0.2.1")
	if err != nil || u.Username != "alice" || u.Profile.Name != "Alice" || u.Subject == "" {
		t.Fatalf("Authenticate(alice) = %+v, %v", u, err)
	}
	for _, c := range []struct{ name, username, password string }{
		{"wrong password", "alice", "wrong horse"},
		{"unknown user", "mallory", "correct horse"},
		{"empty password", "alice", ""},
		{"empty username", "", "correct horse"},
		{"username differing in case", "Alice", "correct horse"},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := hashes.Load()
			u, err := d.Authenticate(ctx, c.username, c.password, "192.0.2.1")
			// One error value, whatever was wrong: the answer says nothing
			// about whether the user exists.
			if err != ErrInvalidCredentials || u != nil {
				t.Errorf("Authenticate = %v, %v; want exactly ErrInvalidCredentials", u, err)
			}
			// The same work too: one hash, with the current parameters
			// (onHash checks them).
			if n := hashes.Load() - before; n != 1 {
				t.Errorf("%d hashes, want 1 (the same work as a wrong password)", n)
			}
		})
	}
	t.Run("oversized password", func(t *testing.T) {
		before := hashes.Load()
		if _, err := d.Authenticate(ctx, "alice", strings.Repeat("x", MaxPasswordBytes+1), "192.0.2.1"); err != ErrInvalidCredentials {
			t.Errorf("Authenticate = %v, want ErrInvalidCredentials", err)
		}
		// Not hashed at all: its size must not buy work.
		if n := hashes.Load() - before; n != 0 {
			t.Errorf("%d hashes, want 0", n)
		}
	})
	t.Run("user without a password", func(t *testing.T) {
		st := NewMemory()
		st.CreateUser(ctx, &User{Subject: "s", Username: "nopass"})
		d, hashes := newTestDirectory(t, Config{Store: st})
		if _, err := d.Authenticate(ctx, "nopass", "", "192.0.2.1"); err != ErrInvalidCredentials {
			t.Errorf("Authenticate = %v, want ErrInvalidCredentials", err)
		}
		if hashes.Load() != 1 {
			t.Errorf("%d hashes, want 1", hashes.Load())
		}
	})
}

func TestAuthenticateThrottles(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	d, hashes := newTestDirectory(t, Config{FailuresPerMinute: 3, Now: clk.now})
	for _, username := range []string{"alice", "mallory"} {
		t.Run(username, func(t *testing.T) {
			for range 3 {
				if _, err := d.Authenticate(ctx, username, "guess", "198.51.100.7"); err != ErrInvalidCredentials {
					t.Fatalf("a guess within the budget = %v", err)
				}
			}
			before := hashes.Load()
			// Even the right password is refused now, before any hashing.
			_, err := d.Authenticate(ctx, username, "correct horse", "198.51.100.7")
			var te *ThrottleError
			if !errors.Is(err, ErrThrottled) || !errors.As(err, &te) || te.RetryAfter <= 0 || te.RetryAfter > time.Minute {
				t.Fatalf("a guess over the budget = %v, want a ThrottleError with a RetryAfter within a minute", err)
			}
			if hashes.Load() != before {
				t.Error("a throttled attempt hashed the password")
			}
			// The same answer whether the user exists or not.
			if want := "users: too many failed sign-in attempts; try again in 20s"; err.Error() != want {
				t.Errorf("error = %q, want %q", err, want)
			}
			// The owner, elsewhere, is not locked out.
			if username == "alice" {
				if _, err := d.Authenticate(ctx, "alice", "correct horse", "203.0.113.9"); err != nil {
					t.Errorf("alice from another address: %v", err)
				}
			}
			clk.advance(te.RetryAfter)
			if _, err := d.Authenticate(ctx, username, "guess", "198.51.100.7"); err != ErrInvalidCredentials {
				t.Errorf("after RetryAfter: %v, want ErrInvalidCredentials", err)
			}
			clk.advance(time.Hour)
		})
	}
	t.Run("address across usernames", func(t *testing.T) {
		// An address may fail five times the pair budget across usernames.
		for i := range 15 {
			name := "user" + string(rune('a'+i))
			if _, err := d.Authenticate(ctx, name, "guess", "198.51.100.8"); err != ErrInvalidCredentials {
				t.Fatalf("guess %d = %v", i, err)
			}
		}
		if _, err := d.Authenticate(ctx, "yet-another", "guess", "198.51.100.8"); !errors.Is(err, ErrThrottled) {
			t.Errorf("the 16th guess from one address = %v, want ErrThrottled", err)
		}
	})
}

func TestAuthenticateBoundsConcurrency(t *testing.T) {
	ctx := context.Background()
	d, _ := newTestDirectory(t, Config{MaxConcurrentHashes: 1, MaxQueuedHashes: 1})
	entered, release := make(chan struct{}), make(chan struct{})
	var running, peak atomic.Int64
	d.onHash = func(Params) {
		n := running.Add(1)
		if n > peak.Load() {
			peak.Store(n)
		}
		entered <- struct{}{}
		<-release
		running.Add(-1)
	}
	done := make(chan error, 2)
	go func() { _, err := d.Authenticate(ctx, "alice", "correct horse", "192.0.2.1"); done <- err }()
	<-entered // the first holds the only slot
	waitCtx, cancel := context.WithCancel(ctx)
	go func() { _, err := d.Authenticate(waitCtx, "alice", "correct horse", "192.0.2.2"); done <- err }()
	for d.gate.waiting.Load() != 1 {
		time.Sleep(time.Millisecond) // the second is queued
	}
	if _, err := d.Authenticate(ctx, "alice", "correct horse", "192.0.2.3"); err != ErrBusy {
		t.Errorf("a third attempt with one slot and one place in the queue = %v, want ErrBusy at once", err)
	}
	cancel()
	if err := <-done; !errors.Is(err, ErrBusy) || !errors.Is(err, context.Canceled) {
		t.Errorf("a queued attempt whose context ends = %v, want ErrBusy and context.Canceled", err)
	}
	release <- struct{}{}
	if err := <-done; err != nil {
		t.Errorf("the first attempt = %v", err)
	}
	if peak.Load() != 1 {
		t.Errorf("%d hashes ran at once, want at most 1", peak.Load())
	}
}

func TestRehashOnSignIn(t *testing.T) {
	ctx := context.Background()
	st := NewMemory()
	old, err := New(Config{Store: st, Params: cheap})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.Create(ctx, "alice", "correct horse", Profile{}); err != nil {
		t.Fatal(err)
	}
	stronger := Params{MemoryKiB: 16, Passes: 2, Lanes: 1}
	d, err := New(Config{Store: st, Params: stronger})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Authenticate(ctx, "alice", "correct horse", "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	u, _ := st.UserByUsername(ctx, "alice")
	h, err := parseHash(u.PasswordHash)
	if err != nil || h.params != stronger {
		t.Fatalf("after sign-in the hash is %q (%v), want one with %+v", u.PasswordHash, err, stronger)
	}
	if _, err := d.Authenticate(ctx, "alice", "correct horse", "192.0.2.1"); err != nil {
		t.Errorf("the upgraded hash does not verify: %v", err)
	}
}

func TestParseHash(t *testing.T) {
	good := hashPassword("pw", cheap)
	if h, err := parseHash(good); err != nil || !h.matches("pw") || h.matches("pW") {
		t.Fatalf("parseHash(%q) = %v", good, err)
	}
	if !strings.HasPrefix(good, "$argon2id$v=19$m=8,t=1,p=1$") {
		t.Errorf("hash %q is not in the PHC format", good)
	}
	if hashPassword("pw", cheap) == good {
		t.Error("two hashes of one password are equal: no fresh salt")
	}
	parts := strings.Split(good, "$")
	for _, bad := range []string{
		"", "plaintext", "$argon2i$v=19$m=8,t=1,p=1$" + parts[4] + "$" + parts[5],
		"$argon2id$v=16$m=8,t=1,p=1$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=4294967295,t=1,p=1$" + parts[4] + "$" + parts[5], // 4 TiB
		"$argon2id$v=19$m=8,t=1000,p=1$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=8,t=1,p=0$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=8,t=1,p=300$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=8,t=1,p=1$!!$" + parts[5],
		"$argon2id$v=19$m=8,t=1,p=1$" + parts[4] + "$c2hvcnQ",
		good + "$extra",
	} {
		if _, err := parseHash(bad); err == nil {
			t.Errorf("parseHash(%q) accepted it", bad)
		}
	}
}

func TestNewRefuses(t *testing.T) {
	for name, cfg := range map[string]Config{
		"no store":            {},
		"negative min length": {Store: NewMemory(), MinPasswordLength: -1},
		"negative hashes":     {Store: NewMemory(), MaxConcurrentHashes: -1},
		"negative queue":      {Store: NewMemory(), MaxQueuedHashes: -1},
		"negative failures":   {Store: NewMemory(), FailuresPerMinute: -1},
		"no passes":           {Store: NewMemory(), Params: Params{MemoryKiB: 64, Lanes: 1}},
		"too little memory":   {Store: NewMemory(), Params: Params{MemoryKiB: 8, Passes: 1, Lanes: 2}},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
	d, err := New(Config{Store: NewMemory()})
	if err != nil {
		t.Fatal(err)
	}
	if d.params != DefaultParams() || d.minLength != 8 || cap(d.gate.slots) < 1 || d.gate.maxWaiting != int64(8*cap(d.gate.slots)) {
		t.Errorf("defaults: %+v, min %d, %d slots, %d queued", d.params, d.minLength, cap(d.gate.slots), d.gate.maxWaiting)
	}
}
