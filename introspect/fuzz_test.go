package introspect

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"
	"time"
)

// FuzzDecodeJSON feeds arbitrary bodies to the default response decoder: it
// must not panic, and every rejection must be an ErrMalformedResponse. An
// accepted active response must survive a MarshalJSON round trip.
// Seeds live in testdata/fuzz/FuzzDecodeJSON.
func FuzzDecodeJSON(f *testing.F) {
	f.Add("application/json", []byte(`{"active":true,"sub":"alice","aud":["a","b"],"exp":1.5e9}`))
	f.Add("", []byte(`{"active":"false"}`))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		r, err := jsonDecoder{}.Decode(t.Context(), contentType, body)
		if err != nil {
			if r != nil || !errors.Is(err, ErrMalformedResponse) {
				t.Fatalf("Decode = %v, %v: a rejection must be ErrMalformedResponse alone", r, err)
			}
			return
		}
		if r == nil {
			t.Fatal("Decode returned neither a response nor an error")
		}
		if !r.Active {
			return
		}
		out, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("MarshalJSON: %v", err)
		}
		var back Response
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("round trip of %s: %v", out, err)
		}
		if !back.Active || back.Subject != r.Subject || back.Scope != r.Scope || len(back.Audience) != len(r.Audience) {
			t.Fatalf("round trip changed the response: %s", out)
		}
	})
}

// fixedShared is a SharedCache that holds one value under every key.
type fixedShared struct{ raw []byte }

func (s fixedShared) Get(context.Context, string) ([]byte, bool, error) { return s.raw, true, nil }
func (fixedShared) Set(context.Context, string, []byte, time.Duration) error {
	return nil
}
func (fixedShared) Delete(context.Context, string) error { return nil }

// FuzzSharedValue feeds arbitrary bytes from the shared tier (a store that
// may be corrupted or written by another version): no panic, and nothing but
// a fresh, valid verdict is ever accepted. Seeds live in
// testdata/fuzz/FuzzSharedValue.
func FuzzSharedValue(f *testing.F) {
	client, err := NewClient(Config{IntrospectionURL: "https://as.example/introspect"})
	if err != nil {
		f.Fatal(err)
	}
	newCache := func(raw []byte) *Cache {
		c, err := NewCache(client, CacheConfig{
			Now:        func() time.Time { return testNow },
			Logger:     slog.New(slog.DiscardHandler),
			Shared:     fixedShared{raw},
			SharedKeys: testSharedKeys,
		})
		if err != nil {
			f.Fatal(err)
		}
		return c
	}
	name := newCache(nil).sharedKey(keyOf("tok"))
	fresh := testNow.Add(time.Minute)
	ring, _ := newSharedKeyring(testSharedKeys)
	f.Add(ring.seal(name, fresh, []byte(`{"active":true,"sub":"alice","exp":1767323045}`)))
	f.Add(ring.seal(name, fresh, []byte(`{"active":false}`)))
	f.Fuzz(func(t *testing.T, raw []byte) {
		c := newCache(raw)
		resp, err, ok := c.sharedGet(t.Context(), keyOf("tok"), testNow, 0)
		switch {
		case !ok:
			if resp != nil || err != nil {
				t.Fatal("a miss returned a verdict")
			}
		case err != nil:
			if resp != nil || !errors.Is(err, ErrInactive) {
				t.Fatalf("shared verdict %v, %v", resp, err)
			}
		default:
			if resp == nil || !resp.Active || c.check(resp, testNow) != nil {
				t.Fatalf("accepted an invalid verdict %+v", resp)
			}
		}
		// Whatever the fuzzer made, it verified only if it is one of the
		// seeds (the fuzzer holds no key).
		if ok {
			if _, _, err := ring.open(name, raw); err != nil {
				t.Fatalf("a value that does not verify was used: %v", err)
			}
		}
	})
}
