package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

func TestToken(t *testing.T) {
	type tc struct {
		name string
		// auth is what the fake AS demands.
		auth        string
		tokenStatus int
		tokenError  string
		// args are given after "token"; {AS} is replaced with the server URL.
		args         []string
		wantCode     int
		wantStdout   string // exact, if set
		wantInStdout []string
		wantInStderr string
		// wantForm are form members the AS must have received.
		wantForm map[string][]string
	}
	creds := []string{"--client-id", fakeClientID, "--client-secret", fakeSecret}
	with := func(extra ...string) []string { return append(append([]string{}, creds...), extra...) }
	tests := []tc{
		{
			name: "basic with token url", auth: "basic",
			args:     with("--token-url", "{AS}/token"),
			wantCode: exitOK, wantStdout: activeToken + "\n",
			wantForm: map[string][]string{"grant_type": {"client_credentials"}},
		},
		{
			name: "post", auth: "post",
			args:     with("--token-url", "{AS}/token", "--auth", "post"),
			wantCode: exitOK, wantStdout: activeToken + "\n",
		},
		{
			name: "issuer discovery", auth: "basic",
			args:     with("--issuer", "{AS}"),
			wantCode: exitOK, wantStdout: activeToken + "\n",
		},
		{
			name: "scope and resources are sent", auth: "basic",
			args:     with("--issuer", "{AS}", "--scope", " orders:read  orders:write ", "--resource", "https://a.example/", "--resource", "urn:b"),
			wantCode: exitOK, wantStdout: activeToken + "\n",
			wantForm: map[string][]string{"scope": {"orders:read orders:write"}, "resource": {"https://a.example/", "urn:b"}},
		},
		{
			name: "json prints the whole response", auth: "basic",
			args:         with("--token-url", "{AS}/token", "--json", "--scope", "orders:read"),
			wantCode:     exitOK,
			wantInStdout: []string{`"access_token": "` + activeToken + `"`, `"x_custom": "kept"`, `"scope": "orders:read"`, `"expires_in": 3600`},
		},
		{
			name: "wrong auth style is invalid_client", auth: "post",
			args:     with("--token-url", "{AS}/token"),
			wantCode: exitAS, wantInStderr: "401 Unauthorized: invalid_client",
		},
		{
			name: "invalid_scope", auth: "basic", tokenStatus: http.StatusBadRequest, tokenError: "invalid_scope",
			args:     with("--token-url", "{AS}/token", "--scope", "admin"),
			wantCode: exitFailure, wantInStderr: "invalid_scope (as configured)",
		},
		{
			name: "server error", auth: "basic", tokenStatus: http.StatusServiceUnavailable, tokenError: "temporarily_unavailable",
			args:     with("--token-url", "{AS}/token"),
			wantCode: exitAS, wantInStderr: "503",
		},
		{
			name: "no metadata", auth: "basic",
			args:     with("--issuer", "{AS}/nowhere"),
			wantCode: exitAS, wantInStderr: "no metadata document",
		},
		{
			name: "unreachable", auth: "basic",
			args:     with("--token-url", "http://127.0.0.1:1/token"),
			wantCode: exitAS, wantInStderr: "token request failed",
		},
		{name: "both endpoints", args: with("--token-url", "{AS}/token", "--issuer", "{AS}"), wantCode: exitUsage, wantInStderr: "give only one of --issuer and --token-url"},
		{name: "no endpoint", args: with(), wantCode: exitUsage, wantInStderr: "give --issuer URL or --token-url URL (or set TOKENGATE_ISSUER)"},
		{name: "no client id", args: []string{"--token-url", "{AS}/token", "--client-secret", "x"}, wantCode: exitUsage, wantInStderr: "--client-secret is given but --client-id is not"},
		{name: "no secret", args: []string{"--token-url", "{AS}/token", "--client-id", "x"}, wantCode: exitUsage, wantInStderr: "--client-id is given but --client-secret is not"},
		{name: "stray argument", args: with("--token-url", "{AS}/token", "extra"), wantCode: exitUsage, wantInStderr: `unexpected argument "extra"`},
		{name: "bad auth", args: with("--token-url", "{AS}/token", "--auth", "jwt"), wantCode: exitUsage, wantInStderr: "want basic or post"},
		{name: "relative resource", args: with("--token-url", "{AS}/token", "--resource", "/api"), wantCode: exitUsage, wantInStderr: "not an absolute URI"},
		{name: "plain http off loopback", args: with("--token-url", "http://as.example/token"), wantCode: exitUsage, wantInStderr: "plain http"},
		{name: "not a URL", args: with("--token-url", "ftp://as.example/token"), wantCode: exitUsage, wantInStderr: "scheme must be https"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			as := newFakeAS(t, tt.auth)
			as.tokenStatus, as.tokenError = tt.tokenStatus, tt.tokenError
			r := as.run(t, "", nil, append([]string{"token"}, tt.args...)...)
			if r.code != tt.wantCode {
				t.Fatalf("exit code = %d, want %d\nstdout: %s\nstderr: %s", r.code, tt.wantCode, r.stdout, r.stderr)
			}
			if tt.wantStdout != "" && r.stdout != tt.wantStdout {
				t.Errorf("stdout = %q, want %q", r.stdout, tt.wantStdout)
			}
			for _, s := range tt.wantInStdout {
				if !strings.Contains(r.stdout, s) {
					t.Errorf("stdout = %s\nwant it to contain %s", r.stdout, s)
				}
			}
			if len(tt.wantInStdout) > 0 && !json.Valid([]byte(r.stdout)) {
				t.Errorf("stdout is not JSON: %s", r.stdout)
			}
			if !strings.Contains(r.stderr, tt.wantInStderr) {
				t.Errorf("stderr = %q, want it to contain %q", r.stderr, tt.wantInStderr)
			}
			if tt.wantCode != exitOK && r.stdout != "" {
				t.Errorf("stdout = %q on failure, want nothing", r.stdout)
			}
			assertNoSecrets(t, "stderr", r.stderr, fakeSecret, activeToken)
			form := as.form()
			for k, want := range tt.wantForm {
				if got := form[k]; strings.Join(got, "|") != strings.Join(want, "|") {
					t.Errorf("AS got %s=%q, want %q", k, got, want)
				}
			}
		})
	}
}

// TestTokenRefusesRedirect: a 307 or 308 from the token endpoint would make
// net/http send the form again, client_secret_post and all, to wherever it
// points (it drops only the Authorization header on a change of host). The
// token request follows no redirect.
func TestTokenRefusesRedirect(t *testing.T) {
	for _, auth := range []string{"basic", "post"} {
		t.Run(auth, func(t *testing.T) {
			var stolen atomic.Int32
			thief := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				stolen.Add(1)
				w.Header().Set("Content-Type", "application/json")
				w.Write([]byte(`{"access_token":"x","token_type":"Bearer"}`))
			}))
			defer thief.Close()
			redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, thief.URL+"/token", http.StatusTemporaryRedirect)
			}))
			defer redirector.Close()
			r := runCLI(t, "", nil, "token", "--token-url", redirector.URL+"/token", "--client-id", fakeClientID,
				"--client-secret", fakeSecret, "--auth", auth)
			if n := stolen.Load(); n != 0 {
				t.Errorf("the token request was replayed to the redirect target %d times", n)
			}
			if r.code != exitAS || r.stdout != "" {
				t.Errorf("code %d, stdout %q; want %d and nothing", r.code, r.stdout, exitAS)
			}
			assertNoSecrets(t, "stderr", r.stderr, fakeSecret)
		})
	}
}

// TestTokenReadsTheEnvironment: token ignored TOKENGATE_ISSUER while
// introspect read it. Every command reads the same variables, and a flag of
// a group (the endpoint, the credentials) keeps the group's variables out.
func TestTokenReadsTheEnvironment(t *testing.T) {
	as := newFakeAS(t, "post")
	creds := map[string]string{"TOKENGATE_CLIENT_ID": fakeClientID, "TOKENGATE_CLIENT_SECRET": fakeSecret, "TOKENGATE_CLIENT_AUTH": "post"}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range creds {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name       string
		vars       map[string]string
		args       []string
		wantCode   int
		wantStderr string
	}{
		{name: "TOKENGATE_ISSUER", vars: with(map[string]string{"TOKENGATE_ISSUER": as.srv.URL}), wantCode: exitOK},
		{name: "TOKENGATE_TOKEN_URL", vars: with(map[string]string{"TOKENGATE_TOKEN_URL": as.srv.URL + "/token"}), wantCode: exitOK},
		{name: "--token-url wins over TOKENGATE_ISSUER", vars: with(map[string]string{"TOKENGATE_ISSUER": "http://127.0.0.1:1"}),
			args: []string{"--token-url", as.srv.URL + "/token"}, wantCode: exitOK},
		{name: "both from the environment", vars: with(map[string]string{"TOKENGATE_ISSUER": as.srv.URL, "TOKENGATE_TOKEN_URL": as.srv.URL + "/token"}),
			wantCode: exitUsage, wantStderr: "give only one of TOKENGATE_ISSUER and TOKENGATE_TOKEN_URL"},
		{name: "a bad TOKENGATE_CLIENT_AUTH is named", vars: with(map[string]string{"TOKENGATE_ISSUER": as.srv.URL, "TOKENGATE_CLIENT_AUTH": "jwt"}),
			wantCode: exitUsage, wantStderr: `TOKENGATE_CLIENT_AUTH="jwt": want basic or post`},
		{name: "a bad issuer is named", vars: with(map[string]string{"TOKENGATE_ISSUER": "http://as.example"}),
			wantCode: exitUsage, wantStderr: "TOKENGATE_ISSUER: \"http://as.example\" is plain http"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, "", tt.vars, append([]string{"token"}, tt.args...)...)
			if r.code != tt.wantCode || !strings.Contains(r.stderr, tt.wantStderr) {
				t.Fatalf("code %d, stdout %q, stderr %q; want %d and %q", r.code, r.stdout, r.stderr, tt.wantCode, tt.wantStderr)
			}
			if tt.wantCode == exitOK && r.stdout != activeToken+"\n" {
				t.Errorf("stdout %q", r.stdout)
			}
		})
	}
}

// TestTokenCredentialsFromEnvironment: a secret given as --client-secret is
// in the process list for every local user to read; like introspect, token
// reads TOKENGATE_CLIENT_ID and TOKENGATE_CLIENT_SECRET when neither flag is
// given.
func TestTokenCredentialsFromEnvironment(t *testing.T) {
	as := newFakeAS(t, "basic")
	vars := map[string]string{"TOKENGATE_CLIENT_ID": fakeClientID, "TOKENGATE_CLIENT_SECRET": fakeSecret}
	r := runCLI(t, "", vars, "token", "--token-url", as.srv.URL+"/token")
	if r.code != exitOK || r.stdout != activeToken+"\n" {
		t.Fatalf("code %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	// A flag given wins, and the two are never mixed.
	r = runCLI(t, "", vars, "token", "--token-url", as.srv.URL+"/token", "--client-id", fakeClientID)
	if r.code != exitUsage || !strings.Contains(r.stderr, "--client-id is given but --client-secret is not") {
		t.Errorf("code %d, stderr %q; want a usage error", r.code, r.stderr)
	}
}
