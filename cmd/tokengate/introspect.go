package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"golang.org/x/oauth2"

	"github.com/tokengate/tokengate/introspect"
)

const introspectUsage = `Ask an authorization server whether TOKEN is active (RFC 7662) and print its
answer as JSON. TOKEN "-" reads the token from stdin; without TOKEN it is
read from TOKENGATE_TOKEN. Both keep it out of the process list and the
shell history.

We authenticate to the authorization server as a resource server: with
--client-id and --client-secret (client_secret_basic, or client_secret_post
with --auth post), or with a bearer token carrying the introspection right.

Settings not given as flags are read from the environment, as the examples
read them (see "tokengate help").

Exit status: 0 if the token is active; 1 if it is not (unknown, expired,
revoked, or not meant for us); 2 on a usage error; 3 if the authorization
server is unavailable, refused our credentials or answered nonsense.`

// runIntrospect implements "tokengate introspect".
func runIntrospect(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "introspect",
		"[--issuer URL | --introspection-url URL] (--client-id ID | --bearer TOKEN) [flags] [TOKEN|-]",
		introspectUsage)
	as := addASFlags(fs, "introspection-url", "introspection endpoint")
	bearer := fs.String("bearer", "", "authenticate with this bearer `token` instead of a client secret")
	hint := fs.String("token-type-hint", "", "`type` of the token, sent as token_type_hint: e.g. access_token")
	pos, code, ok := as.parse(args)
	if !ok {
		return code
	}
	if *bearer != "" && fs.origin("auth") != "--auth" {
		as.auth = "" // TOKENGATE_CLIENT_AUTH, set for the other commands
	}
	switch {
	case *bearer != "" && (*as.clientID != "" || *as.clientSecret != ""):
		return fs.usageError("give either %s or --client-id with --client-secret, not both", fs.origin("bearer"))
	case *bearer != "" && as.auth != "":
		return fs.usageError("--auth applies to --client-id/--client-secret, not to %s", fs.origin("bearer"))
	case *bearer == "":
		if msg := as.checkSecret(); msg != "" {
			return fs.usageError("%s, or --bearer", msg)
		}
	}
	token, code, ok := readToken(fs, pos)
	if !ok {
		return code
	}

	cfg := introspect.Config{
		IntrospectionURL:          *as.endpoint,
		Issuer:                    *as.issuer,
		ClientID:                  *as.clientID,
		ClientSecret:              *as.clientSecret,
		TokenTypeHint:             *hint,
		HTTPClient:                e.httpClient,
		Logger:                    slog.New(slog.DiscardHandler),
		InsecureAllowHTTPEndpoint: *as.insecure,
		// One question, one answer: a debugging tool reports what the
		// authorization server said now, without retrying (and, with a
		// Client and no Cache, without remembering).
		Resilience: introspect.ResilienceConfig{MaxRetries: -1, BreakerThreshold: -1},
	}
	if as.auth == "post" {
		cfg.AuthStyle = introspect.AuthStylePost
	}
	if *bearer != "" {
		cfg.TokenSource = oauth2.StaticTokenSource(&oauth2.Token{AccessToken: *bearer, TokenType: "Bearer"})
	}
	client, err := introspect.NewClient(cfg)
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
