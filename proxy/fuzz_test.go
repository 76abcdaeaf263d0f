package proxy

import (
	"net/url"
	"path"
	"strings"
	"testing"
)

// FuzzCanonicalPath: a path canonicalPath accepts unescapes to one that
// path.Clean leaves alone (but for a trailing slash), so that the upstream
// cannot resolve it to another route than the one it matched.
func FuzzCanonicalPath(f *testing.F) {
	for _, s := range []string{"/", "/api/orders", "/api/orders/", "/a//b", "/a/./b", "/a/../b", "/a/%2e%2E/b", "/a%2Fb", "/a%5cb",
		"/a\\b", "/%00", "/%zz", "api", "", "/a/%2e", "/..", "/a/.../b", "/caf%C3%A9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, escaped string) {
		if !canonicalPath(escaped) {
			return
		}
		p, err := url.PathUnescape(escaped)
		if err != nil {
			t.Fatalf("%q accepted but does not unescape: %v", escaped, err)
		}
		if strings.ContainsAny(p, "\\\x00") || strings.Count(p, "/") != strings.Count(escaped, "/") {
			t.Fatalf("%q accepted but unescapes to %q", escaped, p)
		}
		want := strings.TrimSuffix(p, "/")
		if p == "/" {
			want = "/"
		}
		if got := path.Clean(p); got != want {
			t.Fatalf("%q accepted but path.Clean(%q) = %q", escaped, p, got)
		}
	})
}

// FuzzParseRoute: ParseRoute never panics, and a route it returns is one
// that New accepts.
func FuzzParseRoute(f *testing.F) {
	for _, s := range []string{"GET /api/orders orders:read", "/x", "POST /a/{id} a b", "GET /{", "GET x", "", "  ", "/a/{x...}", "GET /a/{$}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rt, err := ParseRoute(s)
		if err != nil {
			return
		}
		if _, err := newMatcher([]Route{rt}); err != nil {
			t.Fatalf("ParseRoute(%q) = %+v, which New refuses: %v", s, rt, err)
		}
	})
}
