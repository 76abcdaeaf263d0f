package jwks

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// keySetServer serves a JWK Set that tests change, and counts the fetches.
type keySetServer struct {
	mu      sync.Mutex
	doc     string
	status  int
	fetches atomic.Int32
}

func (k *keySetServer) set(doc string, status int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.doc, k.status = doc, status
}

func (k *keySetServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet || r.URL.Path != "/jwks" {
		panic(fmt.Sprintf("unexpected %s %s", r.Method, r.URL))
	}
	k.fetches.Add(1)
	k.mu.Lock()
	defer k.mu.Unlock()
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.WriteHeader(k.status)
	io.WriteString(w, k.doc)
}

func jwkSet(t testing.TB, kids ...string) string {
	t.Helper()
	var set jose.JSONWebKeySet
	for _, kid := range kids {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: &k.PublicKey, KeyID: kid, Algorithm: "ES256", Use: "sig"})
	}
	b, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// clock is a fake time source tests move by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newSet(t *testing.T, srv *httptest.Server, clk *clock) *Set {
	t.Helper()
	s, err := New(Config{URL: srv.URL + "/jwks", HTTPClient: srv.Client(), Now: clk.Now, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestUnknownKidRefreshesOncePerInterval(t *testing.T) {
	ks := &keySetServer{}
	ks.set(jwkSet(t, "a"), 200)
	srv := httptest.NewServer(ks)
	defer srv.Close()
	clk := &clock{now: time.Unix(1_800_000_000, 0)}
	s := newSet(t, srv, clk)
	ctx := context.Background()

	if _, err := s.Key(ctx, "a"); err != nil {
		t.Fatalf("Key(a) = %v", err)
	}
	if n := ks.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches for the first key, want 1", n)
	}
	// An unknown kid costs one refresh, which proves it unknown.
	if _, err := s.Key(ctx, "nobody"); !errors.Is(err, ErrKeyNotFound) {
		t.Fatalf("Key(nobody) = %v, want ErrKeyNotFound", err)
	}
	// The next unknown kid within the interval costs nothing and is not
	// called unknown: the set may have changed since.
	ks.set(jwkSet(t, "a", "b"), 200)
	if _, err := s.Key(ctx, "b"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Key(b) within the rate limit = %v, want ErrUnavailable", err)
	}
	if n := ks.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2: a refresh was not rate-limited", n)
	}
	clk.add(DefaultRefreshRateLimit)
	if _, err := s.Key(ctx, "b"); err != nil {
		t.Fatalf("Key(b) after the interval = %v: the rotated key was not fetched", err)
	}
	// The refresh replaced the set: a and b are both known now, with no
	// fetch.
	if _, err := s.Key(ctx, "a"); err != nil {
		t.Fatalf("Key(a) = %v", err)
	}
	if n := ks.fetches.Load(); n != 3 {
		t.Fatalf("%d fetches, want 3", n)
	}
}

func TestUnavailableServer(t *testing.T) {
	ks := &keySetServer{}
	ks.set(`oops`, 500)
	srv := httptest.NewServer(ks)
	defer srv.Close()
	clk := &clock{now: time.Unix(1_800_000_000, 0)}
	s := newSet(t, srv, clk)
	ctx := context.Background()
	for range 3 {
		if _, err := s.Key(ctx, "a"); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("Key = %v, want ErrUnavailable", err)
		}
	}
	if n := ks.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches within a second of a failure, want 1", n)
	}
	ks.set(jwkSet(t, "a"), 200)
	clk.add(retryAfterFailure)
	if _, err := s.Key(ctx, "a"); err != nil {
		t.Fatalf("Key after the server came back = %v", err)
	}
	// A failed refresh keeps the keys already known.
	ks.set(`oops`, 500)
	clk.add(DefaultRefreshRateLimit)
	if _, err := s.Key(ctx, "z"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Key(z) with the server down = %v, want ErrUnavailable", err)
	}
	if _, err := s.Key(ctx, "a"); err != nil {
		t.Fatalf("Key(a) after a failed refresh = %v", err)
	}
}

func TestParse(t *testing.T) {
	good := jwkSet(t, "a")
	for _, tt := range []struct {
		name, doc string
		keys      int
		wantErr   string
	}{
		{"a set", good, 1, ""},
		{"an unknown key type is skipped", `{"keys":[{"kty":"ML-DSA","kid":"pq"},` + good[len(`{"keys":[`):], 1, ""},
		{"kid twice", strings.Replace(good, `"kid":"a"`, `"kid":"a","kid":"b"`, 1), 0, "duplicate member name"},
		{"KID beside kid", strings.Replace(good, `"kid":"a"`, `"kid":"a","KID":"b"`, 1), 0, "only when case is ignored"},
		{"not JSON", `<html>`, 0, "not a JWK Set"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := Parse([]byte(tt.doc))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || len(keys) != tt.keys {
				t.Fatalf("Parse = %d keys, %v; want %d", len(keys), err, tt.keys)
			}
		})
	}
}

func TestDiscoveryAndNoRedirect(t *testing.T) {
	ks := &keySetServer{}
	ks.set(jwkSet(t, "a"), 200)
	mux := http.NewServeMux()
	mux.Handle("/jwks", ks)
	var srv *httptest.Server
	mux.HandleFunc("/.well-known/oauth-authorization-server", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"issuer":%q,"jwks_uri":%q}`, srv.URL, srv.URL+"/moved")
	})
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/jwks", http.StatusFound) })
	srv = httptest.NewServer(mux)
	defer srv.Close()
	s, err := New(Config{Issuer: srv.URL, Now: (&clock{now: time.Unix(1_800_000_000, 0)}).Now})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Key(context.Background(), "a"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Key through a redirecting jwks_uri = %v, want ErrUnavailable", err)
	}
	if n := ks.fetches.Load(); n != 0 {
		t.Fatal("the redirect was followed")
	}
}

// TestBackgroundRefreshStopsAtClose runs in a synctest bubble with an
// in-memory transport: the set is fetched again every RefreshInterval, and
// never after Close.
func TestBackgroundRefreshStopsAtClose(t *testing.T) {
	doc := jwkSet(t, "a")
	synctest.Test(t, func(t *testing.T) {
		var fetches atomic.Int32
		rt := roundTripper(func(r *http.Request) (*http.Response, error) {
			fetches.Add(1)
			return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader(doc)), Header: http.Header{}, Request: r}, nil
		})
		s, err := New(Config{URL: "https://as.example.com/jwks", HTTPClient: &http.Client{Transport: rt}, RefreshInterval: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Key(context.Background(), "a"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Hour + time.Second)
		synctest.Wait()
		if n := fetches.Load(); n != 2 {
			t.Fatalf("%d fetches after an hour, want 2", n)
		}
		s.Close()
		time.Sleep(3 * time.Hour)
		synctest.Wait()
		if n := fetches.Load(); n != 2 {
			t.Fatalf("%d fetches after Close, want 2", n)
		}
	})
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
