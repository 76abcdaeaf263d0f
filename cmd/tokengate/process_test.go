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

	"github.com/tokengate/tokengate/internal/testserver"
)

// TestMain lets a test run this binary as the tokengate command itself.
func TestMain(m *testing.M) {
	if os.Getenv("TOKENGATE_TEST_RUN_MAIN") == "1" {
		main()
		return
	}
	testserver.Main(m) // stops the PostgreSQL of the --db postgres:// tests
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
			p, listening := startProcess(t, nil, "tokengate serve: listening", "serve", "--addr", "127.0.0.1:0", "--db", db, "--log-format", "json")
			issuer, _ := listening["issuer"].(string)

			id, secret := createClient(t, db, "--name", "app", "--scopes", "a")
			r := runCLI(t, "", nil, "token", "--issuer", issuer, "--client-id", id, "--client-secret", secret)
			if r.code != exitOK || !strings.HasPrefix(r.stdout, "tg_at_") {
				t.Fatalf("token from the serve process: code %d, %s%s", r.code, r.stdout, r.stderr)
			}

			if err := p.cmd.Process.Signal(tt.sig); err != nil {
				t.Fatal(err)
			}
			logs, err := p.wait()
			if err != nil {
				t.Errorf("serve after %s: %v\n%s", tt.name, err, logs)
			}
			if !strings.Contains(logs, `"msg":"tokengate serve: stopped"`) {
				t.Errorf("serve did not log a clean stop:\n%s", logs)
			}
			assertNoSecrets(t, "serve logs", logs, secret, strings.TrimSpace(r.stdout))
		})
	}
}

// process is this test binary running as the tokengate command, with JSON
// logs on stderr.
type process struct {
	cmd  *exec.Cmd
	sc   *bufio.Scanner
	logs strings.Builder
}

// startProcess runs "tokengate args..." as a process with the environment
// and vars, and reads its logs until the line whose msg is want, which it
// returns. The process is killed when the test ends.
func startProcess(t *testing.T, vars []string, want string, args ...string) (*process, map[string]any) {
	t.Helper()
	p := &process{cmd: exec.Command(os.Args[0], args...)}
	p.cmd.Env = append(append(os.Environ(), "TOKENGATE_TEST_RUN_MAIN=1"), vars...)
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.cmd.Process.Kill() })
	p.sc = bufio.NewScanner(stderr)
	for p.sc.Scan() {
		p.logs.WriteString(p.sc.Text() + "\n")
		var m map[string]any
		if json.Unmarshal(p.sc.Bytes(), &m) == nil && m["msg"] == want {
			return p, m
		}
	}
	t.Fatalf("%q never logged %q:\n%s", args, want, p.logs.String())
	return nil, nil
}

// wait reads the rest of the logs, waits for the process to exit and
// returns all its logs and how it exited.
func (p *process) wait() (logs string, err error) {
	for p.sc.Scan() {
		p.logs.WriteString(p.sc.Text() + "\n")
	}
	err = p.cmd.Wait()
	return p.logs.String(), err
}
