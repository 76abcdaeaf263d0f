package revocationfeed

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/oauth2"

	"github.com/tokengate/tokengate/internal/jwks"
	"github.com/tokengate/tokengate/internal/lograte"
	"github.com/tokengate/tokengate/internal/oauthhttp"
	"github.com/tokengate/tokengate/introspect"
	"github.com/tokengate/tokengate/secevent"
)

// Defaults for the zero values of [Config].
const (
	DefaultClockSkew     = 30 * time.Second
	DefaultMinBackoff    = time.Second
	DefaultMaxBackoff    = 30 * time.Second
	DefaultMaxRemembered = 100_000
	// pollTimeout bounds one poll: the transmitter's hold plus a margin.
	pollTimeout = secevent.MaxHold + 15*time.Second
	// maxPollBytes bounds a poll response: 100 SETs of up to 16 KiB.
	maxPollBytes = secevent.MaxEvents*maxSETBytes + 64<<10
	// minEmptyPoll is the least time between two polls that returned
	// nothing, should a transmitter not hold them.
	minEmptyPoll = time.Second
)

// Invalidator forgets the verdict on a token known by its SHA-256: an
// *introspect.Cache.
type Invalidator interface {
	InvalidateHash(ctx context.Context, tokenSHA256 [sha256.Size]byte) error
}

// Revoker refuses a JWT access token's jti until exp: a
// *jwtaccess.Validator.
type Revoker interface {
	Revoke(jti string, exp time.Time) error
}

// Config configures a [Subscriber]. Issuer, ClientID and Cache are
// required.
type Config struct {
	// Issuer is the authorization server's issuer identifier. SETs must
	// carry it as iss; its metadata (RFC 8414, then OpenID Connect
	// Discovery) names the endpoint (revocation_events_endpoint) unless
	// Endpoint is set, and the keys (jwks_uri).
	Issuer string
	// Endpoint is the poll endpoint, if it is not to be discovered.
	Endpoint string

	// ClientID is this resource server's client at the issuer: the
	// audience SETs must name, and, with ClientSecret, the credentials of
	// the poll (client_secret_basic), as for introspection.
	ClientID     string
	ClientSecret string
	// TokenSource, if set, authenticates the poll with a bearer token
	// instead of ClientSecret.
	TokenSource oauth2.TokenSource

	// Cache forgets the verdicts on revoked tokens, in memory and in its
	// shared tier: the *introspect.Cache the guard uses.
	Cache Invalidator
	// JWT, if set, refuses revoked JWT access tokens until they expire:
	// the issuer's *jwtaccess.Validator.
	JWT Revoker

	// Redis, if set, adds the pub/sub transport of fleets that share
	// Redis: SETs are received on the channel of the issuer and client, and
	// each SET received by polling is published there once per fleet.
	// Close does not close it. A client made with
	// rediscache.BoundOptions is fine: the subscription has its own
	// connection without deadlines.
	Redis redis.UniversalClient

	// HTTPClient polls and fetches the metadata and keys. Defaults to a
	// client whose timeout fits a long poll (40s); a client with a Timeout
	// under that is an error, since the transmitter may hold a poll for
	// 25s. Redirects are never followed.
	HTTPClient *http.Client
	// ClockSkew is the leeway on iat and on token_exp. Defaults to
	// DefaultClockSkew.
	ClockSkew time.Duration
	// MinBackoff and MaxBackoff bound the wait after a failed poll: it
	// starts at MinBackoff and doubles, with jitter, up to MaxBackoff.
	// Default to DefaultMinBackoff and DefaultMaxBackoff.
	MinBackoff, MaxBackoff time.Duration
	// MaxRemembered bounds the SET ids remembered to tell duplicates.
	// Defaults to DefaultMaxRemembered.
	MaxRemembered int
	// Now returns the current time. Defaults to time.Now.
	Now func() time.Time
	// Logger receives the stream's failures and refused SETs, at most one
	// line of each kind per 10 seconds; never a token. Defaults to
	// slog.Default().
	Logger *slog.Logger
	// Observer, if set, receives introspect.EventRevocation for each SET
	// and introspect.EventRevocationFeed when the stream goes down or
	// comes back (package introspect/prommetrics counts them).
	Observer introspect.Observer

	// InsecureAllowHTTP allows a plain-http issuer or endpoint on a host
	// other than loopback. It MUST NOT be set in production: whoever sits
	// on the path could hide revocations.
	InsecureAllowHTTP bool
}

// Subscriber receives and applies revocation events until Close.
type Subscriber struct {
	cfg    Config
	keys   *jwks.Set
	client *http.Client
	// discoveryClient reads the metadata, following redirects only where
	// checkURL allows.
	discoveryClient *http.Client

	cancel context.CancelFunc
	wg     sync.WaitGroup

	// mu guards endpoint, seen, state, setErrs and undropped.
	mu       sync.Mutex
	endpoint string
	// seen remembers the ids of SETs applied, until their token expires.
	seen map[string]time.Time
	// state is whether the stream can be read: stateUnknown until the
	// first poll ends.
	state streamState
	// setErrs are the refusals to report in the next poll.
	setErrs map[string]secevent.SetError
	// undropped are the revoked tokens whose verdict the cache could not
	// drop (its shared tier failed), with when trying again stops: when
	// the token expires.
	undropped map[[sha256.Size]byte]time.Time

	// relayID is the value of this replica's relay claims, to know its
	// own claim again when the answer to the claim was lost.
	relayID string

	downLog, refusedLog, applyLog, relayLog lograte.Limiter
}

// New checks cfg and starts receiving: one goroutine polls the endpoint
// (discovered from the issuer's metadata on first use), one tries again
// to drop the verdicts the cache could not drop, and one more reads Redis
// when Config.Redis is set. All stop at Close. New itself does no
// I/O; [Subscriber.Ping] checks the endpoint and credentials.
func New(cfg Config) (*Subscriber, error) {
	switch {
	case cfg.Issuer == "":
		return nil, errors.New("revocationfeed: Config.Issuer is required")
	case cfg.ClientID == "":
		return nil, errors.New("revocationfeed: Config.ClientID is required: SETs are addressed to it")
	case cfg.Cache == nil:
		return nil, errors.New("revocationfeed: Config.Cache is required")
	case cfg.TokenSource != nil && cfg.ClientSecret != "":
		return nil, errors.New("revocationfeed: Config.TokenSource and Config.ClientSecret cannot both be set")
	case cfg.ClockSkew < 0 || cfg.MinBackoff < 0 || cfg.MaxBackoff < 0 || cfg.MaxRemembered < 0:
		return nil, errors.New("revocationfeed: Config.ClockSkew, MinBackoff, MaxBackoff and MaxRemembered must not be negative")
	}
	if err := oauthhttp.CheckIssuer(cfg.Issuer, cfg.InsecureAllowHTTP, "InsecureAllowHTTP"); err != nil {
		return nil, fmt.Errorf("revocationfeed: Config.Issuer: %w", err)
	}
	if cfg.HTTPClient != nil && cfg.HTTPClient.Timeout != 0 && cfg.HTTPClient.Timeout < pollTimeout {
		return nil, fmt.Errorf("revocationfeed: Config.HTTPClient: a Timeout of %v cuts long polls short; leave it 0 or make it at least %v", cfg.HTTPClient.Timeout, pollTimeout)
	}
	if cfg.Endpoint != "" {
		if err := oauthhttp.CheckURL(cfg.Endpoint, cfg.InsecureAllowHTTP, "InsecureAllowHTTP"); err != nil {
			return nil, fmt.Errorf("revocationfeed: Config.Endpoint: %w", err)
		}
	}
	cfg.ClockSkew = cmp.Or(cfg.ClockSkew, DefaultClockSkew)
	cfg.MinBackoff = cmp.Or(cfg.MinBackoff, DefaultMinBackoff)
	cfg.MaxBackoff = max(cmp.Or(cfg.MaxBackoff, DefaultMaxBackoff), cfg.MinBackoff)
	cfg.MaxRemembered = cmp.Or(cfg.MaxRemembered, DefaultMaxRemembered)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.Logger = cmp.Or(cfg.Logger, slog.Default())
	base := cfg.HTTPClient
	if base == nil {
		base = &http.Client{Timeout: pollTimeout}
	}
	s := &Subscriber{
		cfg:             cfg,
		client:          oauthhttp.NoRedirects(base),
		discoveryClient: oauthhttp.CheckRedirects(base, cfg.InsecureAllowHTTP, "InsecureAllowHTTP"),
		endpoint:        cfg.Endpoint,
		seen:            map[string]time.Time{},
		undropped:       map[[sha256.Size]byte]time.Time{},
		relayID:         rand.Text(),
	}
	var err error
	s.keys, err = jwks.New(jwks.Config{
		Issuer: cfg.Issuer, HTTPClient: s.client, AllowHTTP: cfg.InsecureAllowHTTP, InsecureOption: "InsecureAllowHTTP",
		Logger: cfg.Logger, Now: cfg.Now,
	})
	if err != nil {
		return nil, fmt.Errorf("revocationfeed: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		s.pollLoop(ctx)
	}()
	go func() {
		defer s.wg.Done()
		s.dropLoop(ctx)
	}()
	if cfg.Redis != nil {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.redisLoop(ctx)
		}()
	}
	return s, nil
}

// Close stops receiving and waits for the goroutines to end. The cache
// and validator keep what was applied. It is idempotent.
func (s *Subscriber) Close() error {
	s.cancel()
	s.wg.Wait()
	return s.keys.Close()
}

// apply records a verified revocation, unless it is a duplicate or moot,
// and reports what it did.
func (s *Subscriber) apply(ctx context.Context, r *revocation) (applied bool) {
	now := s.cfg.Now()
	until := r.tokenExp.Add(s.cfg.ClockSkew)
	s.mu.Lock()
	_, dup := s.seen[r.jti]
	if !dup && now.Before(until) {
		s.remember(r.jti, until, now)
	}
	s.mu.Unlock()
	if dup || !now.Before(until) {
		s.observe(introspect.Event{Kind: introspect.EventRevocation, Outcome: "duplicate"})
		return false
	}
	// The validator first: a request between the two steps must not
	// validate the token again and cache it.
	if r.tokenJTI != "" && s.cfg.JWT != nil {
		if err := s.cfg.JWT.Revoke(r.tokenJTI, r.tokenExp); err != nil {
			s.logApply("revocationfeed: the JWT validator could not record a revoked jti; it stays valid there until its exp or the cache's MaxTTL", err)
		}
	}
	if err := s.cfg.Cache.InvalidateHash(ctx, r.tokenSum); err != nil {
		s.logApply("revocationfeed: the shared tier could not drop a revoked verdict; trying again every second until the token expires", err)
		s.mu.Lock()
		if len(s.undropped) < s.cfg.MaxRemembered {
			s.undropped[r.tokenSum] = until
		}
		s.mu.Unlock()
	}
	s.observe(introspect.Event{Kind: introspect.EventRevocation, Outcome: "applied"})
	return true
}

// dropRetryInterval is how often the verdicts the cache could not drop
// are dropped again.
const dropRetryInterval = time.Second

// dropLoop tries again, every dropRetryInterval until ctx is done, to drop
// the verdicts the cache could not drop: a shared tier that failed once
// (Redis slow or away for a moment) would otherwise keep a revoked token's
// verdict for its TTL, for every replica to find.
func (s *Subscriber) dropLoop(ctx context.Context) {
	t := time.NewTicker(dropRetryInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.dropAgain(ctx)
		}
	}
}

// dropAgain drops the verdicts in undropped, forgetting those dropped and
// those whose token has expired; it stops at the first failure.
func (s *Subscriber) dropAgain(ctx context.Context) {
	now := s.cfg.Now()
	s.mu.Lock()
	due := make([][sha256.Size]byte, 0, len(s.undropped))
	for h, until := range s.undropped {
		if now.Before(until) {
			due = append(due, h)
		} else {
			delete(s.undropped, h)
		}
	}
	s.mu.Unlock()
	for _, h := range due {
		if err := s.cfg.Cache.InvalidateHash(ctx, h); err != nil {
			return
		}
		s.mu.Lock()
		delete(s.undropped, h)
		s.mu.Unlock()
	}
}

// remember records jti until until. When MaxRemembered ids are held, the
// expired ones go; if none has, the id is not remembered (a duplicate of
// it is then applied twice, which is harmless). s.mu is held.
func (s *Subscriber) remember(jti string, until, now time.Time) {
	if len(s.seen) >= s.cfg.MaxRemembered {
		for k, t := range s.seen {
			if !now.Before(t) {
				delete(s.seen, k)
			}
		}
		if len(s.seen) >= s.cfg.MaxRemembered {
			return
		}
	}
	s.seen[jti] = until
}

func (s *Subscriber) logApply(msg string, err error) {
	if ok, suppressed := s.applyLog.Allow(s.cfg.Now()); ok {
		s.cfg.Logger.Warn(msg, "error", err, "suppressed_since_last", suppressed)
	}
}

// receive verifies and applies one SET from either transport, returning
// its id and whether it was applied, or an error: a *refusal, or one
// matching errKeysUnavailable when it is to be tried again.
func (s *Subscriber) receive(ctx context.Context, set, via string) (jti string, applied bool, err error) {
	r, err := s.verify(ctx, set)
	if errors.Is(err, errKeysUnavailable) {
		return "", false, err
	}
	if err != nil {
		s.observe(introspect.Event{Kind: introspect.EventRevocation, Outcome: "refused"})
		if ok, suppressed := s.refusedLog.Allow(s.cfg.Now()); ok {
			s.cfg.Logger.Warn("revocationfeed: a revocation event was refused", "via", via, "issuer", s.cfg.Issuer,
				"error", err, "suppressed_since_last", suppressed)
		}
		return "", false, err
	}
	return r.jti, s.apply(ctx, r), nil
}

func (s *Subscriber) observe(e introspect.Event) {
	if s.cfg.Observer != nil {
		s.cfg.Observer.Observe(e)
	}
}

// streamState is whether the event stream can be read.
type streamState int

const (
	stateUnknown streamState = iota
	stateUp
	stateDown
)

// setState records whether the stream can be read, and says so when that
// changes.
func (s *Subscriber) setState(down bool, err error) {
	next := stateUp
	if down {
		next = stateDown
	}
	s.mu.Lock()
	changed := s.state != next
	s.state = next
	s.mu.Unlock()
	if down {
		if ok, suppressed := s.downLog.Allow(s.cfg.Now()); ok {
			s.cfg.Logger.Warn("revocationfeed: cannot read the revocation event stream; revocations take up to the cache's MaxTTL until it is back",
				"issuer", s.cfg.Issuer, "error", err, "suppressed_since_last", suppressed)
		}
	}
	if !changed {
		return
	}
	if down {
		s.observe(introspect.Event{Kind: introspect.EventRevocationFeed, Outcome: "down"})
		return
	}
	s.cfg.Logger.Info("revocationfeed: reading the revocation event stream", "issuer", s.cfg.Issuer)
	s.observe(introspect.Event{Kind: introspect.EventRevocationFeed, Outcome: "up"})
}
