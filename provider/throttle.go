package provider

import (
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/tokengate/tokengate/internal/lograte"
	"github.com/tokengate/tokengate/internal/throttle"
)

// Defaults for [Config].
const (
	DefaultAuthFailuresPerMinute = 10
	DefaultTokensPerMinute       = 600
)

// addressBudgetFactor is how many times AuthFailuresPerMinute one address
// may fail across all client ids.
const addressBudgetFactor = 5

// guard throttles failed client authentication and token issuance.
//
// Failures are counted per (client id, address) and per address, never per
// client id alone (package internal/throttle explains why): an attacker
// guessing a client's secret spends the budgets of its own addresses, and
// the client, authenticating from elsewhere — or from the same address,
// having succeeded there lately — is not refused. An attempt that is
// throttled is refused before its secret is hashed or its client read, so
// it costs little and tells nothing.
type guard struct {
	auth    *throttle.Limiter
	quota   *throttle.Rate
	address func(*http.Request) string

	// failLog and throttleLog let one warning a lograte.Every through.
	failLog, throttleLog lograte.Limiter
}

func newGuard(cfg *Config) (*guard, error) {
	perMinute := cfg.AuthFailuresPerMinute
	auth, err := throttle.New(throttle.Config{
		PairBurst:       perMinute,
		PairInterval:    time.Minute / time.Duration(perMinute),
		AddressBurst:    addressBudgetFactor * perMinute,
		AddressInterval: time.Minute / time.Duration(addressBudgetFactor*perMinute),
		Now:             cfg.Now,
	})
	if err != nil {
		return nil, fmt.Errorf("provider: %w", err)
	}
	quota, err := throttle.NewRate(throttle.RateConfig{
		Burst:    cfg.TokensPerMinute,
		Interval: time.Minute / time.Duration(cfg.TokensPerMinute),
		Now:      cfg.Now,
	})
	if err != nil {
		return nil, fmt.Errorf("provider: %w", err)
	}
	address := cfg.ClientAddress
	if address == nil {
		address = remoteAddress
	}
	return &guard{auth: auth, quota: quota, address: address}, nil
}

// remoteAddress is the default Config.ClientAddress: the host of
// r.RemoteAddr, with an IPv6 address cut to its /64 prefix — one host
// commonly has a whole /64, so one address each would be no limit at all.
func remoteAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.Is6() && !ip.Is4In6() {
		if prefix, err := ip.Prefix(64); err == nil {
			return prefix.String()
		}
	}
	return host
}

// throttled is the 429 answer (RFC 6585 §4) in RFC 6749 §5.2 form. The
// code is temporarily_unavailable: the one registered OAuth error that
// says to retry later, which Retry-After makes precise.
func throttled(wait time.Duration, description string) *oauthError {
	return &oauthError{status: http.StatusTooManyRequests, code: "temporarily_unavailable",
		description: description, retryAfter: retryAfterSeconds(wait)}
}

// retryAfterSeconds rounds wait up to whole seconds, at least 1.
func retryAfterSeconds(wait time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(wait.Seconds()))))
}

// checkAuth answers 429 if subject (a client id, or "" for a bearer
// caller) may not try to authenticate from addr now.
func (p *Provider) checkAuth(addr, endpoint, subject string) *oauthError {
	wait := p.guard.auth.Check(subject, addr)
	if wait == 0 {
		return nil
	}
	p.observe(Event{Kind: EventAuthThrottled, Endpoint: endpoint})
	if ok, suppressed := p.guard.throttleLog.Allow(p.now()); ok {
		p.cfg.Logger.Warn("provider: throttling client authentication after repeated failures",
			slog.String("endpoint", endpoint), slog.String("client_id", truncate(subject, 64)),
			slog.String("address", addr), slog.Duration("retry_after", wait), slog.Int64("suppressed", suppressed))
	}
	return throttled(wait, "too many failed authentication attempts; retry later")
}

// authFailed counts a failed authentication of subject from addr.
func (p *Provider) authFailed(addr, endpoint, subject string) {
	p.guard.auth.Failed(subject, addr)
	p.observe(Event{Kind: EventAuthFailure, Endpoint: endpoint})
	if ok, suppressed := p.guard.failLog.Allow(p.now()); ok {
		p.cfg.Logger.Warn("provider: client authentication failed",
			slog.String("endpoint", endpoint), slog.String("client_id", truncate(subject, 64)),
			slog.String("address", addr), slog.Int64("suppressed", suppressed))
	}
}

// authSucceeded trusts client from addr.
func (p *Provider) authSucceeded(addr, clientID string) {
	p.guard.auth.Succeeded(clientID, addr)
}
