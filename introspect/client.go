package introspect

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"golang.org/x/oauth2"
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

// Decoder turns the body of a successful introspection answer into a
// [Response]. The zero [Config] decodes plain RFC 7662 JSON; package
// jwtintrospect provides a Decoder for RFC 9701 JWT answers.
type Decoder interface {
	// Accept is the value of the Accept header sent with each request.
	Accept() string
	// Decode decodes a 200 answer whose Content-Type is contentType.
	Decode(ctx context.Context, contentType string, body []byte) (*Response, error)
}

// Config configures a [Client]. Only one of IntrospectionURL and Issuer is
// required; credentials are optional only if the AS allows anonymous
// introspection (rare).
type Config struct {
	// IntrospectionURL is the RFC 7662 endpoint. If empty, it is discovered
	// from Issuer.
	IntrospectionURL string
	// Issuer is the authorization server's issuer URL, used to discover the
	// endpoint (RFC 8414, then OpenID Connect discovery) when
	// IntrospectionURL is empty.
	Issuer string

	// ClientID and ClientSecret authenticate us to the AS as AuthStyle says.
	ClientID     string
	ClientSecret string
	// AuthStyle selects client_secret_basic (the zero value) or client_secret_post.
	AuthStyle AuthStyle
	// TokenSource, if set, authenticates us with a bearer token instead of a
	// client secret: use oauth2.StaticTokenSource for a fixed token, or
	// clientcredentials.Config.TokenSource for one that is renewed as it expires.
	TokenSource oauth2.TokenSource

	// TokenTypeHint, if set, is sent as token_type_hint (e.g. "access_token").
	TokenTypeHint string

	// HTTPClient makes the requests. Defaults to a client with a 10s timeout.
	HTTPClient *http.Client
	// Timeout bounds one introspection, discovery included. Defaults to 10s.
	Timeout time.Duration
	// MaxResponseBytes caps how much of an answer is read. Defaults to 1 MiB.
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

	// InsecureAllowHTTPEndpoint allows a plain-http endpoint on a host other
	// than loopback. It MUST NOT be set in production: tokens and client
	// secrets would cross the network in clear text.
	InsecureAllowHTTPEndpoint bool
}

// Client is an RFC 7662 introspection client. It is safe for concurrent use.
type Client struct {
	cfg Config
}

// New returns a Client for cfg, or an error naming the first invalid field.
func New(cfg Config) (*Client, error) {
	return nil, errors.New("introspect: not implemented yet")
}

// Introspect asks the authorization server about token. It returns the
// response of an active token, or an error matching one of [ErrInactive],
// [ErrUnavailable], [ErrASRejectedClient] or [ErrMalformedResponse].
func (c *Client) Introspect(ctx context.Context, token string) (*Response, error) {
	return nil, errors.New("introspect: not implemented yet")
}
