package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// demoStep is one command the demo prints, with the comment above it.
type demoStep struct {
	comment, line string
}

// TestDemo runs "tokengate demo" on free ports, follows the steps it prints
// with an HTTP client (interpreting the curl lines), checks each answer,
// then interrupts it and checks that it cleaned up.
func TestDemo(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // the demo database goes under it

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	stderr := &syncBuffer{}
	e := &env{stdin: strings.NewReader(""), stdout: pw, stderr: stderr, getenv: func(string) string { return "" },
		httpClient: &http.Client{Timeout: 10 * time.Second}}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, e, []string{"demo", "--addr-as", "127.0.0.1:0", "--addr-api", "127.0.0.1:0", "--addr-app", "127.0.0.1:0"})
		pw.Close()
	}()

	// Read the printed steps up to the ready line.
	var steps []demoStep
	var printed strings.Builder
	comment := ""
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		line := sc.Text()
		printed.WriteString(line + "\n")
		if line == demoReadyLine {
			break
		}
		switch {
		case strings.HasPrefix(line, "# "):
			comment = line
		case strings.HasPrefix(line, "curl ") || strings.HasPrefix(line, "TOKEN="):
			steps = append(steps, demoStep{comment, line})
		}
	}
	if !strings.Contains(printed.String(), demoReadyLine) {
		t.Fatalf("demo never got ready; it printed:\n%s\nstderr:\n%s", printed.String(), stderr.String())
	}
	go io.Copy(io.Discard, pr)
	if len(steps) != 5 {
		t.Fatalf("demo printed %d steps, want 5:\n%s", len(steps), printed.String())
	}

	client := &http.Client{Timeout: 10 * time.Second}
	vars := map[string]string{}

	// 1. TOKEN=$(curl ... | sed -E 's/RE/\1/')
	m := regexp.MustCompile(`^TOKEN=\$\((curl .*) \| sed -E 's/(.*)/\\1/'\)$`).FindStringSubmatch(steps[0].line)
	if m == nil {
		t.Fatalf("step 1 is not TOKEN=$(curl ... | sed -E 's/RE/\\1/'): %s", steps[0].line)
	}
	words, err := shellWords(m[1], vars)
	if err != nil {
		t.Fatal(err)
	}
	got := runCurl(t, client, words)
	if got.status != http.StatusOK {
		t.Fatalf("step 1: %d %s", got.status, got.body)
	}
	vars["TOKEN"] = regexp.MustCompile(m[2]).ReplaceAllString(strings.TrimSpace(got.body), "$1")
	if !regexp.MustCompile(`^tg_at_[A-Za-z0-9_-]+$`).MatchString(vars["TOKEN"]) {
		t.Fatalf("step 1's sed gives %q from %s, not a token", vars["TOKEN"], got.body)
	}

	follow := func(i int) curlResult {
		t.Helper()
		words, err := shellWords(steps[i].line, vars)
		if err != nil {
			t.Fatal(err)
		}
		return runCurl(t, client, words)
	}

	// 2. GET with the token: 200 and the caller.
	got = follow(1)
	var list struct {
		Caller caller           `json:"caller"`
		Orders []map[string]any `json:"orders"`
	}
	if got.status != http.StatusOK || json.Unmarshal([]byte(got.body), &list) != nil {
		t.Fatalf("step 2: %d %s", got.status, got.body)
	}
	if strings.Join(list.Caller.Scopes, " ") != "orders:read" || !strings.HasPrefix(list.Caller.ClientID, "tgc_") || len(list.Orders) == 0 {
		t.Errorf("step 2 answered %+v", list)
	}
	if !strings.Contains(steps[1].comment, "200") {
		t.Errorf("step 2's comment %q does not announce 200", steps[1].comment)
	}

	// 3. POST with the token: 403 insufficient_scope naming orders:write.
	got = follow(2)
	challenge := got.header.Get("WWW-Authenticate")
	if got.status != http.StatusForbidden ||
		!strings.HasPrefix(challenge, "Bearer ") ||
		!strings.Contains(challenge, `error="insufficient_scope"`) ||
		!strings.Contains(challenge, `scope="orders:write"`) {
		t.Errorf("step 3: %d, WWW-Authenticate %q", got.status, challenge)
	}
	if !strings.Contains(steps[2].comment, "403") {
		t.Errorf("step 3's comment %q does not announce 403", steps[2].comment)
	}

	// 4. No token: 401 with a bare challenge.
	got = follow(3)
	challenge = got.header.Get("WWW-Authenticate")
	if got.status != http.StatusUnauthorized || challenge != `Bearer realm="orders"` {
		t.Errorf("step 4: %d, WWW-Authenticate %q", got.status, challenge)
	}
	if !strings.Contains(steps[3].comment, "401") {
		t.Errorf("step 4's comment %q does not announce 401", steps[3].comment)
	}

	// 5. Introspection as the API.
	got = follow(4)
	var verdict map[string]any
	if got.status != http.StatusOK || json.Unmarshal([]byte(got.body), &verdict) != nil || verdict["active"] != true || verdict["scope"] != "orders:read" {
		t.Errorf("step 5: %d %s", got.status, got.body)
	}

	// The database is where the demo said, until it stops.
	dbm := regexp.MustCompile(`database\s+(\S+)`).FindStringSubmatch(printed.String())
	if dbm == nil || !strings.HasPrefix(dbm[1], tmp) {
		t.Fatalf("demo names no database under %s:\n%s", tmp, printed.String())
	}
	if _, err := os.Stat(dbm[1]); err != nil {
		t.Errorf("demo database: %v", err)
	}

	cancel()
	if code := <-done; code != exitOK {
		t.Errorf("demo exited with %d after interrupt; stderr:\n%s", code, stderr.String())
	}
	if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
		t.Errorf("demo left %v in the temporary directory", entries)
	}
	assertNoSecrets(t, "demo logs", stderr.String(), vars["TOKEN"])
}

func TestDemoPortInUse(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	tests := []struct {
		name, flag string
	}{
		{name: "authorization server", flag: "--addr-as"},
		{name: "api", flag: "--addr-api"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"demo", "--addr-as", "127.0.0.1:0", "--addr-api", "127.0.0.1:0", tt.flag, busy.Addr().String()}
			r := runCLI(t, "", nil, args...)
			if r.code != exitFailure {
				t.Errorf("code %d, want %d", r.code, exitFailure)
			}
			for _, want := range []string{busy.Addr().String() + " is already in use", tt.flag + " 127.0.0.1:0"} {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr %q lacks %q", r.stderr, want)
				}
			}
			if r.stdout != "" {
				t.Errorf("stdout = %q, want nothing", r.stdout)
			}
		})
	}
}

func TestDemoUsage(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantStderr string
	}{
		{name: "public address", args: []string{"--addr-api", "0.0.0.0:8080"}, wantStderr: "loopback only"},
		{name: "no port", args: []string{"--addr-as", "127.0.0.1"}, wantStderr: `--addr-as "127.0.0.1"`},
		{name: "stray argument", args: []string{"now"}, wantStderr: `unexpected argument "now"`},
		{name: "bad log level", args: []string{"--log-level", "loud"}, wantStderr: "--log-level"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, "", nil, append([]string{"demo"}, tt.args...)...)
			if r.code != exitUsage || !strings.Contains(r.stderr, tt.wantStderr) {
				t.Errorf("code %d, stderr %q; want %d and %q", r.code, r.stderr, exitUsage, tt.wantStderr)
			}
		})
	}
}
