package introspect

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// testNow is the fixed time the tests' clocks start at.
var testNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// fakeAS is an introspection endpoint that checks each request exactly and
// answers with reply. It counts the requests it receives.
type fakeAS struct {
	t testing.TB
	// wantAuth is the exact Authorization header expected ("" for none).
	wantAuth string
	// wantForm is the exact form expected.
	wantForm url.Values
	// wantAccept is the expected Accept header; "" means application/json.
	wantAccept string
	// reply writes the answer.
	reply func(w http.ResponseWriter, r *http.Request)

	calls atomic.Int64
	srv   *httptest.Server
}

func newFakeAS(t testing.TB, f *fakeAS) *fakeAS {
	t.Helper()
	f.t = t
	f.srv = httptest.NewServer(f)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAS) URL() string { return f.srv.URL + "/introspect" }

func (f *fakeAS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.calls.Add(1)
	t := f.t
	if r.Method != http.MethodPost || r.URL.Path != "/introspect" {
		t.Errorf("fake AS: got %s %s, want POST /introspect", r.Method, r.URL.Path)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		t.Errorf("fake AS: Content-Type = %q", ct)
	}
	wantAccept := f.wantAccept
	if wantAccept == "" {
		wantAccept = "application/json"
	}
	if got := r.Header.Get("Accept"); got != wantAccept {
		t.Errorf("fake AS: Accept = %q, want %q", got, wantAccept)
	}
	if got := r.Header.Get("Authorization"); got != f.wantAuth {
		t.Errorf("fake AS: Authorization = %q, want %q", got, f.wantAuth)
	}
	if err := r.ParseForm(); err != nil {
		t.Errorf("fake AS: %v", err)
	}
	if len(r.URL.Query()) != 0 {
		t.Errorf("fake AS: query string %q, want none", r.URL.RawQuery)
	}
	if f.wantForm != nil && !reflect.DeepEqual(r.PostForm, f.wantForm) {
		t.Errorf("fake AS: form = %v, want %v", r.PostForm, f.wantForm)
	}
	f.reply(w, r)
}

// replyJSON answers with status and body as application/json.
func replyJSON(status int, body string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

func activeBody(exp time.Time) string {
	return fmt.Sprintf(`{"active":true,"sub":"alice","client_id":"app","scope":"orders:read orders:write","exp":%d}`, exp.Unix())
}

// newTestClient returns a client (without a cache) for as with a fixed
// clock, credentials "rs"/"secret" sent with client_secret_basic, and
// retries that do not wait.
func newTestClient(t testing.TB, as *fakeAS, mod func(*Config)) *Client {
	t.Helper()
	cfg := Config{
		IntrospectionURL: as.URL(),
		ClientID:         "rs",
		ClientSecret:     "secret",
		Now:              func() time.Time { return testNow },
		Logger:           slog.New(slog.DiscardHandler),
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	c.sleep = func(context.Context, time.Duration) error { return nil }
	return c
}

func basic(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}

func TestNewValidation(t *testing.T) {
	ts := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "x"})
	tests := []struct {
		name    string
		cfg     Config
		wantErr string // substring; "" means success
	}{
		{"url only", Config{IntrospectionURL: "https://as.example/introspect"}, ""},
		{"issuer only", Config{Issuer: "https://as.example"}, ""},
		{"neither", Config{}, "IntrospectionURL"},
		{"both", Config{IntrospectionURL: "https://as.example/i", Issuer: "https://as.example"}, "exactly one"},
		{"http non-loopback", Config{IntrospectionURL: "http://as.example/i"}, "Config.IntrospectionURL"},
		{"http issuer non-loopback", Config{Issuer: "http://as.example"}, "Config.Issuer"},
		{"http 127.0.0.1", Config{IntrospectionURL: "http://127.0.0.1:9/i"}, ""},
		{"http 127.1.2.3", Config{IntrospectionURL: "http://127.1.2.3:9/i"}, ""},
		{"http ::1", Config{IntrospectionURL: "http://[::1]:9/i"}, ""},
		{"http localhost", Config{IntrospectionURL: "http://localhost:9/i"}, ""},
		{"http insecure allowed", Config{IntrospectionURL: "http://as.example/i", InsecureAllowHTTPEndpoint: true}, ""},
		{"ftp", Config{IntrospectionURL: "ftp://as.example/i"}, "scheme"},
		{"relative", Config{IntrospectionURL: "/introspect"}, "absolute"},
		{"userinfo", Config{IntrospectionURL: "https://u:p@as.example/i"}, "credentials"},
		{"secret without id", Config{IntrospectionURL: "https://as.example/i", ClientSecret: "s"}, "Config.ClientID"},
		{"token source and secret", Config{IntrospectionURL: "https://as.example/i", ClientID: "c", ClientSecret: "s", TokenSource: ts}, "Config.TokenSource"},
		{"token source", Config{IntrospectionURL: "https://as.example/i", TokenSource: ts}, ""},
		{"bad auth style", Config{IntrospectionURL: "https://as.example/i", AuthStyle: 7}, "Config.AuthStyle"},
		{"negative timeout", Config{IntrospectionURL: "https://as.example/i", Timeout: -1}, "Config.Timeout"},
		{"negative MaxInFlight", Config{IntrospectionURL: "https://as.example/i", Resilience: ResilienceConfig{MaxInFlight: -1}}, "MaxInFlight"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewClient(tt.cfg)
			if tt.wantErr == "" {
				if err != nil || c == nil {
					t.Fatalf("New = %v, %v; want a client", c, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New error = %v, want one containing %q", err, tt.wantErr)
			}
			if !strings.HasPrefix(err.Error(), "introspect: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}

func TestNewFillsDefaultsOnItsCopy(t *testing.T) {
	cfg := Config{IntrospectionURL: "https://as.example/i"}
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTPClient != nil || cfg.Timeout != 0 {
		t.Errorf("New modified the caller's Config")
	}
	if c.cfg.Timeout != defaultTimeout || c.cfg.MaxResponseBytes != defaultMaxResponseBytes ||
		c.cfg.ClockSkew != defaultClockSkew || c.cfg.HTTPClient == nil || c.cfg.HTTPClient.Timeout == 0 {
		t.Errorf("defaults not filled: %+v", c.cfg)
	}
}

func TestClientAuthentication(t *testing.T) {
	const token = "tok-123"
	// A secret and id with every character RFC 6749 §2.3.1 cares about.
	const id, secret = "rs client:1", "p:a%s+s wörd/=&"
	exp := testNow.Add(time.Hour)

	tests := []struct {
		name     string
		mod      func(*Config)
		wantAuth string
		wantForm url.Values
	}{
		{
			name:     "client_secret_basic",
			mod:      func(c *Config) { c.ClientID, c.ClientSecret = id, secret },
			wantAuth: basic(id, secret),
			wantForm: url.Values{"token": {token}},
		},
		{
			name: "client_secret_post",
			mod: func(c *Config) {
				c.ClientID, c.ClientSecret, c.AuthStyle = id, secret, AuthStylePost
			},
			wantForm: url.Values{"token": {token}, "client_id": {id}, "client_secret": {secret}},
		},
		{
			name: "static bearer",
			mod: func(c *Config) {
				c.ClientID, c.ClientSecret = "", ""
				c.TokenSource = oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "rs-static-token"})
			},
			wantAuth: "Bearer rs-static-token",
			wantForm: url.Values{"token": {token}},
		},
		{
			name: "no credentials, with token_type_hint",
			mod: func(c *Config) {
				c.ClientID, c.ClientSecret = "", ""
				c.TokenTypeHint = "access_token"
			},
			wantForm: url.Values{"token": {token}, "token_type_hint": {"access_token"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			as := newFakeAS(t, &fakeAS{wantAuth: tt.wantAuth, wantForm: tt.wantForm, reply: replyJSON(200, activeBody(exp))})
			c := newTestClient(t, as, tt.mod)
			resp, err := c.Introspect(context.Background(), token)
			if err != nil {
				t.Fatalf("Introspect: %v", err)
			}
			if resp.Subject != "alice" || as.calls.Load() != 1 {
				t.Errorf("got subject %q after %d calls", resp.Subject, as.calls.Load())
			}
		})
	}
}

func TestBasicAuthRoundTrip(t *testing.T) {
	const id, secret = "id:with%colon", "s€cr:t+%20"
	as := newFakeAS(t, &fakeAS{wantAuth: basic(id, secret), reply: func(w http.ResponseWriter, r *http.Request) {
		// Decode as an RFC 6749 server must: base64, split, form-unescape.
		u, p, ok := r.BasicAuth()
		gotID, err1 := url.QueryUnescape(u)
		gotSecret, err2 := url.QueryUnescape(p)
		if !ok || err1 != nil || err2 != nil || gotID != id || gotSecret != secret {
			t.Errorf("server decoded %q/%q (%v %v %v)", gotID, gotSecret, ok, err1, err2)
		}
		replyJSON(200, activeBody(testNow.Add(time.Hour)))(w, r)
	}})
	c := newTestClient(t, as, func(c *Config) { c.ClientID, c.ClientSecret = id, secret })
	if _, err := c.Introspect(context.Background(), "t"); err != nil {
		t.Fatal(err)
	}
}

// TestClientCredentialsTokenSource checks that a bearer from
// clientcredentials is fetched from the token endpoint and renewed when it
// expires (x/oauth2 renews tokens within 10s of expiry, so expires_in=5
// makes every token stale by the next call).
func TestClientCredentialsTokenSource(t *testing.T) {
	var issued atomic.Int64
	var mu sync.Mutex
	var seen []string
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		if r.PostForm.Get("grant_type") != "client_credentials" {
			t.Errorf("token endpoint: grant_type = %q", r.PostForm.Get("grant_type"))
		}
		if u, p, _ := r.BasicAuth(); u != "rs" || p != "rs-secret" {
			t.Errorf("token endpoint: basic auth %q/%q", u, p)
		}
		n := issued.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":"at-%d","token_type":"Bearer","expires_in":5}`, n)
	})
	mux.HandleFunc("POST /introspect", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Authorization"))
		mu.Unlock()
		r.ParseForm()
		if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" || r.Header.Get("Accept") != "application/json" ||
			len(r.PostForm) != 1 || !strings.HasPrefix(r.PostForm.Get("token"), "token-") {
			t.Errorf("introspection request: Content-Type %q, Accept %q, form %v", ct, r.Header.Get("Accept"), r.PostForm)
		}
		replyJSON(200, activeBody(testNow.Add(time.Hour)))(w, r)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	cc := clientcredentials.Config{ClientID: "rs", ClientSecret: "rs-secret", TokenURL: srv.URL + "/token", AuthStyle: oauth2.AuthStyleInHeader}
	c, err := NewClient(Config{
		IntrospectionURL: srv.URL + "/introspect",
		TokenSource:      cc.TokenSource(context.Background()),
		Now:              func() time.Time { return testNow },
		Logger:           slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if _, err := c.Introspect(context.Background(), fmt.Sprintf("token-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"Bearer at-1", "Bearer at-2"}
	if !reflect.DeepEqual(seen, want) || issued.Load() != 2 {
		t.Errorf("introspection saw %q after %d token requests, want %q", seen, issued.Load(), want)
	}
}

func TestTokenSourceFailure(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   error
	}{
		{"token endpoint rejects us", 401, `{"error":"invalid_client"}`, ErrASRejectedClient},
		{"token endpoint down", 503, `{}`, ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tokenSrv := httptest.NewServer(http.HandlerFunc(replyJSON(tt.status, tt.body)))
			defer tokenSrv.Close()
			as := newFakeAS(t, &fakeAS{reply: replyJSON(200, `{"active":true}`)})
			cc := clientcredentials.Config{ClientID: "rs", ClientSecret: "x", TokenURL: tokenSrv.URL}
			c := newTestClient(t, as, func(c *Config) {
				c.ClientID, c.ClientSecret = "", ""
				c.TokenSource = cc.TokenSource(context.Background())
			})
			_, err := c.Introspect(context.Background(), "t")
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if as.calls.Load() != 0 {
				t.Errorf("introspection endpoint called without a bearer")
			}
		})
	}
}

func TestIntrospectAnswers(t *testing.T) {
	exp := testNow.Add(time.Hour)
	tests := []struct {
		name      string
		status    int
		ctype     string
		body      string
		header    map[string]string
		want      error // nil: success
		check     func(*Response) string
		wantRetry time.Duration // for *Error answers
		wantCode  string
	}{
		{name: "active", status: 200, body: activeBody(exp), check: func(r *Response) string {
			if r.Subject != "alice" || r.ClientID != "app" || !r.Expiry.Equal(exp) || len(r.Scopes()) != 2 {
				return fmt.Sprintf("%+v", r)
			}
			return ""
		}},
		{name: "content type with charset", status: 200, ctype: "application/json; charset=utf-8", body: activeBody(exp)},
		{name: "missing content type tolerated", status: 200, ctype: "-", body: activeBody(exp)},
		{name: "active as string", status: 200, body: `{"active":"true","sub":"bob"}`, check: func(r *Response) string {
			if !r.Active || r.Subject != "bob" {
				return "not decoded"
			}
			return ""
		}},
		{name: "inactive as string", status: 200, body: `{"active":"false"}`, want: ErrInactive},
		{name: "inactive", status: 200, body: `{"active":false}`, want: ErrInactive},
		{name: "active missing", status: 200, body: `{"sub":"x"}`, want: ErrMalformedResponse},
		{name: "empty object", status: 200, body: `{}`, want: ErrMalformedResponse},
		{name: "aud string", status: 200, body: `{"active":true,"aud":"api"}`, check: func(r *Response) string {
			if !reflect.DeepEqual(r.Audience, []string{"api"}) {
				return fmt.Sprint(r.Audience)
			}
			return ""
		}},
		{name: "aud array", status: 200, body: `{"active":true,"aud":["api","other"]}`, check: func(r *Response) string {
			if !reflect.DeepEqual(r.Audience, []string{"api", "other"}) {
				return fmt.Sprint(r.Audience)
			}
			return ""
		}},
		{name: "float exp", status: 200, body: fmt.Sprintf(`{"active":true,"exp":%d.5}`, exp.Unix()), check: func(r *Response) string {
			if !r.Expiry.Equal(exp.Add(500 * time.Millisecond)) {
				return r.Expiry.String()
			}
			return ""
		}},
		{name: "expired", status: 200, body: fmt.Sprintf(`{"active":true,"exp":%d}`, testNow.Add(-time.Minute).Unix()), want: ErrInactive},
		{name: "expired within skew", status: 200, body: fmt.Sprintf(`{"active":true,"exp":%d}`, testNow.Add(-10*time.Second).Unix())},
		{name: "not yet valid", status: 200, body: fmt.Sprintf(`{"active":true,"nbf":%d}`, testNow.Add(time.Minute).Unix()), want: ErrInactive},
		{name: "nbf within skew", status: 200, body: fmt.Sprintf(`{"active":true,"nbf":%d}`, testNow.Add(10*time.Second).Unix())},
		{name: "html on 200", status: 200, ctype: "text/html", body: `<html>login</html>`, want: ErrMalformedResponse},
		{name: "bad json", status: 200, body: `{"active":tru`, want: ErrMalformedResponse},
		{name: "not an object", status: 200, body: `[true]`, want: ErrMalformedResponse},
		{name: "null", status: 200, body: `null`, want: ErrMalformedResponse},
		{name: "invalid utf-8", status: 200, body: "{\"active\":true,\"sub\":\"\xff\xfe\"}", want: ErrMalformedResponse},
		{name: "wrong type for exp", status: 200, body: `{"active":true,"exp":"soon"}`, want: ErrMalformedResponse},
		{name: "401", status: 401, body: `{"error":"invalid_client"}`, want: ErrASRejectedClient, wantCode: "invalid_client"},
		{name: "403", status: 403, body: `{}`, want: ErrASRejectedClient},
		{name: "400 invalid_client", status: 400, body: `{"error":"invalid_client","error_description":"bad secret"}`, want: ErrASRejectedClient, wantCode: "invalid_client"},
		{name: "400 invalid_request", status: 400, body: `{"error":"invalid_request"}`, want: ErrMalformedResponse, wantCode: "invalid_request"},
		{name: "400 unsupported_token_type", status: 400, body: `{"error":"unsupported_token_type","error_description":"Structured JWT Tokens cannot be introspected"}`, want: ErrInactive, wantCode: "unsupported_token_type"},
		{name: "404", status: 404, ctype: "text/html", body: `not here`, want: ErrMalformedResponse},
		{name: "408", status: 408, body: `{}`, want: ErrUnavailable},
		{name: "429 with Retry-After", status: 429, body: `{}`, header: map[string]string{"Retry-After": "7"}, want: ErrUnavailable, wantRetry: 7 * time.Second},
		{name: "500", status: 500, body: `{"error":"server_error"}`, want: ErrUnavailable, wantCode: "server_error"},
		{name: "503 with date Retry-After", status: 503, ctype: "text/plain", body: `down`, header: map[string]string{"Retry-After": testNow.Add(90 * time.Second).Format(http.TimeFormat)}, want: ErrUnavailable, wantRetry: 90 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			as := newFakeAS(t, &fakeAS{wantAuth: basic("rs", "secret"), reply: func(w http.ResponseWriter, r *http.Request) {
				switch tt.ctype {
				case "":
					w.Header().Set("Content-Type", "application/json")
				case "-":
					w.Header()["Content-Type"] = nil
				default:
					w.Header().Set("Content-Type", tt.ctype)
				}
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}})
			c := newTestClient(t, as, nil)
			resp, err := c.Introspect(context.Background(), "the-token")
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Introspect: %v", err)
				}
				if tt.check != nil {
					if msg := tt.check(resp); msg != "" {
						t.Errorf("bad response: %s", msg)
					}
				}
				return
			}
			if resp != nil || !errors.Is(err, tt.want) {
				t.Fatalf("Introspect = %v, %v; want %v", resp, err, tt.want)
			}
			assertOneCategory(t, err)
			if strings.Contains(err.Error(), "the-token") {
				t.Errorf("error %q contains the token", err)
			}
			if tt.status != 200 {
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("error %v is not an *Error", err)
				}
				if e.StatusCode != tt.status || e.Code != tt.wantCode || e.RetryAfter != tt.wantRetry || RetryAfterHint(err) != tt.wantRetry {
					t.Errorf("*Error = %+v, want status %d code %q retry %v", e, tt.status, tt.wantCode, tt.wantRetry)
				}
			}
		})
	}
}

// assertOneCategory fails unless err matches exactly one error category.
func assertOneCategory(t testing.TB, err error) {
	t.Helper()
	n := 0
	for _, c := range []error{ErrInactive, ErrUnavailable, ErrASRejectedClient, ErrMalformedResponse} {
		if errors.Is(err, c) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("error %v matches %d categories, want 1", err, n)
	}
}

func TestRejectedClientIsLoggedWithoutToken(t *testing.T) {
	var buf bytes.Buffer
	as := newFakeAS(t, &fakeAS{wantAuth: basic("rs", "secret"), reply: replyJSON(401, `{"error":"invalid_client"}`)})
	c := newTestClient(t, as, func(c *Config) { c.Logger = slog.New(slog.NewTextHandler(&buf, nil)) })
	const token = "secret-bearer-token-value"
	if _, err := c.Introspect(context.Background(), token); !errors.Is(err, ErrASRejectedClient) {
		t.Fatalf("err = %v", err)
	}
	out := buf.String()
	if !strings.Contains(out, "level=ERROR") || !strings.Contains(out, "rejected our client credentials") || !strings.Contains(out, "client_id=rs") {
		t.Errorf("log = %q, want a loud error naming the client", out)
	}
	if strings.Contains(out, token) || strings.Contains(out, "secret\"") {
		t.Errorf("log leaks a secret: %q", out)
	}
}

// TestRejectedClientLogIsRateLimited: with wrong credentials every request
// fails the same way; the Error line is logged once per 10s, with a count
// of the ones held back.
func TestRejectedClientLogIsRateLimited(t *testing.T) {
	var buf bytes.Buffer
	clock := newClock()
	as := newFakeAS(t, &fakeAS{wantAuth: basic("rs", "secret"), reply: replyJSON(401, `{"error":"invalid_client"}`)})
	c := newTestClient(t, as, func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(&buf, nil))
		c.Now = clock.Now
	})
	for i := range 5 {
		if _, err := c.Introspect(context.Background(), fmt.Sprint("t", i)); !errors.Is(err, ErrASRejectedClient) {
			t.Fatalf("err = %v", err)
		}
		clock.Advance(time.Second)
	}
	if n := strings.Count(buf.String(), "level=ERROR"); n != 1 {
		t.Fatalf("%d error lines in 5s, want 1:\n%s", n, buf.String())
	}
	clock.Advance(5 * time.Second)
	c.Introspect(context.Background(), "t5")
	if n := strings.Count(buf.String(), "level=ERROR"); n != 2 || !strings.Contains(buf.String(), "suppressed_since_last=4") {
		t.Fatalf("after 10s: %d error lines, want 2 with 4 suppressed:\n%s", n, buf.String())
	}
	if as.calls.Load() != 6 {
		t.Errorf("AS calls = %d, want 6 (rejections are not cached)", as.calls.Load())
	}
}

func TestNetworkFailures(t *testing.T) {
	t.Run("connection refused", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		u := srv.URL
		srv.Close()
		c, err := NewClient(Config{IntrospectionURL: u + "/introspect", Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		var waits []time.Duration
		c.sleep = func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }
		_, err = c.Introspect(context.Background(), "t")
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("err = %v, want ErrUnavailable", err)
		}
		assertOneCategory(t, err)
		if len(waits) != defaultMaxRetries {
			t.Errorf("retried after %v, want %d retries", waits, defaultMaxRetries)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		as := newFakeAS(t, &fakeAS{wantAuth: basic("rs", "secret"), reply: func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }})
		c := newTestClient(t, as, func(c *Config) { c.Timeout = 20 * time.Millisecond })
		_, err := c.Introspect(context.Background(), "t")
		if !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want ErrUnavailable and DeadlineExceeded", err)
		}
	})
	t.Run("caller cancels", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		as := newFakeAS(t, &fakeAS{wantAuth: basic("rs", "secret"), reply: func(w http.ResponseWriter, r *http.Request) {
			cancel() // the caller hangs up while the AS is thinking
			<-r.Context().Done()
		}})
		// Keep the attempt short so the fake AS can shut down promptly
		// even if the request outlived the caller.
		c := newTestClient(t, as, func(c *Config) {
			c.Resilience.AttemptTimeout = 50 * time.Millisecond
			c.Resilience.MaxRetries = -1
		})
		_, err := c.Introspect(ctx, "t")
		if !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want ErrUnavailable and Canceled", err)
		}
	})
	t.Run("empty token", func(t *testing.T) {
		as := newFakeAS(t, &fakeAS{reply: replyJSON(200, `{"active":true}`)})
		c := newTestClient(t, as, nil)
		if _, err := c.Introspect(context.Background(), ""); !errors.Is(err, ErrInactive) || as.calls.Load() != 0 {
			t.Fatalf("err = %v after %d calls", err, as.calls.Load())
		}
	})
}

// TestHugeResponseIsCapped streams 100 MB from the fake AS; the client must
// stop at MaxResponseBytes and report a malformed answer, not parse a prefix.
func TestHugeResponseIsCapped(t *testing.T) {
	const total = 100 << 20
	var written atomic.Int64
	as := newFakeAS(t, &fakeAS{wantAuth: basic("rs", "secret"), reply: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		chunk := bytes.Repeat([]byte(" "), 64<<10)
		io.WriteString(w, `{"active":true,"sub":"alice"}`)
		for written.Load() < total {
			n, err := w.Write(chunk)
			written.Add(int64(n))
			if err != nil {
				return
			}
		}
	}})
	c := newTestClient(t, as, nil)
	_, err := c.Introspect(context.Background(), "t")
	if !errors.Is(err, ErrMalformedResponse) {
		t.Fatalf("err = %v, want ErrMalformedResponse", err)
	}
	assertOneCategory(t, err)
}

func TestDiscovery(t *testing.T) {
	var mdCalls atomic.Int64
	var fail atomic.Bool
	fail.Store(true)
	var srv *httptest.Server
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/oauth-authorization-server", func(w http.ResponseWriter, r *http.Request) {
		mdCalls.Add(1)
		if fail.Load() {
			http.Error(w, "oops", 500)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"issuer": srv.URL, "introspection_endpoint": srv.URL + "/introspect"})
	})
	var introCalls atomic.Int64
	mux.HandleFunc("POST /introspect", func(w http.ResponseWriter, r *http.Request) {
		introCalls.Add(1)
		replyJSON(200, activeBody(testNow.Add(time.Hour)))(w, r)
	})
	srv = httptest.NewServer(mux)
	defer srv.Close()

	c, err := NewClient(Config{Issuer: srv.URL, Now: func() time.Time { return testNow }, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if mdCalls.Load() != 0 {
		t.Fatal("New touched the network")
	}
	_, err = c.Introspect(context.Background(), "t")
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), srv.URL+"/.well-known/oauth-authorization-server") {
		t.Fatalf("err = %v, want ErrUnavailable naming the metadata URL", err)
	}
	fail.Store(false)
	for i := 0; i < 3; i++ {
		if _, err := c.Introspect(context.Background(), fmt.Sprint("t", i)); err != nil {
			t.Fatalf("after recovery: %v", err)
		}
	}
	if mdCalls.Load() != 2 || introCalls.Load() != 3 {
		t.Errorf("metadata fetched %d times, introspection %d; want 2 and 3", mdCalls.Load(), introCalls.Load())
	}
}

func TestDiscoveryRejectsInsecureEndpoint(t *testing.T) {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"issuer": srv.URL, "introspection_endpoint": "http://as.example/introspect"})
	}))
	defer srv.Close()
	c, err := NewClient(Config{Issuer: srv.URL, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Introspect(context.Background(), "t")
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "introspection_endpoint") {
		t.Fatalf("err = %v", err)
	}
}

// errDecoder is a Decoder that fails with err.
type errDecoder struct{ err error }

func (errDecoder) Accept() string { return "application/token-introspection+jwt" }
func (d errDecoder) Decode(context.Context, string, []byte) (*Response, error) {
	return nil, d.err
}

func TestCustomDecoder(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"uncategorized error is malformed", errors.New("bad signature"), ErrMalformedResponse},
		{"categorized error kept", fmt.Errorf("%w: revoked", ErrInactive), ErrInactive},
		{"nil response is malformed", nil, ErrMalformedResponse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			as := newFakeAS(t, &fakeAS{wantAuth: basic("rs", "secret"), wantAccept: "application/token-introspection+jwt", reply: replyJSON(200, `x`)})
			c := newTestClient(t, as, func(c *Config) { c.Decoder = errDecoder{tt.err} })
			_, err := c.Introspect(context.Background(), "t")
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			assertOneCategory(t, err)
		})
	}
}

// TestRedirectIsNotFollowed: a redirect from the introspection endpoint must
// not replay the token (in a POST body) to another host.
func TestRedirectIsNotFollowed(t *testing.T) {
	for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			var elsewhere atomic.Int64
			other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				elsewhere.Add(1)
				replyJSON(200, `{"active":true}`)(w, r)
			}))
			defer other.Close()
			as := newFakeAS(t, &fakeAS{wantAuth: basic("rs", "secret"), reply: func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, other.URL+"/steal", status)
			}})
			for name, mod := range map[string]func(*Config){
				"default client": nil,
				// A client of the user's own follows redirects by default;
				// a 307 or 308 would replay the POST body, token included.
				"given client": func(c *Config) { c.HTTPClient = &http.Client{Timeout: time.Minute} },
			} {
				t.Run(name, func(t *testing.T) {
					elsewhere.Store(0)
					c := newTestClient(t, as, mod)
					_, err := c.Introspect(context.Background(), "t")
					if !errors.Is(err, ErrMalformedResponse) {
						t.Fatalf("err = %v, want ErrMalformedResponse", err)
					}
					if elsewhere.Load() != 0 {
						t.Errorf("the redirect was followed")
					}
				})
			}
		})
	}
}

// TestGivenHTTPClientIsNotModified: New must not change the caller's
// *http.Client, which may be shared with other code.
func TestGivenHTTPClientIsNotModified(t *testing.T) {
	hc := &http.Client{Timeout: time.Minute}
	if _, err := New(Config{IntrospectionURL: "https://as.example.com/introspect", HTTPClient: hc}); err != nil {
		t.Fatal(err)
	}
	if hc.CheckRedirect != nil {
		t.Errorf("New set CheckRedirect on the caller's client")
	}
}

// loopbackOnly is a transport that reaches loopback hosts only, so that a
// test that goes wrong still touches no other host.
var loopbackOnly = roundTripFunc(func(r *http.Request) (*http.Response, error) {
	if h := r.URL.Hostname(); h != "127.0.0.1" && h != "::1" && h != "localhost" {
		return nil, fmt.Errorf("test transport: %s is not loopback", h)
	}
	return http.DefaultTransport.RoundTrip(r)
})

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestDiscoveryRefusesDowngradeRedirect: the metadata names the endpoint
// our token is sent to, so a redirect of the metadata to plain http on
// another host, where anyone on the path could answer, is not followed.
func TestDiscoveryRefusesDowngradeRedirect(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://as.example.com"+r.URL.Path, http.StatusFound)
	}))
	defer srv.Close()
	c, err := NewClient(Config{Issuer: srv.URL, HTTPClient: &http.Client{Transport: loopbackOnly}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Introspect(context.Background(), "t")
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "redirect refused") || strings.Contains(err.Error(), "not loopback") {
		t.Fatalf("err = %v, want ErrUnavailable with every redirect refused", err)
	}
}

// TestPingDoesNotLogWhatItReturns: Ping returns the failure to its caller,
// who reports it; the client does not log it at Error level too, whether
// our credentials are refused or the issuer's metadata cannot be found.
// The next failure outside Ping is logged as before.
func TestPingDoesNotLogWhatItReturns(t *testing.T) {
	var buf bytes.Buffer
	as := newFakeAS(t, &fakeAS{wantAuth: basic("rs", "secret"), reply: replyJSON(401, `{"error":"invalid_client"}`)})
	c := newTestClient(t, as, func(c *Config) { c.Logger = slog.New(slog.NewTextHandler(&buf, nil)) })
	err := c.Ping(context.Background())
	if !errors.Is(err, ErrASRejectedClient) || err.Error() != "introspect: ping: authorization server answered 401 Unauthorized: invalid_client" {
		t.Fatalf("Ping = %v", err)
	}
	if buf.Len() != 0 {
		t.Errorf("Ping logged what it returned:\n%s", buf.String())
	}
	c.Introspect(context.Background(), "tok")
	if !strings.Contains(buf.String(), "level=ERROR") {
		t.Errorf("a refusal outside Ping is not logged: %q", buf.String())
	}

	buf.Reset()
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	d, err := NewClient(Config{Issuer: srv.URL, Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Ping(context.Background()); !errors.Is(err, ErrUnavailable) || strings.Count(err.Error(), "introspect: ") != 1 {
		t.Fatalf("Ping = %v", err)
	}
	if buf.Len() != 0 {
		t.Errorf("Ping logged what it returned:\n%s", buf.String())
	}
}
