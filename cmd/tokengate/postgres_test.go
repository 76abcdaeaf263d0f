package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/internal/testserver"
)

// TestDBPostgres runs serve and the administrative commands on one
// PostgreSQL database given as --db or TOKENGATE_DB (the flag wins), and
// checks that the DSN's password appears in no output or log.
func TestDBPostgres(t *testing.T) {
	const password = "pw-Kq81zT"
	// The test server trusts loopback, so the password is only carried.
	dsn := strings.Replace(testserver.SharedPostgres(t), "postgres@", "postgres:"+password+"@", 1)
	inEnv := map[string]string{"TOKENGATE_DB": dsn}
	var outputs []string
	run := func(stdin string, vars map[string]string, args ...string) result {
		t.Helper()
		r := runCLI(t, stdin, vars, args...)
		outputs = append(outputs, r.stdout, r.stderr)
		return r
	}

	run("correct horse\n", inEnv, "user", "create", "--username", "alice", "--password-stdin").check(t, exitOK, "sub:", "")
	// The flag wins over the variable, which names a file that cannot be made.
	r := run("", map[string]string{"TOKENGATE_DB": "/nonexistent/dir/tokengate.db"}, "client", "create", "--db", dsn, "--json",
		"--name", "app", "--scopes", "orders:read")
	r.check(t, exitOK, "client_secret", "")
	rs := run("", inEnv, "client", "create", "--json", "--name", "orders API", "--introspect-any")
	rs.check(t, exitOK, "client_secret", "")
	appID, appSecret := jsonField(t, r.stdout, "client_id"), jsonField(t, r.stdout, "client_secret")
	rsID, rsSecret := jsonField(t, rs.stdout, "client_id"), jsonField(t, rs.stdout, "client_secret")

	issuer, stop := startServe(t, "--addr", "127.0.0.1:0", "--db", dsn)
	tok := run("", nil, "token", "--issuer", issuer, "--client-id", appID, "--client-secret", appSecret)
	tok.check(t, exitOK, "tg_at_", "")
	as := map[string]string{"TOKENGATE_ISSUER": issuer, "TOKENGATE_CLIENT_ID": rsID, "TOKENGATE_CLIENT_SECRET": rsSecret,
		"TOKENGATE_TOKEN": strings.TrimSpace(tok.stdout)}
	run("", as, "introspect").check(t, exitOK, `"active": true`, "")
	run("", inEnv, "client", "list").check(t, exitOK, appID, "")
	run("", inEnv, "user", "list").check(t, exitOK, "alice", "")
	run("", inEnv, "consent", "list", "--user", "alice").check(t, exitOK, "", "")
	run("", inEnv, "keys", "rotate", "--alg", "ES256").check(t, exitOK, "retired, published until", "")
	run("", inEnv, "client", "delete", appID).check(t, exitOK, "deleted "+appID, "")
	// Deleted in the database: the running server says inactive at once.
	run("", as, "introspect").check(t, exitFailure, `"active": false`, "")

	bad := run("", nil, "client", "list", "--db", "postgres://tokengate:"+password+"@127.0.0.1:1/tokengate?connect_timeout=5")
	bad.check(t, exitFailure, "", "postgres://tokengate:xxxxx@127.0.0.1:1/tokengate")

	code, logs := stop()
	if code != exitOK {
		t.Errorf("serve exited with %d:\n%s", code, logs)
	}
	if !strings.Contains(logs, `"db":"postgres://postgres:xxxxx@127.0.0.1`) {
		t.Errorf("serve's log does not name the database without its password:\n%s", logs)
	}
	for _, out := range append(outputs, logs) {
		if strings.Contains(out, password) {
			t.Errorf("the DSN's password is in an output or log:\n%s", out)
		}
	}
}

// jsonField returns the string member name of the JSON object s.
func jsonField(t *testing.T, s, name string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	v, _ := m[name].(string)
	if v == "" {
		t.Fatalf("%q has no %s", s, name)
	}
	return v
}
