// Package lograte limits how often a log line is written, for failures that
// repeat on every request (an authorization server that is down, or that
// refuses our credentials): one line per interval says so, with how many
// were held back since the previous one.
package lograte

import (
	"sync/atomic"
	"time"
)

// Every is the least time between two lines let through by a [Limiter].
const Every = 10 * time.Second

// Limiter lets one log line through per [Every] and counts the ones it holds
// back. The zero value is ready to use; it is safe for concurrent use.
type Limiter struct {
	last       atomic.Int64 // Unix nanoseconds of the last line let through; 0 for none
	suppressed atomic.Int64 // lines held back since then
}

// Allow reports whether a line may be logged at now, and how many were held
// back since the last one let through.
func (l *Limiter) Allow(now time.Time) (ok bool, suppressed int64) {
	n := now.UnixNano()
	last := l.last.Load()
	if last != 0 && n-last < int64(Every) || !l.last.CompareAndSwap(last, n) {
		l.suppressed.Add(1)
		return false, 0
	}
	return true, l.suppressed.Swap(0)
}
