package provider

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tokengate/tokengate/internal/lograte"
	"github.com/tokengate/tokengate/internal/oauthhttp"
	"github.com/tokengate/tokengate/provider/store"
	"github.com/tokengate/tokengate/secevent"
	"github.com/tokengate/tokengate/tokeninfo"
)

// Client is a registered client, as kept in the store.
type Client = store.Client

// Defaults for [Config].
const (
	DefaultTokenLifetime      = time.Hour
	DefaultMaxTokenLifetime   = 24 * time.Hour
	DefaultKeyRefreshInterval = time.Minute
	DefaultSweepInterval      = time.Hour
	DefaultSweepBatchSize     = 250
	DefaultMaxBodyBytes       = 64 << 10
	DefaultClientCacheTTL     = time.Second

	DefaultCodeLifetime             = time.Minute
	DefaultInteractionLifetime      = 10 * time.Minute
	DefaultSessionLifetime          = 14 * 24 * time.Hour
	DefaultConsentLifetime          = 90 * 24 * time.Hour
	DefaultRefreshTokenIdleLifetime = 14 * 24 * time.Hour
	DefaultRefreshTokenLifetime     = 90 * 24 * time.Hour
	DefaultIDTokenLifetime          = time.Hour
)

// TokenRequest describes a token about to be issued, for [Config.TokenClaims].
type TokenRequest struct {
	// Client is the client the token is issued to.
	Client *Client
	// Scopes are the granted scopes.
	Scopes []string
	// Audience is the token's audience.
	Audience []string
	// Subject is the user's subject for a user's token (as the client
	// sees it: pairwise if the client has pairwise subjects); "" for a
	// client's own token.
	Subject string
}

// IDTokenRequest describes an ID token about to be issued, for
// [Config.IDTokenClaims].
type IDTokenRequest struct {
	// Client is the client the ID token is issued to; the hook must not
	// modify it.
	Client *Client
	// Subject is the user's subject in the provider (before any pairwise
	// mapping), as given to [Provider.FinishLogin].
	Subject string
	// Scopes are the granted scopes.
	Scopes []string
	// Refresh reports whether the ID token is issued at a refresh.
	Refresh bool
}

// Config configures a [Provider]; [New] requires Issuer.
type Config struct {
	// Issuer is the issuer identifier (RFC 8414 §2): an https URL without
	// query or fragment (http is allowed for loopback hosts). The endpoints
	// are served under its path.
	Issuer string
	// Store keeps clients, tokens and keys. The zero value means a new
	// in-memory store (state is lost on exit); use provider/store/sqlite
	// for a persistent one. New saves KeyAlgorithms, MaxTokenLifetime and
	// KeyRefreshInterval in it, for an [Admin] of the same store to read;
	// servers sharing a store should agree on them.
	Store store.Store

	// DefaultTokenLifetime is the lifetime of access tokens of clients that
	// set none. Defaults to DefaultTokenLifetime (1h).
	DefaultTokenLifetime time.Duration
	// MaxTokenLifetime caps every client's token lifetime, and bounds how
	// long a retired key stays published. Defaults to
	// DefaultMaxTokenLifetime (24h).
	MaxTokenLifetime time.Duration
	// KeyAlgorithms are the key families kept: AlgRS256, AlgES256 and
	// AlgEdDSA. The first signs RFC 9068 JWT access tokens. Defaults to
	// all three, RS256 first (RFC 9068 §4 requires RS256 support).
	KeyAlgorithms []string
	// KeyRefreshInterval is how often keys are re-read from the store, so
	// that a rotation by another process is seen. Defaults to 1 minute.
	KeyRefreshInterval time.Duration
	// SweepInterval is how often the provider's sweeper deletes expired
	// tokens, codes, sessions, consents and interactions from the store
	// (see [Provider.Sweep]); the first sweep starts
	// a minute after New, or SweepInterval if shorter. Defaults to
	// DefaultSweepInterval (1h).
	SweepInterval time.Duration
	// SweepBatchSize is how many expired tokens the sweeper deletes per
	// transaction; writes (a revocation, an issued token, another
	// process) wait for at most one batch. Defaults to
	// DefaultSweepBatchSize (250: a few milliseconds on SQLite).
	SweepBatchSize int
	// ManualSweep, if set, starts no sweeper: expired tokens stay in the
	// store until something calls [Provider.Sweep] (a cron job, or one
	// process among several sharing a store).
	ManualSweep bool
	// MaxBodyBytes caps a request body. Defaults to 64 KiB.
	MaxBodyBytes int64
	// ClientCacheTTL is how long a client's registration, or the absence
	// of a client with a given id, read from the store to authenticate a
	// request, is reused; this spares a database read on every
	// introspection, and makes an unknown id cost what a known one does.
	// A client deleted by another process may still authenticate for this
	// long (its tokens are inactive at once all the same: they are
	// deleted with it). Defaults to DefaultClientCacheTTL (1s).
	ClientCacheTTL time.Duration

	// TokenClaims, if set, returns extra claims for a token about to be
	// issued; they appear in its introspection response (and in it, for JWT
	// access tokens). Registered claim names (iss, sub, aud, exp, nbf, iat,
	// jti, scope, client_id, active, token_type, username, cnf) are refused
	// with a server error. Returning an error refuses the token. The hook
	// must not modify req.Client.
	TokenClaims func(ctx context.Context, req *TokenRequest) (map[string]any, error)
	// IntrospectionHook, if set, may change the response to an
	// introspection of an active token before it is sent, like
	// django-oidc-provider's OIDC_INTROSPECTION_PROCESSING_HOOK. caller is
	// the client asking. Setting resp.Active to false makes the answer
	// {"active":false}. Returning an error answers with a server error.
	// The hook must not modify caller.
	IntrospectionHook func(ctx context.Context, caller *Client, resp *tokeninfo.Response) error

	// AuthFailuresPerMinute is how many failed client authentications one
	// client id may have from one address, in a burst and then per minute,
	// before more attempts from there get 429 Too Many Requests with
	// Retry-After; one address may fail five times as often across all
	// client ids, except for a client that authenticated from it lately.
	// Nothing is counted per client id alone, so that an attacker cannot
	// lock a client out. Defaults to DefaultAuthFailuresPerMinute (10).
	AuthFailuresPerMinute int
	// ClientAddress returns the address a request comes from, for
	// AuthFailuresPerMinute. Defaults to the host of r.RemoteAddr (an IPv6
	// address cut to its /64). Behind a reverse proxy, return the address
	// the proxy saw (from the header your proxy sets, e.g. the last
	// X-Forwarded-For entry it added): otherwise every request shares the
	// proxy's address.
	ClientAddress func(r *http.Request) string
	// TokensPerMinute is each client's token quota at the token endpoint:
	// that many at once, then that many a minute; beyond it, 429 Too Many
	// Requests with Retry-After. It bounds how fast a client can fill the
	// store (a token row is some 440 bytes, kept until it expires). It is
	// per process: N servers on one store allow N times as many. Defaults
	// to DefaultTokensPerMinute (600), which no client that reuses its
	// tokens comes near.
	TokensPerMinute int
	// MaxHeldPolls is how many polls of the revocation events endpoint
	// ([Provider.EventsURL]) may wait for events at once; beyond it, a
	// poll is answered 503 with Retry-After. Each held poll is a
	// connection and a goroutine, woken when an event is appended.
	// Defaults to DefaultMaxHeldPolls (1000).
	MaxHeldPolls int
	// Observer, if set, receives an [Event] for failed and throttled
	// client authentications, refused and issued tokens, swept tokens,
	// and polls of the revocation events endpoint.
	// Package provider/prommetrics adapts it to Prometheus.
	Observer Observer

	// LoginURL is where the provider sends the browser when a user must
	// sign in: LoginURL with "interaction=ID" added to its query. The
	// application there signs the user in however it likes and calls
	// [Provider.FinishLogin] (see [Interaction]). It is an absolute http(s)
	// URL, or a path on the issuer's host. Empty means that nobody signs
	// in: the authorization endpoint answers every request with an error
	// page, and the provider is the machine-only authorization server of
	// the client credentials grant.
	LoginURL string
	// ConsentURL is where the provider sends the browser to ask for
	// consent, like LoginURL. Defaults to LoginURL: [Interaction.Kind]
	// tells the two apart.
	ConsentURL string
	// Claims returns the claims of the user subject that scopes grant —
	// the standard claims of OpenID Connect Core §5.4 for profile, email,
	// address and phone, and those of Config.ScopeClaims — for the userinfo
	// endpoint and, for clients registered with IDTokenIncludeClaims, the
	// ID token (django-oidc-provider's OIDC_USERINFO). The provider keeps
	// only the claims the granted scopes name, and sets "sub" itself.
	// Package provider/users offers one (Directory.Claims). Nil means no
	// claim but "sub".
	Claims func(ctx context.Context, subject string, scopes []string) (map[string]any, error)
	// ScopeClaims maps scopes of the application's own to the claims they
	// grant (django-oidc-provider's OIDC_EXTRA_SCOPE_CLAIMS): with
	// {"roles": {"roles"}}, a client granted the scope "roles" receives the
	// claim "roles" that Claims returns. Every client may ask for these
	// scopes. The standard scopes may not be redefined.
	ScopeClaims map[string][]string
	// IDTokenClaims, if set, may add claims to an ID token about to be
	// signed (django-oidc-provider's OIDC_IDTOKEN_PROCESSING_HOOK). It may
	// not set or remove the registered ones (iss, sub, aud, exp, iat,
	// auth_time, nonce, acr, amr, azp, at_hash, c_hash, sid, jti, nbf):
	// that refuses the token with a server error, and so does returning an
	// error.
	IDTokenClaims func(ctx context.Context, req *IDTokenRequest, claims map[string]any) error
	// AfterLogin, if set, is called by [Provider.FinishLogin] before the
	// login is accepted (django-oidc-provider's OIDC_AFTER_USERLOGIN_HOOK):
	// it may audit it, adjust l (its ACR or AMR, say), or refuse it by
	// returning an error, which FinishLogin returns wrapped with
	// [ErrInvalidInteraction]. It must not modify client.
	AfterLogin func(ctx context.Context, client *Client, l *Login) error
	// Templates, if set, replaces the provider's own pages that it
	// defines: TemplateError ([ErrorPage]), TemplateLogout ([LogoutPage])
	// and TemplateLoggedOut ([LoggedOutPage]); each must render, or New
	// fails. The headers stay the provider's: never cached, never framed.
	Templates *template.Template
	// AfterEndSession, if set, is called after a provider session was
	// ended at the end_session_endpoint (django-oidc-provider's
	// OIDC_AFTER_END_SESSION_HOOK), with the user whose session it was and
	// the client that asked ("" if none could be told).
	AfterEndSession func(ctx context.Context, subject, clientID string)

	// CodeLifetime is how long an authorization code may be redeemed.
	// Defaults to DefaultCodeLifetime (1 minute; RFC 6749 §4.1.2 advises
	// at most 10).
	CodeLifetime time.Duration
	// InteractionLifetime is how long the application has to finish an
	// interaction. Defaults to DefaultInteractionLifetime (10 minutes).
	InteractionLifetime time.Duration
	// SessionLifetime is how long a provider session lasts after the user
	// signed in (single sign-on for every client meanwhile). Defaults to
	// DefaultSessionLifetime (14 days).
	SessionLifetime time.Duration
	// ConsentLifetime is how long a remembered consent lasts. Defaults to
	// DefaultConsentLifetime (90 days).
	ConsentLifetime time.Duration
	// RefreshTokenIdleLifetime is how long a refresh token lasts unused;
	// each use gives a new one. Defaults to DefaultRefreshTokenIdleLifetime
	// (14 days).
	RefreshTokenIdleLifetime time.Duration
	// RefreshTokenLifetime is how long refresh tokens are renewed after
	// the user signed in (the grant's absolute lifetime): the user signs in
	// again after it. Defaults to DefaultRefreshTokenLifetime (90 days).
	RefreshTokenLifetime time.Duration
	// IDTokenLifetime is how long an ID token is valid. Defaults to
	// DefaultIDTokenLifetime (1 hour); at most MaxTokenLifetime.
	IDTokenLifetime time.Duration

	// HTTPClient fetches clients' jwks_uri for encrypted introspection
	// responses. Defaults to a client with a 10s timeout. Redirects are
	// never followed, whatever its CheckRedirect: the registered URL is the
	// only one the provider fetches.
	HTTPClient *http.Client
	// Now returns the current time. Defaults to time.Now.
	Now func() time.Time
	// Logger receives structured logs; it never sees a token or secret.
	// Defaults to slog.Default().
	Logger *slog.Logger

	// InsecureAllowHTTPIssuer allows an http Issuer on a host other than
	// loopback. It MUST NOT be set in production: tokens and client secrets
	// would cross the network in clear text.
	InsecureAllowHTTPIssuer bool
}

// Provider is an OAuth 2.0 authorization server. It is an [http.Handler]
// serving the endpoints under the issuer's path, and is safe for
// concurrent use.
//
// It owns one goroutine, the sweeper, which New starts (unless
// Config.ManualSweep) and [Provider.Close] stops; and while polls are held
// at the revocation events endpoint, one more, which re-reads the store's
// event log and stops when none is held, or at Close.
type Provider struct {
	cfg      Config
	issuer   string // without trailing slash
	basePath string // issuer path without trailing slash
	metadata []byte
	// metadataPaths are where the metadata is served (see ServeHTTP).
	metadataPaths [3]string

	admin     *Admin // see Admin()
	keys      keyring
	jwksCache jwksCache
	// jwksHTTP is cfg.HTTPClient refusing redirects.
	jwksHTTP *http.Client
	clients  clientCache
	guard    *guard
	// unavailableLog lets one warning a lograte.Every through while the
	// store is unavailable.
	unavailableLog lograte.Limiter
	// secureCookies: the issuer is https, so cookies are Secure.
	secureCookies bool
	// pairwiseSalt is the store's secret for pairwise subjects.
	pairwiseSalt []byte
	// templates are the pages' templates, Config.Templates included.
	templates pageTemplates
	// onCompare, if set (by tests), is called for each secret comparison.
	onCompare func()
	// events wakes the held polls of the events endpoint (events.go).
	events *eventHub

	// stopSweeper cancels the sweeper's context; sweeperDone is closed
	// when it has returned (at once with ManualSweep).
	stopSweeper context.CancelFunc
	sweeperDone chan struct{}
	closeOnce   sync.Once
}

// Endpoint paths, relative to the issuer.
const (
	pathToken         = "/token"
	pathIntrospection = "/introspect"
	pathRevocation    = "/revoke"
	pathJWKS          = "/jwks.json"
	pathAuthorize     = "/authorize"
	pathResume        = "/authorize/resume"
	pathUserinfo      = "/userinfo"
	pathEndSession    = "/logout"
	pathEvents        = "/events"
)

// New returns a Provider for cfg. On first start with an empty store it
// generates the signing keys and saves them. Unless cfg.ManualSweep is set,
// it starts the sweeper of expired tokens: call [Provider.Close] to stop it.
func New(cfg Config) (*Provider, error) {
	if err := oauthhttp.CheckIssuer(cfg.Issuer, cfg.InsecureAllowHTTPIssuer, "InsecureAllowHTTPIssuer"); err != nil {
		return nil, fmt.Errorf("provider: Config.Issuer: %w", err)
	}
	u, err := url.Parse(cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("provider: Config.Issuer: %w", err)
	}
	if cfg.Store == nil {
		cfg.Store = store.NewMemory()
	}
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	g, err := newGuard(&cfg)
	if err != nil {
		return nil, err
	}
	templates, err := parseTemplates(cfg.Templates)
	if err != nil {
		return nil, err
	}
	p := &Provider{
		guard:         g,
		cfg:           cfg,
		issuer:        strings.TrimSuffix(cfg.Issuer, "/"),
		basePath:      strings.TrimSuffix(u.Path, "/"),
		secureCookies: u.Scheme == "https",
		templates:     templates,
	}
	p.admin = &Admin{store: cfg.Store, now: cfg.Now, settings: p.settings, changed: p.adminChanged}
	p.events = newEventHub(p.eventsHead, cfg.MaxHeldPolls)
	p.admin.revoked = p.events.notify
	p.metadataPaths = [3]string{
		"/.well-known/oauth-authorization-server" + p.basePath, // RFC 8414 §3.1
		p.basePath + "/.well-known/oauth-authorization-server",
		p.basePath + "/.well-known/openid-configuration",
	}
	p.jwksCache.entries = make(map[string]*jwksEntry)
	p.jwksHTTP = oauthhttp.NoRedirects(cfg.HTTPClient)
	p.clients.entries = make(map[string]clientEntry)
	if err := p.saveSettings(context.Background()); err != nil {
		return nil, err
	}
	if err := p.admin.ensureKeys(context.Background(), cfg.KeyAlgorithms); err != nil {
		return nil, err
	}
	if err := p.reloadKeys(context.Background()); err != nil {
		return nil, err
	}
	if p.metadata, err = json.Marshal(p.Metadata()); err != nil {
		return nil, fmt.Errorf("provider: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.stopSweeper, p.sweeperDone = cancel, make(chan struct{})
	if cfg.ManualSweep {
		close(p.sweeperDone)
	} else {
		go p.sweeper(ctx)
	}
	return p, nil
}

// Admin returns the provider's [Admin], for an application that registers
// its clients or rotates its keys itself. What it changes, this provider
// sees at once: a deleted client stops authenticating, rotated keys sign
// and are published.
func (p *Provider) Admin() *Admin { return p.admin }

// settings are what an Admin must agree on with this provider.
func (p *Provider) settings(context.Context) (*store.Settings, error) {
	return &store.Settings{KeyAlgorithms: slices.Clone(p.cfg.KeyAlgorithms), MaxTokenLifetime: p.cfg.MaxTokenLifetime,
		KeyRefreshInterval: p.cfg.KeyRefreshInterval, PairwiseSalt: slices.Clone(p.pairwiseSalt)}, nil
}

// saveSettings saves the provider's settings in the store for Admins of
// other processes, unless they are there already (a restart writes
// nothing). Other settings there are replaced, with a warning: servers
// sharing a store should agree. The pairwise salt is the first server's,
// kept by every other: a new one would change every pairwise subject.
func (p *Provider) saveSettings(ctx context.Context) error {
	have, err := p.cfg.Store.Settings(ctx)
	if err == nil && len(have.PairwiseSalt) > 0 {
		p.pairwiseSalt = have.PairwiseSalt
	} else {
		p.pairwiseSalt = []byte(randomString(32))
	}
	want, _ := p.settings(ctx)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return fmt.Errorf("provider: reading the store's settings: %w", err)
	case slices.Equal(have.KeyAlgorithms, want.KeyAlgorithms) && have.MaxTokenLifetime == want.MaxTokenLifetime &&
		have.KeyRefreshInterval == want.KeyRefreshInterval && len(have.PairwiseSalt) > 0:
		return nil
	case len(have.PairwiseSalt) == 0 && slices.Equal(have.KeyAlgorithms, want.KeyAlgorithms) &&
		have.MaxTokenLifetime == want.MaxTokenLifetime && have.KeyRefreshInterval == want.KeyRefreshInterval:
		// A store of an earlier release: it gains a salt, nothing else.
	default:
		p.cfg.Logger.Warn("provider: the store held another server's settings; servers sharing a store should agree on them",
			"key_algorithms", have.KeyAlgorithms, "max_token_lifetime", have.MaxTokenLifetime,
			"key_refresh_interval", have.KeyRefreshInterval)
	}
	if err := p.cfg.Store.SaveSettings(ctx, want); err != nil {
		return fmt.Errorf("provider: saving settings: %w", err)
	}
	return nil
}

// adminChanged is told by the provider's Admin about a client it registered
// or deleted, or (clientID "") keys it rotated.
func (p *Provider) adminChanged(ctx context.Context, clientID string) error {
	if clientID != "" {
		p.forgetClient(clientID) // a registered id may have been asked for before it existed
		p.events.notify()        // a deleted client's tokens are revoked
		return nil
	}
	return p.reloadKeys(ctx)
}

// Close stops the sweeper, waiting for the batch it may be deleting, and
// answers the polls held at the events endpoint; the provider still serves
// requests afterwards (polls of the events endpoint are no longer held),
// and the store stays open (closing it is up to whoever opened it). Call it
// before shutting the http.Server down, which would wait for held polls.
// Close is safe to call more than once and always returns nil.
func (p *Provider) Close() error {
	p.closeOnce.Do(func() {
		p.stopSweeper()
		<-p.sweeperDone
		p.events.close()
	})
	return nil
}

// setDefaults fills in the zero fields of cfg and checks them: like every
// Config in this module, a negative duration or size is an error naming the
// field.
func (cfg *Config) setDefaults() error {
	for _, f := range []struct {
		name  string
		value int64
	}{
		{"DefaultTokenLifetime", int64(cfg.DefaultTokenLifetime)},
		{"MaxTokenLifetime", int64(cfg.MaxTokenLifetime)},
		{"KeyRefreshInterval", int64(cfg.KeyRefreshInterval)},
		{"SweepInterval", int64(cfg.SweepInterval)},
		{"SweepBatchSize", int64(cfg.SweepBatchSize)},
		{"MaxBodyBytes", cfg.MaxBodyBytes},
		{"ClientCacheTTL", int64(cfg.ClientCacheTTL)},
		{"AuthFailuresPerMinute", int64(cfg.AuthFailuresPerMinute)},
		{"TokensPerMinute", int64(cfg.TokensPerMinute)},
		{"MaxHeldPolls", int64(cfg.MaxHeldPolls)},
		{"CodeLifetime", int64(cfg.CodeLifetime)},
		{"InteractionLifetime", int64(cfg.InteractionLifetime)},
		{"SessionLifetime", int64(cfg.SessionLifetime)},
		{"ConsentLifetime", int64(cfg.ConsentLifetime)},
		{"RefreshTokenIdleLifetime", int64(cfg.RefreshTokenIdleLifetime)},
		{"RefreshTokenLifetime", int64(cfg.RefreshTokenLifetime)},
		{"IDTokenLifetime", int64(cfg.IDTokenLifetime)},
	} {
		if f.value < 0 {
			return fmt.Errorf("provider: Config.%s is negative", f.name)
		}
	}
	if cfg.DefaultTokenLifetime == 0 {
		cfg.DefaultTokenLifetime = DefaultTokenLifetime
	}
	if cfg.MaxTokenLifetime == 0 {
		cfg.MaxTokenLifetime = DefaultMaxTokenLifetime
	}
	if cfg.DefaultTokenLifetime > cfg.MaxTokenLifetime {
		return fmt.Errorf("provider: Config.DefaultTokenLifetime %v exceeds MaxTokenLifetime %v", cfg.DefaultTokenLifetime, cfg.MaxTokenLifetime)
	}
	if len(cfg.KeyAlgorithms) == 0 {
		cfg.KeyAlgorithms = defaultKeyAlgorithms()
	}
	for i, a := range cfg.KeyAlgorithms {
		if family(a) != a || slices.Contains(cfg.KeyAlgorithms[:i], a) {
			return fmt.Errorf("provider: Config.KeyAlgorithms: %q is not one of RS256, ES256, EdDSA, or is repeated", a)
		}
	}
	if cfg.KeyRefreshInterval == 0 {
		cfg.KeyRefreshInterval = DefaultKeyRefreshInterval
	}
	if cfg.SweepInterval == 0 {
		cfg.SweepInterval = DefaultSweepInterval
	}
	if cfg.SweepBatchSize == 0 {
		cfg.SweepBatchSize = DefaultSweepBatchSize
	}
	if cfg.ClientCacheTTL == 0 {
		cfg.ClientCacheTTL = DefaultClientCacheTTL
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.AuthFailuresPerMinute == 0 {
		cfg.AuthFailuresPerMinute = DefaultAuthFailuresPerMinute
	}
	if cfg.TokensPerMinute == 0 {
		cfg.TokensPerMinute = DefaultTokensPerMinute
	}
	if cfg.MaxHeldPolls == 0 {
		cfg.MaxHeldPolls = DefaultMaxHeldPolls
	}
	if err := cfg.setSignInDefaults(); err != nil {
		return err
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return nil
}

func (p *Provider) now() time.Time { return p.cfg.Now() }

// defaultKeyAlgorithms are the default Config.KeyAlgorithms: RS256 first,
// since RFC 9068 §4 requires RS256 support.
func defaultKeyAlgorithms() []string { return []string{AlgRS256, AlgES256, AlgEdDSA} }

// Issuer returns the issuer identifier.
func (p *Provider) Issuer() string { return p.issuer }

// Store returns the provider's store.
func (p *Provider) Store() store.Store { return p.cfg.Store }

// TokenURL returns the URL of the token endpoint (RFC 6749 §3.2).
func (p *Provider) TokenURL() string { return p.issuer + pathToken }

// IntrospectionURL returns the URL of the introspection endpoint (RFC 7662).
func (p *Provider) IntrospectionURL() string { return p.issuer + pathIntrospection }

// RevocationURL returns the URL of the revocation endpoint (RFC 7009).
func (p *Provider) RevocationURL() string { return p.issuer + pathRevocation }

// AuthorizationURL returns the URL of the authorization endpoint (RFC 6749
// §3.1).
func (p *Provider) AuthorizationURL() string { return p.issuer + pathAuthorize }

// UserinfoURL returns the URL of the userinfo endpoint (OpenID Connect Core
// §5.3).
func (p *Provider) UserinfoURL() string { return p.issuer + pathUserinfo }

// JWKSURL returns the URL of the provider's JWK Set (the jwks_uri).
func (p *Provider) JWKSURL() string { return p.issuer + pathJWKS }

// Metadata returns the RFC 8414 authorization server metadata; it lists
// exactly what the provider supports. With Config.LoginURL set, it is also
// the OpenID Connect Discovery 1.0 document of an OpenID Provider.
func (p *Provider) Metadata() map[string]any {
	auth := []string{"client_secret_basic", "client_secret_post"}
	m := map[string]any{
		"issuer":                                        p.issuer,
		"token_endpoint":                                p.TokenURL(),
		"jwks_uri":                                      p.JWKSURL(),
		"introspection_endpoint":                        p.IntrospectionURL(),
		"revocation_endpoint":                           p.RevocationURL(),
		secevent.MetadataMember:                         p.EventsURL(),
		"grant_types_supported":                         []string{"client_credentials"},
		"response_types_supported":                      []string{},
		"token_endpoint_auth_methods_supported":         auth,
		"introspection_endpoint_auth_methods_supported": auth,
		"revocation_endpoint_auth_methods_supported":    append(auth[:2:2], "none"),
		"introspection_signing_alg_values_supported":    signingAlgs(p.cfg.KeyAlgorithms),
		"introspection_encryption_alg_values_supported": encryptionAlgs,
		"introspection_encryption_enc_values_supported": encryptionEncs,
	}
	if p.cfg.LoginURL != "" {
		maps.Copy(m, p.signInMetadata())
	}
	return m
}

// ServeHTTP serves the metadata (at /.well-known/oauth-authorization-server,
// with the issuer's path appended as RFC 8414 §3.1 says, and at the issuer
// path followed by /.well-known/openid-configuration and
// /.well-known/oauth-authorization-server), the JWK Set, and the token,
// introspection, revocation and revocation events endpoints.
func (p *Provider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	switch path {
	case p.metadataPaths[0], p.metadataPaths[1], p.metadataPaths[2]:
		p.serveStatic(w, r, p.metadata)
		return
	}
	rest, ok := strings.CutPrefix(path, p.basePath)
	if !ok {
		http.NotFound(w, r)
		return
	}
	if p.cfg.LoginURL == "" && (rest == pathResume || rest == pathUserinfo || rest == pathEndSession) {
		http.NotFound(w, r) // a machine-only provider signs nobody in
		return
	}
	switch rest {
	case pathJWKS:
		_, jwks := p.currentKeys(r.Context())
		p.serveStatic(w, r, jwks)
	case pathToken:
		p.serveToken(w, r)
	case pathIntrospection:
		p.serveIntrospection(w, r)
	case pathRevocation:
		p.serveRevocation(w, r)
	case pathAuthorize:
		p.serveAuthorize(w, r)
	case pathResume:
		p.serveResume(w, r)
	case pathUserinfo:
		p.serveUserinfo(w, r)
	case pathEndSession:
		p.serveEndSession(w, r)
	case pathEvents:
		p.serveEvents(w, r)
	default:
		http.NotFound(w, r)
	}
}

// serveStatic serves a public JSON document that caches may keep briefly.
func (p *Provider) serveStatic(w http.ResponseWriter, r *http.Request, body []byte) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=60")
	w.Write(body)
}

func (p *Provider) serverError(w http.ResponseWriter, what string, err error) {
	writeError(w, p.errServer(what, err))
}

// Sweep deletes the tokens that have expired from the store, then the
// expired codes, sessions, consents and interactions, and reports how many
// tokens and records, in batches of Config.SweepBatchSize, each its own
// transaction. After each batch it rests for as long as the batch took (at
// least sweepMinPause), so that other writers — this process's revocations
// and issued tokens, and other processes sharing the store — wait for one
// batch at most and have at least half of the time. It stops early, with
// ctx's error, when ctx is done. The sweeper calls it every SweepInterval; a
// command may call it too.
func (p *Provider) Sweep(ctx context.Context) (int64, error) {
	before := p.now()
	tokens, err := p.sweepBatches(ctx, func() (int64, error) {
		n, err := p.cfg.Store.DeleteExpiredTokens(ctx, before, p.cfg.SweepBatchSize)
		if n > 0 {
			p.observe(Event{Kind: EventTokensSwept, Count: n})
		}
		return n, err
	})
	if err != nil {
		return tokens, fmt.Errorf("provider: sweeping tokens: %w", err)
	}
	records, err := p.sweepBatches(ctx, func() (int64, error) {
		return p.cfg.Store.DeleteExpired(ctx, before, p.cfg.SweepBatchSize)
	})
	if err != nil {
		return tokens + records, fmt.Errorf("provider: sweeping codes, sessions, consents and interactions: %w", err)
	}
	// Revocation events are kept until 5 minutes after their token
	// expires, and at most a day (docs/revocation-events.md §3).
	events, err := p.sweepBatches(ctx, func() (int64, error) {
		return p.cfg.Store.DeleteEvents(ctx, before.Add(-secevent.RetainAfterExp), before.Add(-secevent.MaxAge), p.cfg.SweepBatchSize)
	})
	if err != nil {
		return tokens + records + events, fmt.Errorf("provider: sweeping revocation events: %w", err)
	}
	return tokens + records + events, nil
}

// sweepBatches calls batch until it deletes fewer than SweepBatchSize,
// resting between batches, and reports how many it deleted.
func (p *Provider) sweepBatches(ctx context.Context, batch func() (int64, error)) (int64, error) {
	var total int64
	for {
		start := time.Now()
		n, err := batch()
		took := time.Since(start)
		total += n
		if err != nil {
			return total, err
		}
		if n < int64(p.cfg.SweepBatchSize) {
			return total, nil
		}
		if err := sleep(ctx, max(took, sweepMinPause)); err != nil {
			return total, err
		}
	}
}

// sweepMinPause is the least rest between two batches of a sweep: longer
// than the first sleeps of SQLite's busy handler (1 to 25 ms), so that a
// writer of another process waiting for the lock retries within it.
const sweepMinPause = 30 * time.Millisecond

// firstSweepDelay is the longest wait for the first sweep after New: a
// server restarted more often than SweepInterval sweeps all the same.
const firstSweepDelay = time.Minute

// sweeper runs Sweep every SweepInterval until ctx is cancelled (by Close).
func (p *Provider) sweeper(ctx context.Context) {
	defer close(p.sweeperDone)
	wait := min(firstSweepDelay, p.cfg.SweepInterval)
	for {
		if sleep(ctx, wait) != nil {
			return
		}
		wait = p.cfg.SweepInterval
		n, err := p.Sweep(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			p.cfg.Logger.Warn("provider: sweep failed", "err", err, "deleted", n)
		case n > 0:
			p.cfg.Logger.Info("provider: swept expired tokens and sign-in records", "count", n)
		}
	}
}

// sleep waits for d or until ctx is done, whichever comes first.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// randomString returns n random bytes, base64url-encoded.
func randomString(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// sortable is base64 with the base64url characters in ASCII order, so that
// encoded strings sort as the bytes they encode.
var sortable = base64.NewEncoding("-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz").WithPadding(base64.NoPadding)

// newID returns a token's jti or a grant's ID, made at t: 22 characters of
// base64url's alphabet encoding the time in milliseconds (6 bytes) and 10
// random bytes (80 bits: unique, and no more guessable than needed for an
// identifier that is no secret). IDs made later sort after earlier ones, so
// a store's index on grant IDs appends new tokens to its last page rather
// than writing a random page for each (issue 13).
func newID(t time.Time) string {
	var b [16]byte
	ms := uint64(t.UnixMilli())
	for i := range 6 {
		b[i] = byte(ms >> (8 * (5 - i)))
	}
	rand.Read(b[6:])
	return sortable.EncodeToString(b[:])
}
