// Command tokengate runs and debugs OAuth 2.0 token services.
//
// Usage:
//
//	tokengate <command> [flags] [args]
//
// Commands:
//
//	demo        start an authorization server and a protected API, and print curl lines to try
//	serve       run the authorization server on a SQLite database
//	client      register, list and delete clients (create | list | delete)
//	user        create, list and delete the users who sign in (create | list | delete | passwd)
//	consent     list and revoke users' consents to clients (list | revoke)
//	keys        manage signing keys (rotate)
//	token       get an access token with the client_credentials grant (RFC 6749 §4.4)
//	introspect  ask an authorization server whether a token is active (RFC 7662)
//	revoke      revoke a token at an authorization server (RFC 7009)
//	proxy       check tokens in front of any HTTP service: reverse proxy or forward auth
//	version     print the version
//
// Environment (a flag given on the command line wins):
//
//	TOKENGATE_ISSUER                    --issuer: the authorization server's issuer URL (serve: its own)
//	TOKENGATE_TOKEN_URL                 --token-url: the token endpoint, instead of discovery
//	TOKENGATE_INTROSPECTION_URL         --introspection-url: the introspection endpoint, instead of discovery
//	TOKENGATE_REVOCATION_URL            --revocation-url: the revocation endpoint, instead of discovery
//	TOKENGATE_CLIENT_ID                 --client-id: our client id at the authorization server
//	TOKENGATE_CLIENT_SECRET             --client-secret: its secret (kept out of the process list)
//	TOKENGATE_CLIENT_AUTH               --auth: basic (client_secret_basic) or post (client_secret_post)
//	TOKENGATE_BEARER_TOKEN              --bearer: a bearer token to introspect with, instead of a secret
//	TOKENGATE_AUDIENCE                  --audience: proxy: accepted audiences, comma-separated
//	TOKENGATE_JWT_ACCESS_TOKENS         --jwt-access-tokens: proxy: local checks RFC 9068 JWT access tokens locally
//	TOKENGATE_JWT_RESPONSE              --jwt-response: proxy: signed or encrypted RFC 9701 introspection answers
//	TOKENGATE_RS_KEY                    --rs-key: proxy: the key file that decrypts them
//	TOKENGATE_RESOURCE                  --resource: proxy: our RFC 9728 resource identifier
//	TOKENGATE_TOKEN                     the TOKEN to introspect or revoke, when none is given
//	TOKENGATE_DB                        --db: the database (SQLite file or postgres:// URL) of serve, client, user, consent, keys
//	TOKENGATE_AUTH_FAILURES_PER_MINUTE  --auth-failures-per-minute: serve: failed client authentications per client id and address a minute
//	TOKENGATE_TOKENS_PER_MINUTE         --tokens-per-minute: serve: each client's token quota a minute
//	TOKENGATE_CLIENT_ADDRESS_HEADER     --client-address-header: serve: the header a trusted reverse proxy puts the client's address in
//
// A flag keeps the variables of its kind out, so that the two never mix:
// --token-url ignores TOKENGATE_ISSUER, --client-id ignores
// TOKENGATE_CLIENT_SECRET.
//
// Run "tokengate help <command>" or "tokengate <command> -h" for the flags of
// a command. Exit status 2 means a usage error; "introspect" exits 0 for an
// active token, 1 for an inactive one and 3 when the authorization server is
// unavailable or refuses our credentials.
package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"strings"
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

// command is one entry of the command table: a command that runs, or a
// group of subcommands ("client create").
type command struct {
	name    string
	aliases []string // other spellings, such as --version
	summary string   // one line for the command list
	doc     string   // for a group: what its usage says before the list
	run     func(ctx context.Context, e *env, args []string) int
	sub     []command // for a group; run is nil
}

// commands is the command table: it drives dispatch, the command list of
// "tokengate help" and the package documentation (a test keeps that equal).
// Help is not a command of its own: every group answers "help", "-h" and
// "--help" in dispatch.
func commands() []command {
	const clientDoc = `Manage the clients registered in a tokengate database. The commands work on
the database file directly, also while "tokengate serve" runs on it: a new
client can get tokens at once, and a deleted client's tokens stop being
active at once.`
	return []command{
		{name: "demo", summary: "start an authorization server and a protected API, and print curl lines to try", run: runDemo},
		{name: "serve", summary: "run the authorization server on a SQLite database", run: runServe},
		{name: "client", summary: "register, list and delete clients (create | list | delete)", doc: clientDoc, sub: []command{
			{name: "create", summary: "register a client and print its id and secret", run: runClientCreate},
			{name: "list", summary: "list the registered clients", run: runClientList},
			{name: "delete", summary: "delete clients; their tokens stop being active at once", run: runClientDelete},
		}},
		userCommands(),
		consentCommands(),
		{name: "keys", summary: "manage signing keys (rotate)", doc: "Manage the provider's signing keys in a tokengate database.", sub: []command{
			{name: "rotate", summary: "replace the active signing keys", run: runKeysRotate},
		}},
		{name: "token", summary: "get an access token with the client_credentials grant (RFC 6749 §4.4)", run: runToken},
		{name: "introspect", summary: "ask an authorization server whether a token is active (RFC 7662)", run: runIntrospect},
		{name: "revoke", summary: "revoke a token at an authorization server (RFC 7009)", run: runRevoke},
		{name: "proxy", summary: "check tokens in front of any HTTP service: reverse proxy or forward auth", run: runProxy},
		{name: "version", aliases: []string{"-v", "-version", "--version"}, summary: "print the version", run: runVersion},
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

// run dispatches args (without the program name) through the command table
// and returns the exit code.
func run(ctx context.Context, e *env, args []string) int {
	return dispatch(ctx, e, "tokengate", &command{name: "tokengate", sub: commands()}, args)
}

// isHelp reports whether arg asks a group for its usage.
func isHelp(arg string) bool {
	return arg == "help" || arg == "-h" || arg == "-help" || arg == "--help"
}

// find returns the command of table called name, or nil.
func find(table []command, name string) *command {
	for i, c := range table {
		if c.name == name || slices.Contains(c.aliases, name) {
			return &table[i]
		}
	}
	return nil
}

// dispatch runs the command of group that args name; path is how the
// group is called ("tokengate", "tokengate client").
func dispatch(ctx context.Context, e *env, path string, group *command, args []string) int {
	if len(args) == 0 {
		printGroupUsage(e.stderr, path, group)
		return exitUsage
	}
	if isHelp(args[0]) {
		return help(e, path, group, args[1:])
	}
	table := group.sub
	c := find(table, args[0])
	if c == nil {
		fmt.Fprintf(e.stderr, "%s: unknown command %q (see \"%s help\")\n", path, args[0], path)
		return exitUsage
	}
	if c.sub != nil {
		return dispatch(ctx, e, path+" "+c.name, c, args[1:])
	}
	return c.run(ctx, e, args[1:])
}

// help prints to stdout the usage of the group, or of the command that
// names walk to: "tokengate help client create".
func help(e *env, path string, group *command, names []string) int {
	if len(names) == 0 {
		printGroupUsage(e.stdout, path, group)
		return exitOK
	}
	c := find(group.sub, names[0])
	if c == nil {
		fmt.Fprintf(e.stderr, "%s help: unknown command %q (see \"%s help\")\n", path, names[0], path)
		return exitUsage
	}
	if c.sub != nil {
		return help(e, path+" "+c.name, c, names[1:])
	}
	if len(names) > 1 {
		fmt.Fprintf(e.stderr, "%s help: %s has no subcommand %q\n", path, c.name, names[1])
		return exitUsage
	}
	return c.run(context.Background(), e, []string{"-h"})
}

// commandList is the table as "tokengate help" and the package
// documentation list it.
func commandList(table []command) string {
	var b strings.Builder
	for _, c := range table {
		fmt.Fprintf(&b, "\t%-11s %s\n", c.name, c.summary)
	}
	return b.String()
}

func printGroupUsage(w io.Writer, path string, group *command) {
	table := group.sub
	if path != "tokengate" {
		fmt.Fprintf(w, "Usage: %s <command> [flags] [args]\n\n%s\n\nCommands:\n\n%s\nRun \"%s <command> -h\" for the flags of a command.\n",
			path, group.doc, commandList(table), path)
		return
	}
	fmt.Fprintf(w, `tokengate runs and debugs OAuth 2.0 token services.

Usage:

	tokengate <command> [flags] [args]

Commands:

%s
Environment (a flag given on the command line wins):

%s
A flag keeps the variables of its kind out, so that the two never mix:
--token-url ignores TOKENGATE_ISSUER, --client-id ignores TOKENGATE_CLIENT_SECRET.

Run "tokengate help <command>" or "tokengate <command> -h" for the flags of a command.
Start with "tokengate demo".
`, commandList(table), environmentList())
}

// runVersion prints the version of this build.
func runVersion(_ context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "version", "", "Print the version of tokengate.")
	if code, ok := fs.parseNoArgs(args); !ok {
		return code
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
