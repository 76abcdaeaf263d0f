package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/tokengate/tokengate/internal/discovery"
	"github.com/tokengate/tokengate/internal/oauthhttp"
)

// maxTokenResponseBytes caps the token endpoint's answer that --json prints,
// as x/oauth2 caps what it parses.
const maxTokenResponseBytes = 1 << 20

const tokenUsage = `Get an access token with the client_credentials grant (RFC 6749 §4.4) and
print it. The token endpoint is --token-url, or is discovered from --issuer
(RFC 8414, then OpenID Connect discovery).

The access token alone goes to stdout, so that
	export TOKENGATE_TOKEN=$(tokengate token ...)
works; --json prints the whole token response instead.

Settings not given as flags are read from the environment (see "tokengate
help"); prefer TOKENGATE_CLIENT_SECRET to --client-secret, which other local
users can read in the process list.

Exit status: 0 on success; 1 if the authorization server refused the request
(invalid_scope, unauthorized_client, ...); 2 on a usage error; 3 if the
authorization server is unavailable or rejected the client credentials.`

// runToken implements "tokengate token".
func runToken(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "token", "(--issuer URL | --token-url URL) --client-id ID [flags]", tokenUsage)
	as := addASFlags(fs, "token-url", "token endpoint")
	scope := fs.String("scope", "", "space-delimited `scopes` to ask for; empty asks for the client's defaults")
	var resources stringList
	fs.Var(&resources, "resource", "RFC 8707 resource indicator `URI` (repeatable): the API the token is for")
	asJSON := fs.Bool("json", false, "print the whole token response as JSON")
	pos, code, ok := as.parse(args)
	if !ok {
		return code
	}
	if len(pos) > 0 {
		return fs.usageError("unexpected argument %q", pos[0])
	}
	if msg := as.checkSecret(); msg != "" {
		return fs.usageError("%s", msg)
	}
	for _, r := range resources {
		if u, err := url.Parse(r); err != nil || !u.IsAbs() || u.Fragment != "" {
			return fs.usageError("--resource %q is not an absolute URI without a fragment (RFC 8707 §2)", r)
		}
	}
	endpoint, err := as.resolve(ctx, e, "token_endpoint", func(md *discovery.Metadata) string { return md.TokenEndpoint })
	if err != nil {
		return fs.fail(exitAS, err)
	}

	cfg := clientcredentials.Config{
		ClientID:     *as.clientID,
		ClientSecret: *as.clientSecret,
		TokenURL:     endpoint,
		Scopes:       strings.Fields(*scope),
		AuthStyle:    oauth2.AuthStyleInHeader,
	}
	if as.auth == "post" {
		cfg.AuthStyle = oauth2.AuthStyleInParams
	}
	if len(resources) > 0 {
		cfg.EndpointParams = url.Values{"resource": resources}
	}
	capture := &captureTransport{base: e.httpClient.Transport}
	hc := oauthhttp.NoRedirects(&http.Client{Transport: capture, Timeout: e.httpClient.Timeout})
	tok, err := cfg.Token(context.WithValue(ctx, oauth2.HTTPClient, hc))
	if err != nil {
		return fs.fail(tokenErrorCode(err), describeTokenError(err))
	}
	if !*asJSON {
		fmt.Fprintln(e.stdout, tok.AccessToken)
		return exitOK
	}
	var out bytes.Buffer
	if json.Valid(capture.body) {
		if err := json.Indent(&out, bytes.TrimSpace(capture.body), "", "  "); err != nil {
			return fs.fail(exitFailure, err)
		}
	} else {
		// A form-encoded answer (some old servers): show what x/oauth2 read.
		m := map[string]any{"access_token": tok.AccessToken, "token_type": tok.Type()}
		if !tok.Expiry.IsZero() {
			m["expires_in"] = int64(time.Until(tok.Expiry).Round(time.Second) / time.Second)
		}
		if s, ok := tok.Extra("scope").(string); ok {
			m["scope"] = s
		}
		b, _ := json.MarshalIndent(m, "", "  ")
		out.Write(b)
	}
	out.WriteByte('\n')
	e.stdout.Write(out.Bytes())
	return exitOK
}

// tokenErrorCode maps a token request failure onto an exit code.
func tokenErrorCode(err error) int {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return exitAS // network error, timeout
	}
	status := 0
	if re.Response != nil {
		status = re.Response.StatusCode
	}
	switch {
	case status == http.StatusUnauthorized, re.ErrorCode == "invalid_client",
		status == http.StatusTooManyRequests, status >= 500:
		return exitAS
	case status == http.StatusOK, status >= 300 && status < 400:
		return exitAS // 200 without an access token, or a redirect we do not follow: a broken server
	default:
		return exitFailure
	}
}

// describeTokenError rewrites an x/oauth2 error without the response body
// it would otherwise quote.
func describeTokenError(err error) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return fmt.Errorf("token request failed: %w", err)
	}
	status := "no response"
	if re.Response != nil {
		status = re.Response.Status
	}
	msg := "the authorization server answered " + status
	if re.ErrorCode != "" {
		msg += ": " + re.ErrorCode
		if re.ErrorDescription != "" {
			msg += " (" + re.ErrorDescription + ")"
		}
	}
	if re.ErrorCode == "invalid_client" || (re.Response != nil && re.Response.StatusCode == http.StatusUnauthorized) {
		msg += "; check --client-id, --client-secret and --auth"
	}
	return errors.New(msg)
}

// captureTransport keeps a copy of the last response body (bounded), so that
// --json can print the token response as the server sent it.
type captureTransport struct {
	base http.RoundTripper
	body []byte
}

func (c *captureTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := c.base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := oauthhttp.ReadBody(resp.Body, maxTokenResponseBytes)
	resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("reading the token response: %w", err)
	}
	c.body = body
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}
