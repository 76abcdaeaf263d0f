package postgres_test

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/testserver"
	"github.com/tokengate/tokengate/provider"
	"github.com/tokengate/tokengate/provider/store"
)

// ledger is what the load learned for sure: tokens issued (answered 200)
// and tokens whose revocation was answered 200. A revocation answered 503
// may or may not have been committed (the connection can drop during the
// commit), so such a token is only "maybe revoked".
type ledger struct {
	mu      sync.Mutex // guards the fields below
	issued  []string
	revoked map[string]bool // true: revocation answered 200; false: maybe
}

// pick returns an issued token, whether its revocation was answered 200,
// and whether one was begun but not (yet) answered 200.
func (l *ledger) pick() (tok string, revoked, maybe bool) {
	l.mu.Lock()
	tok = l.issued[rand.IntN(len(l.issued))]
	l.mu.Unlock()
	return l.state(tok)
}

func (l *ledger) state(tok string) (string, bool, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	sure, begun := l.revoked[tok]
	return tok, sure, begun && !sure
}

// TestRestartUnderLoad stops PostgreSQL under load and starts it again: while
// it is away, the provider answers 503 (never 500, never a verdict that
// contradicts what was committed: a token whose revocation was answered
// 200 is never active); once it is back, the provider recovers by itself,
// and every token issued and every revocation answered 200 before, during
// or after the outage is there.
func TestRestartUnderLoad(t *testing.T) {
	pg, err := testserver.StartPostgres()
	if err != nil {
		t.Fatalf("PostgreSQL is needed and could not be started: %v", err)
	}
	t.Cleanup(pg.Close)
	dsn, err := pg.CreateDatabase()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	p, err := provider.New(provider.Config{Issuer: issuer, Store: open(t, dsn), KeyAlgorithms: []string{provider.AlgES256},
		TokensPerMinute: 1 << 20, ManualSweep: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	r := &replica{t: t, p: p, srv: srv}
	app, appSecret, err := p.Admin().RegisterClient(ctx, provider.ClientSpec{Name: "app", Scopes: []string{"read"}})
	if err != nil {
		t.Fatal(err)
	}
	rsClient, rsSecret, err := p.Admin().RegisterClient(ctx, provider.ClientSpec{Name: "api", Introspection: store.IntrospectAny})
	if err != nil {
		t.Fatal(err)
	}
	rs := [2]string{rsClient.ID, rsSecret}

	l := &ledger{revoked: map[string]bool{}}
	for range 20 {
		status, tok := r.token(app.ID, appSecret)
		if status != http.StatusOK {
			t.Fatalf("token: %d", status)
		}
		l.issued = append(l.issued, tok)
	}

	// counts of answers by kind, and the wrong ones.
	var ok, unavailable, wrong atomic.Int64
	answer := func(what string, status int, m map[string]any) bool {
		switch status {
		case http.StatusOK:
			ok.Add(1)
			return true
		case http.StatusServiceUnavailable:
			unavailable.Add(1)
			if m["error"] != "temporarily_unavailable" {
				wrong.Add(1)
				t.Errorf("%s: 503 %v, want temporarily_unavailable", what, m)
			}
		default:
			wrong.Add(1)
			t.Errorf("%s: %d %v, want 200 or 503", what, status, m)
		}
		return false
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				switch n := rand.IntN(10); {
				case n == 0: // issue
					status, m := r.post("/token", app.ID, appSecret, url.Values{"grant_type": {"client_credentials"}})
					if answer("token", status, m) {
						l.mu.Lock()
						l.issued = append(l.issued, m["access_token"].(string))
						l.mu.Unlock()
					}
				case n == 1: // revoke
					tok, _, _ := l.pick()
					l.mu.Lock()
					l.revoked[tok] = l.revoked[tok] // maybe revoked from now on
					l.mu.Unlock()
					status, m := r.post("/revoke", app.ID, appSecret, url.Values{"token": {tok}})
					l.mu.Lock()
					l.revoked[tok] = l.revoked[tok] || answer("revoke", status, m)
					l.mu.Unlock()
				default: // introspect
					tok, revoked, maybe := l.pick()
					status, m := r.post("/introspect", rs[0], rs[1], url.Values{"token": {tok}})
					// A revocation may have begun meanwhile.
					_, revokedAfter, maybeAfter := l.state(tok)
					begunMeanwhile := !revoked && (revokedAfter || maybeAfter)
					if answer("introspect", status, m) && !maybe && !begunMeanwhile && m["active"] == revoked {
						wrong.Add(1)
						t.Errorf("introspect: active %v for a token revoked: %v", m["active"], revoked)
					}
				}
			}
		})
	}

	time.Sleep(300 * time.Millisecond)
	okBefore := ok.Load()
	pg.Stop()
	time.Sleep(time.Second)
	unavailableWhileDown := unavailable.Load()
	if err := pg.Start(); err != nil {
		close(stop)
		wg.Wait()
		t.Fatal(err)
	}
	// Recovered by itself: 200s again within a few seconds.
	okAtStart := ok.Load()
	deadline := time.Now().Add(10 * time.Second)
	for ok.Load() < okAtStart+50 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	t.Logf("answers: %d ok (%d before the stop), %d unavailable (%d while down), %d wrong",
		ok.Load(), okBefore, unavailable.Load(), unavailableWhileDown, wrong.Load())
	if okBefore == 0 || unavailableWhileDown == 0 {
		t.Errorf("the load did not see both the database up (%d ok) and down (%d unavailable)", okBefore, unavailableWhileDown)
	}
	if ok.Load() < okAtStart+50 {
		t.Fatalf("10 s after PostgreSQL came back, %d answers were 200; want 50", ok.Load()-okAtStart)
	}

	// Nothing committed was lost.
	for _, tok := range l.issued {
		revoked, maybe := l.revoked[tok]
		status, m := r.post("/introspect", rs[0], rs[1], url.Values{"token": {tok}})
		if status != http.StatusOK {
			t.Fatalf("introspect after recovery: %d %v", status, m)
		}
		if active := m["active"] == true; revoked && active || !maybe && !active {
			t.Errorf("after recovery a token is active: %v; its revocation was answered 200: %v", active, revoked)
		}
	}
}
