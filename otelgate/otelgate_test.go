package otelgate_test

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/tokengate/tokengate/introspect"
	"github.com/tokengate/tokengate/jwtaccess"
	"github.com/tokengate/tokengate/otelgate"
	"github.com/tokengate/tokengate/rs"
	"github.com/tokengate/tokengate/scopes"
)

const api = "https://api.example.com"

// env is a guard over introspect.New, both observed by one Telemetry on
// in-memory SDK providers, with an authorization server on loopback.
type env struct {
	tel     *otelgate.Telemetry
	guard   *rs.Guard
	metrics *sdkmetric.ManualReader
	spans   *tracetest.InMemoryExporter
	as      *httptest.Server
	httpc   *http.Client

	mu          sync.Mutex
	traceparent []string // the traceparent headers the AS received
}

// Tokens the fake authorization server knows.
const (
	goodToken = "tok-Zq8rW2vN5xY7"
	badToken  = "tok-inactive-3Hk9"
	downToken = "tok-down-Lp4T"
)

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{metrics: sdkmetric.NewManualReader(), spans: tracetest.NewInMemoryExporter()}
	e.as = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.traceparent = append(e.traceparent, r.Header.Get("Traceparent"))
		e.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch r.PostFormValue("token") {
		case goodToken:
			fmt.Fprintf(w, `{"active":true,"sub":"alice","client_id":"shop","scope":"orders:read","aud":%q,"exp":%d}`, api, time.Now().Add(time.Hour).Unix())
		case downToken:
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			fmt.Fprint(w, `{"active":false}`)
		}
	}))
	t.Cleanup(e.as.Close)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(e.spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(e.metrics))
	tel, err := otelgate.New(otelgate.Config{MeterProvider: mp, TracerProvider: tp, Propagator: propagation.TraceContext{}})
	if err != nil {
		t.Fatal(err)
	}
	e.tel = tel
	e.httpc = &http.Client{Timeout: 10 * time.Second, Transport: tel.Transport(nil)}
	verifier, err := introspect.New(introspect.Config{
		IntrospectionURL: e.as.URL + "/introspect?tenant=x", ClientID: "api", ClientSecret: "s3cret", HTTPClient: e.httpc, Observer: tel,
		Logger: slog.New(slog.DiscardHandler), Resilience: introspect.ResilienceConfig{MaxRetries: -1},
	})
	if err != nil {
		t.Fatal(err)
	}
	e.guard, err = rs.New(rs.Config{Introspector: tel.Introspector(verifier), Audiences: []string{api}, Observer: tel, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) check(t *testing.T, token string) {
	t.Helper()
	r := httptest.NewRequest("GET", "/orders", nil)
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	_, _ = e.guard.Check(r, scopes.All("orders:read"))
}

// points returns every data point of the metric name as "attributes=value".
func (e *env) points(t *testing.T, name string) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := e.metrics.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					out[p.Attributes.Encoded(attribute.DefaultEncoder())] = p.Value
				}
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					out[p.Attributes.Encoded(attribute.DefaultEncoder())] = p.Value
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					out[p.Attributes.Encoded(attribute.DefaultEncoder())] = int64(p.Count)
				}
			}
		}
	}
	return out
}

func wantPoints(t *testing.T, name string, got, want map[string]int64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %v, want %v", name, got, want)
		return
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %v, want %v", name, got, want)
			return
		}
	}
}

func TestMetrics(t *testing.T) {
	e := newEnv(t)
	for _, tok := range []string{goodToken, goodToken, badToken, badToken, "", downToken} {
		e.check(t, tok)
	}
	wantPoints(t, "decisions", e.points(t, "tokengate.rs.decisions"), map[string]int64{
		"http.response.status_code=200,tokengate.decision=allow,tokengate.decision.reason=ok":         2,
		"http.response.status_code=401,tokengate.decision=deny,tokengate.decision.reason=inactive":    2,
		"http.response.status_code=401,tokengate.decision=deny,tokengate.decision.reason=no_token":    1,
		"http.response.status_code=503,tokengate.decision=deny,tokengate.decision.reason=unavailable": 1,
	})
	wantPoints(t, "lookups", e.points(t, "tokengate.introspect.cache.lookups"), map[string]int64{
		"tokengate.cache.outcome=hit": 1, "tokengate.cache.outcome=miss": 3, "tokengate.cache.outcome=negative_hit": 1,
	})
	wantPoints(t, "AS calls", e.points(t, "tokengate.introspect.request.duration"), map[string]int64{
		"tokengate.introspect.outcome=active": 1, "tokengate.introspect.outcome=inactive": 1, "tokengate.introspect.outcome=unavailable": 1,
	})
	u := strings.TrimPrefix(e.as.URL, "http://")
	host, port, _ := strings.Cut(u, ":")
	base := "http.request.method=POST,http.response.status_code=%d,server.address=" + host + ",server.port=" + port + ",url.full=" + e.as.URL + "/introspect"
	wantPoints(t, "HTTP client", e.points(t, "http.client.request.duration"), map[string]int64{
		fmt.Sprintf(base, 200):                     2,
		"error.type=503," + fmt.Sprintf(base, 503): 1,
	})
}

// spanAttrs returns the attributes of the ended spans named name, in the
// order they ended.
func (e *env) spanAttrs(name string) []map[string]string {
	var out []map[string]string
	for _, s := range e.spans.GetSpans() {
		if s.Name != name {
			continue
		}
		m := map[string]string{"status": s.Status.Code.String(), "trace": s.SpanContext.TraceID().String(), "parent": s.Parent.SpanID().String(), "span": s.SpanContext.SpanID().String()}
		for _, kv := range s.Attributes {
			m[string(kv.Key)] = kv.Value.Emit()
		}
		out = append(out, m)
	}
	return out
}

func TestSpans(t *testing.T) {
	e := newEnv(t)
	for _, tok := range []string{goodToken, goodToken, badToken, badToken, downToken} {
		e.check(t, tok)
	}
	checks := e.spanAttrs("tokengate.introspect")
	want := []struct{ outcome, cache, status, errType string }{
		{"active", "miss", "Unset", ""},
		{"active", "hit", "Unset", ""},
		{"inactive", "miss", "Unset", ""},
		{"inactive", "negative_hit", "Unset", ""},
		{"unavailable", "miss", "Error", "unavailable"},
	}
	if len(checks) != len(want) {
		t.Fatalf("%d tokengate.introspect spans, want %d", len(checks), len(want))
	}
	for i, w := range want {
		c := checks[i]
		if c["tokengate.introspect.outcome"] != w.outcome || c["tokengate.cache.outcome"] != w.cache || c["status"] != w.status || c["error.type"] != w.errType {
			t.Errorf("check %d: %v, want %+v", i, c, w)
		}
	}
	posts := e.spanAttrs("POST")
	if len(posts) != 3 {
		t.Fatalf("%d POST spans, want 3 (one per miss)", len(posts))
	}
	parents := map[int]int{0: 0, 1: 2, 2: 4} // POST span i belongs to check j
	for i, j := range parents {
		p, c := posts[i], checks[j]
		if p["parent"] != c["span"] || p["trace"] != c["trace"] {
			t.Errorf("POST %d is not a child of check %d: %v, %v", i, j, p, c)
		}
		if p["url.full"] != e.as.URL+"/introspect" {
			t.Errorf("url.full = %q: the query must not be recorded", p["url.full"])
		}
		if !strings.Contains(e.traceparent[i], p["trace"]) || !strings.Contains(e.traceparent[i], p["span"]) {
			t.Errorf("the AS got traceparent %q, want the POST span's %s/%s", e.traceparent[i], p["trace"], p["span"])
		}
	}
	if posts[2]["error.type"] != "503" || posts[2]["status"] != "Error" || posts[2]["http.response.status_code"] != "503" {
		t.Errorf("a 503 from the AS: %v", posts[2])
	}
}

// TestJWKSFetchSpans: a local JWT validator given the Transport traces its
// metadata and JWK Set fetches under the check that caused them.
func TestJWKSFetchSpans(t *testing.T) {
	e := newEnv(t)
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	var issuer string
	keys := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/.well-known/oauth-authorization-server":
			fmt.Fprintf(w, `{"issuer":%q,"jwks_uri":%q}`, issuer, issuer+"/jwks")
		case "/jwks":
			_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key.Public(), KeyID: "k1", Algorithm: "EdDSA"}}})
		default:
			http.NotFound(w, r)
		}
	}))
	defer keys.Close()
	issuer = keys.URL
	v, err := jwtaccess.New(jwtaccess.Config{Issuer: issuer, Audiences: []string{api}, HTTPClient: e.httpc, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	token := mintJWT(t, key, issuer)
	if _, err := e.tel.Introspector(v).Introspect(context.Background(), token); err != nil {
		t.Fatal(err)
	}
	checks, gets := e.spanAttrs("tokengate.introspect"), e.spanAttrs("GET")
	if len(checks) != 1 || len(gets) != 2 {
		t.Fatalf("%d checks and %d GETs, want 1 and 2 (metadata, JWK Set)", len(checks), len(gets))
	}
	for i, path := range []string{"/.well-known/oauth-authorization-server", "/jwks"} {
		if gets[i]["url.full"] != issuer+path || gets[i]["parent"] != checks[0]["span"] || gets[i]["http.response.status_code"] != "200" {
			t.Errorf("GET %d: %v, want %s under the check %s", i, gets[i], path, checks[0]["span"])
		}
	}
	scanForToken(t, e, token)
}

func mintJWT(t *testing.T, key ed25519.PrivateKey, issuer string) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: jose.JSONWebKey{Key: key, KeyID: "k1"}},
		(&jose.SignerOptions{}).WithType("at+jwt"))
	if err != nil {
		t.Fatal(err)
	}
	claims, _ := json.Marshal(map[string]any{"iss": issuer, "sub": "alice", "client_id": "shop", "aud": api, "scope": "orders:read",
		"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(), "jti": "j1"})
	jws, err := signer.Sign(claims)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestNoTokenInTelemetry: no exported span attribute, span event or
// metric attribute holds a token, or any hash of one as this module
// computes them (rs's log field, the cache key).
func TestNoTokenInTelemetry(t *testing.T) {
	e := newEnv(t)
	for _, tok := range []string{goodToken, goodToken, badToken, downToken} {
		e.check(t, tok)
	}
	for _, tok := range []string{goodToken, badToken, downToken} {
		scanForToken(t, e, tok)
	}
}

// scanForToken fails t if anything e exported holds token or a hash of it.
func scanForToken(t *testing.T, e *env, token string) {
	t.Helper()
	sum := sha256.Sum256([]byte(token))
	forbidden := []string{token, hex.EncodeToString(sum[:]), hex.EncodeToString(sum[:8]), base64.RawURLEncoding.EncodeToString(sum[:]),
		base64.StdEncoding.EncodeToString(sum[:]), string(sum[:])}
	check := func(where string, kvs []attribute.KeyValue) {
		for _, kv := range kvs {
			v := kv.Value.Emit()
			for _, f := range forbidden {
				if strings.Contains(v, f) || strings.Contains(string(kv.Key), f) {
					t.Errorf("%s: attribute %s = %q holds the token or its hash", where, kv.Key, v)
				}
			}
		}
	}
	spans := e.spans.GetSpans()
	if len(spans) == 0 {
		t.Fatal("no spans to scan")
	}
	for _, s := range spans {
		check("span "+s.Name, s.Attributes)
		check("resource", s.Resource.Attributes())
		for _, ev := range s.Events {
			check("span event "+ev.Name, ev.Attributes)
		}
		for _, f := range forbidden {
			if strings.Contains(s.Name, f) || strings.Contains(s.Status.Description, f) {
				t.Errorf("span %q (status %q) holds the token or its hash", s.Name, s.Status.Description)
			}
		}
	}
	var rm metricdata.ResourceMetrics
	if err := e.metrics.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			var sets []attribute.Set
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					sets = append(sets, p.Attributes)
				}
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					sets = append(sets, p.Attributes)
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					sets = append(sets, p.Attributes)
				}
			default:
				t.Errorf("metric %s has data of type %T, which the scan does not read", m.Name, m.Data)
			}
			for _, s := range sets {
				n++
				check("metric "+m.Name, s.ToSlice())
			}
		}
	}
	if n == 0 {
		t.Fatal("no metric points to scan")
	}
}

// TestCacheHitAllocations: observing a cache hit, with the SDK behind
// the API, allocates nothing.
func TestCacheHitAllocations(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	hit := introspect.Event{Kind: introspect.EventCacheHit}
	e.tel.ObserveContext(ctx, hit)
	if n := testing.AllocsPerRun(100, func() { e.tel.ObserveContext(ctx, hit) }); n != 0 {
		t.Errorf("a cache hit allocates %v times, want 0", n)
	}
	ok := rs.Decision{Status: 200, Reason: "ok"}
	if n := testing.AllocsPerRun(100, func() { e.tel.ObserveDecision(ok) }); n != 0 {
		t.Errorf("a decision allocates %v times, want 0", n)
	}
}
