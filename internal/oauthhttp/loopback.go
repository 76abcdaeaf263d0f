package oauthhttp

import (
	"fmt"
	"net"
	"net/http"
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
// http elsewhere names insecureOption, the setting that would allow it, if
// there is one.
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
		if insecureOption == "" {
			return fmt.Errorf("%q is plain http on a non-loopback host; use https", raw)
		}
		return fmt.Errorf("%q is plain http on a non-loopback host; use https (%s allows it for tests)", raw, insecureOption)
	default:
		return fmt.Errorf("%q: scheme must be https", raw)
	}
}

// CheckResource accepts raw as an RFC 9728 §1.2 protected resource
// identifier, or a URL made from one such as its metadata URL: what
// [CheckURL] accepts, without a fragment.
func CheckResource(raw string, allowHTTP bool, insecureOption string) error {
	if err := CheckURL(raw, allowHTTP, insecureOption); err != nil {
		return err
	}
	if strings.Contains(raw, "#") { // url.Parse drops an empty fragment: "https://a/#"
		return fmt.Errorf("%q must not have a fragment", raw)
	}
	return nil
}

// CheckIssuer accepts raw as an RFC 8414 §2 issuer identifier: what
// [CheckURL] accepts, without a query or a fragment.
func CheckIssuer(raw string, allowHTTP bool, insecureOption string) error {
	if err := CheckResource(raw, allowHTTP, insecureOption); err != nil {
		return err
	}
	if strings.Contains(raw, "?") { // url.Parse keeps an empty query only as ForceQuery
		return fmt.Errorf("%q must not have a query", raw)
	}
	return nil
}

// CheckResourceIndicator accepts raw as an RFC 8707 §2 resource indicator,
// the audience a client asks a token for: an absolute URI of any scheme
// (https URLs and URNs alike), without a fragment, without user info, and
// at most 2,000 bytes long. Unlike [CheckResource] it does not require
// https: the indicator names the API, nobody fetches it.
func CheckResourceIndicator(raw string) error {
	if len(raw) > maxResourceIndicator {
		return fmt.Errorf("longer than %d bytes", maxResourceIndicator)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%q is not a URI", raw)
	}
	if !u.IsAbs() {
		return fmt.Errorf("%q is not an absolute URI", raw)
	}
	if u.User != nil {
		return fmt.Errorf("%q must not carry credentials", u.Redacted())
	}
	if strings.Contains(raw, "#") { // url.Parse drops an empty fragment: "urn:x#"
		return fmt.Errorf("%q must not have a fragment", raw)
	}
	return nil
}

// maxResourceIndicator bounds a resource indicator, which a token request
// names and a token carries as its audience.
const maxResourceIndicator = 2000

// NoRedirects returns a copy of c (nil means a zero http.Client) that
// follows no redirect: the 3xx answer itself is returned, for the caller to
// treat as the failure it is. Requests that carry a token or a client's
// credentials, or that fetch from a URL someone registered, go through it:
// on a 307 or 308 net/http would replay the body (token and
// client_secret_post included) to wherever the answer points, and any
// redirect lets whoever answers aim our request at another host. c is
// copied, not changed.
func NoRedirects(c *http.Client) *http.Client {
	var out http.Client
	if c != nil {
		out = *c
	}
	out.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &out
}

// maxRedirects is how many redirects a client from [CheckRedirects]
// follows, as many as net/http's default.
const maxRedirects = 10

// CheckRedirects returns a copy of c (nil means a zero http.Client) that
// follows a redirect only to a URL [CheckURL] accepts, so that a document
// fetched over https (metadata, keys) cannot be downgraded to plain http on
// the way. c's own CheckRedirect, if any, is still consulted.
func CheckRedirects(c *http.Client, allowHTTP bool, insecureOption string) *http.Client {
	var out http.Client
	if c != nil {
		out = *c
	}
	next := out.CheckRedirect
	out.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if err := CheckURL(req.URL.String(), allowHTTP, insecureOption); err != nil {
			return fmt.Errorf("redirect refused: %w", err)
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= maxRedirects {
			return fmt.Errorf("stopped after %d redirects", maxRedirects)
		}
		return nil
	}
	return &out
}
