package oauthhttp

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestIsLoopback(t *testing.T) {
	tests := []struct {
		name, host string
		want       bool
	}{
		{"localhost", "localhost", true},
		{"localhost in capitals", "LocalHost", true},
		{"IPv4 loopback", "127.0.0.1", true},
		{"elsewhere in 127/8", "127.3.2.1", true},
		{"IPv6 loopback", "::1", true},
		{"empty", "", false},
		{"unspecified", "0.0.0.0", false},
		{"private address", "10.0.0.1", false},
		{"a name that starts like localhost", "localhost.example.com", false},
		{"a name that ends like localhost", "evil-localhost", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsLoopback(tt.host); got != tt.want {
				t.Errorf("IsLoopback(%q) = %v, want %v", tt.host, got, tt.want)
			}
		})
	}
}

func TestCheckURL(t *testing.T) {
	tests := []struct {
		name      string
		raw       string
		allowHTTP bool
		wantErr   string // a substring; "" for success
	}{
		{"https", "https://as.example.com/introspect", false, ""},
		{"http on loopback", "http://127.0.0.1:8080/introspect", false, ""},
		{"http on localhost", "http://localhost/introspect", false, ""},
		{"http elsewhere", "http://as.example.com/introspect", false, "InsecureX"},
		{"http elsewhere allowed", "http://as.example.com/introspect", true, ""},
		{"relative", "/introspect", false, "not an absolute URL"},
		{"no scheme", "as.example.com/introspect", false, "not an absolute URL"},
		{"other scheme", "ftp://as.example.com/introspect", true, "scheme must be https"},
		{"user info", "https://user:pass@as.example.com/introspect", false, "credentials"},
		{"unparsable", "https://as.example.com/%zz", false, "invalid URL escape"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckURL(tt.raw, tt.allowHTTP, "InsecureX")
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("CheckURL(%q) = %v, want nil", tt.raw, err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("CheckURL(%q) = %v, want an error containing %q", tt.raw, err, tt.wantErr)
			case err != nil && strings.Contains(err.Error(), "pass@"):
				t.Errorf("CheckURL(%q) = %v: the password is echoed", tt.raw, err)
			}
		})
	}
}

func TestCheckResourceIndicator(t *testing.T) {
	tests := []struct {
		name, raw string
		wantErr   string // a substring; "" for success
	}{
		{"https", "https://api.example.com/v1", ""},
		{"http elsewhere", "http://api.example.com", ""}, // a name, never fetched
		{"URN", "urn:tokengate:orders", ""},
		{"query", "https://api.example.com/v1?tenant=a", ""}, // SHOULD NOT, not MUST NOT
		{"fragment", "https://api.example.com/v1#x", "fragment"},
		{"empty fragment", "urn:tokengate:orders#", "fragment"},
		{"relative", "/v1", "not an absolute URI"},
		{"no scheme", "api.example.com", "not an absolute URI"},
		{"user info", "https://user:pass@api.example.com", "credentials"},
		{"unparsable", "https://api.example.com/%zz", "not a URI"},
		{"too long", "urn:x:" + strings.Repeat("a", 2000), "longer than 2000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckResourceIndicator(tt.raw)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("CheckResourceIndicator(%q) = %v, want nil", tt.raw, err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("CheckResourceIndicator(%q) = %v, want an error containing %q", tt.raw, err, tt.wantErr)
			case err != nil && strings.Contains(err.Error(), "pass@"):
				t.Errorf("CheckResourceIndicator(%q) = %v: the password is echoed", tt.raw, err)
			}
		})
	}
}

func TestCheckResourceAndIssuer(t *testing.T) {
	tests := []struct {
		name     string
		raw      string
		resource string // CheckResource's error, a substring; "" for success
		issuer   string // CheckIssuer's error
	}{
		{"https", "https://api.example.com", "", ""},
		{"with a path", "https://api.example.com/v1/", "", ""},
		{"http on loopback", "http://127.0.0.1:8080/v1", "", ""},
		{"http elsewhere", "http://api.example.com", "use https", "use https"},
		{"query", "https://api.example.com/v1?tenant=a", "", "query"},
		{"empty query", "https://api.example.com/v1?", "", "query"},
		{"fragment", "https://api.example.com/v1#x", "fragment", "fragment"},
		{"empty fragment", "https://api.example.com/v1#", "fragment", "fragment"},
		{"relative", "/v1", "not an absolute URL", "not an absolute URL"},
		{"user info", "https://user:pass@api.example.com", "credentials", "credentials"},
	}
	check := func(t *testing.T, name string, err error, want string) {
		t.Helper()
		switch {
		case want == "" && err != nil:
			t.Errorf("%s = %v, want nil", name, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%s = %v, want an error containing %q", name, err, want)
		case err != nil && strings.Contains(err.Error(), "()"):
			t.Errorf("%s = %v: names an empty option", name, err)
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check(t, "CheckResource", CheckResource(tt.raw, false, ""), tt.resource)
			check(t, "CheckIssuer", CheckIssuer(tt.raw, false, ""), tt.issuer)
		})
	}
}

func TestCheckRedirects(t *testing.T) {
	var hops atomic.Int64
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/to-plain-http":
			// Refused before any request is made to it.
			http.Redirect(w, r, "http://as.example.com/doc", http.StatusFound)
		case "/to-loopback":
			http.Redirect(w, r, srv.URL+"/doc", http.StatusFound)
		case "/loop":
			hops.Add(1)
			http.Redirect(w, r, srv.URL+"/loop", http.StatusFound)
		default:
			w.Write([]byte("doc"))
		}
	}))
	defer srv.Close()
	// The transport reaches loopback only: no test touches another host.
	loopbackOnly := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if !IsLoopback(r.URL.Hostname()) {
			return nil, errors.New("test transport: not loopback")
		}
		return http.DefaultTransport.RoundTrip(r)
	})
	given := &http.Client{Timeout: time.Minute, Transport: loopbackOnly}
	c := CheckRedirects(given, false, "InsecureX")
	if given.CheckRedirect != nil {
		t.Fatal("CheckRedirects changed the given client")
	}
	if c.Timeout != time.Minute {
		t.Errorf("Timeout = %v, want the given client's", c.Timeout)
	}
	if _, err := c.Get(srv.URL + "/to-plain-http"); err == nil || !strings.Contains(err.Error(), "redirect refused") {
		t.Errorf("redirect to plain http elsewhere: err = %v, want it refused", err)
	}
	if resp, err := c.Get(srv.URL + "/to-loopback"); err != nil {
		t.Errorf("redirect to loopback: %v", err)
	} else {
		resp.Body.Close()
	}
	if _, err := c.Get(srv.URL + "/loop"); err == nil || hops.Load() != maxRedirects {
		t.Errorf("redirect loop: err = %v after %d hops, want an error after %d", err, hops.Load(), maxRedirects)
	}
	allowed := CheckRedirects(&http.Client{Transport: loopbackOnly}, true, "InsecureX")
	if _, err := allowed.Get(srv.URL + "/to-plain-http"); err == nil || !strings.Contains(err.Error(), "not loopback") {
		t.Errorf("allowHTTP: err = %v, want the redirect followed (to the test transport's refusal)", err)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestNoRedirects: a 307 is returned to the caller, never followed, and the
// caller's client is left as it was.
func TestNoRedirects(t *testing.T) {
	var followed atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { followed.Add(1) }))
	defer target.Close()
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL, http.StatusTemporaryRedirect)
	}))
	defer redirector.Close()

	base := &http.Client{}
	res, err := NoRedirects(base).Post(redirector.URL, "application/x-www-form-urlencoded", strings.NewReader("token=t"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusTemporaryRedirect || followed.Load() != 0 {
		t.Fatalf("status %d, target reached %d times; want the 307 itself and no request to the target", res.StatusCode, followed.Load())
	}
	if base.CheckRedirect != nil {
		t.Fatal("the caller's client was changed")
	}
}
