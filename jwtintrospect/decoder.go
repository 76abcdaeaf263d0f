package jwtintrospect

import (
	"cmp"
	"crypto/ecdsa"
	"crypto/rsa"
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
)

// MediaType is the media type of an RFC 9701 response (RFC 9701 §4), sent as
// the Accept header and expected as the Content-Type.
const MediaType = "application/token-introspection+jwt"

// Defaults for the zero values of [Config].
const (
	// DefaultClockSkew is the leeway when comparing "iat", "exp" and "nbf"
	// with the local clock.
	DefaultClockSkew = 30 * time.Second
	// DefaultMaxAge is how old a response's "iat" may be. An introspection
	// response is minted for the request that asked for it, so an old one is
	// a replay or a badly wrong clock.
	DefaultMaxAge = 5 * time.Minute
	// DefaultMaxBytes caps both a response handed to Decode and a JWK Set.
	DefaultMaxBytes = 1 << 20
	// DefaultJWKSRefreshInterval is how often the JWK Set is refreshed in the
	// background.
	DefaultJWKSRefreshInterval = time.Hour
	// DefaultJWKSRefreshRateLimit is the least time between two refreshes
	// caused by an unknown "kid".
	DefaultJWKSRefreshRateLimit = 5 * time.Minute
)

// Config configures a [Decoder]. Issuer and ClientID are required, and so is
// a source of keys: the authorization server's JWK Set (JWKSURL, JWKS, or
// discovered from Issuer), or an HMACSecret when only HS* algorithms are
// allowed.
type Config struct {
	// Issuer is the authorization server's issuer identifier; the "iss" claim
	// must equal it exactly. When neither JWKSURL nor JWKS is set, the
	// jwks_uri is discovered from it (RFC 8414, then OpenID Connect
	// Discovery) on first use.
	Issuer string
	// ClientID is the resource server's client id at the authorization
	// server; the "aud" claim must be or contain it (RFC 9701 §5).
	ClientID string

	// JWKSURL is the authorization server's jwks_uri. It must be https,
	// or http to a loopback address.
	JWKSURL string
	// JWKS, if set, is a pinned JWK Set document holding the authorization
	// server's public signing keys; nothing is then fetched. Set at most one
	// of JWKSURL and JWKS.
	JWKS json.RawMessage
	// JWKSRefreshInterval is how often the JWK Set at JWKSURL is refreshed in
	// the background. Defaults to DefaultJWKSRefreshInterval (1h).
	JWKSRefreshInterval time.Duration
	// JWKSRefreshRateLimit is the least time between two refreshes triggered
	// by a response whose "kid" is unknown; such a response fails at once when
	// a refresh is not allowed yet. Defaults to DefaultJWKSRefreshRateLimit
	// (5 minutes).
	JWKSRefreshRateLimit time.Duration
	// MaxJWKSBytes caps a JWK Set or discovery document. Defaults to
	// DefaultMaxBytes (1 MiB).
	MaxJWKSBytes int64
	// HTTPClient fetches discovery documents and JWK Sets. Defaults to a
	// client with a 10s timeout. A copy of it is used, whose Transport is
	// wrapped to enforce MaxJWKSBytes and which follows a redirect only to
	// a URL JWKSURL could be (https, or http as InsecureAllowHTTPJWKSURL
	// allows).
	HTTPClient *http.Client

	// SigningAlgorithms is the allowlist of JWS "alg" values. Defaults to
	// RS256, PS256, ES256 and EdDSA. Also accepted: RS384, RS512, PS384,
	// PS512, ES384, ES512 and, only together with HMACSecret, HS256, HS384
	// and HS512. "none" is never accepted.
	SigningAlgorithms []string
	// HMACSecret is the secret shared with the authorization server (in
	// OAuth terms, usually the client secret) for HS* signatures. It must be
	// at least as long as the hash: 32 bytes for HS256, 48 for HS384, 64 for
	// HS512. The zero value means HMAC signatures are refused.
	HMACSecret []byte

	// DecryptionKeys are the resource server's private keys for encrypted
	// responses (RSA of 2048 bits or more, or EC P-256/P-384/P-521). With
	// several keys, the JWE's "kid" picks one, which allows rotation: publish
	// the new key with JWKSHandler, keep the old one until the authorization
	// server has switched. The zero value means encrypted responses are
	// refused.
	DecryptionKeys []*Key
	// KeyAlgorithms is the allowlist of JWE "alg" values. Defaults to those
	// among RSA-OAEP, RSA-OAEP-256, ECDH-ES, ECDH-ES+A128KW and ECDH-ES+A256KW
	// that fit the DecryptionKeys. ECDH-ES+A192KW may be listed too.
	KeyAlgorithms []string
	// ContentEncryption is the allowlist of JWE "enc" values. Defaults to
	// A128CBC-HS256, A256CBC-HS512, A128GCM and A256GCM. A192CBC-HS384 and
	// A192GCM may be listed too.
	ContentEncryption []string
	// RequireEncryption refuses a response that is signed but not encrypted.
	// It requires DecryptionKeys.
	RequireEncryption bool

	// ClockSkew is the leeway when checking "iat", "exp" and "nbf". Defaults
	// to DefaultClockSkew (30s).
	ClockSkew time.Duration
	// MaxAge is how old, by its "iat", a response may be. Defaults to
	// DefaultMaxAge (5 minutes). It cannot be switched off: set a larger
	// value if the authorization server's clock drifts.
	MaxAge time.Duration
	// MaxResponseBytes caps the size of a response handed to Decode, whatever
	// cap the caller applies. Defaults to DefaultMaxBytes (1 MiB).
	MaxResponseBytes int64
	// Now returns the current time. Defaults to time.Now.
	Now func() time.Time
	// Logger receives failed background refreshes of the JWK Set. Defaults to
	// slog.Default().
	Logger *slog.Logger

	// InsecureAllowHTTPJWKSURL allows a plain-http JWKSURL (or discovered
	// jwks_uri) on a host other than loopback. It MUST NOT be set in
	// production: whoever sits on the path could then substitute keys and
	// forge verdicts.
	InsecureAllowHTTPJWKSURL bool
}

// Decoder verifies RFC 9701 responses and returns the RFC 7662 response they
// carry. It satisfies [introspect.Decoder], and is safe for concurrent use.
type Decoder struct {
	cfg      Config
	sigAlgs  []jose.SignatureAlgorithm
	keyAlgs  []jose.KeyAlgorithm
	encAlgs  []jose.ContentEncryption
	hmac     bool
	jwksJSON []byte // the public JWK Set of DecryptionKeys, for JWKSHandler

	// The authorization server's signing keys: pinned (Config.JWKS), or
	// remote (JWKSURL or discovered), or neither when only HMAC is allowed.
	pinned []jwkset.JWK
	remote *jwks.Set
}

var (
	defaultSigningAlgorithms = []string{"RS256", "PS256", "ES256", "EdDSA"}
	supportedSigning         = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "HS256", "HS384", "HS512"}
	rsaKeyAlgorithms         = []string{"RSA-OAEP", "RSA-OAEP-256"}
	ecKeyAlgorithms          = []string{"ECDH-ES", "ECDH-ES+A128KW", "ECDH-ES+A192KW", "ECDH-ES+A256KW"}
	defaultKeyAlgorithms     = []string{"RSA-OAEP", "RSA-OAEP-256", "ECDH-ES", "ECDH-ES+A128KW", "ECDH-ES+A256KW"}
	defaultContentEncryption = []string{"A128CBC-HS256", "A256CBC-HS512", "A128GCM", "A256GCM"}
	supportedContent         = []string{"A128CBC-HS256", "A192CBC-HS384", "A256CBC-HS512", "A128GCM", "A192GCM", "A256GCM"}
	hmacMinBytes             = map[string]int{"HS256": 32, "HS384": 48, "HS512": 64}
)

// New returns a Decoder for cfg, or an error that names the field to fix. It
// does no network I/O: a remote JWK Set is fetched on the first Decode, and
// refreshed in the background from then on until [Decoder.Close].
func New(cfg Config) (*Decoder, error) {
	if cfg.Issuer == "" {
		return nil, errors.New("jwtintrospect: Config.Issuer is required: the \"iss\" every response must carry")
	}
	if cfg.ClientID == "" {
		return nil, errors.New("jwtintrospect: Config.ClientID is required: the resource server's client id, expected in \"aud\"")
	}
	if cfg.JWKSRefreshInterval < 0 || cfg.JWKSRefreshRateLimit < 0 || cfg.ClockSkew < 0 || cfg.MaxAge < 0 ||
		cfg.MaxJWKSBytes < 0 || cfg.MaxResponseBytes < 0 {
		return nil, errors.New("jwtintrospect: durations and byte limits in Config must not be negative (zero means the default)")
	}
	cfg.JWKSRefreshInterval = cmp.Or(cfg.JWKSRefreshInterval, DefaultJWKSRefreshInterval)
	cfg.JWKSRefreshRateLimit = cmp.Or(cfg.JWKSRefreshRateLimit, DefaultJWKSRefreshRateLimit)
	cfg.MaxJWKSBytes = cmp.Or(cfg.MaxJWKSBytes, DefaultMaxBytes)
	cfg.ClockSkew = cmp.Or(cfg.ClockSkew, DefaultClockSkew)
	cfg.MaxAge = cmp.Or(cfg.MaxAge, DefaultMaxAge)
	cfg.MaxResponseBytes = cmp.Or(cfg.MaxResponseBytes, DefaultMaxBytes)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.Logger = cmp.Or(cfg.Logger, slog.Default())
	d := &Decoder{}

	// Signatures.
	if cfg.SigningAlgorithms == nil {
		cfg.SigningAlgorithms = defaultSigningAlgorithms
	}
	if len(cfg.SigningAlgorithms) == 0 {
		return nil, errors.New("jwtintrospect: Config.SigningAlgorithms is empty; leave it nil for the default (RS256, PS256, ES256, EdDSA)")
	}
	asymmetric := false
	for _, alg := range cfg.SigningAlgorithms {
		switch {
		case strings.EqualFold(alg, "none"):
			return nil, errors.New("jwtintrospect: Config.SigningAlgorithms lists \"none\": unsigned responses are never accepted")
		case !slices.Contains(supportedSigning, alg):
			return nil, fmt.Errorf("jwtintrospect: Config.SigningAlgorithms: %q is not supported (use %s)", alg, strings.Join(supportedSigning, ", "))
		case strings.HasPrefix(alg, "HS"):
			d.hmac = true
			if len(cfg.HMACSecret) == 0 {
				return nil, fmt.Errorf("jwtintrospect: Config.SigningAlgorithms lists %s but Config.HMACSecret is empty; set the secret shared with the authorization server or remove %s", alg, alg)
			}
			if n := hmacMinBytes[alg]; len(cfg.HMACSecret) < n {
				return nil, fmt.Errorf("jwtintrospect: Config.HMACSecret is %d bytes; %s needs at least %d (RFC 7518 §3.2)", len(cfg.HMACSecret), alg, n)
			}
		default:
			asymmetric = true
		}
		d.sigAlgs = append(d.sigAlgs, jose.SignatureAlgorithm(alg))
	}
	if len(cfg.HMACSecret) > 0 && !d.hmac {
		return nil, errors.New("jwtintrospect: Config.HMACSecret is set but Config.SigningAlgorithms lists no HS256, HS384 or HS512; list the HMAC algorithm the authorization server uses")
	}
	if cfg.JWKSURL != "" && cfg.JWKS != nil {
		return nil, errors.New("jwtintrospect: set only one of Config.JWKSURL and Config.JWKS")
	}
	if !asymmetric && (cfg.JWKSURL != "" || cfg.JWKS != nil) {
		return nil, errors.New("jwtintrospect: Config.JWKSURL or Config.JWKS is set but Config.SigningAlgorithms allows only HMAC; add the asymmetric algorithm the keys are for")
	}
	if cfg.JWKSURL != "" {
		if err := checkURL(cfg.JWKSURL, cfg.InsecureAllowHTTPJWKSURL); err != nil {
			return nil, fmt.Errorf("jwtintrospect: Config.JWKSURL: %w", err)
		}
	}
	if cfg.JWKS != nil {
		keys, err := jwks.Parse(cfg.JWKS)
		if err != nil {
			return nil, fmt.Errorf("jwtintrospect: Config.JWKS: %w", err)
		}
		if len(keys) == 0 {
			return nil, errors.New("jwtintrospect: Config.JWKS holds no usable key")
		}
		d.pinned = keys
	}
	remote := asymmetric && cfg.JWKS == nil
	if remote && cfg.JWKSURL == "" {
		if err := checkURL(cfg.Issuer, cfg.InsecureAllowHTTPJWKSURL); err != nil {
			return nil, fmt.Errorf("jwtintrospect: no Config.JWKSURL or Config.JWKS, and the jwks_uri cannot be discovered from Config.Issuer: %w", err)
		}
	}

	// Encryption.
	if err := d.setUpDecryption(&cfg); err != nil {
		return nil, err
	}

	d.cfg = cfg
	if remote {
		set, err := jwks.New(jwks.Config{
			Issuer: cfg.Issuer,
			URL:    cfg.JWKSURL,
			// Redirects are followed only where JWKSURL itself could point.
			HTTPClient:       oauthhttp.CheckRedirects(boundedClient(cfg.HTTPClient, cfg.MaxJWKSBytes), cfg.InsecureAllowHTTPJWKSURL, "InsecureAllowHTTPJWKSURL"),
			MaxBytes:         cfg.MaxJWKSBytes,
			RefreshInterval:  cfg.JWKSRefreshInterval,
			RefreshRateLimit: cfg.JWKSRefreshRateLimit,
			AllowHTTP:        cfg.InsecureAllowHTTPJWKSURL,
			InsecureOption:   "InsecureAllowHTTPJWKSURL",
			Logger:           cfg.Logger,
			Now:              cfg.Now,
		})
		if err != nil {
			return nil, fmt.Errorf("jwtintrospect: %w", err)
		}
		d.remote = set
	}
	return d, nil
}

func (d *Decoder) setUpDecryption(cfg *Config) error {
	if len(cfg.DecryptionKeys) == 0 {
		switch {
		case cfg.RequireEncryption:
			return errors.New("jwtintrospect: Config.RequireEncryption is set but Config.DecryptionKeys is empty; load the resource server's private key with LoadKey")
		case cfg.KeyAlgorithms != nil || cfg.ContentEncryption != nil:
			return errors.New("jwtintrospect: Config.KeyAlgorithms or Config.ContentEncryption is set but Config.DecryptionKeys is empty; load the resource server's private key with LoadKey")
		}
		return nil
	}
	hasRSA, hasEC := false, false
	kids := map[string]bool{}
	for i, k := range cfg.DecryptionKeys {
		if k == nil {
			return fmt.Errorf("jwtintrospect: Config.DecryptionKeys[%d] is nil", i)
		}
		if err := k.check(); err != nil {
			return fmt.Errorf("jwtintrospect: Config.DecryptionKeys[%d]: %w", i, err)
		}
		if kids[k.KeyID] {
			return fmt.Errorf("jwtintrospect: Config.DecryptionKeys[%d]: key id %q appears twice; each key needs its own kid", i, k.KeyID)
		}
		kids[k.KeyID] = true
		switch k.PrivateKey.(type) {
		case *rsa.PrivateKey:
			hasRSA = true
		case *ecdsa.PrivateKey:
			hasEC = true
		}
	}
	if cfg.KeyAlgorithms == nil {
		for _, alg := range defaultKeyAlgorithms {
			if (hasRSA && slices.Contains(rsaKeyAlgorithms, alg)) || (hasEC && slices.Contains(ecKeyAlgorithms, alg)) {
				cfg.KeyAlgorithms = append(cfg.KeyAlgorithms, alg)
			}
		}
	}
	if len(cfg.KeyAlgorithms) == 0 {
		return errors.New("jwtintrospect: Config.KeyAlgorithms is empty; leave it nil for the algorithms that fit the keys")
	}
	for _, alg := range cfg.KeyAlgorithms {
		switch {
		case slices.Contains(rsaKeyAlgorithms, alg):
			if !hasRSA {
				return fmt.Errorf("jwtintrospect: Config.KeyAlgorithms lists %s but Config.DecryptionKeys holds no RSA key", alg)
			}
		case slices.Contains(ecKeyAlgorithms, alg):
			if !hasEC {
				return fmt.Errorf("jwtintrospect: Config.KeyAlgorithms lists %s but Config.DecryptionKeys holds no EC key", alg)
			}
		case alg == "RSA1_5":
			return errors.New("jwtintrospect: Config.KeyAlgorithms: RSA1_5 is not supported (padding oracle, RFC 8725 §3.2); use RSA-OAEP-256")
		default:
			return fmt.Errorf("jwtintrospect: Config.KeyAlgorithms: %q is not supported (use %s or %s)", alg, strings.Join(rsaKeyAlgorithms, ", "), strings.Join(ecKeyAlgorithms, ", "))
		}
		d.keyAlgs = append(d.keyAlgs, jose.KeyAlgorithm(alg))
	}
	for i, k := range cfg.DecryptionKeys {
		fits := false
		for _, alg := range cfg.KeyAlgorithms {
			fits = fits || k.fits(alg)
		}
		if !fits {
			return fmt.Errorf("jwtintrospect: Config.DecryptionKeys[%d] (kid %q) fits none of Config.KeyAlgorithms %v", i, k.KeyID, cfg.KeyAlgorithms)
		}
	}
	if cfg.ContentEncryption == nil {
		cfg.ContentEncryption = defaultContentEncryption
	}
	if len(cfg.ContentEncryption) == 0 {
		return errors.New("jwtintrospect: Config.ContentEncryption is empty; leave it nil for the default")
	}
	for _, enc := range cfg.ContentEncryption {
		if !slices.Contains(supportedContent, enc) {
			return fmt.Errorf("jwtintrospect: Config.ContentEncryption: %q is not supported (use %s)", enc, strings.Join(supportedContent, ", "))
		}
		d.encAlgs = append(d.encAlgs, jose.ContentEncryption(enc))
	}
	jwks, err := publicJWKS(cfg.DecryptionKeys, cfg.KeyAlgorithms)
	if err != nil {
		return fmt.Errorf("jwtintrospect: Config.DecryptionKeys: %w", err)
	}
	d.jwksJSON = jwks
	return nil
}

// Accept returns [MediaType], the Accept header that asks the authorization
// server for an RFC 9701 response.
func (d *Decoder) Accept() string { return MediaType }

// Close stops the background refresh of the JWK Set. Decode keeps working
// afterwards, refreshing only on an unknown "kid". Close is idempotent.
func (d *Decoder) Close() error {
	if d.remote != nil {
		return d.remote.Close()
	}
	return nil
}

func checkURL(raw string, allowHTTP bool) error {
	return oauthhttp.CheckURL(raw, allowHTTP, "InsecureAllowHTTPJWKSURL")
}
