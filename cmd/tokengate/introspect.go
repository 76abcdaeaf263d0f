package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"golang.org/x/oauth2"

	"github.com/tokengate/tokengate/introspect"
)

// maxStdinTokenBytes caps a token read from stdin.
const maxStdinTokenBytes = 64 << 10

const introspectUsage = `Ask an authorization server whether TOKEN is active (RFC 7662) and print its
answer as JSON. TOKEN "-" reads the token from stdin, which keeps it out of
the process list and the shell history.

We authenticate to the authorization server as a resource server: with
--client-id and --client-secret (client_secret_basic, or client_secret_post
with --auth post), or with a bearer token carrying the introspection right.

Settings not given as flags are read from the environment, as the examples
read them: TOKENGATE_ISSUER or TOKENGATE_INTROSPECTION_URL;
TOKENGATE_CLIENT_ID, TOKENGATE_CLIENT_SECRET and TOKENGATE_CLIENT_AUTH, or
TOKENGATE_BEARER_TOKEN.

Exit status: 0 if the token is active; 1 if it is not (unknown, expired,
revoked, or not meant for us); 2 on a usage error; 3 if the authorization
server is unavailable, refused our credentials or answered nonsense.`

// runIntrospect implements "tokengate introspect".
func runIntrospect(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "introspect",
		"[--issuer URL | --introspection-url URL] (--client-id ID --client-secret SECRET | --bearer TOKEN) [flags] TOKEN|-",
		introspectUsage)
	issuer := fs.String("issuer", "", "authorization server `URL`; the endpoint is discovered from it")
	endpoint := fs.String("introspection-url", "", "introspection endpoint `URL` (instead of --issuer)")
	clientID := fs.String("client-id", "", "our client `ID` at the authorization server")
	clientSecret := fs.String("client-secret", "", "our client `SECRET`")
	bearer := fs.String("bearer", "", "authenticate with this bearer `token` instead of a client secret")
	var auth authFlag
	fs.Var(&auth, "auth", "client authentication `basic|post`: client_secret_basic (the default) or client_secret_post")
	hint := fs.String("token-type-hint", "", "token_type_hint to send, e.g. access_token")
	insecure := fs.Bool("insecure-allow-http", false, "allow a plain-http endpoint on a host other than loopback (sends secrets in clear text)")
	pos, code, ok := fs.parse(args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		return fs.usageError("want exactly one TOKEN argument (or - to read it from stdin), got %d", len(pos))
	}

	// Flags win; the environment fills a group (endpoint, credentials) only
	// when no flag of that group was given, so the two never mix.
	getenv := e.getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	if *issuer == "" && *endpoint == "" {
		*issuer, *endpoint = getenv("TOKENGATE_ISSUER"), getenv("TOKENGATE_INTROSPECTION_URL")
	}
	if *clientID == "" && *clientSecret == "" && *bearer == "" {
		*clientID, *clientSecret, *bearer = getenv("TOKENGATE_CLIENT_ID"), getenv("TOKENGATE_CLIENT_SECRET"), getenv("TOKENGATE_BEARER_TOKEN")
	}
	if v := getenv("TOKENGATE_CLIENT_AUTH"); auth == "" && v != "" && *bearer == "" {
		if err := auth.Set(v); err != nil {
			return fs.usageError("TOKENGATE_CLIENT_AUTH: %v", err)
		}
	}
	switch {
	case (*issuer == "") == (*endpoint == ""):
		return fs.usageError("give exactly one of --issuer and --introspection-url")
	case *bearer != "" && (*clientID != "" || *clientSecret != ""):
		return fs.usageError("give either --bearer or --client-id with --client-secret, not both")
	case *bearer != "" && auth != "":
		return fs.usageError("--auth applies to --client-id/--client-secret, not to --bearer")
	case *bearer == "" && (*clientID == "" || *clientSecret == ""):
		return fs.usageError("give --client-id and --client-secret, or --bearer")
	}

	for _, u := range []struct{ flag, url string }{{"--issuer", *issuer}, {"--introspection-url", *endpoint}} {
		if u.url == "" {
			continue
		}
		if err := checkEndpoint(u.url, *insecure); err != nil {
			return fs.usageError("%s: %v", u.flag, err)
		}
	}

	token := pos[0]
	if token == "-" {
		b, err := io.ReadAll(io.LimitReader(e.stdin, maxStdinTokenBytes+1))
		if err != nil {
			return fs.fail(exitFailure, fmt.Errorf("reading the token from stdin: %w", err))
		}
		if len(b) > maxStdinTokenBytes {
			return fs.usageError("the token on stdin is longer than %d bytes", maxStdinTokenBytes)
		}
		token = strings.TrimSpace(string(b))
	}
	if token == "" {
		return fs.usageError("the token is empty")
	}

	cfg := introspect.Config{
		IntrospectionURL:          *endpoint,
		Issuer:                    *issuer,
		ClientID:                  *clientID,
		ClientSecret:              *clientSecret,
		TokenTypeHint:             *hint,
		HTTPClient:                e.httpClient,
		Logger:                    slog.New(slog.DiscardHandler),
		InsecureAllowHTTPEndpoint: *insecure,
		// One question, one answer: a debugging tool reports what the
		// authorization server said now, without retrying or remembering.
		Cache:      introspect.CacheConfig{Disabled: true},
		Resilience: introspect.ResilienceConfig{MaxRetries: -1, BreakerThreshold: -1},
	}
	if auth == "post" {
		cfg.AuthStyle = introspect.AuthStylePost
	}
	if *bearer != "" {
		cfg.TokenSource = oauth2.StaticTokenSource(&oauth2.Token{AccessToken: *bearer, TokenType: "Bearer"})
	}
	client, err := introspect.New(cfg)
	if err != nil {
		return fs.usageError("%s", withoutPkg(err))
	}

	resp, err := client.Introspect(ctx, token)
	switch {
	case err == nil:
		return printJSON(fs, resp, exitOK)
	case errors.Is(err, introspect.ErrInactive):
		// Why, on stderr: the AS said so, or exp/nbf say so.
		fmt.Fprintf(e.stderr, "tokengate introspect: %s\n", withoutPkg(err))
		return printJSON(fs, &introspect.Response{Active: false}, exitFailure)
	case errors.Is(err, introspect.ErrASRejectedClient):
		return fs.fail(exitAS, fmt.Errorf("%s; check the credentials and that this client may introspect", withoutPkg(err)))
	default:
		return fs.fail(exitAS, errors.New(withoutPkg(err)))
	}
}

// withoutPkg is err's message without the "introspect: " prefix, which the
// command's own prefix already says.
func withoutPkg(err error) string {
	return strings.TrimPrefix(err.Error(), "introspect: ")
}

// printJSON prints v as indented JSON on stdout and returns code.
func printJSON(fs *flagSet, v any, code int) int {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fs.fail(exitFailure, err)
	}
	fmt.Fprintf(fs.e.stdout, "%s\n", b)
	return code
}
