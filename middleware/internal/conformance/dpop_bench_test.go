package conformance_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tokengate/tokengate/dpop"
	"github.com/tokengate/tokengate/middleware/internal/conformance"
	"github.com/tokengate/tokengate/rs"
	"github.com/tokengate/tokengate/scopes"
)

// BenchmarkDPoP is a request with a DPoP-bound token and a fresh ES256
// proof through each adapter, the introspector answering instantly (as a
// cache hit would): what DPoP adds over a bearer request is the proof
// check. Proofs are signed in batches outside the timer, each batch checked
// by a fresh guard so that the replay cache stays small.
func BenchmarkDPoP(b *testing.B) {
	for _, a := range adapters {
		b.Run(a.Name, func(b *testing.B) {
			const batch = 512
			var proofs []string
			var h http.Handler
			w := &statusWriter{discard: discard{h: http.Header{}}}
			b.ReportAllocs()
			for b.Loop() {
				if len(proofs) == 0 {
					b.StopTimer()
					v, err := dpop.New(dpop.Config{Now: func() time.Time { return conformance.Now }})
					if err != nil {
						b.Fatal(err)
					}
					g, err := rs.New(rs.Config{
						Introspector: conformance.Introspector(), Audiences: []string{"https://api.example.com"},
						DPoP: v, Now: func() time.Time { return conformance.Now }, Logger: slog.New(slog.DiscardHandler),
					})
					if err != nil {
						b.Fatal(err)
					}
					h = a.Protect(b, g, scopes.All("orders:read"), noContent)
					for range batch {
						proofs = append(proofs, conformance.ClientKey.Proof("GET", conformance.OrdersURL, "bound", conformance.Now))
					}
					b.StartTimer()
				}
				r := httptest.NewRequest("GET", "/api/orders", nil)
				r.Header.Set("Authorization", "DPoP bound")
				r.Header.Set("DPoP", proofs[len(proofs)-1])
				proofs = proofs[:len(proofs)-1]
				w.code = 0
				h.ServeHTTP(w, r)
				if w.code != http.StatusNoContent {
					b.Fatalf("status %d", w.code)
				}
			}
		})
	}
}

// statusWriter is a discard that keeps the status code.
type statusWriter struct {
	discard
	code int
}

func (w *statusWriter) WriteHeader(code int) { w.code = code }
