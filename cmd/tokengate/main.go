// Command tokengate runs and debugs OAuth 2.0 token services.
//
// Usage:
//
//	tokengate <command> [flags] [args]
//
// The commands:
//
//	demo        an authorization server and a protected orders API in one process, with curl lines to try
//	serve       the authorization server (package provider) on a SQLite database
//	client      create, list and delete clients in that database, also while serve runs
//	keys        rotate the signing keys in that database
//	token       get an access token from any authorization server (client_credentials, RFC 6749 §4.4)
//	introspect  ask any authorization server whether a token is active (RFC 7662)
//	version     print the version
//
// Run "tokengate help" for the list of commands and "tokengate <command> -h"
// for the flags of one. Exit status 2 means a usage error; "introspect"
// exits 0 for an active token, 1 for an inactive one and 3 when the
// authorization server is unavailable or refuses our credentials.
package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"
)

// version is the release version; set it with
// -ldflags "-X main.version=v1.2.3". Without it, the module version from the
// build info is used.
var version = ""

// Exit codes shared by every command.
const (
	exitOK      = 0 // success (introspect: the token is active)
	exitFailure = 1 // the command failed (introspect: the token is not active)
	exitUsage   = 2 // bad command line
	exitAS      = 3 // the authorization server is unavailable or refused our credentials
)

// env is what a command may touch of the outside world. Tests build one
// with buffers and an httptest-aware HTTP client.
type env struct {
	stdin      io.Reader
	stdout     io.Writer
	stderr     io.Writer
	getenv     func(string) string
	httpClient *http.Client
}

// command is one subcommand: run gets the arguments after its name and
// returns an exit code.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e *env, args []string) int
}

// commands lists the subcommands in the order "help" prints them.
func commands() []command {
	return []command{
		{"demo", "start an authorization server and a protected API, and print curl lines to try", runDemo},
		{"serve", "run the authorization server on a SQLite database", runServe},
		{"client", "register, list and delete clients (create | list | delete)", runClient},
		{"keys", "manage signing keys (rotate)", runKeys},
		{"token", "get an access token with the client_credentials grant", runToken},
		{"introspect", "ask an authorization server whether a token is active (RFC 7662)", runIntrospect},
		{"version", "print the version", runVersion},
		{"help", "print help about a command", nil},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	e := &env{
		stdin:      os.Stdin,
		stdout:     os.Stdout,
		stderr:     os.Stderr,
		getenv:     os.Getenv,
		httpClient: &http.Client{Timeout: 30 * time.Second},
	}
	code := run(ctx, e, os.Args[1:])
	stop()
	os.Exit(code)
}

// run dispatches args (without the program name) to a subcommand and returns
// the exit code.
func run(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 {
		printUsage(e.stderr)
		return exitUsage
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		return runHelp(e, rest)
	case "-v", "-version", "--version":
		return runVersion(ctx, e, nil)
	}
	for _, c := range commands() {
		if c.name == name && c.run != nil {
			return c.run(ctx, e, rest)
		}
	}
	fmt.Fprintf(e.stderr, "tokengate: unknown command %q\n\n", name)
	printUsage(e.stderr)
	return exitUsage
}

func printUsage(w io.Writer) {
	fmt.Fprint(w, `tokengate runs and debugs OAuth 2.0 token services.

Usage:

	tokengate <command> [flags] [args]

Commands:

`)
	for _, c := range commands() {
		fmt.Fprintf(w, "\t%-11s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Run "tokengate <command> -h" for the flags of a command.
Start with "tokengate demo".
`)
}

// runHelp prints the overall usage, or the usage of the named command.
func runHelp(e *env, args []string) int {
	if len(args) == 0 {
		printUsage(e.stdout)
		return exitOK
	}
	if len(args) > 1 {
		fmt.Fprintln(e.stderr, "tokengate help: want at most one command name")
		return exitUsage
	}
	for _, c := range commands() {
		if c.name == args[0] && c.run != nil {
			return c.run(context.Background(), e, []string{"-h"})
		}
	}
	if args[0] == "help" {
		printUsage(e.stdout)
		return exitOK
	}
	fmt.Fprintf(e.stderr, "tokengate help: unknown command %q\n\n", args[0])
	printUsage(e.stderr)
	return exitUsage
}

// runVersion prints the version of this build.
func runVersion(_ context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "version", "", "Print the version of tokengate.")
	pos, code, ok := fs.parse(args)
	if !ok {
		return code
	}
	if len(pos) > 0 {
		return fs.usageError("version takes no arguments")
	}
	fmt.Fprintf(e.stdout, "tokengate %s\n", buildVersion())
	return exitOK
}

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}
