package main

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// result is what one run of the command produced.
type result struct {
	code           int
	stdout, stderr string
}

// runCLI runs tokengate with args, stdin and the environment vars, the way
// main does but in-process.
func runCLI(t testing.TB, stdin string, vars map[string]string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	e := &env{
		stdin:      strings.NewReader(stdin),
		stdout:     &stdout,
		stderr:     &stderr,
		getenv:     func(k string) string { return vars[k] },
		httpClient: &http.Client{Timeout: 10 * time.Second},
	}
	code := run(context.Background(), e, args)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

func TestDispatch(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string // substring
		wantStderr string // substring
	}{
		{name: "no args", args: nil, wantCode: exitUsage, wantStderr: "Commands:"},
		{name: "unknown command", args: []string{"frobnicate"}, wantCode: exitUsage, wantStderr: `unknown command "frobnicate"`},
		{name: "help", args: []string{"help"}, wantCode: exitOK, wantStdout: "introspect"},
		{name: "--help", args: []string{"--help"}, wantCode: exitOK, wantStdout: "Commands:"},
		{name: "help of a command", args: []string{"help", "token"}, wantCode: exitOK, wantStdout: "Usage: tokengate token"},
		{name: "help of an unknown command", args: []string{"help", "nope"}, wantCode: exitUsage, wantStderr: `unknown command "nope"`},
		{name: "help with two names", args: []string{"help", "token", "introspect"}, wantCode: exitUsage, wantStderr: "at most one"},
		{name: "version", args: []string{"version"}, wantCode: exitOK, wantStdout: "tokengate "},
		{name: "--version", args: []string{"--version"}, wantCode: exitOK, wantStdout: "tokengate "},
		{name: "version with an argument", args: []string{"version", "x"}, wantCode: exitUsage, wantStderr: "no arguments"},
		{name: "token -h", args: []string{"token", "-h"}, wantCode: exitOK, wantStdout: "-client-secret"},
		{name: "introspect -h", args: []string{"introspect", "-h"}, wantCode: exitOK, wantStdout: "Exit status"},
		{name: "unknown flag", args: []string{"token", "--nope"}, wantCode: exitUsage, wantStderr: "flag provided but not defined: -nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, "", nil, tt.args...)
			if r.code != tt.wantCode {
				t.Errorf("exit code = %d, want %d\nstdout: %s\nstderr: %s", r.code, tt.wantCode, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stdout, tt.wantStdout) {
				t.Errorf("stdout = %q, want it to contain %q", r.stdout, tt.wantStdout)
			}
			if !strings.Contains(r.stderr, tt.wantStderr) {
				t.Errorf("stderr = %q, want it to contain %q", r.stderr, tt.wantStderr)
			}
			if tt.wantStdout == "" && r.stdout != "" {
				t.Errorf("stdout = %q, want nothing", r.stdout)
			}
			if tt.wantStderr == "" && r.stderr != "" {
				t.Errorf("stderr = %q, want nothing", r.stderr)
			}
		})
	}
}

// Every command's -h works and its usage names the command.
func TestEveryCommandHasHelp(t *testing.T) {
	for _, c := range commands() {
		if c.run == nil {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			r := runCLI(t, "", nil, c.name, "-h")
			if r.code != exitOK || !strings.Contains(r.stdout, "tokengate "+c.name) {
				t.Errorf("%s -h: code %d, stdout %q, stderr %q", c.name, r.code, r.stdout, r.stderr)
			}
		})
	}
}

func TestParseInterspersed(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantPos []string
		wantV   bool
		wantS   string
	}{
		{name: "flags first", args: []string{"-v", "-s", "x", "a", "b"}, wantPos: []string{"a", "b"}, wantV: true, wantS: "x"},
		{name: "flags after", args: []string{"a", "-s", "x", "b", "-v"}, wantPos: []string{"a", "b"}, wantV: true, wantS: "x"},
		{name: "dash is positional", args: []string{"-", "-s", "y"}, wantPos: []string{"-"}, wantS: "y"},
		{name: "double dash ends flags", args: []string{"-s", "x", "--", "-v", "a"}, wantPos: []string{"-v", "a"}, wantS: "x"},
		{name: "nothing", args: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			fs := newFlagSet(&env{stdout: &out, stderr: &out}, "x", "", "")
			v := fs.Bool("v", false, "")
			s := fs.String("s", "", "")
			pos, _, ok := fs.parse(tt.args)
			if !ok {
				t.Fatalf("parse failed: %s", out.String())
			}
			if strings.Join(pos, "|") != strings.Join(tt.wantPos, "|") || *v != tt.wantV || *s != tt.wantS {
				t.Errorf("got pos=%q v=%v s=%q, want pos=%q v=%v s=%q", pos, *v, *s, tt.wantPos, tt.wantV, tt.wantS)
			}
		})
	}
}
