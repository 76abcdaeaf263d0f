package throttle

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for [Config].
const (
	DefaultPairBurst       = 10
	DefaultPairInterval    = 6 * time.Second
	DefaultAddressBurst    = 50
	DefaultAddressInterval = time.Second
	DefaultTrustFor        = time.Hour
	DefaultMaxEntries      = 100_000
)

// Config configures a [Limiter].
type Config struct {
	// PairBurst is how many failures one subject may have from one address
	// in a row before further attempts are refused. Defaults to
	// DefaultPairBurst (10).
	PairBurst int
	// PairInterval is how often the pair budget gets one failure back: in
	// the long run, one attempt per PairInterval. Defaults to
	// DefaultPairInterval (6s: 10 a minute).
	PairInterval time.Duration
	// AddressBurst is how many failures one address may have, whatever the
	// subjects, before its attempts for untrusted pairs are refused.
	// Defaults to DefaultAddressBurst (50).
	AddressBurst int
	// AddressInterval is how often the address budget gets one failure
	// back. Defaults to DefaultAddressInterval (1s).
	AddressInterval time.Duration
	// TrustFor is how long a pair that succeeded stays exempt from its
	// address's budget. Defaults to DefaultTrustFor (1h).
	TrustFor time.Duration
	// MaxEntries bounds each of the three tables (pairs, addresses,
	// trusted pairs). Defaults to DefaultMaxEntries (100,000: some 20 MB at
	// most).
	MaxEntries int
	// Now returns the current time. Defaults to time.Now.
	Now func() time.Time
}

// Limiter counts failed attempts per (subject, address) and per address;
// see the package documentation. It is safe for concurrent use.
type Limiter struct {
	pairs     *table[pair]
	addresses *table[string]
	trusted   trustTable
	trustFor  time.Duration
	now       func() time.Time
}

type pair struct{ subject, address string }

// New returns a Limiter for cfg. A negative duration or size is an error.
func New(cfg Config) (*Limiter, error) {
	if cfg.PairBurst < 0 || cfg.PairInterval < 0 || cfg.AddressBurst < 0 || cfg.AddressInterval < 0 ||
		cfg.TrustFor < 0 || cfg.MaxEntries < 0 {
		return nil, fmt.Errorf("throttle: a negative value in Config %+v", cfg)
	}
	cfg.PairBurst = or(cfg.PairBurst, DefaultPairBurst)
	cfg.PairInterval = or(cfg.PairInterval, DefaultPairInterval)
	cfg.AddressBurst = or(cfg.AddressBurst, DefaultAddressBurst)
	cfg.AddressInterval = or(cfg.AddressInterval, DefaultAddressInterval)
	cfg.TrustFor = or(cfg.TrustFor, DefaultTrustFor)
	cfg.MaxEntries = or(cfg.MaxEntries, DefaultMaxEntries)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Limiter{
		pairs:     newTable[pair](cfg.PairBurst, cfg.PairInterval, cfg.MaxEntries),
		addresses: newTable[string](cfg.AddressBurst, cfg.AddressInterval, cfg.MaxEntries),
		trusted:   trustTable{until: make(map[pair]int64), max: cfg.MaxEntries},
		trustFor:  cfg.TrustFor,
		now:       cfg.Now,
	}, nil
}

// Check reports whether an attempt for subject from address may go ahead:
// zero if it may, or else how long until it may (at least a nanosecond).
// A refused attempt must not look at the secret, so that it tells the
// guesser nothing; nor is it counted.
func (l *Limiter) Check(subject, address string) time.Duration {
	if l.pairs.empty() && l.addresses.empty() {
		return 0 // nothing has failed lately: the common case, lock-free
	}
	now := l.now().UnixNano()
	p := pair{subject, address}
	if wait := l.pairs.wait(p, now); wait > 0 {
		return wait
	}
	if wait := l.addresses.wait(address, now); wait > 0 && !l.trusted.has(p, now) {
		return wait
	}
	return 0
}

// Failed records a failed attempt for subject from address.
func (l *Limiter) Failed(subject, address string) {
	now := l.now().UnixNano()
	l.pairs.add(pair{subject, address}, now)
	l.addresses.add(address, now)
}

// Succeeded records a successful attempt: the pair is trusted for TrustFor,
// so its address's budget no longer applies to it.
func (l *Limiter) Succeeded(subject, address string) {
	l.trusted.set(pair{subject, address}, l.now().UnixNano(), int64(l.trustFor))
}

// RateConfig configures a [Rate].
type RateConfig struct {
	// Burst is how many actions a key may take at once. Required.
	Burst int
	// Interval is how often a key gets one action back: in the long run,
	// one action per Interval. Required.
	Interval time.Duration
	// MaxEntries bounds the keys kept. Defaults to DefaultMaxEntries.
	MaxEntries int
	// Now returns the current time. Defaults to time.Now.
	Now func() time.Time
}

// Rate lets each key take Burst actions at once and one more every
// Interval: a quota. It is safe for concurrent use.
type Rate struct {
	t   *table[string]
	now func() time.Time
}

// NewRate returns a Rate for cfg.
func NewRate(cfg RateConfig) (*Rate, error) {
	if cfg.Burst <= 0 || cfg.Interval <= 0 || cfg.MaxEntries < 0 {
		return nil, fmt.Errorf("throttle: RateConfig needs a positive Burst and Interval, got %d and %v", cfg.Burst, cfg.Interval)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Rate{t: newTable[string](cfg.Burst, cfg.Interval, or(cfg.MaxEntries, DefaultMaxEntries)), now: cfg.Now}, nil
}

// Take counts one action of key and returns zero, or, if key's budget is
// spent, counts nothing and returns how long until it has one action again.
func (r *Rate) Take(key string) time.Duration {
	return r.t.take(key, r.now().UnixNano())
}

func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// table holds one budget per key, as a theoretical arrival time (GCRA):
// each counted event pushes it Interval further, it never lags behind now,
// and a key whose time is more than (Burst-1)·Interval ahead has spent its
// budget. A key whose time has passed has its whole budget and is dropped.
type table[K comparable] struct {
	interval  int64 // nanoseconds
	tolerance int64 // (burst-1) · interval
	max       int

	// mu guards m.
	mu sync.Mutex
	m  map[K]int64
	// n is len(m), readable without the lock.
	n atomic.Int64
}

func newTable[K comparable](burst int, interval time.Duration, max int) *table[K] {
	return &table[K]{interval: int64(interval), tolerance: int64(burst-1) * int64(interval), max: max, m: make(map[K]int64)}
}

func (t *table[K]) empty() bool { return t.n.Load() == 0 }

// wait returns how long until key may act again; zero if it may now.
func (t *table[K]) wait(key K, now int64) time.Duration {
	if t.empty() {
		return 0
	}
	t.mu.Lock()
	tat, ok := t.m[key]
	t.mu.Unlock()
	if !ok {
		return 0
	}
	return t.over(tat, now)
}

// over is how far tat is beyond the budget at now: zero while the budget
// has room for one more event.
func (t *table[K]) over(tat, now int64) time.Duration {
	if d := tat - now - t.tolerance; d > 0 {
		return time.Duration(d)
	}
	return 0
}

// add counts one event of key, budget spent or not.
func (t *table[K]) add(key K, now int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.put(key, max(t.m[key], now)+t.interval, now)
}

// take counts one event of key if its budget allows, else returns the wait.
func (t *table[K]) take(key K, now int64) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	tat := max(t.m[key], now)
	if wait := t.over(tat, now); wait > 0 {
		return wait
	}
	t.put(key, tat+t.interval, now)
	return 0
}

// put stores tat for key, making room first if the table is full. The
// caller holds mu.
func (t *table[K]) put(key K, tat, now int64) {
	if _, ok := t.m[key]; !ok && len(t.m) >= t.max {
		// Dropping a key whose budget is whole changes nothing; dropping
		// another forgets its failures, and never refuses anyone.
		makeRoom(t.m, now, t.max)
	}
	t.m[key] = tat
	t.n.Store(int64(len(t.m)))
}

// makeRoom makes room in m, which holds at most max keys, each with the
// time (Unix nanoseconds) after which it no longer matters: it drops those
// first, and if that leaves more than three quarters of max, arbitrary keys
// down to three quarters, so that a full table costs one pass per max/4 new
// keys.
func makeRoom[K comparable](m map[K]int64, now int64, max int) {
	for k, t := range m {
		if t <= now {
			delete(m, k)
		}
	}
	for k := range m {
		if len(m) <= max*3/4 {
			break
		}
		delete(m, k)
	}
}

// trustTable remembers until when each pair is trusted.
type trustTable struct {
	max int
	// mu guards until.
	mu    sync.RWMutex
	until map[pair]int64
}

func (t *trustTable) has(p pair, now int64) bool {
	t.mu.RLock()
	until, ok := t.until[p]
	t.mu.RUnlock()
	return ok && until > now
}

// set trusts p until now+trustFor. A pair trusted for at least half of that
// still is not written again, so that a client succeeding on every request
// costs a read lock, not a write lock.
func (t *trustTable) set(p pair, now, trustFor int64) {
	t.mu.RLock()
	until, ok := t.until[p]
	t.mu.RUnlock()
	if ok && until-now > trustFor/2 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.until[p]; !ok && len(t.until) >= t.max {
		makeRoom(t.until, now, t.max)
	}
	t.until[p] = now + trustFor
}
