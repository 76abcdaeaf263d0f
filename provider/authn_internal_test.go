package provider

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tokengate/tokengate/internal/oauthhttp"
	"github.com/tokengate/tokengate/provider/store"
)

// readCounter counts the store's client reads.
type readCounter struct {
	store.Store
	reads atomic.Int64
}

func (r *readCounter) Client(ctx context.Context, id string) (*store.Client, error) {
	r.reads.Add(1)
	return r.Store.Client(ctx, id)
}

// TestUnknownClientCostsTheSame (finding 5 of the review): only found
// clients were cached, so an unknown id cost a store read on every request
// and answered 27–45 µs later than a known one. Now the absence of a client
// is cached too, and every way of failing — unknown id, wrong secret,
// public client given a secret, confidential client given none — hashes
// and compares one secret, as the right secret does. Asserted by counting,
// not by timing.
func TestUnknownClientCostsTheSame(t *testing.T) {
	rc := &readCounter{Store: store.NewMemory()}
	p, err := New(Config{Issuer: "https://as.example", Store: rc, ManualSweep: true, KeyAlgorithms: []string{AlgEdDSA},
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx := context.Background()
	conf, secret, err := p.Admin().RegisterClient(ctx, ClientSpec{})
	if err != nil {
		t.Fatal(err)
	}
	pub, _, err := p.Admin().RegisterClient(ctx, ClientSpec{Public: true})
	if err != nil {
		t.Fatal(err)
	}
	var compares atomic.Int64
	p.onCompare = func() { compares.Add(1) }

	tests := []struct {
		name, id, secret string
		post             bool // client_secret_post with the secret left out
		status           int
	}{
		{"right secret", conf.ID, secret, false, 200},
		{"wrong secret", conf.ID, "tg_cs_wrong", false, 401},
		{"unknown id", "tgc_nosuchclient0000000", "tg_cs_wrong", false, 401},
		{"public client with a secret", pub.ID, "tg_cs_wrong", false, 401},
		{"confidential client without a secret", conf.ID, "", true, 401},
		{"unknown id without a secret", "tgc_nosuchclient1111111", "", true, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for round := range 2 {
				reads, cmp := rc.reads.Load(), compares.Load()
				body := "grant_type=client_credentials"
				r := httptest.NewRequest(http.MethodPost, "https://as.example/token", nil)
				if tt.post {
					body += "&client_id=" + tt.id
				} else {
					r.Header.Set("Authorization", oauthhttp.BasicAuth(tt.id, tt.secret))
				}
				r.Body = httptestBody(body)
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				r.RemoteAddr = "192.0.2.1:1234"
				w := httptest.NewRecorder()
				p.ServeHTTP(w, r)
				if w.Code != tt.status {
					t.Fatalf("round %d: %d %s, want %d", round, w.Code, w.Body, tt.status)
				}
				if got := compares.Load() - cmp; got != 1 {
					t.Errorf("round %d: %d secret comparisons, want 1", round, got)
				}
				// The second request for an id, found or not, is answered
				// from the cache.
				if got := rc.reads.Load() - reads; got > 1 || round == 1 && got != 0 {
					t.Errorf("round %d: %d store reads, want at most 1 the first time, 0 the second", round, got)
				}
			}
		})
	}
}

func httptestBody(s string) *readCloser { return &readCloser{strings.NewReader(s)} }

type readCloser struct{ *strings.Reader }

func (readCloser) Close() error { return nil }
