package oauthhttp

import (
	"fmt"
	"net"
	"net/url"
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

// CheckURL accepts raw as the URL of an endpoint we send secrets to or
// take keys from: absolute, without user info, and https, or plain http on
// a loopback host (on any host when allowHTTP is set). The error for plain
// http elsewhere names insecureOption, the setting that would allow it.
func CheckURL(raw string, allowHTTP bool, insecureOption string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if u.Host == "" {
		return fmt.Errorf("%q is not an absolute URL", raw)
	}
	if u.User != nil {
		return fmt.Errorf("%q must not carry credentials", u.Redacted())
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if allowHTTP || IsLoopback(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("%q is plain http on a non-loopback host; use https (%s allows it for tests)", raw, insecureOption)
	default:
		return fmt.Errorf("%q: scheme must be https", raw)
	}
}
