package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

func TestRevoke(t *testing.T) {
	creds := []string{"--client-id", fakeClientID, "--client-secret", fakeSecret}
	with := func(extra ...string) []string { return append(append([]string{}, creds...), extra...) }
	envCreds := map[string]string{"TOKENGATE_CLIENT_ID": fakeClientID, "TOKENGATE_CLIENT_SECRET": fakeSecret}
	tests := []struct {
		name                     string
		auth                     string // what the fake AS demands
		revokeStatus             int
		revokeError              string
		stdin                    string
		vars                     map[string]string
		args                     []string // after "revoke"; {AS} is the server URL
		wantCode                 int
		wantStdout, wantInStderr string
		wantToken, wantHint      string // the form the AS must have got
	}{
		{name: "token from stdin, basic, by discovery", auth: "basic", stdin: activeToken + "\n", args: with("--issuer", "{AS}", "-"),
			wantCode: exitOK, wantStdout: "revoked\n", wantToken: activeToken},
		{name: "post", auth: "post", stdin: activeToken, args: with("--revocation-url", "{AS}/revoke", "--auth", "post", "-"),
			wantCode: exitOK, wantStdout: "revoked\n", wantToken: activeToken},
		{name: "everything from the environment", auth: "post",
			vars:     map[string]string{"TOKENGATE_ISSUER": "{AS}", "TOKENGATE_CLIENT_ID": fakeClientID, "TOKENGATE_CLIENT_SECRET": fakeSecret, "TOKENGATE_CLIENT_AUTH": "post", "TOKENGATE_TOKEN": activeToken},
			wantCode: exitOK, wantStdout: "revoked\n", wantToken: activeToken},
		{name: "token as an argument, with a hint", auth: "basic", vars: envCreds, args: []string{"--issuer", "{AS}", "--token-type-hint", "access_token", activeToken},
			wantCode: exitOK, wantStdout: "revoked\n", wantToken: activeToken, wantHint: "access_token"},
		{name: "an unknown token is still 200 (RFC 7009 §2.2)", auth: "basic", vars: envCreds, args: []string{"--issuer", "{AS}", "tg_at_unknown"},
			wantCode: exitOK, wantStdout: "revoked\n", wantToken: "tg_at_unknown"},
		{name: "wrong credentials", auth: "post", vars: envCreds, args: []string{"--issuer", "{AS}", activeToken},
			wantCode: exitAS, wantInStderr: "401 Unauthorized: invalid_client; check --client-id, --client-secret and --auth"},
		{name: "unsupported token type", auth: "basic", revokeStatus: http.StatusBadRequest, revokeError: "unsupported_token_type", vars: envCreds, args: []string{"--issuer", "{AS}", activeToken},
			wantCode: exitFailure, wantInStderr: "unsupported_token_type (as configured); this server does not revoke tokens of this type"},
		{name: "unavailable (RFC 7009 §2.2.1)", auth: "basic", revokeStatus: http.StatusServiceUnavailable, revokeError: "temporarily_unavailable", vars: envCreds, args: []string{"--issuer", "{AS}", activeToken},
			wantCode: exitAS, wantInStderr: "503 Service Unavailable: temporarily_unavailable (as configured); retry after 7s"},
		{name: "unreachable", vars: envCreds, args: []string{"--revocation-url", "http://127.0.0.1:1/revoke", activeToken},
			wantCode: exitAS, wantInStderr: "revocation request to http://127.0.0.1:1/revoke failed"},
		{name: "no metadata at the issuer", vars: envCreds, args: []string{"--issuer", "{AS}/nowhere", activeToken},
			wantCode: exitAS, wantInStderr: "no metadata document"},
		{name: "no token", vars: envCreds, args: []string{"--issuer", "{AS}"}, wantCode: exitUsage, wantInStderr: "give the TOKEN"},
		{name: "empty stdin", vars: envCreds, stdin: "\n", args: []string{"--issuer", "{AS}", "-"}, wantCode: exitUsage, wantInStderr: "the token is empty"},
		{name: "no credentials", args: []string{"--issuer", "{AS}", activeToken}, wantCode: exitUsage, wantInStderr: "give --client-id and --client-secret"},
		{name: "no endpoint", vars: envCreds, args: []string{activeToken}, wantCode: exitUsage, wantInStderr: "give --issuer URL or --revocation-url URL"},
		{name: "plain http off loopback", vars: envCreds, args: []string{"--revocation-url", "http://as.example/revoke", activeToken}, wantCode: exitUsage, wantInStderr: "--insecure-allow-http"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			as := newFakeAS(t, tt.auth)
			as.revokeStatus, as.revokeError = tt.revokeStatus, tt.revokeError
			r := as.run(t, tt.stdin, tt.vars, append([]string{"revoke"}, tt.args...)...)
			if r.code != tt.wantCode || r.stdout != tt.wantStdout || !strings.Contains(r.stderr, tt.wantInStderr) {
				t.Fatalf("code %d, stdout %q, stderr %q\nwant %d, %q and %q", r.code, r.stdout, r.stderr, tt.wantCode, tt.wantStdout, tt.wantInStderr)
			}
			if tt.wantToken != "" {
				form := as.form()
				if form.Get("token") != tt.wantToken || form.Get("token_type_hint") != tt.wantHint {
					t.Errorf("AS got token %q hint %q, want %q %q", form.Get("token"), form.Get("token_type_hint"), tt.wantToken, tt.wantHint)
				}
			}
			assertNoSecrets(t, "stderr", r.stderr, fakeSecret, activeToken)
		})
	}
}

func TestRevokeNeedsARevocationEndpoint(t *testing.T) {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"issuer": srv.URL, "token_endpoint": srv.URL + "/token"})
	}))
	defer srv.Close()
	r := runCLI(t, "", map[string]string{"TOKENGATE_CLIENT_ID": "x", "TOKENGATE_CLIENT_SECRET": "y"}, "revoke", "--issuer", srv.URL, "t")
	if r.code != exitAS || !strings.Contains(r.stderr, "names no revocation_endpoint; give --revocation-url") {
		t.Errorf("code %d, stderr %q", r.code, r.stderr)
	}
}

// TestRevokeRefusesRedirect: the revocation form carries the token (and,
// with --auth post, the secret); a 307 would make net/http send it again to
// wherever the answer points.
func TestRevokeRefusesRedirect(t *testing.T) {
	var stolen atomic.Int32
	thief := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { stolen.Add(1) }))
	defer thief.Close()
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, thief.URL+"/revoke", http.StatusTemporaryRedirect)
	}))
	defer redirector.Close()
	r := runCLI(t, activeToken, map[string]string{"TOKENGATE_CLIENT_ID": fakeClientID, "TOKENGATE_CLIENT_SECRET": fakeSecret},
		"revoke", "--revocation-url", redirector.URL+"/revoke", "--auth", "post", "-")
	if n := stolen.Load(); n != 0 {
		t.Errorf("the revocation was replayed to the redirect target %d times", n)
	}
	if r.code != exitAS || r.stdout != "" || !strings.Contains(r.stderr, "307 Temporary Redirect; a redirect") {
		t.Errorf("code %d, stdout %q, stderr %q; want %d, nothing and the redirect named", r.code, r.stdout, r.stderr, exitAS)
	}
	assertNoSecrets(t, "stderr", r.stderr, fakeSecret, activeToken)
}
