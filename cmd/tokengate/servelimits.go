package main

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/tokengate/tokengate/provider"
)

// serveLimits are serve's flags for the provider's throttling and quota
// (provider.Config.AuthFailuresPerMinute, TokensPerMinute, ClientAddress).
type serveLimits struct {
	authFailures  *int
	tokens        *int
	addressHeader *string
}

// addServeLimits defines the flags on fs.
func addServeLimits(fs *flagSet) *serveLimits {
	return &serveLimits{
		authFailures: fs.Int("auth-failures-per-minute", provider.DefaultAuthFailuresPerMinute,
			"failed client authentications one client id may have from one address, in a burst and then per `N` a minute, before 429"),
		tokens: fs.Int("tokens-per-minute", provider.DefaultTokensPerMinute,
			"each client's token quota: `N` at once, then N a minute, before 429"),
		addressHeader: fs.String("client-address-header", "",
			"behind a reverse proxy, the request `HEADER` (e.g. X-Forwarded-For, X-Real-IP) whose last entry is the client's address, "+
				"as the proxy sets it; only if every request comes through that proxy (anyone else could pick their own address)"),
	}
}

// check returns what is wrong with the flags, or "".
func (l *serveLimits) check(fs *flagSet) string {
	switch {
	case *l.authFailures <= 0:
		return fmt.Sprintf("%s must be positive", fs.origin("auth-failures-per-minute"))
	case *l.tokens <= 0:
		return fmt.Sprintf("%s must be positive", fs.origin("tokens-per-minute"))
	case *l.addressHeader != "" && !validHeaderName(*l.addressHeader):
		return fmt.Sprintf("%s: %q is not a header name", fs.origin("client-address-header"), *l.addressHeader)
	}
	return ""
}

// validHeaderName reports whether name is an RFC 9110 field name (a token).
func validHeaderName(name string) bool {
	return strings.IndexFunc(name, func(r rune) bool {
		return r > 0x7e || r <= ' ' || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r)
	}) < 0
}

// apply sets the provider's settings from the flags.
func (l *serveLimits) apply(cfg *provider.Config) {
	cfg.AuthFailuresPerMinute = *l.authFailures
	cfg.TokensPerMinute = *l.tokens
	if h := *l.addressHeader; h != "" {
		cfg.ClientAddress = func(r *http.Request) string { return headerAddress(r, h) }
	}
}

// headerAddress is the client's address from header h: its last entry (the
// one the nearest proxy added), as an IP address, an IPv6 one cut to its
// /64 as the provider's default does. A request without a valid one is
// counted under the address it came from (the proxy's), prefixed so that it
// cannot be taken for a client's.
func headerAddress(r *http.Request, h string) string {
	values := r.Header.Values(h)
	if len(values) > 0 {
		last := values[len(values)-1]
		last = strings.TrimSpace(last[strings.LastIndexByte(last, ',')+1:])
		if ip, err := netip.ParseAddr(strings.Trim(last, "[]")); err == nil {
			return addressKey(ip.Unmap())
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return "no " + h + " from " + host
}

// addressKey is ip, or its /64 for IPv6: one host commonly has a whole /64.
func addressKey(ip netip.Addr) string {
	if ip.Is6() {
		if prefix, err := ip.Prefix(64); err == nil {
			return prefix.String()
		}
	}
	return ip.String()
}
