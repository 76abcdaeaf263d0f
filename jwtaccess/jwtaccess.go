package jwtaccess

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/go-jose/go-jose/v4"

	"github.com/tokengate/tokengate/internal/jwks"
	"github.com/tokengate/tokengate/internal/oauthhttp"
	"github.com/tokengate/tokengate/introspect"
)

// Defaults for the zero values of [Config].
const (
	// DefaultClockSkew is the leeway when comparing exp, nbf and iat with
	// the local clock; it is the introspection client's too.
	DefaultClockSkew = 30 * time.Second
	// DefaultMaxTokenBytes bounds a token before any parsing. Access tokens
	// with many scopes or roles run to a few KiB.
	DefaultMaxTokenBytes = 16 << 10
	// DefaultMaxRevocations bounds the revocations remembered at once.
	DefaultMaxRevocations = 100_000

	defaultHTTPTimeout = 10 * time.Second
)

// DefaultAlgorithms are the JWS algorithms accepted when
// [Config.Algorithms] is nil: every asymmetric algorithm of RFC 7518 and
// RFC 8037. A token's alg must also fit the key that verifies it.
var DefaultAlgorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// Config configures a [Validator]. Issuer and Audiences are required.
type Config struct {
	// Issuer is the authorization server's issuer identifier; a token's
	// iss must be identical to it (RFC 9068 §4). Its metadata (RFC 8414,
	// then OpenID Connect Discovery) names the jwks_uri when JWKSURL and
	// JWKS are empty.
	Issuer string
	// Audiences are this resource server's identifiers; a token's aud
	// must contain one of them (RFC 9068 §4, RFC 8707 resource
	// indicators).
	Audiences []string

	// JWKSURL is the issuer's jwks_uri, if it is not to be discovered. It
	// must be https, or http on a loopback host.
	JWKSURL string
	// JWKS, if set, is a pinned JWK Set holding the issuer's public keys;
	// nothing is then fetched. Set at most one of JWKSURL and JWKS.
	JWKS json.RawMessage
	// Algorithms is the allowlist of JWS algorithms. Defaults to
	// [DefaultAlgorithms]. "none" and HMAC algorithms cannot be listed: a
	// resource server holds no secret to check them with, and a public key
	// must never serve as one (RFC 8725 §3.1).
	Algorithms []string

	// ClockSkew is the leeway when checking exp, nbf and iat. Defaults to
	// DefaultClockSkew.
	ClockSkew time.Duration
	// MaxTokenBytes bounds the length of a token, checked before anything
	// else. Defaults to DefaultMaxTokenBytes.
	MaxTokenBytes int
	// MaxRevocations bounds how many revoked jti values [Validator.Revoke]
	// remembers at once. Defaults to DefaultMaxRevocations.
	MaxRevocations int

	// HTTPClient fetches the metadata and the JWK Set. Defaults to a client
	// with a 10s timeout. A copy of it is used which follows no redirect
	// and reads at most MaxJWKSBytes of a response.
	HTTPClient *http.Client
	// MaxJWKSBytes caps a JWK Set or metadata document. Defaults to 1 MiB.
	MaxJWKSBytes int64
	// JWKSRefreshInterval is how often the JWK Set is fetched again in the
	// background. Defaults to 1h.
	JWKSRefreshInterval time.Duration
	// JWKSRefreshRateLimit is the least time between two fetches caused by
	// a kid that is not in the set. A token whose kid is unknown while a
	// fetch is not allowed is answered as unavailable (retry later), not
	// as invalid. Defaults to 1 minute.
	JWKSRefreshRateLimit time.Duration
	// Logger receives failed background refreshes. Defaults to
	// slog.Default().
	Logger *slog.Logger
	// Now returns the current time. Defaults to time.Now.
	Now func() time.Time

	// InsecureAllowHTTPJWKSURL allows a plain-http issuer or JWKSURL on a
	// host other than loopback. It MUST NOT be set in production: whoever
	// sits on the path could substitute keys and mint tokens.
	InsecureAllowHTTPJWKSURL bool
}

// Validator checks RFC 9068 JWT access tokens locally and answers as the
// introspection client does: [Validator.Introspect] returns the verdict of
// an acceptable token as an [introspect.Response], so the rs guard, the
// verdict cache and the adapters use it unchanged. It is safe for
// concurrent use.
type Validator struct {
	cfg       Config
	algs      []jose.SignatureAlgorithm
	remote    *jwks.Set    // nil when the keys are pinned
	pinned    []jwkset.JWK // Config.JWKS, parsed
	identity  string
	revokedAt revocations
}

// A Validator answers the rs guard and the verdict cache.
var _ interface {
	Introspect(context.Context, string) (*introspect.Response, error)
	CacheIdentity() string
} = (*Validator)(nil)

// New returns a Validator for cfg, or an error naming the field to fix. It
// does no I/O: the JWK Set is fetched on first use and then refreshed in
// the background until [Validator.Close].
func New(cfg Config) (*Validator, error) {
	if cfg.Issuer == "" {
		return nil, errors.New("jwtaccess: Config.Issuer is required: the iss every token must carry")
	}
	if len(cfg.Audiences) == 0 || slices.Contains(cfg.Audiences, "") {
		return nil, errors.New("jwtaccess: Config.Audiences is required, without empty entries: this resource server's identifiers, one of which every token's aud must contain")
	}
	if cfg.ClockSkew < 0 || cfg.MaxTokenBytes < 0 || cfg.MaxRevocations < 0 || cfg.MaxJWKSBytes < 0 ||
		cfg.JWKSRefreshInterval < 0 || cfg.JWKSRefreshRateLimit < 0 {
		return nil, errors.New("jwtaccess: durations and sizes in Config must not be negative (zero means the default)")
	}
	if cfg.JWKSURL != "" && cfg.JWKS != nil {
		return nil, errors.New("jwtaccess: set only one of Config.JWKSURL and Config.JWKS")
	}
	cfg.ClockSkew = cmp.Or(cfg.ClockSkew, DefaultClockSkew)
	cfg.MaxTokenBytes = cmp.Or(cfg.MaxTokenBytes, DefaultMaxTokenBytes)
	cfg.MaxRevocations = cmp.Or(cfg.MaxRevocations, DefaultMaxRevocations)
	cfg.Logger = cmp.Or(cfg.Logger, slog.Default())
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.Audiences = slices.Clone(cfg.Audiences)
	if cfg.Algorithms == nil {
		cfg.Algorithms = DefaultAlgorithms
	}
	if len(cfg.Algorithms) == 0 {
		return nil, errors.New("jwtaccess: Config.Algorithms is empty; leave it nil for the default")
	}
	v := &Validator{revokedAt: revocations{max: cfg.MaxRevocations}}
	for _, a := range cfg.Algorithms {
		if !slices.Contains(DefaultAlgorithms, a) {
			return nil, fmt.Errorf("jwtaccess: Config.Algorithms: %q is not an asymmetric JWS algorithm (use %s)", a, strings.Join(DefaultAlgorithms, ", "))
		}
		v.algs = append(v.algs, jose.SignatureAlgorithm(a))
	}
	insecure := "InsecureAllowHTTPJWKSURL"
	if err := oauthhttp.CheckIssuer(cfg.Issuer, cfg.InsecureAllowHTTPJWKSURL, insecure); err != nil && cfg.JWKS == nil && cfg.JWKSURL == "" {
		return nil, fmt.Errorf("jwtaccess: Config.Issuer: the jwks_uri cannot be discovered from it: %w", err)
	}
	keySource := cfg.JWKSURL
	if cfg.JWKS != nil {
		keys, err := jwks.Parse(cfg.JWKS)
		if err != nil {
			return nil, fmt.Errorf("jwtaccess: Config.JWKS: %w", err)
		}
		if len(keys) == 0 {
			return nil, errors.New("jwtaccess: Config.JWKS holds no usable key")
		}
		v.pinned = keys
		keySource = "pinned:" + string(cfg.JWKS)
	} else {
		client := cfg.HTTPClient
		if client == nil {
			client = &http.Client{Timeout: defaultHTTPTimeout}
		}
		// Reads are bounded by jwks and discovery themselves.
		client = oauthhttp.NoRedirects(client)
		set, err := jwks.New(jwks.Config{
			Issuer:           cfg.Issuer,
			URL:              cfg.JWKSURL,
			HTTPClient:       client,
			MaxBytes:         cfg.MaxJWKSBytes,
			RefreshInterval:  cfg.JWKSRefreshInterval,
			RefreshRateLimit: cfg.JWKSRefreshRateLimit,
			AllowHTTP:        cfg.InsecureAllowHTTPJWKSURL,
			InsecureOption:   insecure,
			Logger:           cfg.Logger,
			Now:              cfg.Now,
		})
		if err != nil {
			return nil, fmt.Errorf("jwtaccess: Config.JWKSURL: %w", err)
		}
		v.remote = set
	}
	v.cfg = cfg
	v.identity = identity(cfg, keySource)
	return v, nil
}

// identity names what a verdict of this validator depends on: the issuer,
// the audiences, the algorithms and where the keys come from.
func identity(cfg Config, keySource string) string {
	auds := slices.Clone(cfg.Audiences)
	slices.Sort(auds)
	h := sha256.New()
	for _, part := range [][]string{{cfg.Issuer}, auds, cfg.Algorithms, {keySource}} {
		for _, s := range part {
			h.Write([]byte(s))
			h.Write([]byte{0})
		}
		h.Write([]byte{1})
	}
	return "jwtaccess:" + hex.EncodeToString(h.Sum(nil)[:16])
}

// CacheIdentity identifies the verdicts of this validator for a verdict
// cache: two validators share verdicts only when they have the same issuer,
// audiences, algorithms and key source.
func (v *Validator) CacheIdentity() string { return v.identity }

// Issuer returns Config.Issuer.
func (v *Validator) Issuer() string { return v.cfg.Issuer }

// Close stops the background refresh of the JWK Set. Introspect keeps
// working afterwards, fetching keys only for an unknown kid. It is
// idempotent.
func (v *Validator) Close() error {
	if v.remote != nil {
		return v.remote.Close()
	}
	return nil
}

// Revoke refuses the token whose jti is jti until exp, its expiry (plus
// ClockSkew), when it is next validated. It is the hook for revocation
// events pushed by the authorization server: a JWT checked locally cannot
// otherwise see a revocation before it expires. A verdict already cached
// above the validator is not reached by it: an introspect.Cache serves it
// until its MaxTTL (2 minutes by default) unless told to forget the token.
// It fails with [ErrRevocationsFull] when MaxRevocations live revocations
// are remembered already.
func (v *Validator) Revoke(jti string, exp time.Time) error {
	if jti == "" {
		return errors.New("jwtaccess: Revoke: empty jti")
	}
	return v.revokedAt.add(jti, exp.Add(v.cfg.ClockSkew), v.cfg.Now())
}
