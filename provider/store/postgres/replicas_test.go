package postgres_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/testserver"
	"github.com/tokengate/tokengate/provider"
	"github.com/tokengate/tokengate/provider/store"
)

// clock is a fake clock both replicas share, as machines share real time.
type clock struct {
	mu sync.Mutex // guards t
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// replica is one provider process: its own store handle (pool) on the
// shared database, its own caches, its own HTTP server.
type replica struct {
	t   *testing.T
	p   *provider.Provider
	srv *httptest.Server
}

const (
	issuer         = "https://as.example" // the one issuer the replicas serve, behind a balancer
	clientCacheTTL = 2 * time.Second
	keyRefresh     = 30 * time.Second
)

func newReplica(t *testing.T, dsn string, clk *clock) *replica {
	t.Helper()
	p, err := provider.New(provider.Config{Issuer: issuer, Store: open(t, dsn), Now: clk.Now,
		KeyAlgorithms: []string{provider.AlgES256}, ClientCacheTTL: clientCacheTTL, KeyRefreshInterval: keyRefresh,
		ManualSweep: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return &replica{t: t, p: p, srv: srv}
}

// post sends a form to path, authenticated as id:secret, and returns the
// status and the decoded JSON answer.
func (r *replica) post(path, id, secret string, form url.Values) (int, map[string]any) {
	r.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, r.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	res, err := r.srv.Client().Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	var m map[string]any
	if len(body) > 0 {
		if err := json.Unmarshal(body, &m); err != nil {
			r.t.Fatalf("%s: %d %q is not JSON", path, res.StatusCode, body)
		}
	}
	return res.StatusCode, m
}

// token gets a token with the client credentials grant; status 200 or not.
func (r *replica) token(id, secret string) (int, string) {
	r.t.Helper()
	status, m := r.post("/token", id, secret, url.Values{"grant_type": {"client_credentials"}})
	tok, _ := m["access_token"].(string)
	return status, tok
}

// active introspects tok as the resource server rs.
func (r *replica) active(rs [2]string, tok string) bool {
	r.t.Helper()
	status, m := r.post("/introspect", rs[0], rs[1], url.Values{"token": {tok}})
	if status != http.StatusOK {
		r.t.Fatalf("introspect: %d %v", status, m)
	}
	return m["active"] == true
}

// TestReplicas runs two providers, A and B, on one PostgreSQL database,
// each with its own pool and caches, as two replicas behind a balancer: a
// token issued at A is active at B at once; one revoked at B is inactive at
// A at once; a client deleted at A is refused at B once ClientCacheTTL has
// passed (its tokens inactive at once); a key rotated at A signs at B once
// KeyRefreshInterval has passed.
func TestReplicas(t *testing.T) {
	ctx := context.Background()
	dsn := testserver.SharedPostgres(t)
	clk := &clock{t: time.Now().Truncate(time.Second)}
	a, b := newReplica(t, dsn, clk), newReplica(t, dsn, clk)
	register := func(spec provider.ClientSpec) [2]string {
		c, secret, err := a.p.Admin().RegisterClient(ctx, spec)
		if err != nil {
			t.Fatal(err)
		}
		return [2]string{c.ID, secret}
	}
	const api = "https://api.example/"
	app := register(provider.ClientSpec{Name: "app", Scopes: []string{"read"}, Resources: []string{api}})
	jwtApp := register(provider.ClientSpec{Name: "jwt app", Scopes: []string{"read"}, Resources: []string{api}, JWTAccessTokens: true})
	rs := register(provider.ClientSpec{Name: "api", Introspection: store.IntrospectAny})

	t.Run("issued at A, active at B", func(t *testing.T) {
		status, tok := a.token(app[0], app[1])
		if status != http.StatusOK {
			t.Fatalf("token at A: %d", status)
		}
		if !b.active(rs, tok) {
			t.Error("a token issued at A is not active at B")
		}
	})

	t.Run("revoked at B, inactive at A", func(t *testing.T) {
		_, tok := a.token(app[0], app[1])
		if !a.active(rs, tok) {
			t.Fatal("a new token is not active at A")
		}
		if status, m := b.post("/revoke", app[0], app[1], url.Values{"token": {tok}}); status != http.StatusOK {
			t.Fatalf("revoke at B: %d %v", status, m)
		}
		if a.active(rs, tok) {
			t.Error("a token revoked at B is still active at A")
		}
	})

	t.Run("key rotated at A, signs at B", func(t *testing.T) {
		kid := func(r *replica) string {
			status, tok := r.token(jwtApp[0], jwtApp[1])
			if status != http.StatusOK {
				t.Fatalf("JWT token: %d", status)
			}
			head, _, _ := strings.Cut(tok, ".")
			raw, err := base64.RawURLEncoding.DecodeString(head)
			var h struct{ Kid string }
			if err != nil || json.Unmarshal(raw, &h) != nil || h.Kid == "" {
				t.Fatalf("JWT header %q: %v", raw, err)
			}
			return h.Kid
		}
		before := kid(b)
		if err := a.p.Admin().RotateKeys(ctx, provider.AlgES256); err != nil {
			t.Fatal(err)
		}
		if got := kid(a); got == before {
			t.Fatalf("A signs with %s after rotating it out", got)
		}
		clk.Add(keyRefresh)
		if got, want := kid(b), kid(a); got != want {
			t.Errorf("KeyRefreshInterval after the rotation at A, B signs with %s, A with %s", got, want)
		}
	})

	t.Run("client deleted at A, refused at B", func(t *testing.T) {
		status, tok := b.token(app[0], app[1]) // B has the client in its cache
		if status != http.StatusOK {
			t.Fatalf("token at B: %d", status)
		}
		if err := a.p.Admin().DeleteClient(ctx, app[0]); err != nil {
			t.Fatal(err)
		}
		if b.active(rs, tok) {
			t.Error("a token of a client deleted at A is still active at B")
		}
		if status, _ := b.token(app[0], app[1]); status == http.StatusOK {
			t.Error("B issued a token, while its cache still held the client, for a client deleted at A")
		}
		clk.Add(clientCacheTTL)
		if status, m := b.post("/token", app[0], app[1], url.Values{"grant_type": {"client_credentials"}}); status != http.StatusUnauthorized || m["error"] != "invalid_client" {
			t.Errorf("ClientCacheTTL after deleting the client at A, B answers %d %v; want 401 invalid_client", status, m)
		}
	})
}
