package strictjson

import (
	"encoding/json"
	"reflect"
	"testing"
)

var benchClaims = []byte(`{"iss":"https://as.example.com","aud":"rs-client","iat":1700000000,"exp":1700000300,` +
	`"token_introspection":{"active":true,"scope":"read write","client_id":"c","sub":"user-1","exp":1700003600,` +
	`"cnf":{"jkt":"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}}}`)

// BenchmarkUnmarshal compares Unmarshal with json.Unmarshal on an RFC 9701
// claims set: the difference, and scan-only, are what the strict checks
// cost.
func BenchmarkUnmarshal(b *testing.B) {
	b.Run("strictjson", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var c claims
			if err := Unmarshal(benchClaims, &c); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("scan-only", func(b *testing.B) {
		p := planFor(reflect.TypeFor[*claims]())
		b.ReportAllocs()
		for b.Loop() {
			s := scanner{data: benchClaims}
			if err := s.document(p); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var c claims
			if err := json.Unmarshal(benchClaims, &c); err != nil {
				b.Fatal(err)
			}
		}
	})
}
