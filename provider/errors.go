package provider

import (
	"encoding/json"
	"errors"
	"net/http"
)

// ErrInvalidClient is returned by [Admin.RegisterClient] and
// [Provider.RegisterClient] when the registration is inconsistent; the
// message names the field to fix.
var ErrInvalidClient = errors.New("provider: invalid client registration")

// oauthError is an RFC 6749 §5.2 error answer.
type oauthError struct {
	status      int
	code        string
	description string
	// challenge, if set, is sent as WWW-Authenticate.
	challenge string
	// retryAfter, if set, is sent as Retry-After (seconds).
	retryAfter string
}

func (e *oauthError) Error() string { return e.code + ": " + e.description }

func errInvalidRequest(desc string) *oauthError {
	return &oauthError{status: http.StatusBadRequest, code: "invalid_request", description: desc}
}

// writeJSON writes v as a JSON answer that must not be cached (RFC 6749
// §5.1, RFC 7662 §2.2 in spirit: introspection verdicts are per-request).
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":"server_error"}`)
	}
	writeBody(w, status, "application/json", b)
}

func writeBody(w http.ResponseWriter, status int, contentType string, b []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(status)
	w.Write(b)
}

// writeError writes e as RFC 6749 §5.2 JSON.
func writeError(w http.ResponseWriter, e *oauthError) {
	if e.challenge != "" {
		w.Header().Set("WWW-Authenticate", e.challenge)
	}
	if e.retryAfter != "" {
		w.Header().Set("Retry-After", e.retryAfter)
	}
	if e.status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", http.MethodPost)
	}
	body := struct {
		Error       string `json:"error"`
		Description string `json:"error_description,omitempty"`
	}{e.code, e.description}
	writeJSON(w, e.status, body)
}
