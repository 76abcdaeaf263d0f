//go:build interop

package interop

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/testserver"
	"github.com/tokengate/tokengate/introspect"
	"github.com/tokengate/tokengate/provider"
	"github.com/tokengate/tokengate/provider/store"
	"github.com/tokengate/tokengate/provider/store/postgres"
	"github.com/tokengate/tokengate/provider/store/sqlite"
	"github.com/tokengate/tokengate/revocationfeed"
)

// BenchmarkRevocationFleet measures revocation latency across a fleet
// (issue 13): two provider replicas share a store (PostgreSQL, or one
// SQLite file) behind one issuer URL, a round-robin balancer on loopback,
// so that a replica's commit must wake polls held by the other; three
// resource-server replicas each cache verdicts (introspect.Cache, MaxTTL 2
// minutes) and subscribe to the events (revocationfeed), under a load of
// cached requests. Each iteration issues a token, has every replica cache
// it as active, revokes it (RFC 7009, through the balancer), and measures
// the time from the revocation request until every replica refuses the
// token (each replica is asked every millisecond). Without events that
// time is the cache's MaxTTL: 2 minutes. The same fleet with one provider
// replica, in the same run, shows what waking polls across replicas costs.
//
//	go test -tags interop ./interop -run XXX -bench RevocationFleet -benchtime 50x
//
// It reports p50, p99 and max of the iterations (p99 of 50 is the
// second-worst), the median of the revocation request alone (its durable
// commit included), and the load served. scripts/bench-revocation.sh runs
// it.
func BenchmarkRevocationFleet(b *testing.B) {
	pg, err := testserver.StartPostgres()
	if err != nil {
		b.Fatalf("PostgreSQL: %v", err)
	}
	defer pg.Close()
	for _, providers := range []int{2, 1} {
		b.Run(fmt.Sprintf("postgres/providers=%d", providers), func(b *testing.B) {
			dsn, err := pg.CreateDatabase()
			if err != nil {
				b.Fatal(err)
			}
			benchmarkFleet(b, providers, func() store.Store {
				s, err := postgres.Open(context.Background(), postgres.Config{DSN: dsn})
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { s.Close() })
				return s
			})
		})
	}
	b.Run("sqlite/providers=2", func(b *testing.B) {
		path := filepath.Join(b.TempDir(), "tokengate.db")
		benchmarkFleet(b, 2, func() store.Store {
			s, err := sqlite.Open(sqlite.Config{Path: path})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			return s
		})
	})
}

// fleetRSReplicas is how many resource-server replicas the fleet has, and
// fleetLoaders how many goroutines load each with cached requests.
const (
	fleetRSReplicas = 3
	fleetLoaders    = 2
)

// benchmarkFleet runs the fleet with n provider replicas on stores made by
// open.
func benchmarkFleet(b *testing.B, n int, open func() store.Store) {
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)
	// The provider replicas behind one issuer: a round-robin balancer.
	replicas := make([]atomic.Pointer[provider.Provider], n)
	var next atomic.Uint64
	lb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		replicas[next.Add(1)%uint64(n)].Load().ServeHTTP(w, r)
	}))
	defer lb.Close()
	for i := range replicas {
		p, err := provider.New(provider.Config{Issuer: lb.URL, Store: open(), Logger: quiet, ManualSweep: true,
			TokensPerMinute: 1 << 20, KeyAlgorithms: []string{provider.AlgES256}})
		if err != nil {
			b.Fatal(err)
		}
		defer p.Close()
		replicas[i].Store(p)
	}
	const api = "https://orders.example/"
	admin := replicas[0].Load().Admin()
	app, appSecret, err := admin.RegisterClient(ctx, provider.ClientSpec{Name: "app", Resources: []string{api}})
	if err != nil {
		b.Fatal(err)
	}
	rsClient, rsSecret, err := admin.RegisterClient(ctx, provider.ClientSpec{Name: "orders-api",
		Introspection: store.IntrospectOwnAudience, Resources: []string{api}})
	if err != nil {
		b.Fatal(err)
	}
	httpClient := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	token := func() string {
		b.Helper()
		v, err := tokenRequest(httpClient, lb.URL+"/token", app.ID, appSecret, url.Values{"grant_type": {"client_credentials"}, "resource": {api}})
		if err != nil {
			b.Fatal(err)
		}
		return v
	}

	// Three resource-server replicas.
	caches := make([]*introspect.Cache, fleetRSReplicas)
	for i := range caches {
		c, err := introspect.NewClient(introspect.Config{Issuer: lb.URL, ClientID: rsClient.ID, ClientSecret: rsSecret, HTTPClient: httpClient})
		if err != nil {
			b.Fatal(err)
		}
		if caches[i], err = introspect.NewCache(c, introspect.CacheConfig{}); err != nil {
			b.Fatal(err)
		}
		feed, err := revocationfeed.New(revocationfeed.Config{Issuer: lb.URL, ClientID: rsClient.ID, ClientSecret: rsSecret,
			Cache: caches[i], Logger: quiet})
		if err != nil {
			b.Fatal(err)
		}
		defer feed.Close()
		if err := feed.Ping(ctx); err != nil {
			b.Fatal(err)
		}
	}

	// The load: cached requests for warm tokens on every replica.
	warm := make([]string, 20)
	for i := range warm {
		warm[i] = token()
	}
	stop := make(chan struct{})
	var loaders sync.WaitGroup
	var served atomic.Int64
	for _, c := range caches {
		for l := range fleetLoaders {
			loaders.Go(func() {
				for i := l; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					if _, err := c.Introspect(ctx, warm[i%len(warm)]); err == nil {
						served.Add(1)
					}
					time.Sleep(100 * time.Microsecond)
				}
			})
		}
	}
	defer func() { close(stop); loaders.Wait() }()

	var took, revoking []time.Duration
	start := time.Now()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		tok := token()
		for _, c := range caches {
			if _, err := c.Introspect(ctx, tok); err != nil {
				b.Fatalf("a fresh token: %v", err)
			}
		}
		b.StartTimer()
		t0 := time.Now()
		if err := revokeRequest(httpClient, lb.URL+"/revoke", app.ID, appSecret, tok); err != nil {
			b.Fatal(err)
		}
		revoking = append(revoking, time.Since(t0))
		var wg sync.WaitGroup
		last := make([]time.Duration, len(caches))
		for i, c := range caches {
			wg.Go(func() {
				for {
					if _, err := c.Introspect(ctx, tok); errors.Is(err, introspect.ErrInactive) {
						last[i] = time.Since(t0)
						return
					}
					if time.Since(t0) > 30*time.Second {
						last[i] = time.Since(t0)
						return
					}
					time.Sleep(time.Millisecond)
				}
			})
		}
		wg.Wait()
		took = append(took, slices.Max(last))
	}
	b.StopTimer()
	slices.Sort(took)
	pct := func(p float64) time.Duration { return took[min(len(took)-1, int(p*float64(len(took))))] }
	b.ReportMetric(float64(pct(0.50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(pct(0.99).Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(took[len(took)-1].Microseconds())/1000, "max-ms")
	slices.Sort(revoking)
	b.ReportMetric(float64(revoking[len(revoking)/2].Microseconds())/1000, "revoke-p50-ms")
	b.ReportMetric(float64(served.Load())/time.Since(start).Seconds(), "load-req/s")
	b.ReportMetric(0, "ns/op")
}

// tokenRequest gets an access token with client_secret_basic.
func tokenRequest(c *http.Client, endpoint, id, secret string, form url.Values) (string, error) {
	body, err := postForm(c, endpoint, id, secret, form)
	if err != nil {
		return "", err
	}
	_, rest, ok := strings.Cut(body, `"access_token":"`)
	tok, _, ok2 := strings.Cut(rest, `"`)
	if !ok || !ok2 {
		return "", fmt.Errorf("token answer %s", body)
	}
	return tok, nil
}

// revokeRequest revokes token (RFC 7009) with client_secret_basic.
func revokeRequest(c *http.Client, endpoint, id, secret, token string) error {
	_, err := postForm(c, endpoint, id, secret, url.Values{"token": {token}})
	return err
}

func postForm(c *http.Client, endpoint, id, secret string, form url.Values) (string, error) {
	req, err := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	res, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return "", err
	}
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %d %s", endpoint, res.StatusCode, b)
	}
	return string(b), nil
}
