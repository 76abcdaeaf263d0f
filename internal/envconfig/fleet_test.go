package envconfig_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tokengate/tokengate/internal/envconfig"
	"github.com/tokengate/tokengate/internal/testserver"
	"github.com/tokengate/tokengate/scopes"
)

func TestMain(m *testing.M) { testserver.Main(m) }

const testSharedKey = "c2hhcmVkLWNhY2hlLWtleS1mb3ItdGVzdHMtb25seQ=="

func TestLoadFleet(t *testing.T) {
	base := func(kv ...string) map[string]string {
		env := map[string]string{"TOKENGATE_ISSUER": "https://as.example.com", "TOKENGATE_CLIENT_ID": "api", "TOKENGATE_CLIENT_SECRET": "s"}
		for i := 0; i < len(kv); i += 2 {
			env[kv[i]] = kv[i+1]
		}
		return env
	}
	for _, tt := range []struct {
		name    string
		env     map[string]string
		wantErr string
		check   func(*testing.T, *envconfig.Config)
	}{
		{"redis and a key", base("TOKENGATE_REDIS_URL", "redis://127.0.0.1:6379/0", "TOKENGATE_SHARED_CACHE_KEY", testSharedKey+", "+strings.Repeat("k", 32)), "",
			func(t *testing.T, c *envconfig.Config) {
				if c.RedisURL == "" || len(c.SharedKeys) != 2 || string(c.SharedKeys[0]) != testSharedKey {
					t.Errorf("redis %q, keys %q", c.RedisURL, c.SharedKeys)
				}
			}},
		{"redis without a key", base("TOKENGATE_REDIS_URL", "redis://127.0.0.1:6379/0"), "needs TOKENGATE_SHARED_CACHE_KEY", nil},
		{"a key without redis", base("TOKENGATE_SHARED_CACHE_KEY", testSharedKey), "TOKENGATE_REDIS_URL is not", nil},
		{"a short key", base("TOKENGATE_REDIS_URL", "redis://127.0.0.1:6379/0", "TOKENGATE_SHARED_CACHE_KEY", "short"), "key 1 is 5 characters", nil},
		{"not a redis URL, password kept out", base("TOKENGATE_REDIS_URL", "http://u:hunter2@h", "TOKENGATE_SHARED_CACHE_KEY", testSharedKey), "not a Redis URL", nil},
		{"events on", base("TOKENGATE_REVOCATION_EVENTS", "on"), "", func(t *testing.T, c *envconfig.Config) {
			if !c.RevocationEvents {
				t.Error("events are off")
			}
		}},
		{"events without an issuer", map[string]string{"TOKENGATE_INTROSPECTION_URL": "https://as.example.com/i", "TOKENGATE_CLIENT_ID": "api",
			"TOKENGATE_CLIENT_SECRET": "s", "TOKENGATE_REVOCATION_EVENTS": "on"}, "needs TOKENGATE_ISSUER", nil},
		{"events with a bearer token", map[string]string{"TOKENGATE_ISSUER": "https://as.example.com", "TOKENGATE_BEARER_TOKEN": "t",
			"TOKENGATE_REVOCATION_EVENTS": "on"}, "needs TOKENGATE_CLIENT_ID and TOKENGATE_CLIENT_SECRET", nil},
		{"events: a typo", base("TOKENGATE_REVOCATION_EVENTS", "yes"), `want on or off`, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := envconfig.Load(func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), "hunter2") {
					t.Fatalf("Load = %v, want an error about %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

// fleetAS is an authorization server for the fleet tests: metadata (with
// or without the event endpoint), introspection that counts its calls, and
// an event endpoint that answers at once with nothing.
type fleetAS struct {
	srv      *httptest.Server
	calls    atomic.Int64
	noEvents bool
}

func newFleetAS(t *testing.T, noEvents bool) *fleetAS {
	a := &fleetAS{noEvents: noEvents}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/.well-known/oauth-authorization-server":
			events := ""
			if !a.noEvents {
				events = fmt.Sprintf(`,"revocation_events_endpoint":%q`, a.srv.URL+"/events")
			}
			fmt.Fprintf(w, `{"issuer":%q,"introspection_endpoint":%q,"jwks_uri":%q%s}`, a.srv.URL, a.srv.URL+"/introspect", a.srv.URL+"/jwks", events)
		case "/introspect":
			if r.PostFormValue("token") == "good" {
				a.calls.Add(1)
				io.WriteString(w, `{"active":true,"sub":"alice","exp":4102444800}`)
				return
			}
			io.WriteString(w, `{"active":false}`)
		case "/jwks":
			io.WriteString(w, `{"keys":[]}`)
		case "/events":
			if id, secret, _ := r.BasicAuth(); id != "api" || secret != "s" {
				w.WriteHeader(401)
				return
			}
			io.WriteString(w, `{"sets":{},"cursor":"0"}`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(a.srv.Close)
	return a
}

func buildFleet(t *testing.T, env map[string]string) (*envconfig.Service, error) {
	t.Helper()
	cfg, err := envconfig.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	svc, err := cfg.Build(slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	return svc, svc.Ping(context.Background())
}

// TestBuildFleet: two replicas sharing Redis introspect a token once
// between them; with TOKENGATE_REVOCATION_EVENTS=on the start-up check
// fails when the issuer advertises no event endpoint, saying which
// setting it is about.
func TestBuildFleet(t *testing.T) {
	redis := testserver.SharedRedis(t)
	as := newFleetAS(t, false)
	env := map[string]string{"TOKENGATE_ISSUER": as.srv.URL, "TOKENGATE_CLIENT_ID": "api", "TOKENGATE_CLIENT_SECRET": "s",
		"TOKENGATE_REDIS_URL": redis.URL(), "TOKENGATE_SHARED_CACHE_KEY": testSharedKey, "TOKENGATE_REVOCATION_EVENTS": "on"}
	var replicas []*envconfig.Service
	for range 2 {
		svc, err := buildFleet(t, env)
		if err != nil {
			t.Fatalf("Ping: %v", err)
		}
		replicas = append(replicas, svc)
	}
	for i, svc := range replicas {
		r := httptest.NewRequest("GET", "/api/orders", nil)
		r.Header.Set("Authorization", "Bearer good")
		if _, err := svc.Guard.Check(r, scopes.Requirement{}); err != nil {
			t.Fatalf("replica %d: %v", i, err)
		}
	}
	if n := as.calls.Load(); n != 1 {
		t.Errorf("the AS was asked %d times about the token by two replicas sharing Redis, want 1", n)
	}

	quiet := newFleetAS(t, true)
	env["TOKENGATE_ISSUER"] = quiet.srv.URL
	if _, err := buildFleet(t, env); err == nil || !strings.Contains(err.Error(), "TOKENGATE_REVOCATION_EVENTS=on") ||
		!strings.Contains(err.Error(), "revocation_events_endpoint") {
		t.Errorf("Ping against an issuer without events = %v", err)
	}
}
