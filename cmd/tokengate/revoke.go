package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/tokengate/tokengate/internal/discovery"
	"github.com/tokengate/tokengate/internal/oauthhttp"
)

const revokeUsage = `Revoke TOKEN at an authorization server (RFC 7009). The revocation endpoint is
--revocation-url, or is discovered from --issuer (RFC 8414, then OpenID
Connect discovery). A client may revoke only the tokens issued to it, so
authenticate as the client that got the token.

TOKEN "-" reads the token from stdin; without TOKEN it is read from
TOKENGATE_TOKEN. Both keep it out of the process list and the shell history:

	export TOKENGATE_TOKEN=$(tokengate token ...)
	tokengate revoke

The authorization server answers 200 both when it revoked the token and when
the token was already invalid (RFC 7009 §2.2): either way the token no longer
works afterwards.

Settings not given as flags are read from the environment (see "tokengate
help").

Exit status: 0 when the authorization server accepted the revocation; 1 if it
refused it (unsupported_token_type, a token of another client, ...); 2 on a
usage error; 3 if the authorization server is unavailable, rejected our
credentials or answered with a redirect.`

// runRevoke implements "tokengate revoke".
func runRevoke(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "revoke", "(--issuer URL | --revocation-url URL) --client-id ID [flags] [TOKEN|-]", revokeUsage)
	as := addASFlags(fs, "revocation-url", "revocation endpoint")
	hint := fs.String("token-type-hint", "", "`type` of the token, sent as token_type_hint: access_token or refresh_token")
	pos, code, ok := as.parse(args)
	if !ok {
		return code
	}
	if msg := as.checkSecret(); msg != "" {
		return fs.usageError("%s", msg)
	}
	token, code, ok := readToken(fs, pos)
	if !ok {
		return code
	}
	endpoint, err := as.resolve(ctx, e, "revocation_endpoint", func(md *discovery.Metadata) string { return md.RevocationEndpoint })
	if err != nil {
		return fs.fail(exitAS, err)
	}

	req := oauthhttp.Request{URL: endpoint, Form: url.Values{"token": {token}}}
	if *hint != "" {
		req.Form.Set("token_type_hint", *hint)
	}
	as.authenticate(&req)
	// The form holds the token (and with --auth post the secret): a
	// redirect must not carry it elsewhere.
	resp, err := oauthhttp.PostForm(ctx, oauthhttp.NoRedirects(e.httpClient), req)
	if err != nil {
		return fs.fail(exitAS, fmt.Errorf("revocation request to %s failed: %w", endpoint, err))
	}
	if resp.StatusCode == http.StatusOK {
		fmt.Fprintln(e.stdout, "revoked")
		return exitOK
	}
	return fs.fail(revokeErrorCode(resp), describeRevokeError(resp))
}

// revokeErrorCode maps a refused revocation onto an exit code: the
// authorization server's fault or our credentials are exitAS, a refusal of
// this token is exitFailure.
func revokeErrorCode(resp *oauthhttp.Response) int {
	eb := oauthhttp.DecodeError(resp.Body)
	switch {
	case resp.StatusCode == http.StatusUnauthorized, eb.Code == "invalid_client",
		resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode >= 500,
		resp.StatusCode < 400: // a redirect we do not follow, or a 2xx that is not 200
		return exitAS
	default:
		return exitFailure
	}
}

// describeRevokeError says what the authorization server answered, with
// the RFC 6749 §5.2 members but never the rest of the body.
func describeRevokeError(resp *oauthhttp.Response) error {
	msg := fmt.Sprintf("the authorization server answered %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	eb := oauthhttp.DecodeError(resp.Body)
	if eb.Code != "" {
		msg += ": " + oneLine(eb.Code)
		if eb.Description != "" {
			msg += " (" + oneLine(eb.Description) + ")"
		}
	}
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		msg += fmt.Sprintf("; a redirect (to %q) is not followed, since the token would go along: give the endpoint's own URL", oneLine(resp.Header.Get("Location")))
	case eb.Code == "invalid_client" || resp.StatusCode == http.StatusUnauthorized:
		msg += "; check --client-id, --client-secret and --auth"
	case eb.Code == "unsupported_token_type":
		msg += "; this server does not revoke tokens of this type"
	}
	if d := oauthhttp.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); d > 0 {
		msg += fmt.Sprintf("; retry after %s", d)
	}
	return fmt.Errorf("%s", msg)
}
