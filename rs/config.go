package rs

import (
	"cmp"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tokengate/tokengate/dpop"
	"github.com/tokengate/tokengate/internal/oauthhttp"
	"github.com/tokengate/tokengate/scopes"
)

// DefaultClockSkew is the leeway on exp and nbf when [Config.ClockSkew] is zero.
const DefaultClockSkew = 30 * time.Second

// DefaultRealm is the realm of every challenge when [Config.Realm] is empty.
const DefaultRealm = "api"

// DefaultRetryAfter is the Retry-After of a 503 when the authorization
// server gave none and [Config.RetryAfter] is zero.
const DefaultRetryAfter = 5 * time.Second

// Config configures a [Guard]. Introspector, and Audiences or
// SkipAudienceCheck, are required.
type Config struct {
	// Introspector validates tokens. Required.
	Introspector Introspector

	// Audiences lists the identifiers of this resource server; a token is
	// accepted only if its "aud" names at least one of them (exact string
	// comparison). Required unless SkipAudienceCheck is set.
	Audiences []string
	// SkipAudienceCheck accepts tokens whatever their audience. It MUST NOT be
	// set when the authorization server issues tokens for other resource
	// servers too: a token meant for one of them would be accepted here.
	SkipAudienceCheck bool
	// Issuers lists the accepted "iss" values. Empty means the issuer is not
	// checked: the introspection endpoint you configured is trusted to speak
	// only for its own tokens. When set, a response without "iss" is rejected.
	Issuers []string
	// TokenTypes lists the accepted "token_type" values, compared
	// case-insensitively. A response without token_type is always accepted.
	// Defaults to "Bearer". "DPoP" cannot be listed: DPoP-bound tokens are
	// accepted by setting DPoP, and rejected without it (see [Guard]).
	TokenTypes []string
	// ClientIDs, if set, lists the clients whose tokens are accepted.
	// Empty means any client.
	ClientIDs []string
	// ClockSkew is the leeway when re-checking exp and nbf. Defaults to
	// [DefaultClockSkew]; negative values are an error.
	ClockSkew time.Duration
	// Now returns the current time. Defaults to time.Now.
	Now func() time.Time
	// Strategy is how granted scopes cover required ones. The zero value is
	// scopes.Exact.
	Strategy scopes.Strategy

	// Realm is the realm attribute of every challenge. It must be printable
	// ASCII. Defaults to [DefaultRealm]: RFC 6750 §3 requires at least one
	// auth-param after "Bearer", and for a request without token the realm
	// is the only one there is.
	Realm string
	// ResourceMetadataURL, if set, is sent as the RFC 9728 resource_metadata
	// attribute of every challenge, so that clients can discover where to get
	// a token. It must be an https URL (plain http only on a loopback host,
	// for tests) without fragment: a client follows it to find its
	// authorization server, so it must not be open to rewriting on the way.
	// See [MetadataURL].
	ResourceMetadataURL string
	// RetryAfter is sent with 503 answers when the authorization server did
	// not say how long to wait. Defaults to [DefaultRetryAfter].
	RetryAfter time.Duration

	// ErrorBody, if set, makes the body of every answer of the guard, on
	// every route (RequireScopes included) and in every framework: give it
	// your API's error format. It gets the answer [Guard.Reject] built,
	// with its Status, Code, Description and Err, and returns the body and
	// its Content-Type; a nil body sends none. The status and the other
	// headers stay those of RFC 6750 (WWW-Authenticate, Retry-After,
	// Cache-Control: no-store), which clients rely on. Nil means the
	// RFC 6750 {"error":…,"error_description":…} JSON, and no body for a
	// request without token. It must not echo Err's text to the client.
	ErrorBody func(rj *Rejection) (contentType string, body []byte)

	// Extractors are the ways, besides the Authorization header (which is
	// always read), that a request may carry its token, tried in order:
	// [FromForm] for the form-encoded body (RFC 6750 §2.2), [FromQuery] for
	// the URI query (§2.3, which RFC 6750 says SHOULD NOT be used: URLs are
	// logged and cached), or your own, such as a cookie. A request that
	// carries a token by two ways is invalid_request. Their Methods make up
	// the RFC 9728 bearer_methods_supported of [Guard.MetadataHandler]. The
	// zero value reads the header alone.
	Extractors []Extractor

	// DPoP, if set, accepts DPoP-bound access tokens (RFC 9449): presented
	// as "Authorization: DPoP <token>" with one DPoP proof header, which
	// this verifier checks against the request and against the token's
	// cnf.jkt from introspection. Bearer tokens keep working alongside, and
	// every 401 then carries both a Bearer and a DPoP challenge. Nil means
	// DPoP-bound tokens are rejected as invalid_token, and the DPoP scheme
	// is not recognised. See [Guard] for the rules.
	DPoP *dpop.Verifier
	// RequestURL returns the URL the client addressed, without query, which
	// a DPoP proof's htu must name (RFC 9449 §4.3). Defaults to the scheme
	// of the connection ("https" if r.TLS is set), r.Host and the escaped
	// path of r.URL, which is right when clients connect to this server
	// directly. Behind a reverse proxy or load balancer that terminates TLS
	// or rewrites the host or path, return the public URL instead, e.g. a
	// fixed "https://api.example.com" plus r.URL.EscapedPath(), or values
	// from X-Forwarded-Proto and X-Forwarded-Host if, and only if, your
	// proxy sets them and drops those sent by clients. Only used with DPoP.
	RequestURL func(r *http.Request) string

	// MTLS accepts certificate-bound access tokens (RFC 8705 §3): a token
	// whose introspection response has cnf["x5t#S256"] is accepted, still
	// with the Bearer scheme, only if the request's client certificate
	// (from ClientCertificate) has that SHA-256 thumbprint. A missing
	// certificate or another one is invalid_token. It does not make the
	// server ask for certificates: configure tls.Config.ClientAuth (e.g.
	// tls.RequestClientCert or tls.VerifyClientCertIfGiven) yourself. False
	// means certificate-bound tokens are rejected as invalid_token. See
	// [Guard] for how it combines with DPoP.
	MTLS bool
	// ClientCertificate returns the certificate the client authenticated
	// the connection with, or nil if there is none. Defaults to the first
	// of r.TLS.PeerCertificates, which is right when clients connect to
	// this server directly. Behind a reverse proxy or load balancer that
	// terminates TLS, the proxy must forward the client certificate, e.g.
	// URL-encoded PEM in a header such as X-Forwarded-Client-Cert or
	// X-SSL-Client-Cert; parse it here. That header MUST only be trusted
	// from the proxy: the proxy must overwrite any such header sent by a
	// client, and this server must not be reachable except through it,
	// or anyone can claim any certificate. An error rejects the token as
	// invalid_token, like a missing certificate. Only used with MTLS;
	// setting it without MTLS is an error.
	ClientCertificate func(r *http.Request) (*x509.Certificate, error)

	// AllowAnonymous lets requests without any token through with no
	// principal; a request with a bad token is still rejected, and a route
	// that requires scopes still answers 401. Handlers MUST then check
	// [PrincipalFrom] themselves before serving anything private.
	AllowAnonymous bool

	// Observer, if set, is told every decision of the guard, with its
	// status and a fixed reason, for metrics; see [Decision].
	Observer Observer

	// Logger receives structured logs; it never sees a token, only the first
	// 16 hex digits of its SHA-256. Failures that repeat on every request
	// (the authorization server unavailable, or its answers unusable) are
	// logged at most once per 10 seconds each, with the number held back.
	// Defaults to slog.Default().
	Logger *slog.Logger
}

// check validates c and fills in its defaults. The slices are cloned, so
// that the caller changing them later does not change the guard.
func (c *Config) check() error {
	if c.Introspector == nil {
		return errors.New("rs: Config.Introspector is required")
	}
	if len(c.Audiences) == 0 && !c.SkipAudienceCheck {
		return errors.New("rs: Config.Audiences is empty: list this resource server's identifiers, or set SkipAudienceCheck")
	}
	for _, a := range c.Audiences {
		if a == "" {
			return errors.New("rs: Config.Audiences contains an empty string")
		}
	}
	for _, s := range c.Issuers {
		if s == "" {
			return errors.New("rs: Config.Issuers contains an empty string")
		}
	}
	for _, s := range c.ClientIDs {
		if s == "" {
			return errors.New("rs: Config.ClientIDs contains an empty string")
		}
	}
	if len(c.TokenTypes) == 0 {
		c.TokenTypes = []string{"Bearer"}
	}
	for _, t := range c.TokenTypes {
		if t == "" {
			return errors.New("rs: Config.TokenTypes contains an empty string")
		}
		if strings.EqualFold(t, "DPoP") {
			return errors.New("rs: Config.TokenTypes: DPoP-bound tokens are accepted by setting Config.DPoP, not by listing DPoP")
		}
	}
	if c.ClockSkew < 0 {
		return fmt.Errorf("rs: Config.ClockSkew is negative (%v)", c.ClockSkew)
	}
	if c.ClockSkew == 0 {
		c.ClockSkew = DefaultClockSkew
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if !c.Strategy.Valid() {
		return fmt.Errorf("rs: Config.Strategy %v is not defined", c.Strategy)
	}
	if !isQuotable(c.Realm) {
		return errors.New("rs: Config.Realm must be printable ASCII")
	}
	c.Realm = cmp.Or(c.Realm, DefaultRealm)
	if c.ResourceMetadataURL != "" {
		if err := oauthhttp.CheckResource(c.ResourceMetadataURL, false, ""); err != nil {
			return fmt.Errorf("rs: Config.ResourceMetadataURL: %w", err)
		}
		if strings.ContainsAny(c.ResourceMetadataURL, " \t\"\\") || !isQuotable(c.ResourceMetadataURL) {
			return fmt.Errorf("rs: Config.ResourceMetadataURL %q has characters a challenge cannot carry", c.ResourceMetadataURL)
		}
	}
	if c.RetryAfter < 0 {
		return fmt.Errorf("rs: Config.RetryAfter is negative (%v)", c.RetryAfter)
	}
	if c.RetryAfter == 0 {
		c.RetryAfter = DefaultRetryAfter
	}
	seen := map[string]bool{"header": true}
	for i, ex := range c.Extractors {
		switch {
		case ex.err != nil:
			return fmt.Errorf("rs: Config.Extractors[%d]: %w", i, ex.err)
		case ex.Extract == nil:
			return fmt.Errorf("rs: Config.Extractors[%d] has no Extract function", i)
		case ex.Method != "" && ex.Method != "body" && ex.Method != "query":
			return fmt.Errorf("rs: Config.Extractors[%d].Method %q is none of RFC 9728's \"body\" and \"query\" (the Authorization header is always read; leave Method empty for a way RFC 9728 does not name)", i, ex.Method)
		case seen[ex.Method]:
			return fmt.Errorf("rs: Config.Extractors[%d]: a second %q extractor", i, ex.Method)
		}
		if ex.Method != "" {
			seen[ex.Method] = true
		}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.RequestURL == nil {
		c.RequestURL = defaultRequestURL
	}
	if c.ClientCertificate != nil && !c.MTLS {
		return errors.New("rs: Config.ClientCertificate is set but Config.MTLS is not: certificate-bound tokens would still be rejected")
	}
	if c.ClientCertificate == nil {
		c.ClientCertificate = defaultClientCertificate
	}
	c.Audiences = slices.Clone(c.Audiences)
	c.Issuers = slices.Clone(c.Issuers)
	c.TokenTypes = slices.Clone(c.TokenTypes)
	c.ClientIDs = slices.Clone(c.ClientIDs)
	c.Extractors = slices.Clone(c.Extractors)
	return nil
}
