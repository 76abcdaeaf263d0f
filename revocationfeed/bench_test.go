package revocationfeed_test

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// BenchmarkFanOut measures the receiving side of a revocation across a
// fleet: three replicas hold a long poll on one transmitter (the fake feed,
// in process, on loopback); each iteration revokes a token (signing its
// SET) and waits until all three have verified the SET and told their
// cache. It reports the median and the 99th percentile of that time. The
// transmitter's own delay (commit to answer) is not in it: the fake wakes
// its polls at once.
func BenchmarkFanOut(b *testing.B) {
	f := newFeed(b)
	f.hold = time.Minute
	var recs []*recorder
	for range 3 {
		rec := newRecorder()
		newSubscriber(b, f, rec, nil)
		recs = append(recs, rec)
	}
	f.waitPolls(3) // each replica holds a long poll
	var took []time.Duration
	i := 0
	for b.Loop() {
		i++
		token := fmt.Sprint("fan-out-", i)
		start := time.Now()
		f.revoke(token, "", time.Now().Add(time.Hour), time.Now())
		for _, rec := range recs {
			rec.waitFor(b, "the revocation", func(r *recorder) bool { return r.hashes[sum(token)] == 1 })
		}
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(took[len(took)*99/100].Microseconds()), "p99-µs")
}
