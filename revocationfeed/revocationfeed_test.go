package revocationfeed_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tokengate/tokengate/internal/testserver"
	"github.com/tokengate/tokengate/introspect"
	"github.com/tokengate/tokengate/revocationfeed"
	"github.com/tokengate/tokengate/secevent"
)

func TestMain(m *testing.M) { testserver.Main(m) }

// recorder is a fake cache and JWT validator: it records what it is told.
type recorder struct {
	mu     sync.Mutex // guards the fields below
	hashes map[[sha256.Size]byte]int
	jtis   map[string]time.Time
	events map[string]int // observer: kind/outcome → count
	cond   chan struct{}  // closed and replaced on every change
	// failDrops is how many InvalidateHash calls fail (counted in hashes
	// all the same), as a shared tier that cannot be reached does.
	failDrops int
}

func newRecorder() *recorder {
	return &recorder{hashes: map[[sha256.Size]byte]int{}, jtis: map[string]time.Time{}, events: map[string]int{}, cond: make(chan struct{})}
}

func (r *recorder) changed() {
	close(r.cond)
	r.cond = make(chan struct{})
}

func (r *recorder) InvalidateHash(_ context.Context, h [sha256.Size]byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hashes[h]++
	r.changed()
	if r.failDrops > 0 {
		r.failDrops--
		return errors.New("test: the shared tier cannot be reached")
	}
	return nil
}

func (r *recorder) Revoke(jti string, exp time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.jtis[jti] = exp
	r.changed()
	return nil
}

func (r *recorder) Observe(e introspect.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events[e.Kind.String()+"/"+e.Outcome]++
	r.changed()
}

// waitFor waits until cond holds, failing the test after 10 s.
func (r *recorder) waitFor(t testing.TB, what string, cond func(*recorder) bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		r.mu.Lock()
		ok, ch := cond(r), r.cond
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			r.mu.Lock()
			defer r.mu.Unlock()
			t.Fatalf("waited 10s for %s; events %v, hashes %d, jtis %v", what, r.events, len(r.hashes), r.jtis)
		}
	}
}

func newSubscriber(t testing.TB, f *feed, rec *recorder, mod func(*revocationfeed.Config)) *revocationfeed.Subscriber {
	t.Helper()
	cfg := revocationfeed.Config{
		Issuer: f.issuer, ClientID: testClientID, ClientSecret: testSecret,
		Cache: rec, JWT: rec, Observer: rec,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
		Logger: slog.New(slog.DiscardHandler),
	}
	if mod != nil {
		mod(&cfg)
	}
	s, err := revocationfeed.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestRevocationReachesCacheAndValidator: a revocation published while the
// replica's long poll is held reaches its cache (verdict dropped, shared
// tier included) and its JWT validator (jti refused until exp).
func TestRevocationReachesCacheAndValidator(t *testing.T) {
	f := newFeed(t)
	rec := newRecorder()
	newSubscriber(t, f, rec, nil)
	rec.waitFor(t, "the stream to be up", func(r *recorder) bool { return r.events["revocation_feed/up"] == 1 })
	exp := time.Now().Add(time.Hour).Truncate(time.Second)
	f.revoke("the-token", "jwt-id-1", exp, time.Now())
	rec.waitFor(t, "the revocation", func(r *recorder) bool { return r.hashes[sum("the-token")] == 1 && !r.jtis["jwt-id-1"].IsZero() })
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if !rec.jtis["jwt-id-1"].Equal(exp) || rec.events["revocation/applied"] != 1 {
		t.Errorf("jti revoked until %v (want %v); events %v", rec.jtis["jwt-id-1"], exp, rec.events)
	}
}

// TestFailedDropTriedAgain: when the cache cannot drop a revoked verdict
// (its shared tier failed), the subscriber tries again until it can, and
// then stops trying.
func TestFailedDropTriedAgain(t *testing.T) {
	f := newFeed(t)
	rec := newRecorder()
	rec.failDrops = 2
	newSubscriber(t, f, rec, nil)
	f.revoke("the-token", "", time.Now().Add(time.Hour), time.Now())
	rec.waitFor(t, "the drop to be tried three times", func(r *recorder) bool { return r.hashes[sum("the-token")] == 3 })
	// A later revocation is dropped once, and the first not again.
	f.revoke("later", "", time.Now().Add(time.Hour), time.Now())
	rec.waitFor(t, "the later drop", func(r *recorder) bool { return r.hashes[sum("later")] == 1 })
	time.Sleep(1500 * time.Millisecond) // past the next retry
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.hashes[sum("the-token")] != 3 || rec.hashes[sum("later")] != 1 || rec.events["revocation/applied"] != 2 {
		t.Errorf("drops %d and %d, events %v; want 3 and 1, two applied", rec.hashes[sum("the-token")], rec.hashes[sum("later")], rec.events)
	}
}

// TestWithACache: end to end with an introspect.Cache: after the event,
// the next request for the token asks the layer below again.
func TestWithACache(t *testing.T) {
	f := newFeed(t)
	next := &countingNext{}
	cache, err := introspect.NewCache(next, introspect.CacheConfig{})
	if err != nil {
		t.Fatal(err)
	}
	rec := newRecorder()
	newSubscriber(t, f, rec, func(c *revocationfeed.Config) { c.Cache, c.JWT = cache, nil })
	ctx := context.Background()
	for range 2 {
		cache.Introspect(ctx, "tok")
	}
	if next.n() != 1 {
		t.Fatalf("before: %d calls below the cache, want 1", next.n())
	}
	f.revoke("tok", "", time.Now().Add(time.Hour), time.Now())
	rec.waitFor(t, "the revocation", func(r *recorder) bool { return r.events["revocation/applied"] == 1 })
	cache.Introspect(ctx, "tok")
	if next.n() != 2 {
		t.Errorf("after: %d calls below the cache, want 2", next.n())
	}
}

type countingNext struct {
	mu    sync.Mutex // guards calls
	calls int
}

func (c *countingNext) Introspect(context.Context, string) (*introspect.Response, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	return &introspect.Response{Active: true, Subject: "alice", Expiry: time.Now().Add(time.Hour)}, nil
}

func (c *countingNext) n() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls
}

// TestEventsBeforeStartAreReplayed: a replica that starts after a
// revocation reads the retained log from its start, so a JWT revoked
// before it started is refused there too.
func TestEventsBeforeStartAreReplayed(t *testing.T) {
	f := newFeed(t)
	f.revoke("early", "early-jti", time.Now().Add(time.Hour), time.Now())
	rec := newRecorder()
	newSubscriber(t, f, rec, nil)
	rec.waitFor(t, "the earlier revocation", func(r *recorder) bool { return r.hashes[sum("early")] == 1 && !r.jtis["early-jti"].IsZero() })
}

// TestCursorAndSetErrs: the replica sends back the cursor of the last
// answer, and reports a refused SET in the next poll's setErrs.
func TestCursorAndSetErrs(t *testing.T) {
	f := newFeed(t)
	rec := newRecorder()
	now := time.Now()
	bad := f.claims("t2", "", now.Add(time.Hour), now)
	bad["aud"] = "billing-api"
	f.publish(f.sign(header{}, f.claims("t1", "", now.Add(time.Hour), now)), f.sign(header{}, bad))
	newSubscriber(t, f, rec, nil)
	rec.waitFor(t, "both SETs", func(r *recorder) bool { return r.events["revocation/applied"]+r.events["revocation/refused"] == 2 })
	f.revoke("t3", "", now.Add(time.Hour), now)
	rec.waitFor(t, "the third SET", func(r *recorder) bool { return r.events["revocation/applied"] == 2 })
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.polls) < 2 || f.polls[0].Cursor != "" || f.polls[1].Cursor != "2" {
		t.Errorf("cursors sent: %+v; want \"\" then \"2\"", f.polls)
	}
	if e, ok := f.setErrs[bad["jti"].(string)]; !ok || e.Err != secevent.ErrCodeInvalidAudience {
		t.Errorf("setErrs = %v; want invalid_audience for %s", f.setErrs, bad["jti"])
	}
}

// TestStreamDownAndBack: while the endpoint fails, the replica says so
// once (EventRevocationFeed down) and tries again with backoff; it comes
// back by itself and receives what was published meanwhile.
func TestStreamDownAndBack(t *testing.T) {
	f := newFeed(t)
	f.failing = 5
	f.revoke("during", "", time.Now().Add(time.Hour), time.Now())
	rec := newRecorder()
	var logs strings.Builder
	var logMu sync.Mutex
	newSubscriber(t, f, rec, func(c *revocationfeed.Config) {
		c.Logger = slog.New(slog.NewTextHandler(lockedWriter{&logMu, &logs}, nil))
	})
	rec.waitFor(t, "the revocation after the outage", func(r *recorder) bool { return r.hashes[sum("during")] == 1 })
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.events["revocation_feed/down"] != 1 || rec.events["revocation_feed/up"] != 1 {
		t.Errorf("feed events %v; want one down, then one up", rec.events)
	}
	logMu.Lock()
	defer logMu.Unlock()
	if n := strings.Count(logs.String(), "cannot read the revocation event stream"); n != 1 {
		t.Errorf("%d Warn lines for 5 failed polls, want 1:\n%s", n, logs.String())
	}
}

func TestPing(t *testing.T) {
	f := newFeed(t)
	ctx := context.Background()
	if err := newSubscriber(t, f, newRecorder(), nil).Ping(ctx); err != nil {
		t.Errorf("Ping = %v", err)
	}
	wrong := newSubscriber(t, f, newRecorder(), func(c *revocationfeed.Config) { c.ClientSecret = "typo" })
	if err := wrong.Ping(ctx); !errors.Is(err, revocationfeed.ErrRejected) {
		t.Errorf("Ping with a wrong secret = %v, want ErrRejected", err)
	}
	g := newFeed(t)
	g.noMeta = true
	if err := newSubscriber(t, g, newRecorder(), nil).Ping(ctx); !errors.Is(err, revocationfeed.ErrNoEndpoint) {
		t.Errorf("Ping without the metadata member = %v, want ErrNoEndpoint", err)
	}
}

// TestCloseEndsALongPoll: Close returns while a long poll is held.
func TestCloseEndsALongPoll(t *testing.T) {
	f := newFeed(t)
	f.hold = time.Hour
	rec := newRecorder()
	s := newSubscriber(t, f, rec, nil)
	f.waitPolls(1)
	done := make(chan struct{})
	go func() { s.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close waited for the long poll")
	}
}

// TestRedisRelay: two replicas share Redis. One polls an endpoint that
// answers; the other's endpoint fails. The second learns of the revocation
// through Redis, from the SET the first relayed. With "answers lost", the
// first's claim and first publication reach Redis but their answers do not
// reach it (as when a command times out on a busy machine): it tries
// again, knows its own claim, and publishes.
func TestRedisRelay(t *testing.T) {
	srv := testserver.SharedRedis(t)
	for _, tt := range []struct {
		name string
		lose []string // commands whose first answer is lost
	}{
		{"plain", nil},
		{"answers lost", []string{"set", "publish"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFeed(t)
			broken := newFeed(t)
			broken.failing = 1 << 30
			broken.issuer = f.issuer // the same issuer, unreachable from B
			recA, recB := newRecorder(), newRecorder()
			rdbA, rdbB := redisClient(t, srv), redisClient(t, srv)
			lost := &loseFirstAnswer{names: tt.lose}
			rdbA.AddHook(lost)
			newSubscriber(t, f, recA, func(c *revocationfeed.Config) { c.Redis = rdbA })
			newSubscriber(t, f, recB, func(c *revocationfeed.Config) { c.Redis = rdbB; c.Endpoint = broken.srv.URL + "/events" })
			recB.waitFor(t, "B's stream to be down", func(r *recorder) bool { return r.events["revocation_feed/down"] == 1 })
			channel := secevent.Channel(f.issuer, testClientID)
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
				n, err := rdbB.PubSubNumSub(context.Background(), channel).Result()
				if err == nil && n[channel] == 2 {
					break // both replicas listen
				}
				if time.Now().After(deadline) {
					t.Fatalf("subscribers of %s: %v, %v; want 2", channel, n, err)
				}
			}
			f.revoke("relayed", "relayed-jti", time.Now().Add(time.Hour), time.Now())
			recB.waitFor(t, "the relayed revocation", func(r *recorder) bool { return r.hashes[sum("relayed")] == 1 && !r.jtis["relayed-jti"].IsZero() })
			recA.waitFor(t, "A's own", func(r *recorder) bool { return r.hashes[sum("relayed")] == 1 })
			if got := lost.lostCount(); got != len(tt.lose) {
				t.Errorf("%d answers lost, want %d", got, len(tt.lose))
			}
		})
	}
}

// loseFirstAnswer is a go-redis hook that runs each command it names, and
// then reports the first of each as timed out: Redis did the work, the
// client does not know it. The loss is recorded before the command runs,
// since a publication can reach a subscriber before its answer returns.
type loseFirstAnswer struct {
	names []string
	mu    sync.Mutex // guards lost
	lost  []string
}

func (l *loseFirstAnswer) DialHook(next redis.DialHook) redis.DialHook { return next }

func (l *loseFirstAnswer) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

func (l *loseFirstAnswer) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		l.mu.Lock()
		lose := slices.Contains(l.names, cmd.Name()) && !slices.Contains(l.lost, cmd.Name())
		if lose {
			l.lost = append(l.lost, cmd.Name())
		}
		l.mu.Unlock()
		if err := next(ctx, cmd); err != nil || !lose {
			return err
		}
		err := fmt.Errorf("test: the answer to %s was lost: %w", cmd.Name(), os.ErrDeadlineExceeded)
		cmd.SetErr(err)
		return err
	}
}

func (l *loseFirstAnswer) lostCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.lost)
}

func TestNewValidation(t *testing.T) {
	rec := newRecorder()
	ok := revocationfeed.Config{Issuer: "https://as.example.com", ClientID: "api", Cache: rec}
	for _, tt := range []struct {
		name string
		mod  func(*revocationfeed.Config)
		want string
	}{
		{"no issuer", func(c *revocationfeed.Config) { c.Issuer = "" }, "Issuer is required"},
		{"no client", func(c *revocationfeed.Config) { c.ClientID = "" }, "ClientID is required"},
		{"no cache", func(c *revocationfeed.Config) { c.Cache = nil }, "Cache is required"},
		{"plain http issuer", func(c *revocationfeed.Config) { c.Issuer = "http://as.example.com" }, "Issuer"},
		{"a short HTTP timeout", func(c *revocationfeed.Config) { c.HTTPClient = &http.Client{Timeout: 10 * time.Second} }, "cuts long polls short"},
		{"negative backoff", func(c *revocationfeed.Config) { c.MinBackoff = -1 }, "negative"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.mod(&cfg)
			s, err := revocationfeed.New(cfg)
			if err == nil {
				s.Close()
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New = %v, want an error about %q", err, tt.want)
			}
		})
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *strings.Builder
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
