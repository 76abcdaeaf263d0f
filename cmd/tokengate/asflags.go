package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/tokengate/tokengate/internal/discovery"
	"github.com/tokengate/tokengate/internal/oauthhttp"
)

// insecureFlag is the flag that allows plain http off loopback.
const insecureFlag = "--insecure-allow-http"

// asFlags are the flags of the commands that call an authorization server
// as a client (token, introspect, revoke): where it is, who we are, how we
// authenticate.
type asFlags struct {
	fs           *flagSet
	endpointFlag string // e.g. "token-url"
	issuer       *string
	endpoint     *string
	clientID     *string
	clientSecret *string
	auth         authFlag // "" means basic
	insecure     *bool
}

// addASFlags defines the flags on fs; endpointFlag names the flag that gives
// the endpoint directly, which otherwise is discovered from --issuer.
func addASFlags(fs *flagSet, endpointFlag, endpointName string) *asFlags {
	a := &asFlags{fs: fs, endpointFlag: endpointFlag}
	a.issuer = fs.String("issuer", "", "authorization server `URL`; the "+endpointName+" is discovered from it")
	a.endpoint = fs.String(endpointFlag, "", endpointName+" `URL` (instead of --issuer)")
	a.clientID = fs.String("client-id", "", "our client `ID` at the authorization server")
	a.clientSecret = fs.String("client-secret", "", "our client `SECRET` (prefer the variable: other local users can read the command line)")
	fs.Var(&a.auth, "auth", "client authentication `basic|post`: client_secret_basic (the default) or client_secret_post")
	a.insecure = fs.Bool("insecure-allow-http", false, "allow a plain-http endpoint on a host other than loopback (sends secrets in clear text)")
	return a
}

// parse parses args (see flagSet.parse) and checks the endpoint settings.
func (a *asFlags) parse(args []string) (positional []string, code int, ok bool) {
	pos, code, ok := a.fs.parse(args)
	if !ok {
		return nil, code, false
	}
	if msg := a.checkEndpoint(); msg != "" {
		return nil, a.fs.usageError("%s", msg), false
	}
	return pos, 0, true
}

// checkEndpoint returns what is wrong with the endpoint settings, or "":
// exactly one of --issuer and the endpoint flag, each an acceptable URL.
func (a *asFlags) checkEndpoint() string {
	fs := a.fs
	switch {
	case *a.issuer != "" && *a.endpoint != "":
		return fmt.Sprintf("give only one of %s and %s", fs.origin("issuer"), fs.origin(a.endpointFlag))
	case *a.issuer == "" && *a.endpoint == "":
		return fmt.Sprintf("give --issuer URL or --%s URL (or set TOKENGATE_ISSUER)", a.endpointFlag)
	}
	for _, name := range []string{"issuer", a.endpointFlag} {
		if v := fs.Lookup(name).Value.String(); v != "" {
			if err := oauthhttp.CheckURL(v, *a.insecure, insecureFlag); err != nil {
				return fmt.Sprintf("%s: %v", fs.origin(name), err)
			}
		}
	}
	return ""
}

// checkSecret returns what is missing of a client id and secret, or "".
func (a *asFlags) checkSecret() string {
	switch {
	case *a.clientID == "" && *a.clientSecret == "":
		return "give --client-id and --client-secret (or set TOKENGATE_CLIENT_ID and TOKENGATE_CLIENT_SECRET)"
	case *a.clientID == "":
		return fmt.Sprintf("%s is given but --client-id is not", a.fs.origin("client-secret"))
	case *a.clientSecret == "":
		return fmt.Sprintf("%s is given but --client-secret is not", a.fs.origin("client-id"))
	}
	return ""
}

// resolve returns the endpoint: the flag's, or the metadata member (named
// member, picked by pick) of the issuer's discovery document. Discovery
// follows redirects only to URLs CheckURL accepts.
func (a *asFlags) resolve(ctx context.Context, e *env, member string, pick func(*discovery.Metadata) string) (string, error) {
	if *a.endpoint != "" {
		return *a.endpoint, nil
	}
	md, err := discovery.Fetch(ctx, oauthhttp.CheckRedirects(e.httpClient, *a.insecure, insecureFlag), *a.issuer, 0)
	if err != nil {
		return "", err
	}
	endpoint := pick(md)
	if endpoint == "" {
		return "", fmt.Errorf("the metadata at %s names no %s; give --%s", md.URL, member, a.endpointFlag)
	}
	if err := oauthhttp.CheckURL(endpoint, *a.insecure, insecureFlag); err != nil {
		return "", fmt.Errorf("the %s in %s: %w", member, md.URL, err)
	}
	return endpoint, nil
}

// authenticate adds our client authentication to a form request.
func (a *asFlags) authenticate(r *oauthhttp.Request) {
	if a.auth == "post" {
		r.Form.Set("client_id", *a.clientID)
		r.Form.Set("client_secret", *a.clientSecret)
		return
	}
	r.Authorization = oauthhttp.BasicAuth(*a.clientID, *a.clientSecret)
}

// maxStdinTokenBytes caps a token read from stdin.
const maxStdinTokenBytes = 64 << 10

// readToken returns the token a command acts on: its TOKEN argument, stdin
// for "-", or TOKENGATE_TOKEN when there is no argument. The last two keep
// the token out of the process list and the shell history. On a mistake it
// prints it and returns ok=false with the exit code.
func readToken(fs *flagSet, pos []string) (token string, code int, ok bool) {
	switch {
	case len(pos) > 1:
		return "", fs.usageError("want one TOKEN argument (or - to read it from stdin), got %d", len(pos)), false
	case len(pos) == 0:
		token = fs.e.lookup(tokenVar)
		if token == "" {
			return "", fs.usageError("give the TOKEN: - to read it from stdin, or set %s (an argument works too, but shows in the process list)", tokenVar), false
		}
	case pos[0] == "-":
		b, err := io.ReadAll(io.LimitReader(fs.e.stdin, maxStdinTokenBytes+1))
		if err != nil {
			return "", fs.fail(exitFailure, fmt.Errorf("reading the token from stdin: %w", err)), false
		}
		if len(b) > maxStdinTokenBytes {
			return "", fs.usageError("the token on stdin is longer than %d bytes", maxStdinTokenBytes), false
		}
		token = string(b)
	default:
		token = pos[0]
	}
	if token = strings.TrimSpace(token); token == "" {
		return "", fs.usageError("the token is empty"), false
	}
	return token, 0, true
}
