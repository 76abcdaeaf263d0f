package sqlite_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tokengate/tokengate/provider/store"
	"github.com/tokengate/tokengate/provider/store/sqlite"
)

// crashEnv names the database a re-run of this test binary writes tokens
// to until it kills itself (TestSavedTokensSurviveAKill).
const crashEnv = "TOKENGATE_SQLITE_KILL_DB"

// TestSavedTokensSurviveAKill: a process saving tokens from 32 goroutines
// at once (so in batches) prints each token's hash once SaveToken returned
// nil, then kills itself with SIGKILL mid-stream, without closing the
// store. Every token it printed is in the database when it is reopened.
func TestSavedTokensSurviveAKill(t *testing.T) {
	if path := os.Getenv(crashEnv); path != "" {
		saveUntilKilled(path)
		return
	}
	path := filepath.Join(t.TempDir(), "tokengate.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestSavedTokensSurviveAKill$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("the writer was not killed: %v\n%s", err, stderr.Bytes())
	}
	s := open(t, path)
	ctx := context.Background()
	n := 0
	for sc := bufio.NewScanner(bytes.NewReader(out)); sc.Scan(); n++ {
		h, err := hex.DecodeString(sc.Text())
		if err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		if _, err := s.Token(ctx, h); err != nil {
			t.Errorf("token %d of those saved before the kill: %v", n, err)
		}
	}
	if n < 1000 {
		t.Errorf("the writer saved %d tokens before it was killed, want 1000 or more", n)
	}
}

// saveUntilKilled is the writer of TestSavedTokensSurviveAKill.
func saveUntilKilled(path string) {
	ctx := context.Background()
	s, err := sqlite.Open(sqlite.Config{Path: path})
	if err != nil {
		panic(err)
	}
	now := time.Now()
	if err := s.CreateClient(ctx, &store.Client{ID: "c", CreatedAt: now}); err != nil {
		panic(err)
	}
	var mu sync.Mutex // guards stdout and saved
	saved := 0
	var next atomic.Int64
	for range 32 {
		go func() {
			for {
				h := store.Hash(fmt.Sprint("token-", next.Add(1)))
				if err := s.SaveToken(ctx, &store.Token{Hash: h, ClientID: "c", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
					panic(err)
				}
				mu.Lock()
				fmt.Fprintln(os.Stdout, hex.EncodeToString(h)) // unbuffered: in the pipe before the kill
				if saved++; saved == 1500 {
					syscall.Kill(os.Getpid(), syscall.SIGKILL)
				}
				mu.Unlock()
			}
		}()
	}
	select {}
}

// BenchmarkSaveTokenParallel measures what the token endpoint writes for
// every token, from 32 concurrent callers (wrk's 32 connections in
// scripts/bench-provider.sh) with a cancellable context, as HTTP requests
// have, into a store that already holds 20,000 tokens. The tokens are the
// provider's: a random hash, and a jti and grant ID that sort by time. It
// reports tokens/s (wall clock).
func BenchmarkSaveTokenParallel(b *testing.B) {
	ctx := context.Background()
	s := open(b, filepath.Join(b.TempDir(), "bench.db"))
	if err := s.CreateClient(ctx, &store.Client{ID: "tgc_0123456789abcdefghijkl", CreatedAt: time.Now()}); err != nil {
		b.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var n atomic.Int64
	save := func(ctx context.Context) error {
		i := n.Add(1)
		now := time.Now()
		id := fmt.Sprintf("%022d", i)
		return s.SaveToken(ctx, &store.Token{Hash: store.Hash(fmt.Sprint("token-", i)), ClientID: "tgc_0123456789abcdefghijkl",
			Subject: "tgc_0123456789abcdefghijkl", Scope: "orders:read", Audience: []string{"urn:tokengate:loadtarget"},
			JWTID: id, GrantID: id, Format: "opaque", Kind: store.TokenAccess, IssuedAt: now, ExpiresAt: now.Add(time.Hour)})
	}
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for n.Load() < 20000 {
				if err := save(ctx); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.SetParallelism(16) // 32 goroutines on 2 CPUs
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := save(rctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "tokens/s")
}
