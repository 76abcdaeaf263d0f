package rediscache

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tokengate/tokengate/internal/lograte"
	"github.com/tokengate/tokengate/introspect"
)

// Defaults for the zero values of [Config].
const (
	DefaultOpTimeout = 50 * time.Millisecond
	DefaultCooldown  = time.Second
)

// ErrUnavailable means Redis could not be reached within Config.OpTimeout,
// or was not asked because it failed less than Config.Cooldown ago.
var ErrUnavailable = errors.New("rediscache: redis unavailable")

// Config configures a [Store]. Exactly one of URL and Client is required.
type Config struct {
	// URL is the Redis server: redis://[[user]:password@]host[:port][/db],
	// rediss:// for TLS, or unix:// for a socket. The client made from it
	// bounds every operation by OpTimeout and does not retry.
	URL string
	// Client is a client of your own (for Redis Cluster, Sentinel, or
	// options of your choice). It must respect context deadlines: a
	// *redis.Client or *redis.ClusterClient without ContextTimeoutEnabled
	// is an error, since a slow Redis would then hold requests for its
	// ReadTimeout (5s by default) instead of OpTimeout. Close does not close
	// it.
	Client redis.UniversalClient
	// OpTimeout bounds each Get, Set and Delete. Defaults to
	// [DefaultOpTimeout]: a shared-tier hit on a nearby Redis takes well
	// under a millisecond, and a miss waits for it before introspecting.
	OpTimeout time.Duration
	// Cooldown is how long, after Redis could not be reached, operations
	// fail at once with [ErrUnavailable] before one tries again. An error
	// answered by Redis itself (such as OOM when it is full) does not start
	// one. Defaults to [DefaultCooldown].
	Cooldown time.Duration
	// Now returns the current time, for the cooldown. Defaults to time.Now.
	Now func() time.Time
}

// Store is an introspect.SharedCache on Redis. It is safe for concurrent
// use; it starts no goroutine of its own beyond the client's connection
// pool, which Close releases.
type Store struct {
	client redis.UniversalClient
	owned  bool // client was made from Config.URL, so Close closes it
	cfg    Config
	// downUntil is when the cooldown after a failure ends (Unix ns; 0 for
	// none).
	downUntil atomic.Int64
}

// New returns a Store for cfg, or an error naming the field to fix. It
// does not touch the network; call [Store.Ping] at start-up to check the
// address and credentials.
func New(cfg Config) (*Store, error) {
	if (cfg.URL == "") == (cfg.Client == nil) {
		return nil, errors.New("rediscache: exactly one of Config.URL and Config.Client must be set")
	}
	if cfg.OpTimeout < 0 || cfg.Cooldown < 0 {
		return nil, errors.New("rediscache: Config.OpTimeout and Config.Cooldown must not be negative")
	}
	cfg.OpTimeout = cmp.Or(cfg.OpTimeout, DefaultOpTimeout)
	cfg.Cooldown = cmp.Or(cfg.Cooldown, DefaultCooldown)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Store{cfg: cfg, client: cfg.Client}
	switch c := cfg.Client.(type) {
	case nil:
		opts, err := redis.ParseURL(cfg.URL)
		if err != nil {
			// The error may quote the URL, password included.
			return nil, errors.New("rediscache: Config.URL is not a Redis URL (redis://, rediss:// or unix://)")
		}
		BoundOptions(opts, cfg.OpTimeout)
		s.client, s.owned = redis.NewClient(opts), true
	case *redis.Client:
		if !c.Options().ContextTimeoutEnabled {
			return nil, errors.New("rediscache: Config.Client: set ContextTimeoutEnabled in its options, or Redis may hold requests beyond OpTimeout")
		}
	case *redis.ClusterClient:
		if !c.Options().ContextTimeoutEnabled {
			return nil, errors.New("rediscache: Config.Client: set ContextTimeoutEnabled in its options, or Redis may hold requests beyond OpTimeout")
		}
	}
	return s, nil
}

// BoundOptions sets what a client on the request path needs: context
// deadlines respected, socket and pool waits of at most timeout, no
// retries (a retry cannot fit in a budget of a few milliseconds), and the
// client not announcing itself with CLIENT SETINFO. Use it on the options
// of a client you pass as Config.Client, or to revocationfeed.
func BoundOptions(opts *redis.Options, timeout time.Duration) {
	opts.ContextTimeoutEnabled = true
	opts.DialTimeout = timeout
	opts.ReadTimeout = timeout
	opts.WriteTimeout = timeout
	opts.PoolTimeout = timeout
	opts.MaxRetries = -1
	opts.DialerRetries = 1
	opts.DisableIdentity = true
}

// Logger adapts log for go-redis, whose own log lines (a failed dial, a
// broken pool) go to one package-level logger: redis.SetLogger(
// rediscache.Logger(log)) sends them to log at Warn level, at most one line
// per 10 seconds with a count of those held back, so that a Redis that is
// down does not flood the logs. It is for programs to call once; a library
// leaves the process's loggers alone.
func Logger(log *slog.Logger) interface {
	Printf(ctx context.Context, format string, v ...any)
} {
	return &goRedisLogger{log: log}
}

type goRedisLogger struct {
	log   *slog.Logger
	limit lograte.Limiter
}

func (l *goRedisLogger) Printf(ctx context.Context, format string, v ...any) {
	if ok, suppressed := l.limit.Allow(time.Now()); ok {
		l.log.WarnContext(ctx, "redis: "+fmt.Sprintf(format, v...), "suppressed_since_last", suppressed)
	}
}

// Get returns the value under key, and false when there is none.
func (s *Store) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if err := s.allow(); err != nil {
		return nil, false, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.OpTimeout)
	defer cancel()
	v, err := s.client.Get(ctx, key).Bytes()
	switch {
	case errors.Is(err, redis.Nil):
		return nil, false, nil
	case err != nil:
		return nil, false, s.failed("GET", err)
	}
	return v, true, nil
}

// Set stores value under key for ttl. A ttl under a millisecond (Redis's
// resolution) stores nothing, lest it round to no expiry.
func (s *Store) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if ttl < time.Millisecond {
		return nil
	}
	if err := s.allow(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.OpTimeout)
	defer cancel()
	if err := s.client.Set(ctx, key, value, ttl).Err(); err != nil {
		return s.failed("SET", err)
	}
	return nil
}

// Delete removes key.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := s.allow(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.OpTimeout)
	defer cancel()
	if err := s.client.Del(ctx, key).Err(); err != nil {
		return s.failed("DEL", err)
	}
	return nil
}

// Ping checks that Redis answers, ignoring the cooldown and bounded by ctx
// alone: call it at start-up, so that a wrong address or password shows
// there.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("%w: PING: %w", ErrUnavailable, err)
	}
	return nil
}

// Close releases the client made from Config.URL; a Config.Client is left
// open for its owner.
func (s *Store) Close() error {
	if s.owned {
		return s.client.Close()
	}
	return nil
}

// allow fails at once during the cooldown after a failure to reach Redis.
func (s *Store) allow() error {
	if until := s.downUntil.Load(); until != 0 && s.cfg.Now().UnixNano() < until {
		return fmt.Errorf("%w: failed less than %v ago", ErrUnavailable, s.cfg.Cooldown)
	}
	return nil
}

// failed categorizes err: an error Redis answered (OOM, WRONGTYPE, …) is
// returned as it is; anything else means Redis was not reached in time,
// and starts the cooldown.
func (s *Store) failed(op string, err error) error {
	if _, answered := errors.AsType[redis.Error](err); answered {
		return fmt.Errorf("rediscache: %s: %w", op, err)
	}
	s.downUntil.Store(s.cfg.Now().Add(s.cfg.Cooldown).UnixNano())
	return fmt.Errorf("%w: %s: %w", ErrUnavailable, op, err)
}

var _ introspect.SharedCache = (*Store)(nil)
