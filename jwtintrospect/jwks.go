package jwtintrospect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"golang.org/x/time/rate"

	"github.com/tokengate/tokengate/internal/discovery"
	"github.com/tokengate/tokengate/introspect"
)

const defaultHTTPTimeout = 10 * time.Second

// keySet returns the authorization server's key set, setting up the remote
// one on first use: discovery of the jwks_uri if needed, then keyfunc's
// storage, whose first fetch happens here.
func (d *Decoder) keySet(ctx context.Context) (jwkset.Storage, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.keys != nil {
		return d.keys, nil
	}
	if !d.remote {
		return nil, reject(ErrSignature, "no key set configured for asymmetric signatures", nil)
	}
	jwksURL := d.cfg.JWKSURL
	if jwksURL == "" {
		md, err := discovery.Fetch(ctx, d.http, d.cfg.Issuer, d.cfg.MaxJWKSBytes)
		if err != nil {
			return nil, fmt.Errorf("jwtintrospect: discovering the jwks_uri: %w: %w", introspect.ErrUnavailable, err)
		}
		if md.JWKSURI == "" {
			return nil, fmt.Errorf("jwtintrospect: %s has no jwks_uri; set Config.JWKSURL: %w", md.URL, introspect.ErrMalformedResponse)
		}
		if err := checkURL(md.JWKSURI, d.cfg.InsecureAllowHTTPJWKSURL); err != nil {
			return nil, fmt.Errorf("jwtintrospect: discovered jwks_uri: %w: %w", introspect.ErrMalformedResponse, err)
		}
		jwksURL = md.JWKSURI
	}
	timeout := d.http.Timeout
	if timeout <= 0 {
		timeout = defaultHTTPTimeout
	}
	logger := d.cfg.Logger
	noErrorOnFirst := true
	kf, err := keyfunc.NewDefaultOverrideCtx(d.ctx, []string{jwksURL}, keyfunc.Override{
		Client:      d.http,
		HTTPTimeout: timeout,
		// A failed first fetch is not fatal: the next unknown kid retries.
		NoErrorReturnFirstHTTPReq: &noErrorOnFirst,
		// Bounds both the wait for the limiter and the refresh itself. The
		// limiter refuses at once when its next slot is further away than
		// this, so a flood of unknown kids does not queue up.
		RateLimitWaitMax: timeout,
		RefreshErrorHandlerFunc: func(u string) func(context.Context, error) {
			return func(ctx context.Context, err error) {
				if d.ctx.Err() == nil {
					logger.WarnContext(ctx, "jwtintrospect: JWK Set refresh failed", "url", u, "error", err)
				}
			}
		},
		RefreshInterval:   d.cfg.JWKSRefreshInterval,
		RefreshUnknownKID: rate.NewLimiter(rate.Every(d.cfg.JWKSRefreshRateLimit), 1),
	})
	if err != nil {
		return nil, fmt.Errorf("jwtintrospect: setting up the JWK Set at %s: %w: %w", jwksURL, introspect.ErrUnavailable, err)
	}
	d.keys = kf.Storage()
	return d.keys, nil
}

// boundedClient returns a copy of c (or of a default client) whose responses
// fail to read past max bytes.
func boundedClient(c *http.Client, max int64) *http.Client {
	var out http.Client
	if c != nil {
		out = *c
	} else {
		out.Timeout = defaultHTTPTimeout
	}
	base := out.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	out.Transport = &limitTransport{base: base, max: max}
	return &out
}

// limitTransport caps every response body it returns.
type limitTransport struct {
	base http.RoundTripper
	max  int64
}

var errBodyTooLarge = errors.New("jwtintrospect: response body exceeds the configured limit")

func (t *limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.ContentLength > t.max {
		resp.Body.Close()
		return nil, fmt.Errorf("%w (%d > %d bytes)", errBodyTooLarge, resp.ContentLength, t.max)
	}
	resp.Body = &limitedBody{rc: resp.Body, left: t.max}
	return resp, nil
}

// limitedBody returns errBodyTooLarge once more than its limit has been read,
// rather than truncating silently.
type limitedBody struct {
	rc   io.ReadCloser
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, errBodyTooLarge
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return n, errBodyTooLarge
	}
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }
