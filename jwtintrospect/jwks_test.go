package jwtintrospect_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/tokengate/tokengate/introspect"
	"github.com/tokengate/tokengate/jwtintrospect"
)

// jwksServer serves a JWK Set that tests can swap, and counts the fetches.
type jwksServer struct {
	t *testing.T
	// mu guards set and fetches.
	mu      sync.Mutex
	set     []byte
	fetches int
}

func (s *jwksServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet || r.URL.Path != "/jwks" {
		s.t.Errorf("unexpected %s %s", r.Method, r.URL.Path)
		http.NotFound(w, r)
		return
	}
	s.mu.Lock()
	s.fetches++
	set := s.set
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.Write(set)
}

func (s *jwksServer) swap(set []byte) {
	s.mu.Lock()
	s.set = set
	s.mu.Unlock()
}

func (s *jwksServer) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fetches
}

func TestUnknownKIDRefreshIsRateLimited(t *testing.T) {
	keyA, keyB, keyC := newEdKey(t), newEdKey(t), newEdKey(t)
	js := &jwksServer{t: t, set: jwks(t, jose.JSONWebKey{Key: keyA, KeyID: "a"})}
	srv := httptest.NewServer(js)
	defer srv.Close()
	d := newDecoder(t, nil, jwtintrospect.Config{JWKSURL: srv.URL + "/jwks"})
	ctx := context.Background()
	decode := func(key any, kid string) error {
		body := signJWS(t, jose.EdDSA, key, kid, "token-introspection+jwt", claims(), nil)
		_, err := d.Decode(ctx, jwtintrospect.MediaType, []byte(body))
		return err
	}

	if err := decode(keyA, "a"); err != nil {
		t.Fatalf("known kid: %v", err)
	}
	if n := js.count(); n != 1 {
		t.Fatalf("after the first Decode: %d fetches, want 1", n)
	}

	// The AS rotates to b: the first unknown kid refreshes at once.
	js.swap(jwks(t, jose.JSONWebKey{Key: keyA, KeyID: "a"}, jose.JSONWebKey{Key: keyB, KeyID: "b"}))
	if err := decode(keyB, "b"); err != nil {
		t.Fatalf("rotated kid: %v", err)
	}
	if n := js.count(); n != 2 {
		t.Fatalf("after the rotation: %d fetches, want 2", n)
	}

	// Unknown kids within the rate limit fail at once, without a fetch,
	// even when the AS has meanwhile published the key: as unavailable
	// (retry later), since the set may have changed since the last fetch.
	js.swap(jwks(t, jose.JSONWebKey{Key: keyC, KeyID: "c"}))
	for i, kid := range []string{"forged-1", "forged-2", "c"} {
		err := decode(keyC, kid)
		if !errors.Is(err, introspect.ErrUnavailable) || errors.Is(err, introspect.ErrMalformedResponse) {
			t.Fatalf("unknown kid %q: error %v, want ErrUnavailable", kid, err)
		}
		if n := js.count(); n != 2 {
			t.Fatalf("after unknown kid %d: %d fetches, want still 2", i, n)
		}
	}
	// Known keys keep working meanwhile.
	if err := decode(keyA, "a"); err != nil {
		t.Fatalf("known kid after refusals: %v", err)
	}
}

func TestJWKSDiscoveredFromIssuer(t *testing.T) {
	key := newEdKey(t)
	js := &jwksServer{t: t, set: jwks(t, jose.JSONWebKey{Key: key, KeyID: "k"})}
	mux := http.NewServeMux()
	mux.Handle("/jwks", js)
	var issuer string
	mux.HandleFunc("/.well-known/oauth-authorization-server", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"issuer":"` + issuer + `","jwks_uri":"` + issuer + `/jwks"}`))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	issuer = srv.URL

	d, err := jwtintrospect.New(jwtintrospect.Config{Issuer: issuer, ClientID: testClientID, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	body := signJWS(t, jose.EdDSA, key, "k", "token-introspection+jwt", with(claims(), map[string]any{"iss": issuer}), nil)
	resp, err := d.Decode(context.Background(), jwtintrospect.MediaType, []byte(body))
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if !resp.Active || js.count() != 1 {
		t.Fatalf("Decode = %+v after %d fetches, want active after 1", resp, js.count())
	}
}

func TestJWKSDiscoveryFailure(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	d, err := jwtintrospect.New(jwtintrospect.Config{Issuer: srv.URL, ClientID: testClientID, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	body := signJWS(t, jose.EdDSA, newEdKey(t), "k", "token-introspection+jwt", claims(), nil)
	_, err = d.Decode(context.Background(), jwtintrospect.MediaType, []byte(body))
	if !errors.Is(err, introspect.ErrUnavailable) {
		t.Fatalf("Decode error = %v, want ErrUnavailable", err)
	}
}

func TestJWKSReadIsBounded(t *testing.T) {
	key := newEdKey(t)
	set := jwks(t, jose.JSONWebKey{Key: key, KeyID: "k"})
	// A valid JWK Set padded past the limit with whitespace, sent without a
	// Content-Length so that only the read itself can stop it.
	padded := append(append([]byte{}, set[:len(set)-1]...), []byte(strings.Repeat(" ", 4096)+"}")...)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.(http.Flusher).Flush()
		w.Write(padded)
	}))
	defer srv.Close()
	body := signJWS(t, jose.EdDSA, key, "k", "token-introspection+jwt", claims(), nil)

	for _, tt := range []struct {
		name string
		max  int64
		want error
	}{
		{"under the limit", 8192, nil},
		{"over the limit", 1024, introspect.ErrUnavailable},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var logs syncBuffer
			d := newDecoder(t, nil, jwtintrospect.Config{
				JWKSURL:      srv.URL + "/jwks",
				MaxJWKSBytes: tt.max,
				Logger:       slog.New(slog.NewTextHandler(&logs, nil)),
			})
			_, err := d.Decode(context.Background(), jwtintrospect.MediaType, []byte(body))
			if !errors.Is(err, tt.want) {
				t.Fatalf("Decode error = %v, want %v", err, tt.want)
			}
			if tt.want != nil && !strings.Contains(err.Error(), "exceeds the configured limit") {
				t.Errorf("Decode error = %v, want it to say the limit was exceeded", err)
			}
		})
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestBackgroundRefreshStopsOnClose moves a fake clock (testing/synctest)
// past the refresh interval: the JWK Set is fetched again in the
// background, and no more once the Decoder is closed.
func TestBackgroundRefreshStopsOnClose(t *testing.T) {
	key := newEdKey(t)
	set := jwks(t, jose.JSONWebKey{Key: key, KeyID: "k"})
	body := signJWS(t, jose.EdDSA, key, "k", "token-introspection+jwt", claims(), nil)
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex // guards fetches
		fetches := 0
		count := func() int { mu.Lock(); defer mu.Unlock(); return fetches }
		rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			mu.Lock()
			fetches++
			mu.Unlock()
			return &http.Response{
				StatusCode: http.StatusOK,
				Header:     http.Header{"Content-Type": {"application/json"}},
				Body:       io.NopCloser(bytes.NewReader(set)),
				Request:    r,
			}, nil
		})
		d, err := jwtintrospect.New(jwtintrospect.Config{
			Issuer:              testIssuer,
			ClientID:            testClientID,
			JWKSURL:             "https://as.example.com/jwks",
			HTTPClient:          &http.Client{Transport: rt},
			JWKSRefreshInterval: time.Hour,
			Now:                 fixedNow,
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.Decode(context.Background(), jwtintrospect.MediaType, []byte(body)); err != nil {
			t.Fatalf("Decode: %v", err)
		}
		if n := count(); n != 1 {
			t.Fatalf("%d fetches after the first Decode, want 1", n)
		}
		time.Sleep(time.Hour + time.Second)
		synctest.Wait()
		if n := count(); n != 2 {
			t.Fatalf("%d fetches an hour later, want 2", n)
		}
		d.Close()
		synctest.Wait()
		time.Sleep(5 * time.Hour)
		synctest.Wait()
		if n := count(); n != 2 {
			t.Fatalf("%d fetches after Close, want still 2", n)
		}
	})
}

// syncBuffer is a bytes.Buffer safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDecodeAfterClose: as Close documents, Decode keeps working after it,
// and an unknown kid still refreshes the JWK Set.
func TestDecodeAfterClose(t *testing.T) {
	keyA, keyB := newEdKey(t), newEdKey(t)
	js := &jwksServer{t: t, set: jwks(t, jose.JSONWebKey{Key: keyA, KeyID: "a"})}
	srv := httptest.NewServer(js)
	defer srv.Close()
	d := newDecoder(t, nil, jwtintrospect.Config{JWKSURL: srv.URL + "/jwks"})
	decode := func(key any, kid string) error {
		body := signJWS(t, jose.EdDSA, key, kid, "token-introspection+jwt", claims(), nil)
		_, err := d.Decode(context.Background(), jwtintrospect.MediaType, []byte(body))
		return err
	}
	if err := decode(keyA, "a"); err != nil {
		t.Fatalf("before Close: %v", err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := decode(keyA, "a"); err != nil {
		t.Fatalf("known kid after Close: %v", err)
	}
	js.swap(jwks(t, jose.JSONWebKey{Key: keyA, KeyID: "a"}, jose.JSONWebKey{Key: keyB, KeyID: "b"}))
	if err := decode(keyB, "b"); err != nil {
		t.Fatalf("rotated kid after Close: %v", err)
	}
	if n := js.count(); n != 2 {
		t.Errorf("%d fetches, want 2", n)
	}
}

// TestJWKSDowngradeRedirectRefused: the JWK Set holds the keys verdicts are
// checked with, so a redirect of it to plain http on another host, where
// anyone on the path could substitute keys, is not followed.
func TestJWKSDowngradeRedirectRefused(t *testing.T) {
	var elsewhere sync.Mutex // guards tried
	tried := []string{}
	loopbackOnly := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if h := r.URL.Hostname(); h != "127.0.0.1" {
			elsewhere.Lock()
			tried = append(tried, r.URL.String())
			elsewhere.Unlock()
			return nil, errors.New("test transport: not loopback")
		}
		return http.DefaultTransport.RoundTrip(r)
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://as.example.com/jwks", http.StatusFound)
	}))
	defer srv.Close()
	d := newDecoder(t, nil, jwtintrospect.Config{JWKSURL: srv.URL + "/jwks", HTTPClient: &http.Client{Transport: loopbackOnly}})
	body := signJWS(t, jose.EdDSA, newEdKey(t), "k", "token-introspection+jwt", claims(), nil)
	if _, err := d.Decode(context.Background(), jwtintrospect.MediaType, []byte(body)); !errors.Is(err, introspect.ErrUnavailable) {
		t.Fatalf("Decode error = %v, want ErrUnavailable (no keys could be fetched)", err)
	}
	elsewhere.Lock()
	defer elsewhere.Unlock()
	if len(tried) > 0 {
		t.Errorf("the redirect was followed to %v", tried)
	}
}
