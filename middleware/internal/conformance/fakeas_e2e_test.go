package conformance_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokengate/tokengate/introspect"
)

// e2eAPI is the audience of the tokens the end-to-end fake AS vouches for.
const e2eAPI = "https://api.example.com"

// activeClaims is an active introspection answer for subject, issued to
// client "shop" with scope orders:read for e2eAPI, valid for an hour.
func activeClaims(subject string) map[string]any {
	return map[string]any{
		"active": true, "token_type": "Bearer", "sub": subject, "client_id": "shop", "scope": "orders:read",
		"aud": e2eAPI, "exp": time.Now().Add(time.Hour).Unix(),
	}
}

// newE2EIntrospection starts a fake authorization server whose introspection
// endpoint (client "api", secret "s3cret", Basic) answers answers[token], or
// {"active":false} for any other token, and returns a real introspect.Cache
// and Client pointed at it and the count of introspections it served.
func newE2EIntrospection(t *testing.T, answers map[string]map[string]any) (*introspect.Cache, *atomic.Int64) {
	t.Helper()
	calls := new(atomic.Int64)
	as := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.Method != http.MethodPost || r.URL.Path != "/introspect" {
			http.Error(w, "unexpected request", http.StatusBadRequest)
			return
		}
		if id, secret, ok := r.BasicAuth(); !ok || id != "api" || secret != "s3cret" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if claims, ok := answers[r.PostFormValue("token")]; ok {
			_ = json.NewEncoder(w).Encode(claims)
			return
		}
		_, _ = io.WriteString(w, `{"active":false}`)
	}))
	t.Cleanup(as.Close)
	ic, err := introspect.New(introspect.Config{
		IntrospectionURL: as.URL + "/introspect", ClientID: "api", ClientSecret: "s3cret", Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	return ic, calls
}
