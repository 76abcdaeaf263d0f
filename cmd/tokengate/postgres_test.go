package main

import (
	"encoding/json"
	"strings"
	"syscall"
	"testing"
	"time"

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

// TestServeReplicasPostgres runs two "tokengate serve" processes on one
// PostgreSQL database (TOKENGATE_DB in their environment): a token issued
// by A is active at B at once, one revoked at B is inactive at A at once,
// and a client deleted with "tokengate client delete" is refused by B,
// which had it in its cache, within the client cache's TTL (1 s).
func TestServeReplicasPostgres(t *testing.T) {
	dsn := testserver.SharedPostgres(t)
	inEnv := map[string]string{"TOKENGATE_DB": dsn}
	r := runCLI(t, "", inEnv, "client", "create", "--json", "--name", "app", "--scopes", "orders:read")
	r.check(t, exitOK, "client_secret", "")
	appID, appSecret := jsonField(t, r.stdout, "client_id"), jsonField(t, r.stdout, "client_secret")
	r = runCLI(t, "", inEnv, "client", "create", "--json", "--name", "api", "--introspect-any")
	r.check(t, exitOK, "client_secret", "")
	rsID, rsSecret := jsonField(t, r.stdout, "client_id"), jsonField(t, r.stdout, "client_secret")

	serve := func() (*process, string) {
		p, listening := startProcess(t, []string{"TOKENGATE_DB=" + dsn}, "tokengate serve: listening",
			"serve", "--addr", "127.0.0.1:0", "--log-format", "json")
		return p, listening["issuer"].(string)
	}
	procA, a := serve()
	procB, b := serve()
	token := func(issuer string) result {
		return runCLI(t, "", nil, "token", "--issuer", issuer, "--client-id", appID, "--client-secret", appSecret)
	}
	introspect := func(issuer, tok string) int {
		return runCLI(t, tok+"\n", nil, "introspect", "--issuer", issuer, "--client-id", rsID, "--client-secret", rsSecret, "-").code
	}

	r = token(a)
	r.check(t, exitOK, "tg_at_", "")
	tok := strings.TrimSpace(r.stdout)
	if code := introspect(b, tok); code != exitOK {
		t.Errorf("a token issued by A: introspection at B exits %d, want %d (active)", code, exitOK)
	}
	runCLI(t, "", nil, "revoke", "--issuer", b, "--client-id", appID, "--client-secret", appSecret, tok).check(t, exitOK, "revoked", "")
	if code := introspect(a, tok); code != exitFailure {
		t.Errorf("a token revoked at B: introspection at A exits %d, want %d (inactive)", code, exitFailure)
	}

	token(b).check(t, exitOK, "tg_at_", "") // B has the client in its cache
	runCLI(t, "", inEnv, "client", "delete", appID).check(t, exitOK, "deleted", "")
	start := time.Now()
	for token(b).code == exitOK {
		if time.Since(start) > 5*time.Second {
			t.Fatal("B still issues tokens to a deleted client 5 s after it was deleted (ClientCacheTTL is 1 s)")
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("B refused the deleted client after %v", time.Since(start).Round(time.Millisecond))

	for name, p := range map[string]*process{"A": procA, "B": procB} {
		p.cmd.Process.Signal(syscall.SIGTERM)
		if logs, err := p.wait(); err != nil {
			t.Errorf("serve %s: %v\n%s", name, err, logs)
		}
	}
}
