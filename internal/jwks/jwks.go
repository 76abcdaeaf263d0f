package jwks

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/MicahParks/jwkset"
	"golang.org/x/sync/singleflight"

	"github.com/tokengate/tokengate/internal/discovery"
	"github.com/tokengate/tokengate/internal/oauthhttp"
	"github.com/tokengate/tokengate/internal/strictjson"
)

// Errors of [Set.Key] and [Set.Keys], for use with errors.Is.
var (
	// ErrUnavailable means the key set could not be fetched, or a refresh
	// for an unknown key id is not allowed yet: retry later.
	ErrUnavailable = errors.New("jwks: key set unavailable")
	// ErrKeyNotFound means a freshly fetched key set has no key with the id.
	ErrKeyNotFound = errors.New("jwks: no key with this id")
)

// Defaults for the zero values of [Config].
const (
	DefaultRefreshInterval  = time.Hour
	DefaultRefreshRateLimit = time.Minute
	DefaultMaxBytes         = 1 << 20
	// retryAfterFailure is the least time between two fetches while no key
	// set has been fetched yet, so that a flood of tokens while the server
	// is down does not become a flood of fetches.
	retryAfterFailure = time.Second
)

// Config configures a [Set]. Issuer or URL is required.
type Config struct {
	// Issuer is the issuer identifier whose metadata names the jwks_uri,
	// when URL is empty.
	Issuer string
	// URL is the jwks_uri. It must be https, or http on a loopback host.
	URL string
	// HTTPClient makes the requests; it must bound its responses and refuse
	// redirects as the caller requires. Defaults to a client with a 10s
	// timeout that follows no redirect.
	HTTPClient *http.Client
	// MaxBytes caps a key set or metadata document. Defaults to
	// DefaultMaxBytes.
	MaxBytes int64
	// RefreshInterval is how often the set is fetched again in the
	// background. Defaults to DefaultRefreshInterval.
	RefreshInterval time.Duration
	// RefreshRateLimit is the least time between two refreshes caused by an
	// unknown key id. Defaults to DefaultRefreshRateLimit.
	RefreshRateLimit time.Duration
	// AllowHTTP allows a plain-http URL on a host other than loopback;
	// InsecureOption is the caller's name for that switch, for messages.
	AllowHTTP      bool
	InsecureOption string
	// Logger receives failed background refreshes. Defaults to
	// slog.Default().
	Logger *slog.Logger
	// Now returns the current time. Defaults to time.Now.
	Now func() time.Time
}

// Set is a remote JWK Set. Its background refresh starts with the first
// successful fetch and stops at [Set.Close].
type Set struct {
	cfg     Config
	flights singleflight.Group
	ctx     context.Context // cancelled by Close: ends the refresh loop
	cancel  context.CancelFunc

	// mu guards every field below.
	mu          sync.Mutex
	url         string       // the jwks_uri, once known
	keys        []jwkset.JWK // the last set fetched, in document order
	loaded      bool         // keys holds a fetched set
	lastFetch   time.Time    // start of the last fetch, whatever its outcome
	lastForced  time.Time    // start of the last refresh for an unknown kid
	loopStarted bool
}

// New returns a Set for cfg. It does no I/O.
func New(cfg Config) (*Set, error) {
	if cfg.Issuer == "" && cfg.URL == "" {
		return nil, errors.New("jwks: an issuer or a URL is required")
	}
	if cfg.MaxBytes < 0 || cfg.RefreshInterval < 0 || cfg.RefreshRateLimit < 0 {
		return nil, errors.New("jwks: durations and sizes must not be negative")
	}
	if cfg.URL != "" {
		if err := oauthhttp.CheckURL(cfg.URL, cfg.AllowHTTP, cfg.InsecureOption); err != nil {
			return nil, err
		}
	}
	cfg.MaxBytes = cmp.Or(cfg.MaxBytes, DefaultMaxBytes)
	cfg.RefreshInterval = cmp.Or(cfg.RefreshInterval, DefaultRefreshInterval)
	cfg.RefreshRateLimit = cmp.Or(cfg.RefreshRateLimit, DefaultRefreshRateLimit)
	cfg.Logger = cmp.Or(cfg.Logger, slog.Default())
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = oauthhttp.NoRedirects(&http.Client{Timeout: 10 * time.Second})
	}
	s := &Set{cfg: cfg, url: cfg.URL}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// Close stops the background refresh. Key and Keys keep working from the
// last set fetched, fetching only for unknown key ids. It is idempotent.
func (s *Set) Close() error {
	s.cancel()
	return nil
}

// Key returns the key with id kid. An unknown kid causes one refresh, at
// most once per RefreshRateLimit; errors match [ErrKeyNotFound] or
// [ErrUnavailable].
func (s *Set) Key(ctx context.Context, kid string) (jwkset.JWK, error) {
	keys, err := s.current(ctx)
	if err != nil {
		return jwkset.JWK{}, err
	}
	if k, ok := find(keys, kid); ok {
		return k, nil
	}
	now := s.cfg.Now()
	s.mu.Lock()
	allowed := s.lastForced.IsZero() || now.Sub(s.lastForced) >= s.cfg.RefreshRateLimit
	if allowed {
		s.lastForced = now
	}
	s.mu.Unlock()
	if !allowed {
		return jwkset.JWK{}, fmt.Errorf("%w: key id %.80q is unknown and the last refresh was less than %s ago", ErrUnavailable, kid, s.cfg.RefreshRateLimit)
	}
	if keys, err = s.refresh(ctx); err != nil {
		return jwkset.JWK{}, err
	}
	if k, ok := find(keys, kid); ok {
		return k, nil
	}
	return jwkset.JWK{}, fmt.Errorf("%w: %.80q", ErrKeyNotFound, kid)
}

// Keys returns every key of the set, fetching it first if need be.
func (s *Set) Keys(ctx context.Context) ([]jwkset.JWK, error) {
	return s.current(ctx)
}

func find(keys []jwkset.JWK, kid string) (jwkset.JWK, bool) {
	for _, k := range keys {
		if k.Marshal().KID == kid {
			return k, true
		}
	}
	return jwkset.JWK{}, false
}

// current returns the set, fetching it if none has been fetched yet.
func (s *Set) current(ctx context.Context) ([]jwkset.JWK, error) {
	s.mu.Lock()
	keys, loaded, last := s.keys, s.loaded, s.lastFetch
	s.mu.Unlock()
	if loaded {
		return keys, nil
	}
	if !last.IsZero() && s.cfg.Now().Sub(last) < retryAfterFailure {
		return nil, fmt.Errorf("%w: the last fetch failed less than %s ago", ErrUnavailable, retryAfterFailure)
	}
	return s.refresh(ctx)
}

// refresh fetches the set once for all concurrent callers; each stops
// waiting when its own ctx is done, while the fetch runs on the set's own
// context, bounded by the HTTP client's timeout.
func (s *Set) refresh(ctx context.Context) ([]jwkset.JWK, error) {
	ch := s.flights.DoChan("", func() (any, error) {
		return s.fetch(context.WithoutCancel(ctx))
	})
	select {
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, ctx.Err())
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.([]jwkset.JWK), nil
	}
}

func (s *Set) fetch(ctx context.Context) ([]jwkset.JWK, error) {
	s.mu.Lock()
	s.lastFetch = s.cfg.Now()
	u := s.url
	s.mu.Unlock()
	if u == "" {
		md, err := discovery.Fetch(ctx, s.cfg.HTTPClient, s.cfg.Issuer, s.cfg.MaxBytes)
		if err != nil {
			return nil, fmt.Errorf("%w: discovering the jwks_uri: %w", ErrUnavailable, err)
		}
		if md.JWKSURI == "" {
			return nil, fmt.Errorf("%w: %s names no jwks_uri", ErrUnavailable, md.URL)
		}
		if err := oauthhttp.CheckURL(md.JWKSURI, s.cfg.AllowHTTP, s.cfg.InsecureOption); err != nil {
			return nil, fmt.Errorf("%w: the jwks_uri of %s: %w", ErrUnavailable, md.URL, err)
		}
		u = md.JWKSURI
		s.mu.Lock()
		s.url = u
		s.mu.Unlock()
	}
	keys, err := s.get(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	s.mu.Lock()
	s.keys, s.loaded = keys, true
	start := !s.loopStarted
	s.loopStarted = true
	s.mu.Unlock()
	if start {
		go s.loop()
	}
	return keys, nil
}

// get reads and parses the key set at u.
func (s *Set) get(ctx context.Context, u string) ([]jwkset.JWK, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("jwks: %s: %w", u, err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := s.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("jwks: %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("jwks: %s answered %d", u, resp.StatusCode)
	}
	body, err := oauthhttp.ReadBody(resp.Body, s.cfg.MaxBytes)
	if err != nil {
		return nil, fmt.Errorf("jwks: %s: %w", u, err)
	}
	keys, err := Parse(body)
	if err != nil {
		return nil, fmt.Errorf("jwks: %s: %w", u, err)
	}
	return keys, nil
}

// Parse reads a JWK Set document: exact member names, none twice (two
// spellings of "kid" or "alg" must not mean one thing to us and another to
// a second reader), public keys only. Keys of a type jwkset does not know
// are skipped, so that a new kind of key published beside ours does not
// break verification.
func Parse(doc []byte) ([]jwkset.JWK, error) {
	var set jwkset.JWKSMarshal
	if err := strictjson.Unmarshal(doc, &set); err != nil {
		return nil, fmt.Errorf("not a JWK Set: %w", err)
	}
	keys := make([]jwkset.JWK, 0, len(set.Keys))
	for i, m := range set.Keys {
		k, err := jwkset.NewJWKFromMarshal(m, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{})
		if errors.Is(err, jwkset.ErrUnsupportedKey) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("key %d (kid %.80q): %w", i, m.KID, err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// loop refreshes the set every RefreshInterval until Close.
func (s *Set) loop() {
	t := time.NewTicker(s.cfg.RefreshInterval)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
			if _, err := s.refresh(s.ctx); err != nil && s.ctx.Err() == nil {
				s.cfg.Logger.Warn("jwks: background refresh failed; keeping the last key set", "error", err)
			}
		}
	}
}
