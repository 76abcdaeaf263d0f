package main

import (
	"bytes"
	"context"
	"go/parser"
	"go/token"
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

// check fails t unless r exited with code and its stdout and stderr contain
// the given texts.
func (r result) check(t *testing.T, code int, stdout, stderr string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit code %d, want %d\nstdout: %s\nstderr: %s", r.code, code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, stdout) {
		t.Errorf("stdout %q lacks %q", r.stdout, stdout)
	}
	if !strings.Contains(r.stderr, stderr) {
		t.Errorf("stderr %q lacks %q", r.stderr, stderr)
	}
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
		{name: "unknown command", args: []string{"frobnicate"}, wantCode: exitUsage, wantStderr: `tokengate: unknown command "frobnicate" (see "tokengate help")`},
		{name: "help", args: []string{"help"}, wantCode: exitOK, wantStdout: "introspect"},
		{name: "--help", args: []string{"--help"}, wantCode: exitOK, wantStdout: "Commands:"},
		{name: "help of a command", args: []string{"help", "token"}, wantCode: exitOK, wantStdout: "Usage: tokengate token"},
		{name: "help of an unknown command", args: []string{"help", "nope"}, wantCode: exitUsage, wantStderr: `unknown command "nope"`},
		{name: "help with two names", args: []string{"help", "token", "introspect"}, wantCode: exitUsage, wantStderr: `token has no subcommand "introspect"`},
		{name: "help of a subcommand", args: []string{"help", "client", "create"}, wantCode: exitOK, wantStdout: "Usage: tokengate client create"},
		{name: "help of a group", args: []string{"help", "keys"}, wantCode: exitOK, wantStdout: "Usage: tokengate keys <command>"},
		{name: "-v", args: []string{"-v"}, wantCode: exitOK, wantStdout: "tokengate "},
		{name: "help lists the environment", args: []string{"help"}, wantCode: exitOK, wantStdout: "TOKENGATE_CLIENT_SECRET"},
		{name: "version", args: []string{"version"}, wantCode: exitOK, wantStdout: "tokengate "},
		{name: "--version", args: []string{"--version"}, wantCode: exitOK, wantStdout: "tokengate "},
		{name: "version with an argument", args: []string{"version", "x"}, wantCode: exitUsage, wantStderr: `unexpected argument "x"`},
		{name: "token -h", args: []string{"token", "-h"}, wantCode: exitOK, wantStdout: "-client-secret"},
		{name: "introspect -h", args: []string{"introspect", "-h"}, wantCode: exitOK, wantStdout: "Exit status"},
		{name: "unknown flag", args: []string{"token", "--nope"}, wantCode: exitUsage, wantStderr: "tokengate token: unknown flag --nope (see \"tokengate token -h\")\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, "", nil, tt.args...)
			r.check(t, tt.wantCode, tt.wantStdout, tt.wantStderr)
			if tt.wantStdout == "" && r.stdout != "" {
				t.Errorf("stdout = %q, want nothing", r.stdout)
			}
			if tt.wantStderr == "" && r.stderr != "" {
				t.Errorf("stderr = %q, want nothing", r.stderr)
			}
		})
	}
}

// Every command's -h works, its usage names the command, and "help"
// answers the same.
func TestEveryCommandHasHelp(t *testing.T) {
	var walk func(path []string, table []command)
	walk = func(path []string, table []command) {
		for _, c := range table {
			p := append(append([]string{}, path...), c.name)
			if c.sub != nil {
				walk(p, c.sub)
			}
			t.Run(strings.Join(p, " "), func(t *testing.T) {
				r := runCLI(t, "", nil, append(p, "-h")...)
				if r.code != exitOK || !strings.Contains(r.stdout, "Usage: tokengate "+strings.Join(p, " ")) {
					t.Errorf("-h: code %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
				}
				if h := runCLI(t, "", nil, append([]string{"help"}, p...)...); h.code != exitOK || h.stdout != r.stdout {
					t.Errorf("help %s differs from -h:\n%s", strings.Join(p, " "), h.stdout)
				}
			})
		}
	}
	walk(nil, commands())
}

// The package documentation lists the commands and the environment in the
// words of the table that drives "tokengate help": one list, not two.
func TestPackageDocMatchesTheTable(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "main.go", nil, parser.ParseComments|parser.PackageClauseOnly)
	if err != nil {
		t.Fatal(err)
	}
	doc := f.Doc.Text()
	for what, want := range map[string]string{"commands": commandList(commands()), "environment": environmentList()} {
		// go/ast turns the doc's tab indentation into the text's.
		if !strings.Contains(doc, want) {
			t.Errorf("the package doc of main.go does not list the %s as the table does; want:\n%s\ndoc:\n%s", what, want, doc)
		}
	}
}

// A flag mistake is one line that names the flag and what would fix it,
// and where to read more; the usage does not scroll it away.
func TestFlagErrorsAreOneLine(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"token", "--nope"}, `tokengate token: unknown flag --nope (see "tokengate token -h")`},
		{[]string{"token", "--client-idd", "x"}, `tokengate token: unknown flag --client-idd; did you mean --client-id? (see "tokengate token -h")`},
		{[]string{"token", "--scope"}, `tokengate token: --scope needs a value (see "tokengate token -h")`},
		{[]string{"token", "--json=maybe"}, `tokengate token: --json "maybe": it is a switch: give --json alone, or --json=false (see "tokengate token -h")`},
		{[]string{"token", "--auth", "jwt"}, `tokengate token: --auth "jwt": want basic or post, not "jwt" (see "tokengate token -h")`},
		{[]string{"client", "create", "--name", "x", "--token-lifetime", "15"}, `tokengate client create: --token-lifetime "15": a duration needs a unit, e.g. 15m, 15s or 15h (see "tokengate client create -h")`},
		{[]string{"client", "create", "--name", "x", "--token-lifetime", "soon"}, `tokengate client create: --token-lifetime "soon": want a duration such as 90s, 15m or 1h30m (see "tokengate client create -h")`},
		{[]string{"client", "create", "--name", "x", "--token-lifetime", "-5m"}, `tokengate client create: --token-lifetime "-5m": a duration must not be negative (see "tokengate client create -h")`},
		{[]string{"keys", "rotate", "--alg"}, `tokengate keys rotate: --alg needs a value (see "tokengate keys rotate -h")`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := runCLI(t, "", nil, tt.args...)
			if r.code != exitUsage || r.stdout != "" || r.stderr != tt.want+"\n" {
				t.Errorf("code %d, stdout %q, stderr:\n%s\nwant %d and:\n%s", r.code, r.stdout, r.stderr, exitUsage, tt.want)
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
