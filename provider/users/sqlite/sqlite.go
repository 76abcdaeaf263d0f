// Package sqlite implements [users.Store] on an embedded SQLite database
// (modernc.org/sqlite: pure Go, no cgo), usually the same file as the
// provider's own store (package provider/store/sqlite): "tokengate serve
// --db PATH" and "tokengate user create --db PATH" share it.
//
// The users live in tables of their own, with migrations of their own,
// versioned in the table users_schema (the provider's store versions its
// tables with PRAGMA user_version): either store opens a file the other
// made, in any order, and migrates only its own tables.
//
// Every write commits with synchronous=FULL: losing one to a power cut
// could bring back a changed password or a deleted user. Writes are rare
// (an administrator's commands, a hash upgraded at sign-in), and reads,
// which every sign-in and userinfo request makes, do not wait for them (WAL
// mode).
package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tokengate/tokengate/provider/users"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
	sqlite3 "modernc.org/sqlite/lib"
)

// Config configures [Open].
type Config struct {
	// Path is the database file, created (mode 0600) if it does not exist;
	// an existing file that group or others may access is narrowed to
	// owner-only, as password hashes are in it. ":memory:" is refused:
	// each pooled connection would see its own empty database.
	Path string
	// BusyTimeout is how long a statement waits for another process's
	// write lock. Defaults to 5s.
	BusyTimeout time.Duration
	// MaxOpenConns caps the connection pool. Defaults to 4.
	MaxOpenConns int
}

// Store is a [users.Store] on a SQLite file. It is safe for concurrent use,
// also by several processes on the same file.
type Store struct {
	db *sql.DB
	// writeMu serialises this process's writes (SQLite admits one writer;
	// queueing here is faster than sleeping in the busy handler).
	writeMu sync.Mutex
	// bySubject and byUsername are the point reads every sign-in and
	// userinfo request makes, prepared once.
	bySubject, byUsername *sql.Stmt
}

// migrations are applied in order; users_schema holds how many have been.
// Never edit one that has shipped: append a new one.
var migrations = []string{
	// 1: users, their standard claims as a JSON object (users.Profile).
	`CREATE TABLE users (
		subject TEXT PRIMARY KEY,
		username TEXT NOT NULL UNIQUE,
		password_hash TEXT NOT NULL DEFAULT '',
		profile TEXT NOT NULL DEFAULT '{}',
		created_at INTEGER NOT NULL,
		updated_at INTEGER NOT NULL
	);`,
}

// Open opens (creating if needed) the database at cfg.Path and migrates the
// users' tables to the current version.
func Open(cfg Config) (*Store, error) {
	if cfg.Path == "" || cfg.Path == ":memory:" || strings.HasPrefix(cfg.Path, "file:") {
		return nil, fmt.Errorf("users/sqlite: Config.Path must be a file path, not %q", cfg.Path)
	}
	if cfg.BusyTimeout < 0 || cfg.MaxOpenConns < 0 {
		return nil, fmt.Errorf("users/sqlite: Config.BusyTimeout %v or MaxOpenConns %d is negative", cfg.BusyTimeout, cfg.MaxOpenConns)
	}
	if cfg.BusyTimeout == 0 {
		cfg.BusyTimeout = 5 * time.Second
	}
	if cfg.MaxOpenConns == 0 {
		cfg.MaxOpenConns = 4
	}
	if err := createOwnerOnly(cfg.Path); err != nil {
		return nil, err
	}
	q := url.Values{}
	q.Set("_busy_timeout", fmt.Sprint(cfg.BusyTimeout.Milliseconds()))
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "FULL")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: cfg.Path}).EscapedPath()+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("users/sqlite: %w", err)
	}
	db.SetMaxOpenConns(cfg.MaxOpenConns)
	db.SetMaxIdleConns(cfg.MaxOpenConns)
	db.SetConnMaxLifetime(0)
	s := &Store{db: db}
	if err := s.migrate(context.Background()); err != nil {
		db.Close()
		return nil, err
	}
	if s.bySubject, err = db.Prepare(`SELECT ` + userCols + ` FROM users WHERE subject = ?`); err == nil {
		s.byUsername, err = db.Prepare(`SELECT ` + userCols + ` FROM users WHERE username = ?`)
	}
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("users/sqlite: %w", err)
	}
	return s, nil
}

// createOwnerOnly creates path with mode 0600 if it is missing, and narrows
// an existing file (and its -wal and -shm files) that others may read.
func createOwnerOnly(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("users/sqlite: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("users/sqlite: %w", err)
	}
	if fi.Mode().Perm()&0o077 == 0 {
		return nil
	}
	if err := f.Chmod(fi.Mode().Perm() & 0o700); err != nil {
		return fmt.Errorf("users/sqlite: %s is readable by others and cannot be made owner-only: %w", path, err)
	}
	for _, suffix := range []string{"-wal", "-shm", "-journal"} {
		if err := os.Chmod(path+suffix, 0o600); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("users/sqlite: %w", err)
		}
	}
	return nil
}

// migrate applies the migrations the database lacks. An up-to-date database
// is only read; otherwise each migration runs in an immediate transaction
// that re-reads the version, so two processes opening a new file at once do
// not both apply one.
func (s *Store) migrate(ctx context.Context) error {
	version, err := s.SchemaVersion(ctx)
	if err != nil {
		return fmt.Errorf("users/sqlite: migrate: %w", err)
	}
	for version < len(migrations) {
		if version, err = s.migrateOnce(ctx); err != nil {
			return err
		}
	}
	if version > len(migrations) {
		return fmt.Errorf("users/sqlite: the users' schema version %d is newer than this program's %d", version, len(migrations))
	}
	return nil
}

// migrateOnce applies the next migration, if any is still missing once the
// write lock is held, and returns the version after it.
func (s *Store) migrateOnce(ctx context.Context) (int, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("users/sqlite: migrate: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS users_schema (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL)`); err != nil {
		return 0, fmt.Errorf("users/sqlite: migrate: %w", err)
	}
	var version int
	err = tx.QueryRowContext(ctx, `SELECT version FROM users_schema WHERE id = 1`).Scan(&version)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("users/sqlite: migrate: %w", err)
	}
	if version >= len(migrations) {
		return version, nil
	}
	if _, err := tx.ExecContext(ctx, migrations[version]); err != nil {
		return 0, fmt.Errorf("users/sqlite: migration %d: %w", version+1, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO users_schema (id, version) VALUES (1, ?)
		ON CONFLICT (id) DO UPDATE SET version = excluded.version`, version+1); err != nil {
		return 0, fmt.Errorf("users/sqlite: migration %d: %w", version+1, err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("users/sqlite: migration %d: %w", version+1, err)
	}
	return version + 1, nil
}

// SchemaVersion returns how many of the users' migrations the database has.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var exists bool
	if err := s.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'users_schema')`).Scan(&exists); err != nil || !exists {
		return 0, err
	}
	var version int
	err := s.db.QueryRowContext(ctx, `SELECT version FROM users_schema WHERE id = 1`).Scan(&version)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return version, err
}

const userCols = `subject, username, password_hash, profile, created_at, updated_at`

func scanUser(row interface{ Scan(...any) error }) (*users.User, error) {
	var u users.User
	var profile string
	var created, updated int64
	err := row.Scan(&u.Subject, &u.Username, &u.PasswordHash, &profile, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, users.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("users/sqlite: %w", err)
	}
	if err := json.Unmarshal([]byte(profile), &u.Profile); err != nil {
		return nil, fmt.Errorf("users/sqlite: the profile of %q: %w", u.Username, err)
	}
	u.CreatedAt, u.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	return &u, nil
}

func profileJSON(u *users.User) (string, error) {
	b, err := json.Marshal(u.Profile)
	if err != nil {
		return "", fmt.Errorf("users/sqlite: %w", err)
	}
	return string(b), nil
}

// isConstraint reports whether err is a uniqueness or primary key conflict.
func isConstraint(err error) bool {
	var e interface{ Code() int }
	return errors.As(err, &e) && slices.Contains([]int{sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE}, e.Code())
}

// CreateUser implements [users.Store].
func (s *Store) CreateUser(ctx context.Context, u *users.User) error {
	profile, err := profileJSON(u)
	if err != nil {
		return err
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	_, err = s.db.ExecContext(ctx, `INSERT INTO users (`+userCols+`) VALUES (?,?,?,?,?,?)`,
		u.Subject, u.Username, u.PasswordHash, profile, u.CreatedAt.UnixMilli(), u.UpdatedAt.UnixMilli())
	if isConstraint(err) {
		return fmt.Errorf("%w: %q", users.ErrExists, u.Username)
	}
	if err != nil {
		return fmt.Errorf("users/sqlite: %w", err)
	}
	return nil
}

// User implements [users.Store].
func (s *Store) User(ctx context.Context, subject string) (*users.User, error) {
	return scanUser(s.bySubject.QueryRowContext(pointRead(ctx), subject))
}

// UserByUsername implements [users.Store].
func (s *Store) UserByUsername(ctx context.Context, username string) (*users.User, error) {
	return scanUser(s.byUsername.QueryRowContext(pointRead(ctx), username))
}

// pointRead detaches a one-row read by a unique key from cancellation:
// modernc.org/sqlite starts a goroutine per query to watch a cancellable
// context, which costs more than the read itself, and the read is bounded
// by the busy timeout anyway (as in provider/store/sqlite).
func pointRead(ctx context.Context) context.Context { return context.WithoutCancel(ctx) }

// Users implements [users.Store].
func (s *Store) Users(ctx context.Context) ([]*users.User, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+userCols+` FROM users ORDER BY username`)
	if err != nil {
		return nil, fmt.Errorf("users/sqlite: %w", err)
	}
	defer rows.Close()
	var out []*users.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("users/sqlite: %w", err)
	}
	return out, nil
}

// UpdateUser implements [users.Store].
func (s *Store) UpdateUser(ctx context.Context, u *users.User) error {
	profile, err := profileJSON(u)
	if err != nil {
		return err
	}
	return s.writeOne(ctx, `UPDATE users SET username = ?, password_hash = ?, profile = ?, created_at = ?, updated_at = ? WHERE subject = ?`,
		u.Username, u.PasswordHash, profile, u.CreatedAt.UnixMilli(), u.UpdatedAt.UnixMilli(), u.Subject)
}

// DeleteUser implements [users.Store].
func (s *Store) DeleteUser(ctx context.Context, subject string) error {
	return s.writeOne(ctx, `DELETE FROM users WHERE subject = ?`, subject)
}

// writeOne runs a statement that changes one user, or none: users.ErrNotFound.
func (s *Store) writeOne(ctx context.Context, query string, args ...any) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	res, err := s.db.ExecContext(ctx, query, args...)
	if isConstraint(err) {
		return users.ErrExists
	}
	if err != nil {
		return fmt.Errorf("users/sqlite: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("users/sqlite: %w", err)
	} else if n == 0 {
		return users.ErrNotFound
	}
	return nil
}

// Close releases the database.
func (s *Store) Close() error {
	for _, st := range []*sql.Stmt{s.bySubject, s.byUsername} {
		if st != nil {
			st.Close()
		}
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("users/sqlite: %w", err)
	}
	return nil
}

var _ users.Store = (*Store)(nil)
