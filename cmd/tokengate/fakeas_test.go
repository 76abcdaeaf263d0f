package main

import (
	"encoding/base64"
	"encoding/json"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// Credentials the fake authorization server accepts. The secret has the
// characters RFC 6749 §2.3.1 makes clients form-urlencode.
const (
	fakeClientID = "rs client"
	fakeSecret   = "s3:cr%t+é"
	fakeBearer   = "rs-bearer-credential"
	activeToken  = "tg_at_ACTIVE-token-value"
	expiredToken = "tg_at_EXPIRED-by-exp"
)

// fakeAS is an exact authorization server: it checks the method, content
// type and client authentication of every request the way a strict server
// would, and records the last form it got.
type fakeAS struct {
	t   testing.TB
	srv *httptest.Server
	// auth is the client authentication it demands: "basic", "post" or "bearer".
	auth string
	// tokenStatus, if non-zero, makes the token endpoint fail with it and an
	// RFC 6749 error named tokenError.
	tokenStatus int
	tokenError  string
	// introspectStatus, if non-zero, makes the introspection endpoint fail.
	introspectStatus int
	// revokeStatus, if non-zero, makes the revocation endpoint fail with
	// it and an RFC 6749 error named revokeError.
	revokeStatus int
	revokeError  string

	// introspections counts calls to the introspection endpoint.
	introspections atomic.Int32

	mu       sync.Mutex // guards lastForm
	lastForm url.Values
}

func newFakeAS(t testing.TB, auth string) *fakeAS {
	f := &fakeAS{t: t, auth: auth}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/oauth-authorization-server", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"issuer":                 f.srv.URL,
			"token_endpoint":         f.srv.URL + "/token",
			"introspection_endpoint": f.srv.URL + "/introspect",
			"revocation_endpoint":    f.srv.URL + "/revoke",
		})
	})
	mux.HandleFunc("/token", f.token)
	mux.HandleFunc("/introspect", f.introspect)
	mux.HandleFunc("/revoke", f.revoke)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAS) form() url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastForm
}

// check verifies the request shape and client authentication; it answers
// and returns false when they are wrong.
func (f *fakeAS) check(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	if r.Method != http.MethodPost {
		http.Error(w, "method", http.StatusMethodNotAllowed)
		return nil, false
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		http.Error(w, "content type", http.StatusUnsupportedMediaType)
		return nil, false
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, "form", http.StatusBadRequest)
		return nil, false
	}
	form := r.PostForm
	f.mu.Lock()
	f.lastForm = form
	f.mu.Unlock()
	authz := r.Header.Get("Authorization")
	ok := false
	switch f.auth {
	case "basic":
		want := "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(fakeClientID)+":"+url.QueryEscape(fakeSecret)))
		ok = authz == want && !form.Has("client_id") && !form.Has("client_secret")
	case "post":
		ok = authz == "" && form.Get("client_id") == fakeClientID && form.Get("client_secret") == fakeSecret
	case "bearer":
		ok = authz == "Bearer "+fakeBearer && !form.Has("client_id")
	}
	if !ok {
		w.Header().Set("WWW-Authenticate", `Basic realm="fake"`)
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "invalid_client"})
		return nil, false
	}
	return form, true
}

func (f *fakeAS) token(w http.ResponseWriter, r *http.Request) {
	form, ok := f.check(w, r)
	if !ok {
		return
	}
	if form.Get("grant_type") != "client_credentials" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "unsupported_grant_type"})
		return
	}
	if f.tokenStatus != 0 {
		writeJSON(w, f.tokenStatus, map[string]any{"error": f.tokenError, "error_description": "as configured"})
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": activeToken,
		"token_type":   "Bearer",
		"expires_in":   3600,
		"scope":        form.Get("scope"),
		"x_custom":     "kept",
	})
}

func (f *fakeAS) introspect(w http.ResponseWriter, r *http.Request) {
	f.introspections.Add(1)
	form, ok := f.check(w, r)
	if !ok {
		return
	}
	if f.introspectStatus != 0 {
		w.Header().Set("Retry-After", "7")
		writeJSON(w, f.introspectStatus, map[string]any{"error": "temporarily_unavailable"})
		return
	}
	switch form.Get("token") {
	case activeToken:
		writeJSON(w, http.StatusOK, map[string]any{
			"active": true, "scope": "orders:read", "client_id": "demo", "sub": "demo",
			"token_type": "Bearer", "exp": 4102444800, "aud": []string{"https://api.example"},
		})
	case expiredToken:
		writeJSON(w, http.StatusOK, map[string]any{"active": true, "scope": "orders:read", "exp": 1000000000})
	default:
		writeJSON(w, http.StatusOK, map[string]any{"active": false})
	}
}

// revoke is an RFC 7009 endpoint: 200 for any token, known or not
// (§2.2), unless told to fail.
func (f *fakeAS) revoke(w http.ResponseWriter, r *http.Request) {
	form, ok := f.check(w, r)
	if !ok {
		return
	}
	if form.Get("token") == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_request"})
		return
	}
	if f.revokeStatus != 0 {
		w.Header().Set("Retry-After", "7")
		writeJSON(w, f.revokeStatus, map[string]any{"error": f.revokeError, "error_description": "as configured"})
		return
	}
	w.WriteHeader(http.StatusOK)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// run runs tokengate with {AS} in args and in the values of vars replaced
// by the server's URL.
func (f *fakeAS) run(t testing.TB, stdin string, vars map[string]string, args ...string) result {
	t.Helper()
	sub := func(s string) string { return strings.ReplaceAll(s, "{AS}", f.srv.URL) }
	subArgs := make([]string, len(args))
	for i, a := range args {
		subArgs[i] = sub(a)
	}
	subVars := make(map[string]string, len(vars))
	for k, v := range vars {
		subVars[k] = sub(v)
	}
	return runCLI(t, stdin, subVars, subArgs...)
}

// assertNoSecrets fails if out contains a token or a credential.
func assertNoSecrets(t testing.TB, what, out string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(out, s) {
			t.Errorf("%s leaks %q:\n%s", what, s, out)
		}
	}
}
