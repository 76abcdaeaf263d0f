package rs

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/tokengate/tokengate/dpop"
	"github.com/tokengate/tokengate/internal/lograte"
	"github.com/tokengate/tokengate/introspect"
	"github.com/tokengate/tokengate/scopes"
)

// Introspector validates an access token. *introspect.Client satisfies it;
// so can a cache in front of one, or a local JWT validator. It returns the
// response for an active token, or an error matching one of the introspect
// error categories (ErrInactive, ErrUnavailable, ErrASRejectedClient,
// ErrMalformedResponse). Any other error rejects the token as invalid_token,
// except context errors, which are answered as unavailable.
type Introspector interface {
	Introspect(ctx context.Context, token string) (*introspect.Response, error)
}

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
	// a token. It must be an absolute http(s) URL; see [MetadataURL].
	ResourceMetadataURL string
	// RetryAfter is sent with 503 answers when the authorization server did
	// not say how long to wait. Defaults to [DefaultRetryAfter].
	RetryAfter time.Duration

	// AllowFormToken also accepts the token as the access_token parameter of
	// a form-encoded POST body (RFC 6750 §2.2). The body is read up to
	// MaxFormBytes and put back for the handler.
	AllowFormToken bool
	// MaxFormBytes bounds the form body read for AllowFormToken. Defaults to
	// [DefaultMaxFormBytes].
	MaxFormBytes int64
	// AllowQueryToken also accepts the token as the access_token URI query
	// parameter (RFC 6750 §2.3). RFC 6750 says this SHOULD NOT be used: URLs
	// are logged and cached. Enable it only when neither the header nor the
	// body can carry the token.
	AllowQueryToken bool
	// Extractors are tried after the built-in ones (the Authorization header,
	// then the form body and the query if allowed), for tokens carried
	// elsewhere, such as a cookie. A request where two extractors find a
	// token is invalid_request.
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

	// Logger receives structured logs; it never sees a token, only the first
	// 16 hex digits of its SHA-256. Failures that repeat on every request
	// (the authorization server unavailable, or its answers unusable) are
	// logged at most once per 10 seconds each, with the number held back.
	// Defaults to slog.Default().
	Logger *slog.Logger
}

// Guard decides whether a request may reach a protected handler: it
// extracts the access token, validates it through the Introspector, applies
// the policy of its [Config], checks scope requirements, and turns every
// failure into an RFC 6750 §3 answer ([Guard.Reject]). It is safe for
// concurrent use.
//
// A token is sender-constrained when its introspection response has a
// token_type of "DPoP" or a "cnf" member (RFC 7800: jkt for DPoP,
// x5t#S256 for mTLS). Without [Config.DPoP] and [Config.MTLS], every
// sender-constrained token is rejected as invalid_token: accepting it as a
// plain bearer token would defeat the binding. With DPoP, under RFC 9449 §7:
//
//   - a token with cnf.jkt (whatever its token_type) is accepted only with
//     the DPoP scheme and a valid proof signed by that key; a bad proof is
//     invalid_dpop_proof (401);
//   - such a token presented with the Bearer scheme is invalid_token
//     (RFC 9449 §7.2: the binding must not be downgraded);
//   - a token_type of "DPoP" without cnf.jkt is invalid_token: there is no
//     key to check the proof against;
//   - a token that is not DPoP-bound presented with the DPoP scheme is
//     invalid_token: the client believes in a binding the authorization
//     server did not make, and accepting it would hide that mistake;
//   - certificate-bound tokens (cnf x5t#S256, RFC 8705) are rejected as
//     invalid_token unless MTLS is set too.
//
// With MTLS, under RFC 8705 §3:
//
//   - a token with cnf["x5t#S256"] is accepted, with the Bearer scheme,
//     only if the request's client certificate ([Config.ClientCertificate])
//     has that thumbprint: the base64url SHA-256 of its DER bytes, without
//     padding, compared exactly and in constant time (a padded or re-cased
//     value never matches); no certificate, another certificate or an
//     error from ClientCertificate is invalid_token;
//   - a token whose cnf has both jkt and x5t#S256 must satisfy both: it is
//     accepted only with the DPoP scheme, a valid proof by the jkt key and
//     the certificate with the x5t#S256 thumbprint (without DPoP it is
//     rejected). Neither binding may be dropped, since either one alone is
//     what the authorization server promised the token's holder would be
//     asked to prove;
//   - a token with cnf.jkt is rejected as invalid_token unless DPoP is set.
//
// Whatever is set, a cnf member other than jkt and x5t#S256, or one of
// those that is not a non-empty string, is invalid_token: a binding that
// is not understood cannot be checked, so it fails closed.
type Guard struct {
	introspector     Introspector
	audiences        []string
	skipAudience     bool
	issuers          []string
	tokenTypes       []string
	clientIDs        []string
	skew             time.Duration
	now              func() time.Time
	strategy         scopes.Strategy
	realm            string
	resourceMetadata string
	retryAfter       time.Duration
	allowForm        bool
	allowQuery       bool
	extractors       []Extractor
	anonymous        bool
	dpop             *dpop.Verifier
	requestURL       func(*http.Request) string
	mtls             bool
	clientCert       func(*http.Request) (*x509.Certificate, error)
	dpopAlgs         string // the algs attribute of the DPoP challenge
	log              *slog.Logger
	scopeSets        scopeMemo
	// unavailableLog and misconfiguredLog rate-limit the lines logged when
	// every request fails alike: the authorization server is down, or we
	// cannot use its answers.
	unavailableLog   lograte.Limiter
	misconfiguredLog lograte.Limiter
}

// New returns a Guard for cfg, or an error naming the first invalid field.
func New(cfg Config) (*Guard, error) {
	if cfg.Introspector == nil {
		return nil, errors.New("rs: Config.Introspector is required")
	}
	if len(cfg.Audiences) == 0 && !cfg.SkipAudienceCheck {
		return nil, errors.New("rs: Config.Audiences is empty: list this resource server's identifiers, or set SkipAudienceCheck")
	}
	for _, a := range cfg.Audiences {
		if a == "" {
			return nil, errors.New("rs: Config.Audiences contains an empty string")
		}
	}
	for _, s := range cfg.Issuers {
		if s == "" {
			return nil, errors.New("rs: Config.Issuers contains an empty string")
		}
	}
	for _, s := range cfg.ClientIDs {
		if s == "" {
			return nil, errors.New("rs: Config.ClientIDs contains an empty string")
		}
	}
	if len(cfg.TokenTypes) == 0 {
		cfg.TokenTypes = []string{"Bearer"}
	}
	for _, t := range cfg.TokenTypes {
		if t == "" {
			return nil, errors.New("rs: Config.TokenTypes contains an empty string")
		}
		if strings.EqualFold(t, "DPoP") {
			return nil, errors.New("rs: Config.TokenTypes: DPoP-bound tokens are accepted by setting Config.DPoP, not by listing DPoP")
		}
	}
	if cfg.ClockSkew < 0 {
		return nil, fmt.Errorf("rs: Config.ClockSkew is negative (%v)", cfg.ClockSkew)
	}
	if cfg.ClockSkew == 0 {
		cfg.ClockSkew = DefaultClockSkew
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if !cfg.Strategy.Valid() {
		return nil, fmt.Errorf("rs: Config.Strategy %v is not defined", cfg.Strategy)
	}
	if !isQuotable(cfg.Realm) {
		return nil, errors.New("rs: Config.Realm must be printable ASCII")
	}
	cfg.Realm = cmp.Or(cfg.Realm, DefaultRealm)
	if cfg.ResourceMetadataURL != "" {
		if err := checkHTTPURL(cfg.ResourceMetadataURL); err != nil {
			return nil, fmt.Errorf("rs: Config.ResourceMetadataURL: %w", err)
		}
	}
	if cfg.RetryAfter < 0 {
		return nil, fmt.Errorf("rs: Config.RetryAfter is negative (%v)", cfg.RetryAfter)
	}
	if cfg.RetryAfter == 0 {
		cfg.RetryAfter = DefaultRetryAfter
	}
	if cfg.MaxFormBytes < 0 {
		return nil, fmt.Errorf("rs: Config.MaxFormBytes is negative (%d)", cfg.MaxFormBytes)
	}
	for i, ex := range cfg.Extractors {
		if ex == nil {
			return nil, fmt.Errorf("rs: Config.Extractors[%d] is nil", i)
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.RequestURL == nil {
		cfg.RequestURL = defaultRequestURL
	}
	if cfg.ClientCertificate != nil && !cfg.MTLS {
		return nil, errors.New("rs: Config.ClientCertificate is set but Config.MTLS is not: certificate-bound tokens would still be rejected")
	}
	if cfg.ClientCertificate == nil {
		cfg.ClientCertificate = defaultClientCertificate
	}
	extractors := []Extractor{FromHeader}
	dpopAlgs := ""
	if cfg.DPoP != nil {
		extractors[0] = fromDPoPHeader
		dpopAlgs = strings.Join(cfg.DPoP.Algorithms(), " ")
	}
	if cfg.AllowFormToken {
		extractors = append(extractors, FromForm(cfg.MaxFormBytes))
	}
	if cfg.AllowQueryToken {
		extractors = append(extractors, FromQuery)
	}
	extractors = append(extractors, cfg.Extractors...)
	return &Guard{
		introspector:     cfg.Introspector,
		audiences:        slices.Clone(cfg.Audiences),
		skipAudience:     cfg.SkipAudienceCheck,
		issuers:          slices.Clone(cfg.Issuers),
		tokenTypes:       slices.Clone(cfg.TokenTypes),
		clientIDs:        slices.Clone(cfg.ClientIDs),
		skew:             cfg.ClockSkew,
		now:              cfg.Now,
		strategy:         cfg.Strategy,
		realm:            cfg.Realm,
		resourceMetadata: cfg.ResourceMetadataURL,
		retryAfter:       cfg.RetryAfter,
		allowForm:        cfg.AllowFormToken,
		allowQuery:       cfg.AllowQueryToken,
		extractors:       extractors,
		anonymous:        cfg.AllowAnonymous,
		dpop:             cfg.DPoP,
		requestURL:       cfg.RequestURL,
		mtls:             cfg.MTLS,
		clientCert:       cfg.ClientCertificate,
		dpopAlgs:         dpopAlgs,
		log:              cfg.Logger,
	}, nil
}

func checkHTTPURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) URL", s)
	}
	if !isQuotable(s) || strings.ContainsAny(s, " \t\"\\") {
		return fmt.Errorf("%q contains characters that cannot appear in a challenge", s)
	}
	return nil
}

// Check is what adapters call for each request: it authenticates the
// request (or reuses the principal this guard already put in its context,
// so that nested middleware does not validate twice) and checks req, which
// may be the zero Requirement. It returns the principal, or nil and no error
// for an anonymous request let through by [Config.AllowAnonymous] on a route
// without requirement. Every error is an [*Error].
func (g *Guard) Check(r *http.Request, req scopes.Requirement) (*Principal, error) {
	p, ok := PrincipalFrom(r.Context())
	if !ok || p.guard != g {
		var err error
		if p, err = g.Authenticate(r); err != nil {
			return nil, err
		}
	}
	if p == nil {
		if req.IsZero() {
			return nil, nil
		}
		return nil, newError(ErrNoToken, "", nil)
	}
	if err := g.Authorize(p, req); err != nil {
		return nil, err
	}
	return p, nil
}

// Authenticate extracts the request's access token, validates it and
// applies the guard's policy. It returns nil and no error for a request
// without token when [Config.AllowAnonymous] is set. Every error is an
// [*Error].
func (g *Guard) Authenticate(r *http.Request) (*Principal, error) {
	token, err := g.extract(r)
	if err != nil {
		return nil, err
	}
	if token == "" {
		if g.anonymous {
			return nil, nil
		}
		return nil, newError(ErrNoToken, "", nil)
	}
	if g.dpop != nil && usesDPoPScheme(r) {
		p, err := g.authenticateDPoP(r, token)
		if e, ok := err.(*Error); ok {
			e.viaDPoP = true
		}
		return p, err
	}
	ctx := r.Context()
	resp, err := g.introspect(ctx, token)
	if err != nil {
		return nil, err
	}
	p, cnf, err := g.verdict(ctx, token, resp)
	if err != nil {
		return nil, err
	}
	if cnf.jkt != "" {
		return nil, newError(ErrInvalidToken, "the DPoP-bound access token must be sent with the DPoP scheme", nil)
	}
	if cnf.x5t != "" {
		if err := g.checkCertificate(r, token, cnf.x5t); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// authenticateDPoP is Authenticate for a token sent with the DPoP scheme
// (RFC 9449 §7.1): the token must be DPoP-bound and the request must carry
// a proof by the key it is bound to.
func (g *Guard) authenticateDPoP(r *http.Request, token string) (*Principal, error) {
	ctx := r.Context()
	proof, err := dpop.FromHeader(r.Header)
	if err != nil { // before introspection: no proof, no need to ask
		return nil, g.proofError(ctx, token, err)
	}
	resp, err := g.introspect(ctx, token)
	if err != nil {
		return nil, err
	}
	p, cnf, err := g.verdict(ctx, token, resp)
	if err != nil {
		return nil, err
	}
	if cnf.jkt == "" {
		return nil, newError(ErrInvalidToken, "the access token is not DPoP-bound", nil)
	}
	if cnf.x5t != "" { // bound to both: the certificate first, so that a proof is not spent on a request that fails anyway
		if err := g.checkCertificate(r, token, cnf.x5t); err != nil {
			return nil, err
		}
	}
	req := dpop.ProofRequest{Method: r.Method, URL: g.requestURL(r), AccessToken: token}
	if err := g.dpop.Verify(ctx, proof, req, cnf.jkt); err != nil {
		return nil, g.proofError(ctx, token, err)
	}
	p.DPoPThumbprint = cnf.jkt
	return p, nil
}

// introspect asks the introspector and maps its failures.
func (g *Guard) introspect(ctx context.Context, token string) (*introspect.Response, error) {
	resp, err := g.introspector.Introspect(ctx, token)
	if err != nil {
		return nil, g.introspectionError(ctx, token, err)
	}
	if resp == nil {
		err := fmt.Errorf("rs: introspector returned no response and no error: %w", introspect.ErrMalformedResponse)
		return nil, g.introspectionError(ctx, token, err)
	}
	return resp, nil
}

// proofError turns a package dpop error into invalid_dpop_proof, with a
// fixed description per check, or into unavailable when the replay cache
// is full.
func (g *Guard) proofError(ctx context.Context, token string, err error) error {
	if errors.Is(err, dpop.ErrReplayCacheFull) {
		if ok, suppressed := g.unavailableLog.Allow(g.now()); ok {
			g.log.WarnContext(ctx, "rs: DPoP replay cache full: raise dpop.Config.MaxReplayEntries or shorten IATWindow",
				"token_sha256", tokenHash(token), "suppressed_since_last", suppressed)
		}
		return newError(ErrUnavailable, descUnavailable, err)
	}
	desc := "the DPoP proof is invalid"
	switch {
	case errors.Is(err, dpop.ErrMissingProof):
		desc = "exactly one DPoP proof header is required"
	case errors.Is(err, dpop.ErrRequestMismatch):
		desc = "the DPoP proof is for another request"
	case errors.Is(err, dpop.ErrProofTime):
		desc = "the DPoP proof was not issued within the accepted time window"
	case errors.Is(err, dpop.ErrTokenHash):
		desc = "the DPoP proof is for another access token"
	case errors.Is(err, dpop.ErrKeyMismatch):
		desc = "the DPoP proof is not signed by the key the access token is bound to"
	case errors.Is(err, dpop.ErrReplay):
		desc = "the DPoP proof was already used"
	}
	g.log.InfoContext(ctx, "rs: DPoP proof rejected", "token_sha256", tokenHash(token), "err", err)
	return &Error{Kind: ErrInvalidDPoPProof, Description: desc, Err: err, viaDPoP: true}
}

// defaultRequestURL is [Config.RequestURL] when unset.
func defaultRequestURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + r.URL.EscapedPath()
}

// Authorize checks that p satisfies req under the guard's strategy. A nil
// p (anonymous) fails with [ErrNoToken] unless req is the zero Requirement.
func (g *Guard) Authorize(p *Principal, req scopes.Requirement) error {
	if req.IsZero() {
		return nil
	}
	if p == nil {
		return newError(ErrNoToken, "", nil)
	}
	if req.SatisfiedBy(p.Scopes, g.strategy) {
		return nil
	}
	return &Error{
		Kind:        ErrInsufficientScope,
		Description: "the access token lacks the required scope: " + req.Expr(),
		Required:    req,
		viaDPoP:     p.DPoPThumbprint != "",
	}
}

func (g *Guard) introspectionError(ctx context.Context, token string, err error) error {
	switch {
	case errors.Is(err, introspect.ErrInactive):
		return newError(ErrInvalidToken, "the access token is not active", err)
	case errors.Is(err, introspect.ErrUnavailable):
		if ok, suppressed := g.unavailableLog.Allow(g.now()); ok {
			g.log.WarnContext(ctx, "rs: authorization server unavailable", "token_sha256", tokenHash(token), "err", err,
				"suppressed_since_last", suppressed)
		}
		return newError(ErrUnavailable, descUnavailable, err)
	case errors.Is(err, introspect.ErrASRejectedClient), errors.Is(err, introspect.ErrMalformedResponse):
		if ok, suppressed := g.misconfiguredLog.Allow(g.now()); ok {
			g.log.ErrorContext(ctx, "rs: cannot validate tokens: check the introspection configuration", "token_sha256", tokenHash(token), "err", err,
				"suppressed_since_last", suppressed)
		}
		return newError(ErrUnavailable, descUnavailable, err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return newError(ErrUnavailable, descUnavailable, err)
	default:
		g.log.InfoContext(ctx, "rs: token rejected by the introspector", "token_sha256", tokenHash(token), "err", err)
		return newError(ErrInvalidToken, "the access token was rejected", err)
	}
}

const descUnavailable = "the access token cannot be checked right now, retry later"

// verdict applies the policy to an introspection response. cnf holds the
// token's cnf.jkt when it is DPoP-bound and the guard accepts DPoP (the
// caller must then check a proof), and its cnf["x5t#S256"] when it is
// certificate-bound and the guard accepts mTLS (the caller must then check
// the client certificate).
func (g *Guard) verdict(ctx context.Context, token string, resp *introspect.Response) (p *Principal, cnf confirmation, err error) {
	invalid := func(desc string) (*Principal, confirmation, error) {
		return nil, confirmation{}, newError(ErrInvalidToken, desc, nil)
	}
	if !resp.Active {
		return invalid("the access token is not active")
	}
	now := g.now()
	if !resp.Expiry.IsZero() && !now.Before(resp.Expiry.Add(g.skew)) {
		return invalid("the access token has expired")
	}
	if !resp.NotBefore.IsZero() && now.Add(g.skew).Before(resp.NotBefore) {
		return invalid("the access token is not valid yet")
	}
	typeDPoP := strings.EqualFold(resp.TokenType, "DPoP")
	if g.dpop == nil && !g.mtls {
		if typeDPoP || hasConfirmation(resp.Confirmation) {
			return invalid("sender-constrained access tokens are not supported")
		}
	} else if typeDPoP || len(resp.Confirmation) > 0 { // parsed once: absent, null and {} bind nothing
		var desc string
		if cnf, desc = g.parseConfirmation(resp.Confirmation, typeDPoP); desc != "" {
			return invalid(desc)
		}
	}
	if resp.TokenType != "" && !(typeDPoP && cnf.jkt != "") && !slices.ContainsFunc(g.tokenTypes, func(t string) bool { return strings.EqualFold(t, resp.TokenType) }) {
		return invalid("the access token type is not accepted")
	}
	if !g.skipAudience && !slices.ContainsFunc(resp.Audience, func(a string) bool { return slices.Contains(g.audiences, a) }) {
		return invalid("the access token is not meant for this resource")
	}
	if len(g.issuers) > 0 && !slices.Contains(g.issuers, resp.Issuer) {
		return invalid("the access token comes from an issuer that is not trusted")
	}
	if len(g.clientIDs) > 0 && !slices.Contains(g.clientIDs, resp.ClientID) {
		return invalid("the access token was issued to a client that is not allowed")
	}
	granted, err := g.scopeSets.parse(resp.Scope)
	if err != nil {
		return nil, confirmation{}, g.introspectionError(ctx, token, fmt.Errorf("rs: scope member: %w: %w", introspect.ErrMalformedResponse, err))
	}
	return &Principal{
		Subject:  resp.Subject,
		ClientID: resp.ClientID,
		Scopes:   granted,
		Audience: resp.Audience,
		Expiry:   resp.Expiry,
		Issuer:   resp.Issuer,
		Response: resp,
		guard:    g,
	}, cnf, nil
}

// confirmation is what a cnf member (RFC 7800) binds a token to, as far
// as the guard accepts it: a DPoP key (RFC 9449 §6.1) and a client
// certificate (RFC 8705 §3.1).
type confirmation struct {
	jkt string // RFC 7638 thumbprint of the DPoP key
	x5t string // x5t#S256: SHA-256 thumbprint of the client certificate
}

// parseConfirmation returns the bindings of a cnf member, or the
// description of why the token cannot be accepted: a binding this guard
// does not accept, a DPoP token_type without jkt, or a member that is not
// understood (which fails closed).
func (g *Guard) parseConfirmation(raw json.RawMessage, typeDPoP bool) (cnf confirmation, reject string) {
	const unsupported = "sender-constrained access tokens are not supported"
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil && len(bytes.TrimSpace(raw)) > 0 && !bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return cnf, unsupported
	}
	x5t, hasX5t := m["x5t#S256"]
	if hasX5t && !g.mtls {
		return cnf, "certificate-bound access tokens are not supported"
	}
	jkt, hasJKT := m["jkt"]
	if hasJKT && g.dpop == nil {
		return cnf, unsupported
	}
	for k := range m {
		if k != "jkt" && k != "x5t#S256" {
			return cnf, unsupported
		}
	}
	if hasJKT {
		if err := json.Unmarshal(jkt, &cnf.jkt); err != nil || cnf.jkt == "" {
			return confirmation{}, unsupported
		}
	}
	if hasX5t {
		if err := json.Unmarshal(x5t, &cnf.x5t); err != nil || cnf.x5t == "" {
			return confirmation{}, unsupported
		}
	}
	if typeDPoP && cnf.jkt == "" {
		if g.dpop == nil {
			return confirmation{}, unsupported
		}
		return confirmation{}, "the DPoP-bound access token has no key confirmation (cnf.jkt)"
	}
	return cnf, ""
}

// hasConfirmation reports whether a cnf member binds the token to a key:
// anything but absent, null or an empty object. An unparsable cnf counts as
// binding, so that it fails closed.
func hasConfirmation(cnf json.RawMessage) bool {
	cnf = bytes.TrimSpace(cnf)
	if len(cnf) == 0 || bytes.Equal(cnf, []byte("null")) {
		return false
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(cnf, &m); err != nil {
		return true
	}
	return len(m) > 0
}

// tokenHash identifies a token in logs without revealing it.
func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:8])
}
