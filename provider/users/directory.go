package users

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tokengate/tokengate/internal/throttle"
)

// Errors of a [Directory], for errors.Is.
var (
	// ErrInvalidCredentials means the username or the password is wrong;
	// which of the two, on purpose, it does not say.
	ErrInvalidCredentials = errors.New("users: wrong username or password")
	// ErrThrottled means too many sign-in attempts failed lately for this
	// username from this address, or from this address; the error is a
	// [*ThrottleError] that says when to try again. Nothing was checked.
	ErrThrottled = errors.New("users: too many failed sign-in attempts")
	// ErrBusy means so many passwords are being checked that this attempt
	// was refused rather than queued (Config.MaxConcurrentHashes); nothing
	// was checked. Try again shortly.
	ErrBusy = errors.New("users: too many sign-ins at once")
	// ErrInvalidUsername means a username that cannot be created: empty,
	// longer than MaxUsernameBytes, not UTF-8, with control characters or
	// with spaces around it.
	ErrInvalidUsername = errors.New("users: invalid username")
	// ErrInvalidPassword means a password that cannot be set: shorter than
	// Config.MinPasswordLength or longer than MaxPasswordBytes.
	ErrInvalidPassword = errors.New("users: invalid password")
)

// ThrottleError is the error of an attempt refused by throttling; it
// matches [ErrThrottled].
type ThrottleError struct {
	// RetryAfter is how long until an attempt may go ahead again.
	RetryAfter time.Duration
}

func (e *ThrottleError) Error() string {
	return fmt.Sprintf("%v; try again in %v", ErrThrottled, e.RetryAfter.Round(time.Second))
}

// Is reports whether target is [ErrThrottled].
func (e *ThrottleError) Is(target error) bool { return target == ErrThrottled }

// Defaults and limits of [Config].
const (
	DefaultMinPasswordLength = 8
	DefaultFailuresPerMinute = 10
	MaxUsernameBytes         = 150
)

// Config configures a [Directory].
type Config struct {
	// Store keeps the users. Required.
	Store Store
	// Params is the Argon2id cost of new hashes. The zero value means
	// [DefaultParams].
	Params Params
	// MinPasswordLength is the fewest characters a new password may have.
	// Defaults to DefaultMinPasswordLength (8, NIST SP 800-63B §3.1.1.2).
	MinPasswordLength int
	// MaxConcurrentHashes is how many passwords are hashed at once at
	// most. Defaults to half of GOMAXPROCS (at least 1), so that sign-ins
	// always leave CPUs to the rest of the server.
	MaxConcurrentHashes int
	// MaxQueuedHashes is how many attempts may wait for a hashing slot;
	// more are refused at once with [ErrBusy]. Defaults to 8 per
	// concurrent hash.
	MaxQueuedHashes int
	// FailuresPerMinute is how many failed sign-ins one username may have
	// from one address, at once and then per minute, before attempts from
	// there are refused with [ErrThrottled]; one address may fail five
	// times as often across usernames, except for a user who signed in
	// from it lately. Nothing is counted per username alone, so that no
	// one can lock a user out. Defaults to DefaultFailuresPerMinute (10).
	FailuresPerMinute int
	// Now returns the current time. Defaults to time.Now.
	Now func() time.Time
}

// Directory signs users in and manages them on a [Store]. It is safe for
// concurrent use and starts no goroutines.
type Directory struct {
	store     Store
	params    Params
	minLength int
	gate      *gate
	limiter   *throttle.Limiter
	now       func() time.Time
	// onHash, if set (by tests), is called with the parameters of every
	// hash computed, inside the gate.
	onHash func(Params)
}

// New returns a Directory for cfg. A negative number is an error.
func New(cfg Config) (*Directory, error) {
	if cfg.Store == nil {
		return nil, errors.New("users: Config.Store is required")
	}
	if cfg.MinPasswordLength < 0 || cfg.MaxConcurrentHashes < 0 || cfg.MaxQueuedHashes < 0 || cfg.FailuresPerMinute < 0 {
		return nil, fmt.Errorf("users: a negative number in Config (MinPasswordLength %d, MaxConcurrentHashes %d, MaxQueuedHashes %d, FailuresPerMinute %d)",
			cfg.MinPasswordLength, cfg.MaxConcurrentHashes, cfg.MaxQueuedHashes, cfg.FailuresPerMinute)
	}
	if cfg.Params == (Params{}) {
		cfg.Params = DefaultParams()
	}
	if err := cfg.Params.check(); err != nil {
		return nil, fmt.Errorf("users: Config.Params: %s", err)
	}
	if cfg.MinPasswordLength == 0 {
		cfg.MinPasswordLength = DefaultMinPasswordLength
	}
	if cfg.MaxConcurrentHashes == 0 {
		cfg.MaxConcurrentHashes = max(1, runtime.GOMAXPROCS(0)/2)
	}
	if cfg.MaxQueuedHashes == 0 {
		cfg.MaxQueuedHashes = 8 * cfg.MaxConcurrentHashes
	}
	if cfg.FailuresPerMinute == 0 {
		cfg.FailuresPerMinute = DefaultFailuresPerMinute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	perFailure := time.Minute / time.Duration(cfg.FailuresPerMinute)
	limiter, err := throttle.New(throttle.Config{
		PairBurst:       cfg.FailuresPerMinute,
		PairInterval:    perFailure,
		AddressBurst:    5 * cfg.FailuresPerMinute,
		AddressInterval: perFailure / 5,
		Now:             cfg.Now,
	})
	if err != nil {
		return nil, fmt.Errorf("users: %w", err)
	}
	return &Directory{
		store:     cfg.Store,
		params:    cfg.Params,
		minLength: cfg.MinPasswordLength,
		gate:      newGate(cfg.MaxConcurrentHashes, cfg.MaxQueuedHashes),
		limiter:   limiter,
		now:       cfg.Now,
	}, nil
}

// Authenticate checks username and password for a sign-in from address
// (the client's IP address, for throttling) and returns the user. It fails
// with [ErrInvalidCredentials] for an unknown user and a wrong password
// alike, after the same work, with a [*ThrottleError] before any work when
// there were too many failures, and with [ErrBusy] when too many passwords
// are being checked at once. A hash made with other parameters than the
// current ones is replaced after a successful check.
func (d *Directory) Authenticate(ctx context.Context, username, password, address string) (*User, error) {
	if wait := d.limiter.Check(username, address); wait > 0 {
		return nil, &ThrottleError{RetryAfter: wait}
	}
	if err := d.gate.enter(ctx); err != nil {
		return nil, err
	}
	defer d.gate.leave()
	u, err := d.store.UserByUsername(ctx, username)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("users: looking up a user: %w", err)
	}
	hash := decoy(d.params)
	if u != nil && u.PasswordHash != "" {
		if h, err := parseHash(u.PasswordHash); err == nil {
			hash = h
		} else {
			u = nil // a hash we cannot read signs no one in; still do the work
		}
	} else {
		u = nil
	}
	if len(password) > MaxPasswordBytes || !d.matches(hash, password) || u == nil {
		d.limiter.Failed(username, address)
		return nil, ErrInvalidCredentials
	}
	d.limiter.Succeeded(username, address)
	if hash.params != d.params {
		u.PasswordHash = d.newHash(password)
		u.UpdatedAt = d.now()
		// Failing to upgrade the hash does not fail the sign-in: the old
		// one still works, and the next sign-in tries again.
		_ = d.store.UpdateUser(ctx, u)
	}
	return u, nil
}

// Create adds a user with a new random subject, or fails with
// [ErrInvalidUsername], [ErrInvalidPassword] or [ErrExists].
func (d *Directory) Create(ctx context.Context, username, password string, profile Profile) (*User, error) {
	if err := checkUsername(username); err != nil {
		return nil, err
	}
	if err := d.checkPassword(password); err != nil {
		return nil, err
	}
	hash, err := d.hash(ctx, password)
	if err != nil {
		return nil, err
	}
	now := d.now()
	u := &User{Subject: rand.Text(), Username: username, PasswordHash: hash, Profile: profile, CreatedAt: now, UpdatedAt: now}
	if err := d.store.CreateUser(ctx, u); err != nil {
		return nil, err
	}
	return u, nil
}

// SetPassword replaces the password of the user called username, or fails
// with [ErrNotFound] or [ErrInvalidPassword].
func (d *Directory) SetPassword(ctx context.Context, username, password string) error {
	if err := d.checkPassword(password); err != nil {
		return err
	}
	u, err := d.store.UserByUsername(ctx, username)
	if err != nil {
		return err
	}
	if u.PasswordHash, err = d.hash(ctx, password); err != nil {
		return err
	}
	u.UpdatedAt = d.now()
	return d.store.UpdateUser(ctx, u)
}

// hash hashes password under the gate, so that administrative calls count
// towards the bound on concurrent hashes too.
func (d *Directory) hash(ctx context.Context, password string) (string, error) {
	if err := d.gate.enter(ctx); err != nil {
		return "", err
	}
	defer d.gate.leave()
	return d.newHash(password), nil
}

// newHash and matches hash a password; the caller holds a slot of the gate.
func (d *Directory) newHash(password string) string {
	if d.onHash != nil {
		d.onHash(d.params)
	}
	return hashPassword(password, d.params)
}

func (d *Directory) matches(h *parsedHash, password string) bool {
	if d.onHash != nil {
		d.onHash(h.params)
	}
	return h.matches(password)
}

// Lookup returns the user called username, or [ErrNotFound].
func (d *Directory) Lookup(ctx context.Context, username string) (*User, error) {
	return d.store.UserByUsername(ctx, username)
}

// User returns the user with the given subject, or [ErrNotFound].
func (d *Directory) User(ctx context.Context, subject string) (*User, error) {
	return d.store.User(ctx, subject)
}

// List returns every user, ordered by username.
func (d *Directory) List(ctx context.Context) ([]*User, error) {
	return d.store.Users(ctx)
}

// Delete removes the user called username and returns what it was, or
// fails with [ErrNotFound]. The user's sessions, consents and tokens are
// the provider's: revoke them there.
func (d *Directory) Delete(ctx context.Context, username string) (*User, error) {
	u, err := d.store.UserByUsername(ctx, username)
	if err != nil {
		return nil, err
	}
	if err := d.store.DeleteUser(ctx, u.Subject); err != nil {
		return nil, err
	}
	return u, nil
}

func checkUsername(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("%w: it is empty", ErrInvalidUsername)
	case len(s) > MaxUsernameBytes:
		return fmt.Errorf("%w: longer than %d bytes", ErrInvalidUsername, MaxUsernameBytes)
	case !utf8.ValidString(s):
		return fmt.Errorf("%w: not UTF-8", ErrInvalidUsername)
	case strings.TrimSpace(s) != s:
		return fmt.Errorf("%w: spaces around it", ErrInvalidUsername)
	case strings.ContainsFunc(s, unicode.IsControl):
		return fmt.Errorf("%w: control characters", ErrInvalidUsername)
	}
	return nil
}

func (d *Directory) checkPassword(s string) error {
	switch {
	case len(s) > MaxPasswordBytes:
		return fmt.Errorf("%w: longer than %d bytes", ErrInvalidPassword, MaxPasswordBytes)
	case utf8.RuneCountInString(s) < d.minLength:
		return fmt.Errorf("%w: shorter than %d characters", ErrInvalidPassword, d.minLength)
	}
	return nil
}
