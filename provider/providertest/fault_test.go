package providertest_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/tokengate/tokengate/introspect"
	"github.com/tokengate/tokengate/middleware/nethttp"
	"github.com/tokengate/tokengate/provider"
	"github.com/tokengate/tokengate/provider/providertest"
	"github.com/tokengate/tokengate/provider/store"
	"github.com/tokengate/tokengate/rs"
)

const api = "https://api.example/"

var quiet = slog.New(slog.DiscardHandler)

// kit is a provider with a resource server client allowed to introspect
// (and to get tokens with the introspection scope) and one active token.
type kit struct {
	srv   *providertest.Server
	rs    providertest.Client
	token string
}

func newKit(t *testing.T) *kit {
	srv := providertest.New(t)
	rsClient := srv.RegisterClient(provider.ClientSpec{Scopes: []string{provider.ScopeIntrospection}, Introspection: store.IntrospectAny})
	app := srv.RegisterClient(provider.ClientSpec{Scopes: []string{"read"}})
	return &kit{srv: srv, rs: rsClient, token: srv.Mint(providertest.Token{Client: app, Scopes: []string{"read"}, Audience: []string{api}})}
}

// client returns an introspection client for the kit's resource server with
// no cache, no retry and no circuit breaker, so that each call is one
// request, unless mod says otherwise.
func (k *kit) client(t *testing.T, mod func(*introspect.Config)) *introspect.Client {
	t.Helper()
	cfg := introspect.Config{
		IntrospectionURL: k.srv.IntrospectionURL, ClientID: k.rs.ID, ClientSecret: k.rs.Secret, Logger: quiet,
		Resilience: introspect.ResilienceConfig{MaxRetries: -1, BreakerThreshold: -1},
	}
	if mod != nil {
		mod(&cfg)
	}
	ic, err := introspect.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return ic
}

// cached returns k.client behind a verdict cache with the defaults, as
// introspect.New builds it: the cache and coalescing on, as in production.
func (k *kit) cached(t *testing.T) *introspect.Cache {
	t.Helper()
	c, err := introspect.NewCache(k.client(t, nil), introspect.CacheConfig{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// api returns a handler protected by the net/http middleware over ic, which
// answers "ok" to an accepted request.
func (k *kit) api(t *testing.T, ic rs.Introspector) http.Handler {
	t.Helper()
	guard, err := rs.New(rs.Config{Introspector: ic, Audiences: []string{api}, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	return nethttp.MustNew(nethttp.Config{Guard: guard})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
}

func get(h http.Handler, token string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, "/orders", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// TestFault checks each kind of fault as the introspection client and the
// net/http middleware see it: the client's error category and retry hint,
// and the middleware's status and Retry-After.
func TestFault(t *testing.T) {
	k := newKit(t)
	ic := k.client(t, nil)
	h := k.api(t, ic)
	tests := []struct {
		name           string
		fault          providertest.Fault
		wantErr        error // nil: the token is active
		wantHint       time.Duration
		wantStatus     int
		wantRetryAfter string
	}{
		{"none", providertest.Fault{}, nil, 0, 200, ""},
		{"503 with Retry-After", providertest.Fault{Status: 503, RetryAfter: 2 * time.Second}, introspect.ErrUnavailable, 2 * time.Second, 503, "2"},
		{"429 with Retry-After", providertest.Fault{Status: 429, RetryAfter: 30 * time.Second}, introspect.ErrUnavailable, 30 * time.Second, 503, "30"},
		{"429, Retry-After rounded up", providertest.Fault{Status: 429, RetryAfter: 1500 * time.Millisecond}, introspect.ErrUnavailable, 2 * time.Second, 503, "2"},
		{"500 without Retry-After", providertest.Fault{Status: 500}, introspect.ErrUnavailable, 0, 503, "5"},
		{"connection dropped", providertest.Fault{Drop: true}, introspect.ErrUnavailable, 0, 503, "5"},
		{"401: our credentials refused", providertest.Fault{Status: 401}, introspect.ErrASRejectedClient, 0, 503, "5"},
		{"HTML login page with 200", providertest.Fault{Status: 200, Body: "<!DOCTYPE html><html><body>Sign in</body></html>"}, introspect.ErrMalformedResponse, 0, 503, "5"},
		{"JSON labelled text/plain", providertest.Fault{ContentType: "text/plain"}, introspect.ErrMalformedResponse, 0, 503, "5"},
		{"empty 200", providertest.Fault{Status: 200}, introspect.ErrMalformedResponse, 0, 503, "5"},
		{"slow but right", providertest.Fault{Delay: 20 * time.Millisecond}, nil, 0, 200, ""},
		{"slow and failing", providertest.Fault{Delay: 20 * time.Millisecond, Status: 503, RetryAfter: 7 * time.Second}, introspect.ErrUnavailable, 7 * time.Second, 503, "7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k.srv.Fail(tt.fault)
			defer k.srv.Heal()
			before := k.srv.Calls(providertest.EndpointIntrospection)

			resp, err := ic.Introspect(context.Background(), k.token)
			switch {
			case tt.wantErr == nil && (err != nil || !resp.Active):
				t.Errorf("Introspect = %+v, %v; want active", resp, err)
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Errorf("Introspect error = %v, want %v", err, tt.wantErr)
			}
			if got := introspect.RetryAfterHint(err); got != tt.wantHint {
				t.Errorf("RetryAfterHint = %v, want %v", got, tt.wantHint)
			}

			rec := get(h, k.token)
			if rec.Code != tt.wantStatus || rec.Header().Get("Retry-After") != tt.wantRetryAfter {
				t.Errorf("API answered %d, Retry-After %q; want %d, %q", rec.Code, rec.Header().Get("Retry-After"), tt.wantStatus, tt.wantRetryAfter)
			}
			if got := k.srv.Calls(providertest.EndpointIntrospection) - before; got != 2 {
				t.Errorf("introspection calls = %d, want 2", got)
			}
		})
	}
}

// TestFaultBody checks the answers a fault writes itself.
func TestFaultBody(t *testing.T) {
	k := newKit(t)
	tests := []struct {
		name                   string
		fault                  providertest.Fault
		wantStatus             int
		wantType, wantBody     string
		wantRetry, wantCaching string
	}{
		{"503", providertest.Fault{Status: 503, RetryAfter: time.Second},
			503, "application/json", `{"error":"temporarily_unavailable","error_description":"providertest: injected fault"}`, "1", "no-store"},
		{"429", providertest.Fault{Status: 429}, 429, "application/json", `{"error":"temporarily_unavailable","error_description":"providertest: injected fault"}`, "", "no-store"},
		{"401", providertest.Fault{Status: 401}, 401, "application/json", `{"error":"invalid_client","error_description":"providertest: injected fault"}`, "", "no-store"},
		{"502", providertest.Fault{Status: 502}, 502, "application/json", `{"error":"server_error","error_description":"providertest: injected fault"}`, "", "no-store"},
		{"400", providertest.Fault{Status: 400}, 400, "application/json", `{"error":"invalid_request","error_description":"providertest: injected fault"}`, "", "no-store"},
		{"HTML sniffed", providertest.Fault{Body: "<html><body>maintenance</body></html>"}, 200, "text/html; charset=utf-8", "<html><body>maintenance</body></html>", "", ""},
		{"body with its type", providertest.Fault{Status: 502, Body: "bad gateway", ContentType: "text/plain"}, 502, "text/plain", "bad gateway", "", ""},
		{"provider's answer relabelled", providertest.Fault{ContentType: "text/html"}, 200, "text/html", `"active":true`, "", "no-store"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k.srv.Fail(tt.fault)
			defer k.srv.Heal()
			req, _ := http.NewRequest(http.MethodPost, k.srv.IntrospectionURL, strings.NewReader(url.Values{"token": {k.token}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(url.QueryEscape(k.rs.ID), url.QueryEscape(k.rs.Secret))
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != tt.wantStatus || res.Header.Get("Content-Type") != tt.wantType || !strings.Contains(string(body), tt.wantBody) ||
				res.Header.Get("Retry-After") != tt.wantRetry || res.Header.Get("Cache-Control") != tt.wantCaching {
				t.Errorf("got %d %q %q, Retry-After %q, Cache-Control %q; want %d %q %q, %q, %q", res.StatusCode, res.Header.Get("Content-Type"), body,
					res.Header.Get("Retry-After"), res.Header.Get("Cache-Control"), tt.wantStatus, tt.wantType, tt.wantBody, tt.wantRetry, tt.wantCaching)
			}
		})
	}
}

// TestFaultTimes checks that a fault ends after Times requests, and that
// the client's retries meet it and then get through.
func TestFaultTimes(t *testing.T) {
	t.Run("counts down", func(t *testing.T) {
		k := newKit(t)
		ic := k.client(t, nil)
		k.srv.Fail(providertest.Fault{Status: 503, RetryAfter: 2 * time.Second, Times: 3})
		for i := range 3 {
			if _, err := ic.Introspect(context.Background(), k.token); !errors.Is(err, introspect.ErrUnavailable) {
				t.Fatalf("call %d: %v, want ErrUnavailable", i+1, err)
			}
		}
		for i := range 2 {
			if _, err := ic.Introspect(context.Background(), k.token); err != nil {
				t.Fatalf("call %d after the fault: %v", i+4, err)
			}
		}
		if got := k.srv.Calls(providertest.EndpointIntrospection); got != 5 {
			t.Errorf("calls = %d, want 5", got)
		}
	})
	t.Run("retried through", func(t *testing.T) {
		k := newKit(t)
		ic := k.client(t, func(c *introspect.Config) { c.Resilience.MaxRetries, c.Resilience.Backoff = 2, time.Millisecond })
		k.srv.Fail(providertest.Fault{Status: 503, Times: 2})
		if _, err := ic.Introspect(context.Background(), k.token); err != nil {
			t.Fatalf("Introspect: %v", err)
		}
		if got := k.srv.Calls(providertest.EndpointIntrospection); got != 3 {
			t.Errorf("calls = %d, want 3 (two refused, one answered)", got)
		}
	})
	t.Run("429 is not retried", func(t *testing.T) {
		k := newKit(t)
		ic := k.client(t, func(c *introspect.Config) { c.Resilience.MaxRetries, c.Resilience.Backoff = 2, time.Millisecond })
		k.srv.Fail(providertest.Fault{Status: 429, Times: 2})
		if _, err := ic.Introspect(context.Background(), k.token); !errors.Is(err, introspect.ErrUnavailable) {
			t.Fatalf("Introspect: %v, want ErrUnavailable", err)
		}
		if got := k.srv.Calls(providertest.EndpointIntrospection); got != 1 {
			t.Errorf("calls = %d, want 1", got)
		}
	})
}

// TestHealAndReplace checks that Heal ends a fault without Times, and that
// a second Fail replaces the first.
func TestHealAndReplace(t *testing.T) {
	k := newKit(t)
	ic := k.client(t, nil)
	k.srv.Fail(providertest.Fault{Status: 503})
	for range 3 {
		if _, err := ic.Introspect(context.Background(), k.token); !errors.Is(err, introspect.ErrUnavailable) {
			t.Fatalf("during the outage: %v, want ErrUnavailable", err)
		}
	}
	k.srv.Fail(providertest.Fault{Status: 401})
	if _, err := ic.Introspect(context.Background(), k.token); !errors.Is(err, introspect.ErrASRejectedClient) {
		t.Fatalf("after the second Fail: %v, want ErrASRejectedClient", err)
	}
	k.srv.Heal()
	if _, err := ic.Introspect(context.Background(), k.token); err != nil {
		t.Fatalf("after Heal: %v", err)
	}
	k.srv.Heal() // healing a healthy server changes nothing
	if _, err := ic.Introspect(context.Background(), k.token); err != nil {
		t.Fatalf("after a second Heal: %v", err)
	}
}

// TestHang checks that a hung endpoint holds a request until its client
// gives up, which the client reports as unavailable and the middleware as
// 503, or until Heal.
func TestHang(t *testing.T) {
	t.Run("client timeout", func(t *testing.T) {
		k := newKit(t)
		ic := k.client(t, func(c *introspect.Config) { c.Timeout = 50 * time.Millisecond })
		k.srv.Fail(providertest.Fault{Hang: true})
		_, err := ic.Introspect(context.Background(), k.token)
		if !errors.Is(err, introspect.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Introspect: %v, want ErrUnavailable after the deadline", err)
		}
		rec := get(k.api(t, ic), k.token)
		if rec.Code != 503 || rec.Header().Get("Retry-After") != "5" {
			t.Errorf("API answered %d, Retry-After %q; want 503, 5", rec.Code, rec.Header().Get("Retry-After"))
		}
		// The held requests ended when their clients hung up: the server
		// closes (it waits for requests in flight) without Heal.
		closed := make(chan struct{})
		go func() { k.srv.HTTP.Close(); close(closed) }()
		select {
		case <-closed:
		case <-time.After(20 * time.Second):
			t.Fatal("the server still holds a request whose client hung up")
		}
	})
	t.Run("client hangs up", func(t *testing.T) {
		k := newKit(t)
		k.srv.Fail(providertest.Fault{Hang: true, Times: 1})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() {
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, k.srv.IntrospectionURL, strings.NewReader("token=x"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			_, err := http.DefaultClient.Do(req)
			done <- err
		}()
		waitCalls(t, k.srv, providertest.EndpointIntrospection, 1)
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("held request: %v, want canceled", err)
		}
		// Times: 1, so the next request is answered (the provider's 401
		// to a request without credentials).
		res, err := http.PostForm(k.srv.IntrospectionURL, url.Values{"token": {"x"}})
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusUnauthorized {
			t.Errorf("next request: %d, want 401", res.StatusCode)
		}
		closed := make(chan struct{})
		go func() { k.srv.HTTP.Close(); close(closed) }()
		select {
		case <-closed:
		case <-time.After(20 * time.Second):
			t.Fatal("the server still holds a request whose client hung up")
		}
	})
	t.Run("first caller gives up, the others still get the answer", func(t *testing.T) {
		k := newKit(t)
		ic := k.cached(t)
		k.srv.Fail(providertest.Fault{Hang: true})
		ctx, cancel := context.WithCancel(context.Background())
		first := make(chan error)
		go func() {
			_, err := ic.Introspect(ctx, k.token)
			first <- err
		}()
		waitCalls(t, k.srv, providertest.EndpointIntrospection, 1)
		cancel()
		if err := <-first; !errors.Is(err, introspect.ErrUnavailable) || !errors.Is(err, context.Canceled) {
			t.Errorf("first caller: %v, want ErrUnavailable, canceled", err)
		}
		second := make(chan error)
		go func() {
			_, err := ic.Introspect(context.Background(), k.token)
			second <- err
		}()
		k.srv.Heal()
		if err := <-second; err != nil {
			t.Errorf("second caller: %v", err)
		}
		if got := k.srv.Calls(providertest.EndpointIntrospection); got != 1 {
			t.Errorf("introspection calls = %d, want 1", got)
		}
	})
	t.Run("Heal cuts a Delay short", func(t *testing.T) {
		k := newKit(t)
		ic := k.client(t, nil)
		k.srv.Fail(providertest.Fault{Delay: time.Hour, Status: 503})
		done := make(chan error)
		go func() {
			_, err := ic.Introspect(context.Background(), k.token)
			done <- err
		}()
		waitCalls(t, k.srv, providertest.EndpointIntrospection, 1)
		k.srv.Heal()
		if err := <-done; err != nil {
			t.Errorf("delayed request after Heal: %v, want the provider's answer", err)
		}
	})
	t.Run("Heal releases", func(t *testing.T) {
		k := newKit(t)
		ic := k.client(t, nil)
		k.srv.Fail(providertest.Fault{Hang: true})
		done := make(chan error)
		go func() {
			_, err := ic.Introspect(context.Background(), k.token)
			done <- err
		}()
		waitCalls(t, k.srv, providertest.EndpointIntrospection, 1)
		k.srv.Heal()
		if err := <-done; err != nil {
			t.Errorf("held request after Heal: %v", err)
		}
	})
}

// waitCalls waits until e has received n requests.
func waitCalls(t *testing.T, srv *providertest.Server, e providertest.Endpoint, n int) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); srv.Calls(e) < n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s endpoint: %d calls, waiting for %d", e, srv.Calls(e), n)
		}
	}
}

// TestTokenEndpointFault checks a fault at the token endpoint, seen by a
// client that introspects with a bearer token from client credentials.
func TestTokenEndpointFault(t *testing.T) {
	k := newKit(t)
	// An explicit AuthStyle: auto-detection would try again with the
	// credentials in the body after each failure, two calls instead of one.
	cc := clientcredentials.Config{ClientID: k.rs.ID, ClientSecret: k.rs.Secret, TokenURL: k.srv.TokenURL,
		Scopes: []string{provider.ScopeIntrospection}, AuthStyle: oauth2.AuthStyleInHeader}
	ic := k.client(t, func(c *introspect.Config) {
		c.ClientID, c.ClientSecret, c.TokenSource = "", "", cc.TokenSource(context.Background())
	})
	tests := []struct {
		fault   providertest.Fault
		wantErr error
	}{
		{providertest.Fault{Endpoint: providertest.EndpointToken, Status: 503}, introspect.ErrUnavailable},
		{providertest.Fault{Endpoint: providertest.EndpointToken, Drop: true}, introspect.ErrUnavailable},
		{providertest.Fault{Endpoint: providertest.EndpointToken, Status: 401}, introspect.ErrASRejectedClient},
	}
	for i, tt := range tests {
		k.srv.Fail(tt.fault)
		if _, err := ic.Introspect(context.Background(), k.token); !errors.Is(err, tt.wantErr) {
			t.Errorf("%+v: %v, want %v", tt.fault, err, tt.wantErr)
		}
		if got := k.srv.Calls(providertest.EndpointToken); got != i+1 {
			t.Errorf("%+v: token calls = %d, want %d", tt.fault, got, i+1)
		}
	}
	if got := k.srv.Calls(providertest.EndpointIntrospection); got != 0 {
		t.Errorf("introspection calls = %d, want 0 without a bearer token", got)
	}
	k.srv.Heal()
	for range 2 {
		if _, err := ic.Introspect(context.Background(), k.token); err != nil {
			t.Fatalf("after Heal: %v", err)
		}
	}
	if tok, intro := k.srv.Calls(providertest.EndpointToken), k.srv.Calls(providertest.EndpointIntrospection); tok != 4 || intro != 2 {
		t.Errorf("calls: token %d, introspection %d; want 4 (the bearer token is reused), 2", tok, intro)
	}
}

// TestMetadataFault checks a fault at the metadata, met by a client that
// discovers the introspection endpoint from the issuer.
func TestMetadataFault(t *testing.T) {
	k := newKit(t)
	ic := k.client(t, func(c *introspect.Config) { c.IntrospectionURL, c.Issuer = "", k.srv.Issuer })
	k.srv.Fail(providertest.Fault{Endpoint: providertest.EndpointMetadata, Status: 503})
	if _, err := ic.Introspect(context.Background(), k.token); !errors.Is(err, introspect.ErrUnavailable) {
		t.Errorf("during the outage: %v, want ErrUnavailable", err)
	}
	if k.srv.Calls(providertest.EndpointMetadata) == 0 || k.srv.Calls(providertest.EndpointIntrospection) != 0 {
		t.Errorf("calls: metadata %d, introspection %d; want some, 0",
			k.srv.Calls(providertest.EndpointMetadata), k.srv.Calls(providertest.EndpointIntrospection))
	}
	k.srv.Heal()
	if _, err := ic.Introspect(context.Background(), k.token); err != nil {
		t.Errorf("after Heal: %v", err)
	}
	if got := k.srv.Calls(providertest.EndpointIntrospection); got != 1 {
		t.Errorf("introspection calls = %d, want 1", got)
	}
}

// TestCallsPerEndpoint checks that each endpoint counts its own requests,
// and that a fault stays on its endpoint.
func TestCallsPerEndpoint(t *testing.T) {
	k := newKit(t)
	k.srv.Fail(providertest.Fault{Endpoint: providertest.EndpointJWKS, Status: 500})
	paths := map[providertest.Endpoint]string{
		providertest.EndpointIntrospection: k.srv.IntrospectionURL,
		providertest.EndpointToken:         k.srv.TokenURL,
		providertest.EndpointRevocation:    k.srv.RevocationURL,
		providertest.EndpointJWKS:          k.srv.Provider.JWKSURL(),
		providertest.EndpointMetadata:      k.srv.Issuer + "/.well-known/openid-configuration",
	}
	var counted []providertest.Endpoint
	for e, u := range paths {
		res, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		counted = append(counted, e)
		if (res.StatusCode == 500) != (e == providertest.EndpointJWKS) {
			t.Errorf("%s: status %d", e, res.StatusCode)
		}
		for e2 := range paths {
			want := 0
			for _, c := range counted {
				if c == e2 {
					want = 1
				}
			}
			if got := k.srv.Calls(e2); got != want {
				t.Errorf("after a request to %s: Calls(%s) = %d, want %d", e, e2, got, want)
			}
		}
	}
	res, err := http.Get(k.srv.Issuer + "/elsewhere")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	for e := range paths {
		if got := k.srv.Calls(e); got != 1 {
			t.Errorf("after a request elsewhere: Calls(%s) = %d, want 1", e, got)
		}
	}
	if got := k.srv.Calls(providertest.Endpoint(99)); got != 0 {
		t.Errorf("Calls of an unknown endpoint = %d", got)
	}
}

// TestConcurrent checks that counts and Times are exact under concurrent
// callers (run with -race).
func TestConcurrent(t *testing.T) {
	t.Run("Times", func(t *testing.T) {
		k := newKit(t)
		const n, failing = 200, 60
		// Every caller reaches the server: no call is shed.
		ic := k.client(t, func(c *introspect.Config) { c.Resilience.MaxInFlight = n })
		// One token per caller: concurrent calls for one token would share
		// one request.
		app := k.srv.RegisterClient(provider.ClientSpec{})
		tokens := make([]string, n)
		for i := range tokens {
			tokens[i] = k.srv.Mint(providertest.Token{Client: app})
		}
		k.srv.Fail(providertest.Fault{Status: 503, Times: failing})
		var refused, answered atomic.Int64
		var wg sync.WaitGroup
		for _, tok := range tokens {
			wg.Go(func() {
				_, err := ic.Introspect(context.Background(), tok)
				switch {
				case err == nil:
					answered.Add(1)
				case errors.Is(err, introspect.ErrUnavailable):
					refused.Add(1)
				default:
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if refused.Load() != failing || answered.Load() != n-failing {
			t.Errorf("refused %d, answered %d; want %d, %d", refused.Load(), answered.Load(), failing, n-failing)
		}
		if got := k.srv.Calls(providertest.EndpointIntrospection); got != n {
			t.Errorf("calls = %d, want %d", got, n)
		}
	})
	t.Run("one AS call for 1,000 requests", func(t *testing.T) {
		k := newKit(t)
		ic := k.cached(t)
		h := k.api(t, ic)
		// The introspection hangs until every request is in, so that they
		// all wait on it together.
		k.srv.Fail(providertest.Fault{Hang: true})
		const n = 1000
		var started, wg sync.WaitGroup
		started.Add(n)
		var ok atomic.Int64
		for range n {
			wg.Go(func() {
				started.Done()
				if rec := get(h, k.token); rec.Code == 200 {
					ok.Add(1)
				}
			})
		}
		started.Wait()
		waitCalls(t, k.srv, providertest.EndpointIntrospection, 1)
		k.srv.Heal()
		wg.Wait()
		if ok.Load() != n {
			t.Errorf("%d of %d requests answered 200", ok.Load(), n)
		}
		if got := k.srv.Calls(providertest.EndpointIntrospection); got != 1 {
			t.Errorf("introspection calls = %d, want 1", got)
		}
	})
}

// fatalRecorder records Fatalf instead of ending the test.
type fatalRecorder struct {
	*testing.T
	msg string
}

func (r *fatalRecorder) Fatalf(format string, args ...any) { r.msg = fmt.Sprintf(format, args...) }

func TestFailInvalid(t *testing.T) {
	tests := []struct {
		name  string
		fault providertest.Fault
		want  string
	}{
		{"unknown endpoint", providertest.Fault{Endpoint: 42, Status: 503}, "Fault.Endpoint"},
		{"status 99", providertest.Fault{Status: 99}, "Fault.Status"},
		{"status 600", providertest.Fault{Status: 600}, "Fault.Status"},
		{"negative Times", providertest.Fault{Status: 503, Times: -1}, "negative"},
		{"negative Delay", providertest.Fault{Delay: -time.Second}, "negative"},
		{"Hang with Status", providertest.Fault{Hang: true, Status: 503}, "Fault.Hang"},
		{"Hang with Delay", providertest.Fault{Hang: true, Delay: time.Second}, "Fault.Hang"},
		{"Drop with Body", providertest.Fault{Drop: true, Body: "x"}, "Fault.Drop"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &fatalRecorder{T: t}
			srv := providertest.New(rec)
			srv.Fail(tt.fault)
			if !strings.Contains(rec.msg, tt.want) {
				t.Errorf("Fatalf(%q), want it to name %s", rec.msg, tt.want)
			}
			// The invalid fault was not installed: the provider itself
			// refuses a request without credentials.
			res, err := (&http.Client{Timeout: 20 * time.Second}).PostForm(srv.IntrospectionURL, url.Values{"token": {"x"}})
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusUnauthorized || srv.Calls(providertest.EndpointIntrospection) != 1 {
				t.Errorf("after an invalid Fail: %d, %d calls; want the provider's 401, 1 call", res.StatusCode, srv.Calls(providertest.EndpointIntrospection))
			}
		})
	}
}

func TestEndpointString(t *testing.T) {
	for e, want := range map[providertest.Endpoint]string{
		providertest.EndpointIntrospection: "introspection", providertest.EndpointToken: "token", providertest.EndpointRevocation: "revocation",
		providertest.EndpointJWKS: "jwks", providertest.EndpointMetadata: "metadata", 7: "Endpoint(7)",
	} {
		if got := e.String(); got != want {
			t.Errorf("%d: %q, want %q", int(e), got, want)
		}
	}
}
