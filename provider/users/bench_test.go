//go:build unix

package users_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tokengate/tokengate/provider/users"
)

// BenchmarkAuthenticate is the cost of one sign-in at the default Argon2id
// parameters (one hash: 19 MiB, 2 passes, 1 lane), for a known user and
// for an unknown one, which must cost the same.
func BenchmarkAuthenticate(b *testing.B) {
	ctx := context.Background()
	d, err := users.New(users.Config{Store: users.NewMemory(), FailuresPerMinute: 1 << 30})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := d.Create(ctx, "alice", "correct horse battery", users.Profile{}); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct{ name, username, password string }{
		{"known", "alice", "correct horse battery"},
		{"unknown", "mallory", "correct horse battery"},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				d.Authenticate(ctx, c.username, c.password, "192.0.2.1")
			}
		})
	}
}

// BenchmarkAuthenticateFlood is a flood of sign-ins with wrong passwords
// at the default parameters: 64 goroutines at once, each attempt for
// another username. "distinct addresses" comes from everywhere (a botnet:
// throttling cannot help, the bound on concurrent hashes does); "one
// address" comes from one place (throttling refuses it before hashing).
// It reports the CPUs the process used while flooded (user + system time
// over wall time), the hashes per second, and the share of attempts
// refused at once, as busy or throttled: an attacker's retries cost a
// few microseconds each. Run it for seconds (-benchtime 5s): a short run
// is all queueing.
func BenchmarkAuthenticateFlood(b *testing.B) {
	ctx := context.Background()
	for _, c := range []struct {
		name    string
		address func(i int64) string
	}{
		{"distinct addresses", func(i int64) string { return fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255) }},
		{"one address", func(int64) string { return "192.0.2.7" }},
	} {
		b.Run(c.name, func(b *testing.B) {
			d, err := users.New(users.Config{Store: users.NewMemory()})
			if err != nil {
				b.Fatal(err)
			}
			var n, busy, throttled atomic.Int64
			b.SetParallelism(32) // 64 goroutines on 2 CPUs
			before := cpuTime()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					_, err := d.Authenticate(ctx, fmt.Sprint("user", i), "guess", c.address(i))
					switch {
					case errors.Is(err, users.ErrBusy):
						busy.Add(1)
					case errors.Is(err, users.ErrThrottled):
						throttled.Add(1)
					}
				}
			})
			wall := time.Since(start)
			total := float64(n.Load())
			b.ReportMetric((cpuTime()-before).Seconds()/wall.Seconds(), "cpus")
			b.ReportMetric((total-float64(busy.Load()+throttled.Load()))/wall.Seconds(), "hashes/s")
			b.ReportMetric(100*float64(busy.Load())/total, "%busy")
			b.ReportMetric(100*float64(throttled.Load())/total, "%throttled")
		})
	}
}

// cpuTime is the user and system time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
