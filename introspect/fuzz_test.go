package introspect

import (
	"encoding/json"
	"errors"
	"testing"
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
