package introspect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"unicode/utf8"

	"golang.org/x/oauth2"

	"github.com/tokengate/tokengate/internal/oauthhttp"
)

// maxErrorBody is how much of an error answer is kept in [Error.Body].
const maxErrorBody = 512

// attempt makes one introspection request and decodes its answer. It does
// not check exp or nbf; see [Client.check].
func (c *Client) attempt(ctx context.Context, endpoint, token string) (*Response, error) {
	form := url.Values{"token": {token}}
	if c.cfg.TokenTypeHint != "" {
		form.Set("token_type_hint", c.cfg.TokenTypeHint)
	}
	req := oauthhttp.Request{
		URL:      endpoint,
		Form:     form,
		Accept:   c.cfg.Decoder.Accept(),
		MaxBytes: c.cfg.MaxResponseBytes,
	}
	switch {
	case c.cfg.TokenSource != nil:
		tok, err := c.cfg.TokenSource.Token()
		if err != nil {
			return nil, c.tokenSourceError(ctx, err)
		}
		req.Authorization = oauthhttp.Bearer(tok.AccessToken)
	case c.cfg.ClientID != "" && c.cfg.AuthStyle == AuthStylePost:
		form.Set("client_id", c.cfg.ClientID)
		if c.cfg.ClientSecret != "" {
			form.Set("client_secret", c.cfg.ClientSecret)
		}
	case c.cfg.ClientID != "":
		req.Authorization = oauthhttp.BasicAuth(c.cfg.ClientID, c.cfg.ClientSecret)
	}

	res, err := oauthhttp.PostForm(ctx, c.cfg.HTTPClient, req)
	if err != nil {
		if errors.Is(err, oauthhttp.ErrTooLarge) {
			return nil, fmt.Errorf("%w: %w", ErrMalformedResponse, err)
		}
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if res.StatusCode != http.StatusOK {
		e := &Error{
			StatusCode: res.StatusCode,
			RetryAfter: oauthhttp.ParseRetryAfter(res.Header.Get("Retry-After"), c.cfg.Now()),
			Body:       oauthhttp.TruncateBody(res.Body, maxErrorBody),
		}
		if oauthhttp.IsJSON(res.ContentType()) {
			eb := oauthhttp.DecodeError(res.Body)
			e.Code, e.Description, e.URI = eb.Code, eb.Description, eb.URI
		}
		if errors.Is(e, ErrASRejectedClient) && !pinging(ctx) {
			if ok, suppressed := c.rejectLog.Allow(c.cfg.Now()); ok {
				c.cfg.Logger.Error("introspect: the authorization server rejected our client credentials; check ClientID, ClientSecret or TokenSource",
					"endpoint", endpoint, "client_id", c.cfg.ClientID, "status", e.StatusCode, "error_code", e.Code,
					"error_description", e.Description, "suppressed_since_last", suppressed)
			}
		}
		return nil, e
	}
	resp, err := c.cfg.Decoder.Decode(ctx, res.ContentType(), res.Body)
	if err != nil {
		if isCategorized(err) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %w", ErrMalformedResponse, err)
	}
	if resp == nil {
		return nil, fmt.Errorf("%w: decoder returned no response", ErrMalformedResponse)
	}
	return resp, nil
}

func isCategorized(err error) bool {
	return errors.Is(err, ErrInactive) || errors.Is(err, ErrUnavailable) ||
		errors.Is(err, ErrASRejectedClient) || errors.Is(err, ErrMalformedResponse)
}

// tokenSourceError categorizes a failure to get our own bearer token: a
// token endpoint that refuses our credentials is [ErrASRejectedClient],
// anything else [ErrUnavailable].
func (c *Client) tokenSourceError(ctx context.Context, err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		if status == http.StatusUnauthorized || status == http.StatusForbidden || status == http.StatusBadRequest || re.ErrorCode == "invalid_client" {
			if !pinging(ctx) {
				if ok, suppressed := c.rejectLog.Allow(c.cfg.Now()); ok {
					c.cfg.Logger.Error("introspect: the token endpoint refused our credentials; check the TokenSource configuration",
						"status", status, "error_code", re.ErrorCode, "suppressed_since_last", suppressed)
				}
			}
			return fmt.Errorf("%w: token source: %w", ErrASRejectedClient, err)
		}
	}
	return fmt.Errorf("%w: token source: %w", ErrUnavailable, err)
}

// jsonDecoder is the default [Decoder]: plain RFC 7662 JSON.
type jsonDecoder struct{}

func (jsonDecoder) Accept() string { return "application/json" }

func (jsonDecoder) Decode(_ context.Context, contentType string, body []byte) (*Response, error) {
	return decodeJSON(contentType, body)
}

// decodeJSON decodes an RFC 7662 JSON answer. A missing Content-Type is
// tolerated (the body must still be a JSON object); any media type other
// than application/json or a +json type is not. The body must be valid UTF-8
// (RFC 8259 §8.1), so that no two distinct byte strings decode to one
// subject.
func decodeJSON(contentType string, body []byte) (*Response, error) {
	if contentType != "" && !oauthhttp.IsJSON(contentType) {
		return nil, fmt.Errorf("%w: Content-Type %q is not JSON", ErrMalformedResponse, contentType)
	}
	if !utf8.Valid(body) {
		return nil, fmt.Errorf("%w: body is not valid UTF-8", ErrMalformedResponse)
	}
	var r Response
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedResponse, err)
	}
	return &r, nil
}
