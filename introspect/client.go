package introspect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/sync/singleflight"

	"github.com/tokengate/tokengate/internal/discovery"
)

// AuthStyle is how the client authenticates to the introspection endpoint
// with a client id and secret.
type AuthStyle int

const (
	// AuthStyleBasic is client_secret_basic (RFC 6749 §2.3.1): the id and
	// secret are form-urlencoded, then sent as HTTP Basic credentials.
	AuthStyleBasic AuthStyle = iota
	// AuthStylePost is client_secret_post: the id and secret go in the form body.
	AuthStylePost
)

// Defaults used by [New] for zero [Config] fields.
const (
	DefaultTimeout          = 10 * time.Second
	DefaultMaxResponseBytes = 1 << 20
	DefaultClockSkew        = 30 * time.Second
)

// Decoder turns the body of a successful introspection answer into a
// [Response]. The zero [Config] decodes plain RFC 7662 JSON; package
// jwtintrospect provides a Decoder for RFC 9701 JWT answers.
type Decoder interface {
	// Accept is the value of the Accept header sent with each request.
	Accept() string
	// Decode decodes a 200 answer whose Content-Type is contentType (the
	// media type, lower-cased, without parameters; "" when absent). An
	// error that matches none of the package's categories is reported as
	// [ErrMalformedResponse].
	Decode(ctx context.Context, contentType string, body []byte) (*Response, error)
}

// Config configures a [Client]. Exactly one of IntrospectionURL and Issuer
// is required; credentials are optional only if the AS allows anonymous
// introspection (rare).
type Config struct {
	// IntrospectionURL is the RFC 7662 endpoint. If empty, it is discovered
	// from Issuer.
	IntrospectionURL string
	// Issuer is the authorization server's issuer URL, used to discover the
	// endpoint (RFC 8414, then OpenID Connect discovery) when
	// IntrospectionURL is empty. Discovery happens on the first call to
	// [Client.Introspect]; if it fails, that call fails with
	// [ErrUnavailable] and the next call tries again.
	Issuer string

	// ClientID and ClientSecret authenticate us to the AS as AuthStyle says.
	// A ClientSecret without a ClientID is an error. The zero values send no
	// client credentials.
	ClientID     string
	ClientSecret string
	// AuthStyle selects client_secret_basic (the zero value) or client_secret_post.
	AuthStyle AuthStyle
	// TokenSource, if set, authenticates us with a bearer token instead of a
	// client secret: use oauth2.StaticTokenSource for a fixed token, or
	// clientcredentials.Config.TokenSource for one that is renewed as it
	// expires. It cannot be combined with ClientSecret.
	TokenSource oauth2.TokenSource

	// TokenTypeHint, if set, is sent as token_type_hint (e.g. "access_token").
	TokenTypeHint string

	// HTTPClient makes the requests. Defaults to a client with a 10s timeout.
	HTTPClient *http.Client
	// Timeout bounds one introspection as seen by its callers, discovery and
	// retries included. Defaults to 10s.
	Timeout time.Duration
	// MaxResponseBytes caps how much of an answer is read; a longer answer is
	// [ErrMalformedResponse]. Defaults to 1 MiB.
	MaxResponseBytes int64
	// ClockSkew is the leeway when checking exp and nbf. Defaults to 30s.
	ClockSkew time.Duration
	// Now returns the current time. Defaults to time.Now.
	Now func() time.Time
	// Decoder decodes answers. Defaults to plain JSON (RFC 7662).
	Decoder Decoder
	// Logger receives structured logs; it never sees a token. Defaults to
	// slog.Default().
	Logger *slog.Logger

	// InsecureAllowHTTPEndpoint allows a plain-http endpoint (or issuer) on a
	// host other than loopback. It MUST NOT be set in production: tokens and
	// client secrets would cross the network in clear text.
	InsecureAllowHTTPEndpoint bool
}

// Client is an RFC 7662 introspection client. It is safe for concurrent use.
type Client struct {
	cfg Config

	// discoverMu guards endpoint. endpoint is the introspection URL, set
	// from the Config or by a successful discovery, and never changed after.
	discoverMu sync.Mutex
	endpoint   string
	// discovery coalesces concurrent discoveries.
	discovery singleflight.Group
}

// New returns a Client for cfg, or an error naming the first invalid field.
// It does not touch the network: an Issuer is resolved on first use.
func New(cfg Config) (*Client, error) {
	if (cfg.IntrospectionURL == "") == (cfg.Issuer == "") {
		return nil, errors.New("introspect: exactly one of Config.IntrospectionURL and Config.Issuer must be set")
	}
	if cfg.IntrospectionURL != "" {
		if err := checkURL(cfg.IntrospectionURL, cfg.InsecureAllowHTTPEndpoint); err != nil {
			return nil, fmt.Errorf("introspect: Config.IntrospectionURL: %w", err)
		}
	}
	if cfg.Issuer != "" {
		if err := checkURL(cfg.Issuer, cfg.InsecureAllowHTTPEndpoint); err != nil {
			return nil, fmt.Errorf("introspect: Config.Issuer: %w", err)
		}
	}
	if cfg.ClientSecret != "" && cfg.ClientID == "" {
		return nil, errors.New("introspect: Config.ClientSecret is set but Config.ClientID is empty")
	}
	if cfg.TokenSource != nil && cfg.ClientSecret != "" {
		return nil, errors.New("introspect: Config.TokenSource and Config.ClientSecret cannot both be set")
	}
	if cfg.AuthStyle != AuthStyleBasic && cfg.AuthStyle != AuthStylePost {
		return nil, fmt.Errorf("introspect: Config.AuthStyle: unknown value %d", cfg.AuthStyle)
	}
	if cfg.Timeout < 0 || cfg.MaxResponseBytes < 0 || cfg.ClockSkew < 0 {
		return nil, errors.New("introspect: Config.Timeout, Config.MaxResponseBytes and Config.ClockSkew must not be negative")
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: DefaultTimeout}
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxResponseBytes == 0 {
		cfg.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if cfg.ClockSkew == 0 {
		cfg.ClockSkew = DefaultClockSkew
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Decoder == nil {
		cfg.Decoder = jsonDecoder{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	c := &Client{cfg: cfg, endpoint: cfg.IntrospectionURL}
	return c, nil
}

// checkURL accepts an absolute https URL, or an http URL on a loopback host
// (or any host when insecure is set).
func checkURL(raw string, insecure bool) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if u.Host == "" {
		return fmt.Errorf("%q is not an absolute URL", raw)
	}
	if u.User != nil {
		return fmt.Errorf("%q must not carry credentials", u.Redacted())
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if insecure || isLoopback(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("%q is plain http on a non-loopback host (set InsecureAllowHTTPEndpoint only for tests)", raw)
	default:
		return fmt.Errorf("%q: scheme must be https", raw)
	}
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Introspect asks the authorization server about token. It returns the
// response of an active token, or an error matching one of [ErrInactive],
// [ErrUnavailable], [ErrASRejectedClient] or [ErrMalformedResponse].
func (c *Client) Introspect(ctx context.Context, token string) (*Response, error) {
	if token == "" {
		return nil, fmt.Errorf("%w: empty token", ErrInactive)
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	endpoint, err := c.introspectionURL(ctx)
	if err != nil {
		return nil, err
	}
	resp, err := c.attempt(ctx, endpoint, token)
	if err != nil {
		return nil, err
	}
	if err := c.check(resp, c.cfg.Now()); err != nil {
		return nil, err
	}
	return resp, nil
}

// check reports whether an active verdict is still valid at now.
func (c *Client) check(r *Response, now time.Time) error {
	if !r.Active {
		return fmt.Errorf("%w: active is false", ErrInactive)
	}
	if !r.Expiry.IsZero() && now.After(r.Expiry.Add(c.cfg.ClockSkew)) {
		return fmt.Errorf("%w: expired at %s", ErrInactive, r.Expiry.Format(time.RFC3339))
	}
	if !r.NotBefore.IsZero() && now.Add(c.cfg.ClockSkew).Before(r.NotBefore) {
		return fmt.Errorf("%w: not valid before %s", ErrInactive, r.NotBefore.Format(time.RFC3339))
	}
	return nil
}

// introspectionURL returns the endpoint, discovering it from the issuer on
// first use. Concurrent first calls share one discovery, which runs on a
// context detached from any one caller and bounded by Config.Timeout.
func (c *Client) introspectionURL(ctx context.Context) (string, error) {
	c.discoverMu.Lock()
	endpoint := c.endpoint
	c.discoverMu.Unlock()
	if endpoint != "" {
		return endpoint, nil
	}
	ch := c.discovery.DoChan("", func() (any, error) {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.Timeout)
		defer cancel()
		md, err := discovery.Fetch(dctx, c.cfg.HTTPClient, c.cfg.Issuer, c.cfg.MaxResponseBytes)
		if err != nil {
			return "", err
		}
		if md.IntrospectionEndpoint == "" {
			return "", fmt.Errorf("metadata at %s has no introspection_endpoint", md.URL)
		}
		if err := checkURL(md.IntrospectionEndpoint, c.cfg.InsecureAllowHTTPEndpoint); err != nil {
			return "", fmt.Errorf("metadata at %s: introspection_endpoint: %w", md.URL, err)
		}
		c.discoverMu.Lock()
		c.endpoint = md.IntrospectionEndpoint
		c.discoverMu.Unlock()
		return md.IntrospectionEndpoint, nil
	})
	select {
	case <-ctx.Done():
		return "", fmt.Errorf("%w: discovery from issuer %s: %w", ErrUnavailable, c.cfg.Issuer, ctx.Err())
	case res := <-ch:
		if res.Err != nil {
			c.cfg.Logger.Error("introspect: discovery failed", "issuer", c.cfg.Issuer, "error", res.Err)
			return "", fmt.Errorf("%w: discovery from issuer %s: %w", ErrUnavailable, c.cfg.Issuer, res.Err)
		}
		return res.Val.(string), nil
	}
}
