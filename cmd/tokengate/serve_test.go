package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the concurrent writes of servers'
// loggers.
type syncBuffer struct {
	mu sync.Mutex // guards b
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startServe runs "tokengate serve" with args in a goroutine and returns
// its issuer URL, read from its JSON "listening" log line, and a function
// that stops it and returns its exit code and logs.
func startServe(t *testing.T, args ...string) (issuer string, stop func() (int, string)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	logs := &syncBuffer{}
	e := &env{stdin: strings.NewReader(""), stdout: logs, stderr: pw, getenv: func(string) string { return "" },
		httpClient: &http.Client{Timeout: 10 * time.Second}}
	done := make(chan int, 1)
	go func() {
		code := run(ctx, e, append([]string{"serve", "--log-format", "json"}, args...))
		pw.Close()
		done <- code
	}()
	issuerc := make(chan string, 1)
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			logs.Write([]byte(line + "\n"))
			var m map[string]any
			if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "tokengate serve: listening" {
				issuerc <- m["issuer"].(string)
			}
		}
		io.Copy(io.Discard, pr)
	}()
	stop = func() (int, string) {
		cancel()
		code := <-done
		<-copied
		return code, logs.String()
	}
	select {
	case issuer = <-issuerc:
	case code := <-done:
		<-copied
		t.Fatalf("serve exited with %d before listening:\n%s", code, logs.String())
	}
	t.Cleanup(func() { cancel() })
	return issuer, stop
}

// createClient runs "client create --json" and returns the id and secret.
func createClient(t *testing.T, db string, args ...string) (id, secret string) {
	t.Helper()
	r := runCLI(t, "", nil, append([]string{"client", "create", "--db", db, "--json"}, args...)...)
	if r.code != exitOK {
		t.Fatalf("client create %q: code %d\n%s%s", args, r.code, r.stdout, r.stderr)
	}
	var out map[string]string
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || len(out) != 2 || out["client_id"] == "" || out["client_secret"] == "" {
		t.Fatalf("client create --json printed %q (%v), want one object with client_id and client_secret", r.stdout, err)
	}
	return out["client_id"], out["client_secret"]
}

// TestServeEndToEnd runs serve on a SQLite file and, while it runs, the
// other commands on the same file and against it: client create, token,
// introspect, client list, keys rotate, client delete.
func TestServeEndToEnd(t *testing.T) {
	db := filepath.Join(t.TempDir(), "tokengate.db")
	issuer, stop := startServe(t, "--addr", "127.0.0.1:0", "--db", db)

	const api = "https://api.example/orders"
	appID, appSecret := createClient(t, db, "--name", "app", "--scopes", "orders:read orders:write", "--resource", api)
	rsID, rsSecret := createClient(t, db, "--name", "orders API", "--introspect", "--resource", api)
	otherID, otherSecret := createClient(t, db, "--name", "other API", "--introspect", "--resource", "https://other.example")

	// A token from the running server, for a client registered after it started.
	r := runCLI(t, "", nil, "token", "--issuer", issuer, "--client-id", appID, "--client-secret", appSecret, "--scope", "orders:read")
	if r.code != exitOK {
		t.Fatalf("token: code %d: %s", r.code, r.stderr)
	}
	token := strings.TrimSpace(r.stdout)
	if !strings.HasPrefix(token, "tg_at_") {
		t.Fatalf("token printed %q, want a tg_at_ token alone", r.stdout)
	}

	r = runCLI(t, "", nil, "token", "--issuer", issuer, "--client-id", appID, "--client-secret", appSecret, "--auth", "post", "--json")
	var tr map[string]any
	if r.code != exitOK || json.Unmarshal([]byte(r.stdout), &tr) != nil || tr["token_type"] != "Bearer" || tr["scope"] != "orders:read orders:write" {
		t.Fatalf("token --json --auth post: code %d, stdout %s, stderr %s", r.code, r.stdout, r.stderr)
	}

	introspectAs := func(id, secret string) result {
		return runCLI(t, token+"\n", nil, "introspect", "--issuer", issuer, "--client-id", id, "--client-secret", secret, "-")
	}
	r = introspectAs(rsID, rsSecret)
	var verdict map[string]any
	if r.code != exitOK || json.Unmarshal([]byte(r.stdout), &verdict) != nil {
		t.Fatalf("introspect: code %d, stdout %s, stderr %s", r.code, r.stdout, r.stderr)
	}
	if verdict["active"] != true || verdict["scope"] != "orders:read" || verdict["client_id"] != appID || verdict["iss"] != issuer {
		t.Errorf("introspect verdict = %v", verdict)
	}
	// The audience rule: another resource server sees nothing.
	if r = introspectAs(otherID, otherSecret); r.code != exitFailure {
		t.Errorf("introspect by another API: code %d, stdout %s, want inactive", r.code, r.stdout)
	}
	// A client that may not introspect is refused outright.
	if r = introspectAs(appID, appSecret); r.code != exitAS || !strings.Contains(r.stderr, "403") {
		t.Errorf("introspect by the app itself: code %d, stdout %s stderr %s", r.code, r.stdout, r.stderr)
	}
	if r = introspectAs(rsID, rsSecret+"x"); r.code != exitAS {
		t.Errorf("introspect with a wrong secret: code %d, want %d", r.code, exitAS)
	}

	r = runCLI(t, "", nil, "client", "list", "--db", db, "--json")
	var list []map[string]any
	if r.code != exitOK || json.Unmarshal([]byte(r.stdout), &list) != nil || len(list) != 3 {
		t.Fatalf("client list --json: code %d, stdout %s, stderr %s", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, "", nil, "client", "list", "--db", db)
	if r.code != exitOK || !strings.Contains(r.stdout, rsID) || !strings.Contains(r.stdout, "audience") {
		t.Errorf("client list: code %d, stdout %s", r.code, r.stdout)
	}
	assertNoSecrets(t, "client list", r.stdout, appSecret, rsSecret)

	r = runCLI(t, "", nil, "keys", "rotate", "--db", db, "--alg", "ES256")
	if r.code != exitOK || !strings.Contains(r.stdout, "retired, published until") {
		t.Errorf("keys rotate: code %d, stdout %s, stderr %s", r.code, r.stdout, r.stderr)
	}
	// The server keeps working after the rotation.
	if r = introspectAs(rsID, rsSecret); r.code != exitOK {
		t.Errorf("introspect after rotation: code %d, %s", r.code, r.stderr)
	}

	r = runCLI(t, "", nil, "client", "delete", "--db", db, appID)
	if r.code != exitOK || r.stdout != "deleted "+appID+"\n" {
		t.Errorf("client delete: code %d, stdout %q, stderr %s", r.code, r.stdout, r.stderr)
	}
	// Deleting the client kills its tokens at once on the running server.
	if r = introspectAs(rsID, rsSecret); r.code != exitFailure {
		t.Errorf("introspect after delete: code %d, stdout %s, want inactive", r.code, r.stdout)
	}

	// Revocation (RFC 7009) by the client that got the token, with the
	// settings and the token in the environment: the running server
	// answers inactive at once.
	id2, secret2 := createClient(t, db, "--name", "short-lived app", "--scopes", "orders:read", "--resource", api)
	vars := map[string]string{"TOKENGATE_ISSUER": issuer, "TOKENGATE_CLIENT_ID": id2, "TOKENGATE_CLIENT_SECRET": secret2}
	r = runCLI(t, "", vars, "token")
	if r.code != exitOK {
		t.Fatalf("token from the environment: code %d: %s", r.code, r.stderr)
	}
	vars["TOKENGATE_TOKEN"] = strings.TrimSpace(r.stdout)
	r = runCLI(t, "", map[string]string{"TOKENGATE_ISSUER": issuer, "TOKENGATE_CLIENT_ID": rsID, "TOKENGATE_CLIENT_SECRET": rsSecret, "TOKENGATE_TOKEN": vars["TOKENGATE_TOKEN"]}, "introspect")
	if r.code != exitOK {
		t.Fatalf("introspect before revoke: code %d: %s", r.code, r.stderr)
	}
	if r = runCLI(t, "", vars, "revoke"); r.code != exitOK || r.stdout != "revoked\n" {
		t.Fatalf("revoke: code %d, stdout %q, stderr %s", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, "", map[string]string{"TOKENGATE_ISSUER": issuer, "TOKENGATE_CLIENT_ID": rsID, "TOKENGATE_CLIENT_SECRET": rsSecret, "TOKENGATE_TOKEN": vars["TOKENGATE_TOKEN"]}, "introspect")
	if r.code != exitFailure {
		t.Errorf("introspect after revoke: code %d, stdout %s, want inactive", r.code, r.stdout)
	}
	// Another client may not revoke it (RFC 7009 §2.1).
	vars["TOKENGATE_CLIENT_ID"], vars["TOKENGATE_CLIENT_SECRET"] = otherID, otherSecret
	if r = runCLI(t, "", vars, "revoke"); r.code != exitFailure || !strings.Contains(r.stderr, "unauthorized_client") {
		t.Errorf("revoke by another client: code %d, stderr %s", r.code, r.stderr)
	}

	code, logs := stop()
	if code != exitOK {
		t.Errorf("serve exited with %d:\n%s", code, logs)
	}
	for _, want := range []string{`"msg":"request"`, `"path":"/token"`, `"msg":"shutting down"`, `"msg":"tokengate serve: stopped"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("serve logs lack %s:\n%s", want, logs)
		}
	}
	assertNoSecrets(t, "serve logs", logs, token, appSecret, rsSecret, otherSecret)
}

func TestServeErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	dir := t.TempDir()
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string
	}{
		{name: "port in use", args: []string{"--addr", busy.Addr().String(), "--db", filepath.Join(dir, "a.db")}, wantCode: exitFailure, wantStderr: "already in use"},
		{name: "bad log format", args: []string{"--log-format", "xml"}, wantCode: exitUsage, wantStderr: "--log-format"},
		{name: "bad log level", args: []string{"--log-level", "loud"}, wantCode: exitUsage, wantStderr: "--log-level"},
		{name: "stray argument", args: []string{"now"}, wantCode: exitUsage, wantStderr: `unexpected argument "now"`},
		{name: "public address without issuer", args: []string{"--addr", "0.0.0.0:9096"}, wantCode: exitUsage, wantStderr: "give its https URL with --issuer"},
		{name: "public address with a loopback http issuer", args: []string{"--addr", "0.0.0.0:0", "--issuer", "http://127.0.0.1:9096", "--db", filepath.Join(dir, "d.db")},
			wantCode: exitUsage, wantStderr: "give its https URL with --issuer"},
		{name: "all interfaces with a localhost http issuer", args: []string{"--addr", ":0", "--issuer", "http://localhost:9096", "--db", filepath.Join(dir, "e.db")},
			wantCode: exitUsage, wantStderr: "give its https URL with --issuer"},
		{name: "bad address", args: []string{"--addr", "9096"}, wantCode: exitUsage, wantStderr: `--addr "9096"`},
		{name: "bad issuer", args: []string{"--addr", "127.0.0.1:0", "--issuer", "http://as.example", "--db", filepath.Join(dir, "b.db")}, wantCode: exitFailure, wantStderr: "Issuer"},
		{name: "db in a missing directory", args: []string{"--addr", "127.0.0.1:0", "--db", filepath.Join(dir, "no", "such", "c.db")}, wantCode: exitFailure, wantStderr: "sqlite"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, "", nil, append([]string{"serve"}, tt.args...)...)
			if r.code != tt.wantCode || !strings.Contains(r.stderr, tt.wantStderr) {
				t.Errorf("code %d, stderr %q; want %d and %q", r.code, r.stderr, tt.wantCode, tt.wantStderr)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "a.db")); err == nil {
		t.Error("serve created its database although it could not listen")
	}
}
