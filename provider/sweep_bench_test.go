package provider_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tokengate/tokengate/provider"
	"github.com/tokengate/tokengate/provider/store"
	"github.com/tokengate/tokengate/provider/store/sqlite"
)

// BenchmarkSweepRevocationDelay measures what a sweep of many expired
// tokens costs the writers that run beside it, on SQLite (finding 1 of the
// review: with 1M expired rows, one DELETE held the write lock for 15–17 s).
// It fills a database with TOKENGATE_SWEEP_ROWS expired tokens (default
// 100,000; the review's figure is 1,000,000), then sweeps them while
//
//   - this provider revokes a token every 10 ms (Provider.Revoke: a read and
//     a durable write), and
//   - a second handle on the file — another process, as far as SQLite's
//     locks go — opens the database, registers a client and revokes a
//     token every 250 ms, and closes it again, as "tokengate client create"
//     would; any error (SQLITE_BUSY) fails the benchmark.
//
// It reports the sweep's length and the p50 and worst delays of both kinds
// of writes, and the same revocation without a sweep beside it. Run it
// once:
//
//	TOKENGATE_SWEEP_ROWS=1000000 go test -run '^$' -bench SweepRevocationDelay -benchtime 1x ./provider/
func BenchmarkSweepRevocationDelay(b *testing.B) {
	rows := 100_000
	if v := os.Getenv("TOKENGATE_SWEEP_ROWS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			b.Fatalf("TOKENGATE_SWEEP_ROWS=%q: want a positive number", v)
		}
		rows = n
	}
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "tokengate.db")
	st, err := sqlite.Open(sqlite.Config{Path: path})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	batchSize := provider.DefaultSweepBatchSize
	if v := os.Getenv("TOKENGATE_SWEEP_BATCH"); v != "" {
		if batchSize, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	timed := &timedSweep{Store: st}
	p, err := provider.New(provider.Config{Issuer: "https://as.example", Store: timed, ManualSweep: true, SweepBatchSize: batchSize,
		KeyAlgorithms: []string{provider.AlgES256}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	app, _, err := p.Admin().RegisterClient(ctx, provider.ClientSpec{Scopes: []string{"read"}})
	if err != nil {
		b.Fatal(err)
	}
	fillExpired(b, path, app.ID, rows)
	live := make([]string, 400)
	for i := range live {
		if live[i], err = p.Mint(ctx, provider.MintRequest{ClientID: app.ID}); err != nil {
			b.Fatal(err)
		}
	}

	for b.Loop() {
		// Revocations alone, for comparison.
		alone := revokeEvery(ctx, b, p, live[:200], 10*time.Millisecond, nil)

		done := make(chan struct{})
		var wg sync.WaitGroup
		var during, second []time.Duration
		wg.Go(func() { during = revokeEvery(ctx, b, p, live[200:], 10*time.Millisecond, done) })
		wg.Go(func() { second = secondProcess(ctx, b, path, app.ID, done) })
		start := time.Now()
		n, err := p.Sweep(ctx)
		took := time.Since(start)
		close(done)
		wg.Wait()
		if err != nil {
			b.Fatal(err)
		}
		if n != int64(rows) {
			b.Fatalf("swept %d tokens, want %d", n, rows)
		}
		b.ReportMetric(float64(rows), "rows")
		b.ReportMetric(took.Seconds(), "sweep-s")
		report := func(name string, d []time.Duration) {
			slices.Sort(d)
			b.ReportMetric(float64(len(d)), name+"-n")
			b.ReportMetric(ms(d[len(d)/2]), name+"-p50-ms")
			b.ReportMetric(ms(d[len(d)-1]), name+"-max-ms")
		}
		report("batch", timed.batches)
		report("revoke-alone", alone)
		report("revoke-during", during)
		report("second-open-write", second)
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// timedSweep records how long each batch of a sweep takes.
type timedSweep struct {
	store.Store
	batches []time.Duration // only the sweep appends, one batch at a time
}

func (t *timedSweep) DeleteExpiredTokens(ctx context.Context, before time.Time, limit int) (int64, error) {
	start := time.Now()
	n, err := t.Store.DeleteExpiredTokens(ctx, before, limit)
	t.batches = append(t.batches, time.Since(start))
	return n, err
}

// fillExpired inserts n expired tokens of client in bulk, straight into the
// database.
func fillExpired(b *testing.B, path, client string, n int) {
	b.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_busy_timeout=5000")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	expired := time.Now().Add(-time.Hour).UnixMilli()
	_, err = db.Exec(`WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ?)
		INSERT INTO tokens (hash, client_id, subject, scope, audience, jti, grant_id, format, issued_at, expires_at)
		SELECT randomblob(32), ?, ?, 'read', '[]', hex(randomblob(16)), hex(randomblob(16)), 'opaque', ?, ? - i FROM seq`,
		n, client, client, expired-time.Hour.Milliseconds(), expired)
	if err != nil {
		b.Fatal(err)
	}
}

// revokeEvery revokes tokens one by one every interval — once each if done
// is nil, else round and round until done is closed — and returns how long
// each revocation took.
func revokeEvery(ctx context.Context, b *testing.B, p *provider.Provider, tokens []string, every time.Duration, done <-chan struct{}) []time.Duration {
	var out []time.Duration
	for i := 0; done != nil || i < len(tokens); i++ {
		tok := tokens[i%len(tokens)]
		start := time.Now()
		if err := p.Revoke(ctx, tok); err != nil {
			b.Error(err)
			return out
		}
		out = append(out, time.Since(start))
		select {
		case <-done:
			return out
		case <-time.After(every):
		}
	}
	return out
}

// secondProcess opens the database on a handle of its own every 250 ms,
// registers a client and revokes a grant, as another process would, until
// done is closed; it returns how long each open-and-write took.
func secondProcess(ctx context.Context, b *testing.B, path, client string, done <-chan struct{}) []time.Duration {
	var out []time.Duration
	for i := 0; ; i++ {
		start := time.Now()
		s, err := sqlite.Open(sqlite.Config{Path: path})
		if err == nil {
			err = s.CreateClient(ctx, &store.Client{ID: fmt.Sprint("second-", i), CreatedAt: start})
			if err == nil {
				_, err = s.RevokeGrant(ctx, fmt.Sprint("no-such-grant-", i), "revoked")
			}
			s.Close()
		}
		if err != nil {
			b.Errorf("second handle, during the sweep: %v (busy: %v)", err, errors.Is(err, context.DeadlineExceeded))
			return out
		}
		out = append(out, time.Since(start))
		select {
		case <-done:
			return out
		case <-time.After(250 * time.Millisecond):
		}
	}
}
