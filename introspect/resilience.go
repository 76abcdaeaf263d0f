package introspect

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// Resilience defaults used by [NewClient] for zero [ResilienceConfig] fields.
const (
	defaultAttemptTimeout   = 4 * time.Second
	defaultMaxRetries       = 2
	defaultBackoff          = 100 * time.Millisecond
	maxBackoff              = 2 * time.Second
	defaultBreakerThreshold = 5
	defaultBreakerCooldown  = 5 * time.Second
	defaultMaxInFlight      = 64
	// shedRetryAfter is the retry hint of a call refused by the in-flight
	// bound: calls in flight end within Config.Timeout, most much sooner.
	shedRetryAfter = time.Second
)

// ResilienceConfig bounds how the client behaves when the authorization
// server is slow or failing. The zero value retries twice with backoff and
// opens the circuit after 5 consecutive failures for 5 seconds, with at most
// 64 calls to the authorization server in flight.
type ResilienceConfig struct {
	// AttemptTimeout bounds one HTTP attempt; Config.Timeout bounds all
	// attempts together. Defaults to 4s (or Config.Timeout if smaller).
	AttemptTimeout time.Duration
	// MaxRetries is how many times a failed attempt is retried. Only
	// network errors, attempt timeouts and 502/503/504 answers are retried,
	// never 400, 401, 403 or 429. Defaults to 2; a negative value disables
	// retries.
	MaxRetries int
	// Backoff is the wait before the first retry; it doubles with each
	// retry (capped at 2s), with random jitter. A Retry-After from the
	// server of up to 2s is honoured; a longer one ends the call at once
	// with [ErrUnavailable] carrying the hint ([RetryAfterHint]), so no
	// request is held for it. A retry that would end after the overall
	// deadline is not made. Defaults to 100ms.
	Backoff time.Duration
	// BreakerThreshold is how many consecutive unavailable attempts (or
	// failed discoveries of the endpoint from Config.Issuer) open the
	// circuit: while it is open, calls fail at once with
	// [ErrUnavailable] instead of waiting on a failing server. Defaults to
	// 5; a negative value disables the breaker.
	BreakerThreshold int
	// BreakerCooldown is how long the circuit stays open. Then one call
	// probes the server: success closes the circuit, failure reopens it.
	// Defaults to 5s.
	BreakerCooldown time.Duration
	// MaxInFlight bounds the calls to the authorization server in flight
	// at once (each with its discovery and retries; concurrent calls for
	// one token share one). A token not in the cache that arrives when the
	// bound is reached is refused at once with [ErrUnavailable] carrying a
	// retry hint of 1s ([RetryAfterHint]), and reported as [EventShed]:
	// a flood of bogus tokens then costs the server at most MaxInFlight
	// concurrent requests, while cached verdicts are still served.
	// Defaults to 64; a negative value is an error.
	MaxInFlight int
}

// fetch introspects token at endpoint, retrying and consulting the circuit
// breaker as ResilienceConfig says. ctx carries the overall deadline.
func (c *Client) fetch(ctx context.Context, endpoint, token string) (*Response, error) {
	rc := &c.cfg.Resilience
	for attempt := 0; ; attempt++ {
		if err := c.breaker.allow(c.cfg.Now()); err != nil {
			return nil, err
		}
		actx, cancel := context.WithTimeout(ctx, rc.AttemptTimeout)
		start := time.Now()
		resp, err := c.attempt(actx, endpoint, token)
		cancel()
		if err == nil {
			err = c.check(resp, c.cfg.Now())
		}
		observeCall(c.cfg.Observer, ctx, Event{Kind: EventASCall, Outcome: outcomeOf(err), Duration: time.Since(start)})
		if err != nil && errors.Is(ctx.Err(), context.Canceled) {
			// The caller hung up: that says nothing about the server.
			c.breaker.forget(c.cfg.Now())
		} else {
			c.breaker.record(c.cfg.Now(), errors.Is(err, ErrUnavailable))
		}
		if err == nil {
			return resp, nil
		}
		if attempt >= rc.MaxRetries || !retryable(err) || ctx.Err() != nil {
			return nil, err
		}
		wait := backoff(rc.Backoff, attempt)
		if ra := RetryAfterHint(err); ra > wait {
			if ra > maxBackoff {
				// A server that asks for a long pause should not hold the
				// caller's request that long: answer now and pass the
				// hint on (rs sends it as Retry-After with the 503).
				return nil, err
			}
			wait = ra
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
			return nil, err
		}
		if c.sleep(ctx, wait) != nil {
			return nil, err
		}
	}
}

// retryable reports whether an attempt that failed with err may be retried:
// network errors and timeouts, and 502/503/504 answers.
func retryable(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		switch e.StatusCode {
		case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return true
		}
		return false
	}
	var refused *refusedError
	return errors.Is(err, ErrUnavailable) && !errors.As(err, &refused)
}

// backoff returns the wait before retry number attempt+1: base·2^attempt,
// capped, with "equal jitter" (a random value in [d/2, d]).
func backoff(base time.Duration, attempt int) time.Duration {
	d := base << min(attempt, 16)
	if d <= 0 || d > maxBackoff {
		d = maxBackoff
	}
	half := d / 2
	return half + rand.N(half+1)
}

// sleepCtx waits for d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Circuit states, as reported in [EventCircuit].
const (
	circuitClosed   = "closed"
	circuitOpen     = "open"
	circuitHalfOpen = "half-open"
)

// breaker is a consecutive-failure circuit breaker. A nil *breaker allows
// everything.
type breaker struct {
	threshold int
	cooldown  time.Duration
	// onChange reports each change of state. It is called with mu held, so
	// that changes are reported in the order they happen; it must not call
	// back into the breaker.
	onChange func(state string)

	// mu guards the fields below.
	mu        sync.Mutex
	state     string
	failures  int       // consecutive unavailable outcomes
	openUntil time.Time // while state is open
}

func newBreaker(threshold int, cooldown time.Duration, onChange func(string)) *breaker {
	if threshold < 0 {
		return nil
	}
	return &breaker{threshold: threshold, cooldown: cooldown, onChange: onChange, state: circuitClosed}
}

// allow returns nil if an attempt may be made at now. After the cool-down it
// lets exactly one probe through until that probe's outcome is recorded.
func (b *breaker) allow(now time.Time) error {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	switch b.state {
	case circuitClosed:
		b.mu.Unlock()
		return nil
	case circuitOpen:
		if !now.Before(b.openUntil) {
			b.state = circuitHalfOpen
			b.onChange(circuitHalfOpen)
			b.mu.Unlock()
			return nil
		}
	}
	until := b.openUntil
	b.mu.Unlock()
	return &refusedError{reason: "circuit open after repeated failures", retryAfter: max(until.Sub(now), time.Second)}
}

// record notes an attempt's outcome at now.
func (b *breaker) record(now time.Time, unavailable bool) {
	if b == nil {
		return
	}
	b.mu.Lock()
	prev := b.state
	if !unavailable {
		b.failures = 0
		b.state = circuitClosed
	} else {
		b.failures++
		if b.state == circuitHalfOpen || b.failures >= b.threshold {
			b.state = circuitOpen
			b.openUntil = now.Add(b.cooldown)
		}
	}
	if b.state != prev {
		b.onChange(b.state)
	}
	b.mu.Unlock()
}

// forget notes an attempt whose outcome says nothing about the server,
// because its caller hung up. If it was the probe of a half-open circuit,
// the next call probes instead.
func (b *breaker) forget(now time.Time) {
	if b == nil {
		return
	}
	b.mu.Lock()
	if b.state == circuitHalfOpen {
		// Open with the cool-down over: allow lets the next call probe.
		b.state = circuitOpen
		b.openUntil = now
	}
	b.mu.Unlock()
}

// refusedError is the error of a call refused without asking the
// authorization server: by an open circuit, or by the in-flight bound. It
// matches [ErrUnavailable] and carries a retry hint for [RetryAfterHint].
type refusedError struct {
	reason     string
	retryAfter time.Duration
}

func (e *refusedError) Error() string {
	return fmt.Sprintf("%v: %s, retry in %s", ErrUnavailable, e.reason, e.retryAfter.Round(time.Second))
}

func (e *refusedError) Is(target error) bool { return target == ErrUnavailable }

// errShed is the error of a call refused by Resilience.MaxInFlight; it is
// never changed, so one value serves every refusal.
var errShed error = &refusedError{reason: "too many introspections in flight", retryAfter: shedRetryAfter}
