package signin_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tokengate/tokengate/provider/signin"
)

// FuzzPages sends the pages any query and any form: the answer is a page
// or a redirect, never a server error, and always carries the page
// headers.
func FuzzPages(f *testing.F) {
	f.Add("interaction=i1", "interaction=i1&csrf_token=x&username=alice&password=correct+horse")
	f.Add("interaction=c1", "interaction=c1&csrf_token=x&decision=approve")
	f.Add("interaction=%ff", "interaction=i1&interaction=i1")
	f.Add("", "%zz&&==")
	s := newSetup(&testing.T{}, signin.Config{})
	f.Fuzz(func(t *testing.T, query, body string) {
		s.p.add(loginInteraction("i1"))
		s.p.add(consentInteraction("c1", s.alice.Subject))
		get := httptest.NewRequest(http.MethodGet, "/signin", nil)
		get.URL.RawQuery = query
		for _, r := range []*http.Request{get, formRequest(body)} {
			w := httptest.NewRecorder()
			s.h.ServeHTTP(w, r)
			if w.Code >= 500 && w.Code != http.StatusServiceUnavailable {
				t.Fatalf("%s %q: %d\n%s", r.Method, r.URL, w.Code, w.Body)
			}
			if w.Header().Get("X-Frame-Options") != "DENY" || w.Header().Get("Cache-Control") != "no-store" {
				t.Fatalf("%s: page headers missing: %v", r.Method, w.Header())
			}
		}
	})
}
