package introspect

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"
)

// ctxObserver records, for each event, the call its context belongs to.
type ctxObserver struct {
	mu   sync.Mutex
	seen []string // "kind call", or "kind -" for an event without context
}

type callKey struct{}

func (o *ctxObserver) Observe(e Event) { o.record(e, "-") }

func (o *ctxObserver) ObserveContext(ctx context.Context, e Event) {
	call, _ := ctx.Value(callKey{}).(string)
	o.record(e, call)
}

func (o *ctxObserver) record(e Event, call string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.seen = append(o.seen, e.Kind.String()+" "+call)
}

// TestContextObserver: an Observer with ObserveContext gets the events of
// a call with that call's context (the detached call to the authorization
// server keeps the values of the context of the caller that started it).
func TestContextObserver(t *testing.T) {
	as := newFakeAS(t, &fakeAS{wantAuth: basic("rs", "secret"), reply: func(w http.ResponseWriter, r *http.Request) {
		if r.PostForm.Get("token") == "bad" {
			replyJSON(200, `{"active":false}`)(w, r)
			return
		}
		replyJSON(200, activeBody(testNow.Add(time.Hour)))(w, r)
	}})
	obs := &ctxObserver{}
	client := newTestClient(t, as, func(c *Config) { c.Observer = obs })
	cache, err := NewCache(client, CacheConfig{Now: func() time.Time { return testNow }, Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	for i, token := range []string{"good", "good", "bad", "bad"} {
		ctx := context.WithValue(context.Background(), callKey{}, string(rune('a'+i)))
		_, _ = cache.Introspect(ctx, token)
	}
	want := []string{"cache_miss a", "as_call a", "cache_hit b", "cache_miss c", "as_call c", "negative_hit d"}
	if len(obs.seen) != len(want) {
		t.Fatalf("events %q, want %q", obs.seen, want)
	}
	for i := range want {
		if obs.seen[i] != want[i] {
			t.Errorf("event %d = %q, want %q", i, obs.seen[i], want[i])
		}
	}
}
