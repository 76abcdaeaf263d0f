package introspect

import (
	"context"
	"encoding/binary"
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
	fresh := make([]byte, 9)
	fresh[0] = sharedVersion
	binary.BigEndian.PutUint64(fresh[1:], uint64(testNow.Add(time.Minute).UnixNano()))
	f.Add(append(fresh, `{"active":true,"sub":"alice","exp":1767323045}`...))
	f.Add(append(fresh[:9:9], `{"active":false}`...))
	f.Fuzz(func(t *testing.T, raw []byte) {
		client, err := NewClient(Config{IntrospectionURL: "https://as.example/introspect"})
		if err != nil {
			t.Fatal(err)
		}
		c, err := NewCache(client, CacheConfig{
			Now:    func() time.Time { return testNow },
			Logger: slog.New(slog.DiscardHandler),
			Shared: fixedShared{raw},
		})
		if err != nil {
			t.Fatal(err)
		}
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
	})
}
