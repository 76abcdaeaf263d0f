package main

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestMain lets a test run this binary as the tokengate command itself.
func TestMain(m *testing.M) {
	if os.Getenv("TOKENGATE_TEST_RUN_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// TestServeProcess runs "tokengate serve" as its own process, registers a
// client from this process on the same database while it runs, gets a
// token from it, and stops it with a signal: it must shut down cleanly.
func TestServeProcess(t *testing.T) {
	tests := []struct {
		name string
		sig  syscall.Signal
	}{
		{name: "SIGTERM", sig: syscall.SIGTERM},
		{name: "SIGINT", sig: syscall.SIGINT},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "tokengate.db")
			cmd := exec.Command(os.Args[0], "serve", "--addr", "127.0.0.1:0", "--db", db, "--log-format", "json")
			cmd.Env = append(os.Environ(), "TOKENGATE_TEST_RUN_MAIN=1")
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			var logs strings.Builder
			sc := bufio.NewScanner(stderr)
			issuer := ""
			for issuer == "" && sc.Scan() {
				logs.WriteString(sc.Text() + "\n")
				var m map[string]any
				if json.Unmarshal(sc.Bytes(), &m) == nil && m["msg"] == "tokengate serve: listening" {
					issuer, _ = m["issuer"].(string)
				}
			}
			if issuer == "" {
				t.Fatalf("serve never listened:\n%s", logs.String())
			}

			id, secret := createClient(t, db, "--name", "app", "--scopes", "a")
			r := runCLI(t, "", nil, "token", "--issuer", issuer, "--client-id", id, "--client-secret", secret)
			if r.code != exitOK || !strings.HasPrefix(r.stdout, "tg_at_") {
				t.Fatalf("token from the serve process: code %d, %s%s", r.code, r.stdout, r.stderr)
			}

			if err := cmd.Process.Signal(tt.sig); err != nil {
				t.Fatal(err)
			}
			for sc.Scan() {
				logs.WriteString(sc.Text() + "\n")
			}
			if err := cmd.Wait(); err != nil {
				t.Errorf("serve after %s: %v\n%s", tt.name, err, logs.String())
			}
			if !strings.Contains(logs.String(), `"msg":"tokengate serve: stopped"`) {
				t.Errorf("serve did not log a clean stop:\n%s", logs.String())
			}
			assertNoSecrets(t, "serve logs", logs.String(), secret, strings.TrimSpace(r.stdout))
		})
	}
}
