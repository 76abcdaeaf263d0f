package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func TestIntrospect(t *testing.T) {
	type tc struct {
		name             string
		auth             string // what the fake AS demands
		introspectStatus int
		stdin            string
		vars             map[string]string // environment; {AS} is replaced
		args             []string          // after "introspect"; {AS} is replaced
		wantCode         int
		wantInStdout     []string
		wantInStderr     string
		wantForm         map[string]string
		wantCalls        int32 // calls to the introspection endpoint, if non-zero
	}
	basic := []string{"--client-id", fakeClientID, "--client-secret", fakeSecret}
	with := func(extra ...string) []string { return append(append([]string{}, basic...), extra...) }
	tests := []tc{
		{
			name: "active, basic", auth: "basic",
			args:         with("--introspection-url", "{AS}/introspect", activeToken),
			wantCode:     exitOK,
			wantInStdout: []string{`"active": true`, `"scope": "orders:read"`, `"client_id": "demo"`},
			wantForm:     map[string]string{"token": activeToken},
		},
		{
			name: "inactive", auth: "basic",
			args:         with("--introspection-url", "{AS}/introspect", "tg_at_unknown"),
			wantCode:     exitFailure,
			wantInStdout: []string{`"active": false`},
		},
		{
			name: "expired by exp although active", auth: "basic",
			args:         with("--introspection-url", "{AS}/introspect", expiredToken),
			wantCode:     exitFailure,
			wantInStdout: []string{`"active": false`},
		},
		{
			name: "post", auth: "post",
			args:     with("--introspection-url", "{AS}/introspect", "--auth", "post", activeToken),
			wantCode: exitOK, wantInStdout: []string{`"active": true`},
		},
		{
			name: "bearer", auth: "bearer",
			args:     []string{"--introspection-url", "{AS}/introspect", "--bearer", fakeBearer, activeToken},
			wantCode: exitOK, wantInStdout: []string{`"active": true`},
		},
		{
			name: "issuer discovery", auth: "basic",
			args:     with("--issuer", "{AS}", activeToken),
			wantCode: exitOK, wantInStdout: []string{`"active": true`},
		},
		{
			name: "token from stdin", auth: "basic", stdin: "\n  " + activeToken + "\n",
			args:     with("--issuer", "{AS}", "-"),
			wantCode: exitOK, wantInStdout: []string{`"active": true`},
			wantForm: map[string]string{"token": activeToken},
		},
		{
			name: "flags after the token", auth: "basic",
			args:     append([]string{activeToken, "--token-type-hint", "access_token"}, with("--issuer", "{AS}")...),
			wantCode: exitOK, wantInStdout: []string{`"active": true`},
			wantForm: map[string]string{"token_type_hint": "access_token"},
		},
		{
			name: "settings from the environment", auth: "post",
			vars: map[string]string{
				"TOKENGATE_INTROSPECTION_URL": "{AS}/introspect", "TOKENGATE_CLIENT_ID": fakeClientID,
				"TOKENGATE_CLIENT_SECRET": fakeSecret, "TOKENGATE_CLIENT_AUTH": "post",
			},
			args:     []string{activeToken},
			wantCode: exitOK, wantInStdout: []string{`"active": true`},
		},
		{
			name: "bearer from the environment", auth: "bearer",
			vars:     map[string]string{"TOKENGATE_ISSUER": "{AS}", "TOKENGATE_BEARER_TOKEN": fakeBearer},
			args:     []string{activeToken},
			wantCode: exitOK, wantInStdout: []string{`"active": true`},
		},
		{
			name: "bearer from the environment beside TOKENGATE_CLIENT_AUTH", auth: "bearer",
			vars:     map[string]string{"TOKENGATE_ISSUER": "{AS}", "TOKENGATE_BEARER_TOKEN": fakeBearer, "TOKENGATE_CLIENT_AUTH": "post"},
			args:     []string{activeToken},
			wantCode: exitOK, wantInStdout: []string{`"active": true`},
		},
		{
			name: "flags override the environment's credentials", auth: "basic",
			vars:     map[string]string{"TOKENGATE_BEARER_TOKEN": "stale", "TOKENGATE_INTROSPECTION_URL": "http://127.0.0.1:1/x"},
			args:     with("--issuer", "{AS}", activeToken),
			wantCode: exitOK, wantInStdout: []string{`"active": true`},
		},
		{
			name: "--auth with credentials from the environment", auth: "post",
			vars:     map[string]string{"TOKENGATE_CLIENT_ID": fakeClientID, "TOKENGATE_CLIENT_SECRET": fakeSecret, "TOKENGATE_CLIENT_AUTH": "basic"},
			args:     []string{"--issuer", "{AS}", "--auth", "post", activeToken},
			wantCode: exitOK, wantInStdout: []string{`"active": true`},
		},
		{
			name: "AS rejects our credentials", auth: "post",
			args:     with("--introspection-url", "{AS}/introspect", activeToken),
			wantCode: exitAS, wantInStderr: "check the credentials",
		},
		{
			name: "AS unavailable", auth: "basic", introspectStatus: http.StatusServiceUnavailable,
			args:     with("--introspection-url", "{AS}/introspect", activeToken),
			wantCode: exitAS, wantInStderr: "503", wantCalls: 1, // no retry
		},
		{
			name: "AS unreachable", auth: "basic",
			args:     with("--introspection-url", "http://127.0.0.1:1/introspect", activeToken),
			wantCode: exitAS, wantInStderr: "tokengate introspect:",
		},
		{name: "no token", args: with("--issuer", "{AS}"), wantCode: exitUsage, wantInStderr: "give the TOKEN: - to read it from stdin, or set TOKENGATE_TOKEN"},
		{name: "token from the environment", auth: "basic", vars: map[string]string{"TOKENGATE_TOKEN": activeToken}, args: with("--issuer", "{AS}"), wantCode: exitOK, wantInStdout: []string{`"active": true`}, wantForm: map[string]string{"token": activeToken}},
		{name: "two tokens", args: with("--issuer", "{AS}", "a", "b"), wantCode: exitUsage, wantInStderr: "want one TOKEN argument"},
		{name: "empty stdin", stdin: " \n", args: with("--issuer", "{AS}", "-"), wantCode: exitUsage, wantInStderr: "token is empty"},
		{name: "huge stdin", stdin: strings.Repeat("a", maxStdinTokenBytes+1), args: with("--issuer", "{AS}", "-"), wantCode: exitUsage, wantInStderr: "longer than"},
		{name: "no endpoint", args: with(activeToken), wantCode: exitUsage, wantInStderr: "give --issuer URL or --introspection-url URL"},
		{name: "two endpoints", args: with("--issuer", "{AS}", "--introspection-url", "{AS}/introspect", activeToken), wantCode: exitUsage, wantInStderr: "give only one of --issuer and --introspection-url"},
		{name: "two endpoints from the environment", vars: map[string]string{"TOKENGATE_ISSUER": "{AS}", "TOKENGATE_INTROSPECTION_URL": "{AS}/introspect"}, args: with(activeToken), wantCode: exitUsage, wantInStderr: "give only one of TOKENGATE_ISSUER and TOKENGATE_INTROSPECTION_URL"},
		{name: "bearer and secret", args: with("--issuer", "{AS}", "--bearer", "b", activeToken), wantCode: exitUsage, wantInStderr: "not both"},
		{name: "bearer with auth", args: []string{"--issuer", "{AS}", "--bearer", "b", "--auth", "post", activeToken}, wantCode: exitUsage, wantInStderr: "--auth applies"},
		{name: "no credentials", args: []string{"--issuer", "{AS}", activeToken}, wantCode: exitUsage, wantInStderr: "give --client-id and --client-secret (or set TOKENGATE_CLIENT_ID and TOKENGATE_CLIENT_SECRET), or --bearer"},
		{name: "id without secret", args: []string{"--issuer", "{AS}", "--client-id", "x", activeToken}, wantCode: exitUsage, wantInStderr: "--client-id is given but --client-secret is not"},
		{name: "plain http off loopback", args: with("--introspection-url", "http://as.example/introspect", activeToken), wantCode: exitUsage, wantInStderr: "--insecure-allow-http"},
		{name: "bad auth in the environment", vars: map[string]string{"TOKENGATE_CLIENT_AUTH": "jwt"}, args: []string{"--issuer", "{AS}", activeToken}, wantCode: exitUsage, wantInStderr: "TOKENGATE_CLIENT_AUTH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			as := newFakeAS(t, tt.auth)
			as.introspectStatus = tt.introspectStatus
			r := as.run(t, tt.stdin, tt.vars, append([]string{"introspect"}, tt.args...)...)
			if r.code != tt.wantCode {
				t.Fatalf("exit code = %d, want %d\nstdout: %s\nstderr: %s", r.code, tt.wantCode, r.stdout, r.stderr)
			}
			for _, s := range tt.wantInStdout {
				if !strings.Contains(r.stdout, s) {
					t.Errorf("stdout = %s\nwant it to contain %s", r.stdout, s)
				}
			}
			if len(tt.wantInStdout) > 0 && !json.Valid([]byte(r.stdout)) {
				t.Errorf("stdout is not JSON: %s", r.stdout)
			}
			if tt.wantCode == exitFailure && strings.TrimSpace(r.stdout) != "{\n  \"active\": false\n}" {
				t.Errorf("inactive stdout = %q, want {\"active\": false} alone", r.stdout)
			}
			if tt.wantCode >= exitUsage && r.stdout != "" {
				t.Errorf("stdout = %q on failure, want nothing", r.stdout)
			}
			if !strings.Contains(r.stderr, tt.wantInStderr) {
				t.Errorf("stderr = %q, want it to contain %q", r.stderr, tt.wantInStderr)
			}
			assertNoSecrets(t, "stderr", r.stderr, fakeSecret, fakeBearer, activeToken, expiredToken)
			if n := as.introspections.Load(); tt.wantCalls != 0 && n != tt.wantCalls {
				t.Errorf("the AS got %d introspection calls, want %d", n, tt.wantCalls)
			}
			form := as.form()
			for k, want := range tt.wantForm {
				if got := form.Get(k); got != want {
					t.Errorf("AS got %s=%q, want %q", k, got, want)
				}
			}
		})
	}
}
