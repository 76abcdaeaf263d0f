package provider_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokengate/tokengate/provider"
	"github.com/tokengate/tokengate/provider/store"
	"github.com/tokengate/tokengate/provider/store/sqlite"
)

// clock is a settable fake clock.
type clock struct {
	mu sync.Mutex // guards t
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now().Truncate(time.Second)} }

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

// env is a provider behind a loopback httptest server.
type env struct {
	t      testing.TB
	p      *provider.Provider
	srv    *httptest.Server
	clock  *clock
	issuer string
}

type envOption func(*provider.Config)

func memoryStore(testing.TB) store.Store { return store.NewMemory() }

func sqliteStore(t testing.TB) store.Store {
	return sqliteStoreAt(t, filepath.Join(t.TempDir(), "tokengate.db"))
}

// sqliteStoreAt opens the database at path; two calls with one path act as
// two processes sharing the file.
func sqliteStoreAt(t testing.TB, path string) store.Store {
	s, err := sqlite.Open(sqlite.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var stores = map[string]func(testing.TB) store.Store{"memory": memoryStore, "sqlite": sqliteStore}

func newEnv(t testing.TB, st store.Store, opts ...envOption) *env {
	t.Helper()
	var h atomic.Pointer[provider.Provider]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.Load().ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	clk := newClock()
	cfg := provider.Config{Issuer: srv.URL, Store: st, Now: clk.Now, KeyAlgorithms: []string{provider.AlgES256, provider.AlgEdDSA},
		Logger: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(&cfg)
	}
	p, err := provider.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	h.Store(p)
	return &env{t: t, p: p, srv: srv, clock: clk, issuer: srv.URL}
}

type registered struct {
	id, secret string
	client     *provider.Client
}

func (e *env) register(spec provider.ClientSpec) registered {
	e.t.Helper()
	c, secret, err := e.p.Admin().RegisterClient(context.Background(), spec)
	if err != nil {
		e.t.Fatal(err)
	}
	return registered{id: c.ID, secret: secret, client: c}
}

// answer is a decoded HTTP answer.
type answer struct {
	status int
	header http.Header
	body   string
}

func (a answer) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(a.body), &m); err != nil {
		t.Fatalf("body %q is not JSON: %v", a.body, err)
	}
	return m
}

// req describes a request to an endpoint.
type req struct {
	method      string // default POST
	path        string
	form        string // raw body
	contentType string // default form
	basic       [2]string
	rawAuth     string
	accept      string
	from        string // X-Test-From, the address of withAddresses
}

// withAddresses makes X-Test-From the request's address for throttling, so
// that one loopback test can play several hosts.
func withAddresses(c *provider.Config) {
	c.ClientAddress = func(r *http.Request) string { return r.Header.Get("X-Test-From") }
}

func basic(id, secret string) [2]string { return [2]string{id, secret} }

// basicHeader form-urlencodes id and secret as RFC 6749 §2.3.1 says.
func basicHeader(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}

func rawBasicHeader(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))
}

func (e *env) do(r req) answer {
	e.t.Helper()
	method := r.method
	if method == "" {
		method = http.MethodPost
	}
	hr, err := http.NewRequest(method, e.issuer+r.path, strings.NewReader(r.form))
	if err != nil {
		e.t.Fatal(err)
	}
	ct := r.contentType
	if ct == "" {
		ct = "application/x-www-form-urlencoded"
	}
	hr.Header.Set("Content-Type", ct)
	if r.basic[0] != "" {
		hr.Header.Set("Authorization", basicHeader(r.basic[0], r.basic[1]))
	}
	if r.rawAuth != "" {
		hr.Header.Set("Authorization", r.rawAuth)
	}
	if r.accept != "" {
		hr.Header.Set("Accept", r.accept)
	}
	if r.from != "" {
		hr.Header.Set("X-Test-From", r.from)
	}
	res, err := e.srv.Client().Do(hr)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return answer{status: res.StatusCode, header: res.Header, body: string(b)}
}

func form(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v.Encode()
}

// token gets an access token with the client credentials grant.
func (e *env) token(c registered, kv ...string) string {
	e.t.Helper()
	a := e.do(req{path: "/token", basic: basic(c.id, c.secret), form: form(append([]string{"grant_type", "client_credentials"}, kv...)...)})
	if a.status != http.StatusOK {
		e.t.Fatalf("token: %d %s", a.status, a.body)
	}
	return a.json(e.t)["access_token"].(string)
}

// introspect asks as caller and returns the answer.
func (e *env) introspect(caller registered, token string) answer {
	e.t.Helper()
	return e.do(req{path: "/introspect", basic: basic(caller.id, caller.secret), form: form("token", token)})
}
