package introspect

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/sync/singleflight"

	"github.com/tokengate/tokengate/internal/discovery"
	"github.com/tokengate/tokengate/internal/lograte"
	"github.com/tokengate/tokengate/internal/oauthhttp"
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

// Defaults used by [NewClient] for zero [Config] fields.
const (
	defaultTimeout          = 10 * time.Second
	defaultMaxResponseBytes = 1 << 20
	defaultClockSkew        = 30 * time.Second
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

// Config configures a [Client], and the [Cache] that [New] puts in front of
// it. Exactly one of IntrospectionURL and Issuer is required; credentials
// are optional only if the AS allows anonymous introspection (rare).
type Config struct {
	// IntrospectionURL is the RFC 7662 endpoint. If empty, it is discovered
	// from Issuer.
	IntrospectionURL string
	// Issuer is the authorization server's issuer URL, used to discover the
	// endpoint (RFC 8414, then OpenID Connect discovery) when
	// IntrospectionURL is empty. Discovery happens on the first call to
	// [Client.Introspect]; if it fails, that call fails with
	// [ErrUnavailable] and the next call tries again. Failed discoveries
	// count towards the circuit breaker (see [ResilienceConfig]), so an
	// unreachable issuer is not asked on every call.
	Issuer string

	// ClientID and ClientSecret authenticate us to the AS as AuthStyle says.
	// A ClientSecret without a ClientID is an error. The zero values send no
	// client credentials. With a TokenSource, ClientID is not sent: it only
	// names us in logs and in [Client.CacheIdentity], so set it to the
	// client the TokenSource authenticates as.
	ClientID     string
	ClientSecret string
	// AuthStyle selects client_secret_basic (the zero value) or client_secret_post.
	AuthStyle AuthStyle
	// TokenSource, if set, authenticates us with a bearer token instead of a
	// client secret: use oauth2.StaticTokenSource for a fixed token, or
	// clientcredentials.Config.TokenSource for one that is renewed as it
	// expires. It cannot be combined with ClientSecret. Its Token method
	// takes no context, so give it an HTTP client with a timeout (through
	// the oauth2.HTTPClient context value) lest a hung token endpoint hold
	// an introspection until Config.Timeout. Set the clientcredentials
	// Config's AuthStyle explicitly: its auto-detect default retries every
	// refused token request in the other style, doubling the calls to a
	// failing token endpoint.
	TokenSource oauth2.TokenSource

	// TokenTypeHint, if set, is sent as token_type_hint (e.g. "access_token").
	TokenTypeHint string

	// HTTPClient makes the requests. Defaults to a client with a 10s
	// timeout. Whichever client is used, introspection requests never
	// follow a redirect (it could replay the token to another host; it is
	// reported as [ErrMalformedResponse]): they go through a copy of the
	// client whose CheckRedirect refuses them. Discovery goes through
	// another copy, which follows a redirect only to https (or loopback
	// http, or any http with InsecureAllowHTTPEndpoint).
	HTTPClient *http.Client
	// Timeout bounds one introspection, discovery and retries included.
	// Defaults to 10s.
	Timeout time.Duration
	// MaxResponseBytes caps how much of an answer is read; a longer answer is
	// [ErrMalformedResponse]. Defaults to 1 MiB.
	MaxResponseBytes int64
	// ClockSkew is the leeway when checking exp and nbf (see
	// [tokeninfo.Response.ValidAt]). Defaults to 30s.
	ClockSkew time.Duration
	// Now returns the current time, for the exp/nbf checks, Retry-After
	// dates and the circuit breaker's cool-down. Defaults to time.Now.
	Now func() time.Time
	// Decoder decodes answers. Defaults to plain JSON (RFC 7662).
	Decoder Decoder
	// Logger receives structured logs; it never sees a token. Defaults to
	// slog.Default().
	Logger *slog.Logger

	// Resilience configures retries, timeouts per attempt, the circuit
	// breaker and the bound on calls in flight; see [ResilienceConfig].
	Resilience ResilienceConfig
	// Observer, if set, receives an [Event] for each call to the
	// authorization server, change of the circuit breaker and call shed
	// (and, through [New], for each cache hit, miss and so on). The zero
	// value observes nothing.
	Observer Observer

	// InsecureAllowHTTPEndpoint allows a plain-http endpoint (or issuer) on a
	// host other than loopback. It MUST NOT be set in production: tokens and
	// client secrets would cross the network in clear text.
	InsecureAllowHTTPEndpoint bool
}

// Client is an RFC 7662 introspection client: every call to
// [Client.Introspect] asks the authorization server, with retries, a
// circuit breaker and a bound on the calls in flight. Put a [Cache] in
// front of it (as [New] does) to keep verdicts. It is safe for concurrent
// use and starts no goroutine of its own beyond those serving calls in
// flight, so it needs no Close.
type Client struct {
	cfg Config
	// identity is the CacheIdentity.
	identity string

	// breaker is nil when the circuit breaker is disabled.
	breaker *breaker
	// inFlight counts the calls to the authorization server in progress,
	// bounded by Resilience.MaxInFlight.
	inFlight atomic.Int64
	// rejectLog rate-limits the Error log of our credentials being refused.
	rejectLog lograte.Limiter
	// shedLog rate-limits the Warn log of calls refused by the in-flight
	// bound.
	shedLog lograte.Limiter
	// sleep waits between retries; tests replace it.
	sleep func(ctx context.Context, d time.Duration) error

	// discoverMu guards endpoint. endpoint is the introspection URL, set
	// from the Config or by a successful discovery, and never changed after.
	discoverMu sync.Mutex
	endpoint   string
	// discoveryClient reads the issuer's metadata.
	discoveryClient *http.Client
	// discovery coalesces concurrent discoveries.
	discovery singleflight.Group
}

// NewClient returns a Client for cfg, or an error naming the first invalid
// field. It does not touch the network: an Issuer is resolved on first use,
// and [Client.Ping] checks the endpoint and credentials.
//
// Most resource servers want [New] instead, which puts a [Cache] in front.
func NewClient(cfg Config) (*Client, error) {
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
	base := cfg.HTTPClient
	if base == nil {
		base = &http.Client{Timeout: defaultTimeout}
	}
	// Introspection requests never follow a redirect, whoever made the
	// client: a 307 or 308 would replay the POST body, token included, to
	// wherever it points. Discovery follows redirects only to URLs that
	// checkURL accepts: the metadata names where tokens go. The caller's
	// client is copied, not changed.
	cfg.HTTPClient = oauthhttp.NoRedirects(base)
	discoveryClient := oauthhttp.CheckRedirects(base, cfg.InsecureAllowHTTPEndpoint, "InsecureAllowHTTPEndpoint")
	cfg.Timeout = cmp.Or(cfg.Timeout, defaultTimeout)
	cfg.MaxResponseBytes = cmp.Or(cfg.MaxResponseBytes, defaultMaxResponseBytes)
	cfg.ClockSkew = cmp.Or(cfg.ClockSkew, defaultClockSkew)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Decoder == nil {
		cfg.Decoder = jsonDecoder{}
	}
	cfg.Logger = cmp.Or(cfg.Logger, slog.Default())
	if err := fillResilience(&cfg.Resilience, cfg.Timeout); err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg, endpoint: cfg.IntrospectionURL, sleep: sleepCtx, discoveryClient: discoveryClient}
	// Who answers (the endpoint, or the issuer it is discovered from) and
	// whom we introspect as.
	authKind := "secret"
	if cfg.TokenSource != nil {
		authKind = "bearer"
	}
	h := sha256.Sum256([]byte(cfg.IntrospectionURL + "\n" + cfg.Issuer + "\n" + cfg.ClientID + "\n" + authKind))
	c.identity = "introspect:" + hex.EncodeToString(h[:16])
	c.breaker = newBreaker(cfg.Resilience.BreakerThreshold, cfg.Resilience.BreakerCooldown, c.circuitChanged)
	return c, nil
}

func fillResilience(rc *ResilienceConfig, timeout time.Duration) error {
	if rc.AttemptTimeout < 0 || rc.Backoff < 0 || rc.BreakerCooldown < 0 || rc.MaxInFlight < 0 {
		return errors.New("introspect: Config.Resilience.AttemptTimeout, Backoff, BreakerCooldown and MaxInFlight must not be negative")
	}
	rc.MaxInFlight = cmp.Or(rc.MaxInFlight, defaultMaxInFlight)
	rc.AttemptTimeout = cmp.Or(rc.AttemptTimeout, min(defaultAttemptTimeout, timeout))
	switch {
	case rc.MaxRetries == 0:
		rc.MaxRetries = defaultMaxRetries
	case rc.MaxRetries < 0:
		rc.MaxRetries = 0
	}
	rc.Backoff = cmp.Or(rc.Backoff, defaultBackoff)
	rc.BreakerThreshold = cmp.Or(rc.BreakerThreshold, defaultBreakerThreshold)
	rc.BreakerCooldown = cmp.Or(rc.BreakerCooldown, defaultBreakerCooldown)
	return nil
}

func (c *Client) circuitChanged(state string) {
	c.observe(Event{Kind: EventCircuit, Outcome: state})
	switch state {
	case circuitOpen:
		c.cfg.Logger.Warn("introspect: authorization server failing; circuit open, failing fast",
			"cooldown", c.cfg.Resilience.BreakerCooldown)
	case circuitClosed:
		c.cfg.Logger.Info("introspect: authorization server answering again; circuit closed")
	}
}

// checkURL accepts an https URL, or an http URL on a loopback host (or any
// host when insecure is set).
func checkURL(raw string, insecure bool) error {
	return oauthhttp.CheckURL(raw, insecure, "InsecureAllowHTTPEndpoint")
}

// Introspect asks the authorization server about token. It returns the
// response of an active token, or an error matching exactly one of
// [ErrInactive], [ErrUnavailable], [ErrASRejectedClient] or
// [ErrMalformedResponse]. The call, retries included, is bounded by
// Config.Timeout and by ctx; a caller that gives up does not count towards
// the circuit breaker.
func (c *Client) Introspect(ctx context.Context, token string) (*Response, error) {
	if token == "" {
		return nil, errEmptyToken
	}
	if !c.enter() {
		return nil, errShed
	}
	defer c.inFlight.Add(-1)
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	endpoint, err := c.introspectionURL(ctx)
	if err != nil {
		return nil, err
	}
	return c.fetch(ctx, endpoint, token)
}

// Ping checks that the authorization server is reachable (discovering the
// endpoint if need be) and accepts our credentials, by introspecting a
// random token: a well-formed inactive answer is success. Otherwise the
// error says why: [ErrASRejectedClient] for wrong credentials,
// [ErrUnavailable] for an unreachable server or failed discovery,
// [ErrMalformedResponse] for an endpoint that does not answer as RFC 7662
// says (or that calls a random token active). Call it at start-up, so that
// a wrong configuration shows there rather than as 503s on the first
// requests.
func (c *Client) Ping(ctx context.Context) error {
	return ping(ctx, c)
}

// CacheIdentity identifies this client's verdicts for a [Cache] and its
// shared tier: two clients share verdicts only when they have the same
// IntrospectionURL (or Issuer), ClientID and kind of authentication (secret
// or TokenSource). It is a hash, so it can be logged.
func (c *Client) CacheIdentity() string { return c.identity }

// enter takes one of the Resilience.MaxInFlight places for a call to the
// authorization server, which the caller gives back with
// c.inFlight.Add(-1). When they are all taken it reports false at once:
// a flood of unknown tokens then queues neither here nor at the server.
func (c *Client) enter() bool {
	if c.inFlight.Add(1) <= int64(c.cfg.Resilience.MaxInFlight) {
		return true
	}
	c.inFlight.Add(-1)
	c.observe(Event{Kind: EventShed})
	if ok, suppressed := c.shedLog.Allow(c.cfg.Now()); ok {
		c.cfg.Logger.Warn("introspect: too many introspections in flight; refusing unknown tokens for now",
			"max_in_flight", c.cfg.Resilience.MaxInFlight, "suppressed_since_last", suppressed)
	}
	return false
}

// check reports whether a verdict is active and valid at now, with
// Config.ClockSkew of leeway.
func (c *Client) check(r *Response, now time.Time) error {
	return validAt(r, now, c.cfg.ClockSkew)
}

// introspectionURL returns the endpoint, discovering it from the issuer on
// first use. Concurrent first calls share one discovery, which runs on a
// context detached from any one caller and bounded by Config.Timeout.
// Failed discoveries count towards the circuit breaker, so that an issuer
// that cannot be reached is not asked again on every call.
func (c *Client) introspectionURL(ctx context.Context) (string, error) {
	c.discoverMu.Lock()
	endpoint := c.endpoint
	c.discoverMu.Unlock()
	if endpoint != "" {
		return endpoint, nil
	}
	if err := c.breaker.allow(c.cfg.Now()); err != nil {
		return "", fmt.Errorf("discovery from issuer %s: %w", c.cfg.Issuer, err)
	}
	ch := c.discovery.DoChan("", func() (any, error) {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.Timeout)
		defer cancel()
		endpoint, err := c.discover(dctx)
		c.breaker.record(c.cfg.Now(), err != nil)
		if err != nil {
			if !pinging(dctx) {
				c.cfg.Logger.Error("introspect: discovery failed", "issuer", c.cfg.Issuer, "error", err)
			}
			return "", err
		}
		return endpoint, nil
	})
	select {
	case <-ctx.Done():
		return "", fmt.Errorf("%w: discovery from issuer %s: %w", ErrUnavailable, c.cfg.Issuer, ctx.Err())
	case res := <-ch:
		if res.Err != nil {
			return "", fmt.Errorf("%w: discovery from issuer %s: %w", ErrUnavailable, c.cfg.Issuer, res.Err)
		}
		return res.Val.(string), nil
	}
}

// discover reads the issuer's metadata and keeps its introspection endpoint.
func (c *Client) discover(ctx context.Context) (string, error) {
	md, err := discovery.Fetch(ctx, c.discoveryClient, c.cfg.Issuer, c.cfg.MaxResponseBytes)
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
}
