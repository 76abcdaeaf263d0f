package oauthhttp

import (
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzDecodeError: any body decodes without panic into bounded, valid UTF-8
// members. Seeds in testdata/fuzz/FuzzDecodeError.
func FuzzDecodeError(f *testing.F) {
	f.Add([]byte(`{"error":"invalid_client","error_description":"x"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		e := DecodeError(body)
		for _, m := range []string{e.Code, e.Description, e.URI} {
			if len(m) > maxMember || !utf8.ValidString(m) {
				t.Fatalf("member %q is too long or not UTF-8", m)
			}
		}
	})
}

// FuzzParseRetryAfter: any header value yields a delay in [0, 1h].
// Seeds in testdata/fuzz/FuzzParseRetryAfter.
func FuzzParseRetryAfter(f *testing.F) {
	f.Add("120")
	f.Fuzz(func(t *testing.T, v string) {
		d := ParseRetryAfter(v, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		if d < 0 || d > maxRetryAfter {
			t.Fatalf("ParseRetryAfter(%q) = %v", v, d)
		}
	})
}
