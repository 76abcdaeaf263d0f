package oauthhttp

import (
	"net"
	"strings"
)

// IsLoopback reports whether host, a URL's Hostname(), is "localhost" (in
// any case) or a loopback IP address: the hosts where plain http is
// acceptable for an OAuth endpoint, because nothing crosses the network.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
