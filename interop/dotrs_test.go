//go:build interop

package interop

import (
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokengate/tokengate/interop/internal/interoptest"
)

// fakeAS is a scripted introspection endpoint that records what Django OAuth
// Toolkit sends it.
type fakeAS struct {
	mu       sync.Mutex // guards the fields below
	answers  map[string]string
	requests []*http.Request
	forms    []string
}

func (f *fakeAS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r)
	f.forms = append(f.forms, string(body))
	form, err := url.ParseQuery(string(body))
	if err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	answer, ok := f.answers[form.Get("token")]
	if !ok {
		answer = `{"active": false}`
	}
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, answer)
}

func (f *fakeAS) set(token, answer string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answers[token] = answer
}

func (f *fakeAS) last() (*http.Request, string, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.requests) == 0 {
		return nil, "", 0
	}
	return f.requests[len(f.requests)-1], f.forms[len(f.forms)-1], len(f.requests)
}

func callHello(t *testing.T, u, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK && resp.Header.Get("WWW-Authenticate") != "" {
		t.Errorf("DOT now sends WWW-Authenticate: %q", resp.Header.Get("WWW-Authenticate"))
	}
	return resp.StatusCode, string(b)
}

// TestDOTResourceServerPeer pins down how Django OAuth Toolkit 1.7 behaves as
// a resource server (RESOURCE_SERVER_INTROSPECTION_URL), against a scripted
// AS: what our provider must accept from it and answer to it.
func TestDOTResourceServerPeer(t *testing.T) {
	as := &fakeAS{answers: map[string]string{}}
	srv := httptest.NewServer(as)
	defer srv.Close()
	const id, secret = "dot-rs", "s3cr:t%2B+ü"
	rs := interoptest.StartDOTResourceServer(t, interoptest.DOTResourceServerOptions{
		IntrospectionURL: srv.URL + "/introspect",
		ClientID:         id,
		ClientSecret:     secret,
	})
	exp := time.Now().Add(10 * time.Minute).Unix()
	expJSON := func(extra string) string {
		return `{"active": true, "scope": "orders:read orders:write", "exp": ` + itoa(exp) + extra + `}`
	}

	t.Run("sends raw Basic credentials and a form", func(t *testing.T) {
		as.set("tok-1", expJSON(""))
		if status, body := callHello(t, rs.HelloURL, "tok-1"); status != http.StatusOK || !strings.Contains(body, `"scope": "orders:read orders:write"`) {
			t.Fatalf("%d %s", status, body)
		}
		req, form, _ := as.last()
		if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/x-www-form-urlencoded" || form != "token=tok-1" {
			t.Errorf("%s %q %q", req.Method, req.Header.Get("Content-Type"), form)
		}
		// Not form-urlencoded first, as RFC 6749 §2.3.1 would have it.
		want := "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))
		if got := req.Header.Get("Authorization"); got != want {
			t.Errorf("Authorization %q, want the raw %q", got, want)
		}
		if got := req.Header.Get("Accept"); got != "*/*" {
			t.Errorf("Accept %q", got)
		}
	})

	t.Run("asks again once its cache has expired", func(t *testing.T) {
		as.set("tok-2", expJSON(""))
		if status, _ := callHello(t, rs.HelloURL, "tok-2"); status != http.StatusOK {
			t.Fatalf("first call: %d", status)
		}
		_, _, before := as.last()
		as.set("tok-2", `{"active": false}`) // revoked
		// RESOURCE_SERVER_TOKEN_CACHING_SECONDS is 1 here: within that DOT
		// may still accept the revoked token from its cache; after it, it
		// must ask again and refuse.
		time.Sleep(1100 * time.Millisecond)
		if status, _ := callHello(t, rs.HelloURL, "tok-2"); status != http.StatusForbidden {
			t.Errorf("after revocation: %d, want 403", status)
		}
		if _, _, after := as.last(); after != before+1 {
			t.Errorf("DOT asked %d times, want once more", after-before)
		}
	})

	t.Run("refusals are a bare 403", func(t *testing.T) {
		as.set("tok-read-only", `{"active": true, "scope": "orders:write", "exp": `+itoa(exp)+`}`)
		as.set("tok-string-active", `{"active": "true", "scope": "orders:read", "exp": `+itoa(exp)+`}`)
		for name, tok := range map[string]string{
			"no token":                    "",
			"inactive":                    "unknown",
			"missing scope":               "tok-read-only",
			`"active": "true" (a string)`: "tok-string-active",
		} {
			if status, body := callHello(t, rs.HelloURL, tok); status != http.StatusForbidden || body != "" {
				t.Errorf("%s: %d %q, want 403 with no body", name, status, body)
			}
		}
	})

	t.Run("ignores aud, iss, token_type and nbf", func(t *testing.T) {
		as.set("tok-foreign", expJSON(`, "aud": "https://elsewhere.example", "iss": "https://evil.example", "token_type": "refresh_token", "nbf": `+itoa(exp)))
		if status, _ := callHello(t, rs.HelloURL, "tok-foreign"); status != http.StatusOK {
			t.Errorf("%d: DOT now checks one of aud/iss/token_type/nbf", status)
		}
	})

	t.Run("username creates a local user", func(t *testing.T) {
		as.set("tok-user", expJSON(`, "username": "bob"`))
		if status, body := callHello(t, rs.HelloURL, "tok-user"); status != http.StatusOK || !strings.Contains(body, `"username": "bob"`) {
			t.Errorf("%d %s", status, body)
		}
	})
}

func TestDOTResourceServerBearer(t *testing.T) {
	as := &fakeAS{answers: map[string]string{"tok": `{"active": true, "scope": "orders:read", "exp": ` + itoa(time.Now().Add(time.Hour).Unix()) + `}`}}
	srv := httptest.NewServer(as)
	defer srv.Close()
	rs := interoptest.StartDOTResourceServer(t, interoptest.DOTResourceServerOptions{
		IntrospectionURL: srv.URL,
		AuthToken:        "rs-bearer-token",
	})
	if status, body := callHello(t, rs.HelloURL, "tok"); status != http.StatusOK {
		t.Fatalf("%d %s", status, body)
	}
	if req, _, _ := as.last(); req.Header.Get("Authorization") != "Bearer rs-bearer-token" {
		t.Errorf("Authorization %q", req.Header.Get("Authorization"))
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
