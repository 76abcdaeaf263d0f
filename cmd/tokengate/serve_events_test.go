package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/envconfig"
	"github.com/tokengate/tokengate/scopes"
)

// TestServeRevocationEvents: the examples' settings with
// TOKENGATE_REVOCATION_EVENTS=on work against "tokengate serve": the
// service starts (serve advertises revocation_events_endpoint and accepts
// the API's introspection credentials there), and a token it has cached as
// active, revoked with "tokengate revoke", is refused within seconds
// instead of after the cache's 2 minutes.
func TestServeRevocationEvents(t *testing.T) {
	db := filepath.Join(t.TempDir(), "tokengate.db")
	issuer, _ := startServe(t, "--addr", "127.0.0.1:0", "--db", db)
	const api = "https://api.example/orders"
	appID, appSecret := createClient(t, db, "--name", "app", "--scopes", "orders:read", "--resource", api)
	rsID, rsSecret := createClient(t, db, "--name", "orders API", "--introspect", "--resource", api)

	env := map[string]string{"TOKENGATE_ISSUER": issuer, "TOKENGATE_CLIENT_ID": rsID, "TOKENGATE_CLIENT_SECRET": rsSecret,
		"TOKENGATE_AUDIENCE": api, "TOKENGATE_REVOCATION_EVENTS": "on"}
	cfg, err := envconfig.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	svc, err := cfg.Build(slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	if err := svc.Ping(context.Background()); err != nil {
		t.Fatalf("the service does not start against tokengate serve with TOKENGATE_REVOCATION_EVENTS=on: %v", err)
	}

	r := runCLI(t, "", nil, "token", "--issuer", issuer, "--client-id", appID, "--client-secret", appSecret, "--scope", "orders:read")
	if r.code != exitOK {
		t.Fatalf("token: code %d: %s", r.code, r.stderr)
	}
	token := strings.TrimSpace(r.stdout)
	check := func() error {
		req := httptest.NewRequest("GET", "/api/orders", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		_, err := svc.Guard.Check(req, scopes.Requirement{})
		return err
	}
	if err := check(); err != nil {
		t.Fatalf("before its revocation: %v", err)
	}
	if r := runCLI(t, "", nil, "revoke", "--issuer", issuer, "--client-id", appID, "--client-secret", appSecret, token); r.code != exitOK {
		t.Fatalf("revoke: code %d: %s", r.code, r.stderr)
	}
	start := time.Now()
	for check() == nil {
		if time.Since(start) > 10*time.Second {
			t.Fatal("the revoked token is still accepted 10 s later (the cache keeps verdicts 2 minutes)")
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("refused %v after tokengate revoke returned", time.Since(start))
}

// TestServeStopsWithHeldPolls: a resource server's poll held at the events
// endpoint does not hold up the shutdown: it is answered (200, no SET) and
// serve exits 0 (http.Server.Shutdown would otherwise wait for it past
// its deadline and fail).
func TestServeStopsWithHeldPolls(t *testing.T) {
	db := filepath.Join(t.TempDir(), "tokengate.db")
	issuer, stop := startServe(t, "--addr", "127.0.0.1:0", "--db", db)
	rsID, rsSecret := createClient(t, db, "--name", "orders API", "--introspect")
	answered := make(chan string, 1)
	sent := make(chan struct{})
	go func() {
		// Once the request is written, the server answers it even if it
		// starts shutting down (Shutdown waits for new connections too).
		var once sync.Once
		trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { once.Do(func() { close(sent) }) }}
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace),
			http.MethodPost, issuer+"/events", strings.NewReader(`{}`))
		req.Header.Set("Content-Type", "application/json")
		req.SetBasicAuth(rsID, rsSecret)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			answered <- err.Error()
			return
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		answered <- fmt.Sprint(res.StatusCode, " ", string(b))
	}()
	<-sent
	time.Sleep(200 * time.Millisecond) // the poll is held: nothing to send
	select {
	case a := <-answered:
		t.Fatalf("a poll with nothing to send was answered at once: %s", a)
	default:
	}
	if code, logs := stop(); code != exitOK {
		t.Fatalf("serve exited with %d while a poll was held:\n%s", code, logs)
	}
	if a := <-answered; !strings.HasPrefix(a, "200 ") || !strings.Contains(a, `"cursor"`) {
		t.Errorf("the held poll was answered %q; want 200 with a cursor", a)
	}
}
