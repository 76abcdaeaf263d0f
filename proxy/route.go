package proxy

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/tokengate/tokengate/scopes"
)

// Route is one rule of a [Proxy]: the requests that match Pattern need a
// token that satisfies Require, or no token at all if Public is set.
type Route struct {
	// Pattern is an [http.ServeMux] pattern without a host: a path, or a
	// method and a path, such as "GET /api/orders", "POST /api/orders/{id}"
	// or "/static/" (a trailing slash matches the whole subtree). Of the
	// patterns that match a request, the most specific one applies, as in
	// a ServeMux; "GET" also matches HEAD. Required.
	Pattern string
	// Require is what the token must grant. The zero Requirement asks only
	// for a valid token.
	Require scopes.Requirement
	// Public lets matching requests through without looking at their
	// token, and so without identity headers. It cannot be combined with
	// Require.
	Public bool
}

// ParseRoute parses the command-line form of a route: a pattern (a path,
// or a method and a path, as in [Route.Pattern]) followed by the scopes a
// token must all grant, separated by spaces:
//
//	GET /api/orders orders:read
//	POST /api/orders orders:write audit
//	/api/profile
//
// The last asks only for a valid token.
func ParseRoute(s string) (Route, error) {
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return Route{}, errors.New("proxy: empty route")
	}
	pattern, rest := fields[0], fields[1:]
	if !strings.HasPrefix(pattern, "/") {
		if len(rest) == 0 {
			return Route{}, fmt.Errorf("proxy: route %q: want METHOD /path [scope...] or /path [scope...]", s)
		}
		pattern, rest = pattern+" "+rest[0], rest[1:]
	}
	rt := Route{Pattern: pattern}
	if len(rest) > 0 {
		if _, err := scopes.NewSet(rest...); err != nil {
			return Route{}, fmt.Errorf("proxy: route %q: %w", s, err)
		}
		rt.Require = scopes.All(rest...)
	}
	if _, err := newMatcher([]Route{rt}); err != nil {
		return Route{}, fmt.Errorf("proxy: route %q: %w", s, errors.Unwrap(err))
	}
	return rt, nil
}

// checkPattern refuses a pattern with a host: the proxy matches the method
// and the path only, since the Host of a request (and the one a forwarding
// proxy reports) is the client's to choose.
func checkPattern(pattern string) error {
	path := pattern
	if i := strings.IndexAny(pattern, " \t"); i >= 0 {
		path = strings.TrimLeft(pattern[i:], " \t")
	}
	if !strings.HasPrefix(path, "/") {
		return fmt.Errorf("pattern %q: the path must start with / (a route names no host)", pattern)
	}
	return nil
}

// rule is what a matched route asks of a request. It is the handler its
// pattern is registered with in the matcher, which is only ever asked which
// handler matches, never to serve.
type rule struct {
	require scopes.Requirement
	public  bool
}

func (*rule) ServeHTTP(http.ResponseWriter, *http.Request) {}

// newMatcher registers the routes' patterns in a ServeMux, turning its
// panics on a bad or conflicting pattern into an error.
func newMatcher(routes []Route) (mux *http.ServeMux, err error) {
	mux = http.NewServeMux()
	for i, rt := range routes {
		if rt.Public && !rt.Require.IsZero() {
			return nil, fmt.Errorf("proxy: Config.Routes[%d] %q is public and requires scopes", i, rt.Pattern)
		}
		if err := checkPattern(rt.Pattern); err != nil {
			return nil, fmt.Errorf("proxy: Config.Routes[%d]: %w", i, err)
		}
		if err := register(mux, rt.Pattern, &rule{require: rt.Require, public: rt.Public}); err != nil {
			return nil, fmt.Errorf("proxy: Config.Routes[%d]: %w", i, err)
		}
	}
	return mux, nil
}

var registeredAt = regexp.MustCompile(` \(registered at [^)]*\)`)

func register(mux *http.ServeMux, pattern string, h http.Handler) (err error) {
	defer func() {
		if p := recover(); p != nil {
			// A conflict names where each pattern was registered: here,
			// which says nothing to whoever wrote the route.
			err = errors.New(registeredAt.ReplaceAllString(fmt.Sprint(p), ""))
		}
	}()
	mux.Handle(pattern, h)
	return nil
}

// match returns the rule of the route that matches r, or nil.
func match(mux *http.ServeMux, r *http.Request) *rule {
	// Handler answers a path that is not canonical with a redirect
	// handler, and a request no pattern matches with a 404 or 405 one:
	// none of them is a rule.
	h, _ := mux.Handler(r)
	rl, _ := h.(*rule)
	return rl
}

// canonicalPath reports whether the escaped path is one that every server
// resolves the same way: it starts with "/", has no empty segment but the
// last, no "." or ".." segment, and no segment whose unescaping holds a
// slash, a backslash or a NUL. Anything else ("/api//orders",
// "/public/../admin", "/api/%2e%2e/admin", "/a%2Fb") could be matched here
// as one path and resolved by the upstream as another, so it is refused.
func canonicalPath(escaped string) bool {
	if !strings.HasPrefix(escaped, "/") {
		return false
	}
	rest := escaped[1:]
	for rest != "" {
		seg := rest
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			seg, rest = rest[:i], rest[i+1:]
			if seg == "" {
				return false
			}
		} else {
			rest = ""
		}
		if strings.IndexByte(seg, '%') >= 0 {
			u, err := url.PathUnescape(seg)
			if err != nil {
				return false
			}
			seg = u
		}
		if seg == "." || seg == ".." || strings.ContainsAny(seg, "/\\\x00") {
			return false
		}
	}
	return true
}
