package introspect

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestSleepCtx(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := sleepCtx(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("sleepCtx on a cancelled ctx = %v", err)
	}
	if err := sleepCtx(context.Background(), time.Nanosecond); err != nil {
		t.Errorf("sleepCtx = %v", err)
	}
}

func TestEventKindString(t *testing.T) {
	seen := map[string]bool{}
	for k := EventCacheHit; k <= EventShed; k++ {
		s := k.String()
		if s == "unknown" || seen[s] {
			t.Errorf("EventKind(%d).String() = %q", k, s)
		}
		seen[s] = true
	}
	if EventKind(0).String() != "unknown" {
		t.Error("zero EventKind has a name")
	}
}

func TestCircuitOpenError(t *testing.T) {
	err := error(&refusedError{reason: "circuit open after repeated failures", retryAfter: 3 * time.Second})
	if !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrInactive) || !strings.Contains(err.Error(), "circuit open") {
		t.Errorf("circuitOpenError = %v", err)
	}
	if RetryAfterHint(err) != 3*time.Second {
		t.Errorf("RetryAfterHint = %v", RetryAfterHint(err))
	}
}
