// Package postgres implements [users.Store] on PostgreSQL
// (github.com/jackc/pgx/v5), usually the same database as the provider's
// own store (package provider/store/postgres): "tokengate serve --db
// postgres://..." and "tokengate user create --db postgres://..." share it.
//
// The users live in a table of their own, with migrations of their own,
// versioned in the table users_schema: either store opens a database the
// other made, in any order, and migrates only its own tables, under an
// advisory lock so that replicas starting at once do not race. Every write
// is one statement committed durably (synchronous_commit=on, as the
// provider's store sets it): losing one could bring back a changed
// password or a deleted user. The reads every sign-in and userinfo request
// makes are one point read by a unique key.
package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tokengate/tokengate/internal/pgdb"
	"github.com/tokengate/tokengate/provider/users"
)

// Config configures [Open].
type Config struct {
	// DSN is the PostgreSQL connection string (a postgres:// URL or
	// key=value pairs). Required.
	DSN string
	// MaxConns caps the connection pool. Zero means the DSN's
	// pool_max_conns, else pgxpool's default (4, or the number of CPUs if
	// greater).
	MaxConns int32
}

// Store is a [users.Store] on PostgreSQL. It is safe for concurrent use,
// also by several processes on one database.
type Store struct {
	pool *pgxpool.Pool
}

// migrations are applied in order; users_schema holds how many have been.
// Never edit one that has shipped: append a new one.
var migrations = []string{
	// 1: users, their standard claims as a JSON object (users.Profile).
	`CREATE TABLE users (
		subject text PRIMARY KEY,
		username text NOT NULL UNIQUE,
		password_hash text NOT NULL DEFAULT '',
		profile jsonb NOT NULL DEFAULT '{}',
		created_at bigint NOT NULL,
		updated_at bigint NOT NULL
	);`,
}

// Open connects to the database cfg.DSN names and migrates the users'
// table to the current version. ctx bounds the connection and the
// migration. Errors never contain the DSN's password.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	pool, err := pgdb.Connect(ctx, "users/postgres", cfg.DSN, cfg.MaxConns)
	if err != nil {
		return nil, err
	}
	if err := pgdb.Migrate(ctx, pool, "users/postgres", "users_schema", migrations); err != nil {
		pool.Close()
		return nil, err
	}
	return &Store{pool: pool}, nil
}

// SchemaVersion returns how many of the users' migrations the database has.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	return pgdb.SchemaVersion(ctx, s.pool, "users_schema")
}

const userCols = `subject, username, password_hash, profile, created_at, updated_at`

func scanUser(row pgx.Row) (*users.User, error) {
	var u users.User
	var profile []byte
	var created, updated int64
	err := row.Scan(&u.Subject, &u.Username, &u.PasswordHash, &profile, &created, &updated)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, users.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("users/postgres: %w", err)
	}
	if err := json.Unmarshal(profile, &u.Profile); err != nil {
		return nil, fmt.Errorf("users/postgres: the profile of %q: %w", u.Username, err)
	}
	u.CreatedAt, u.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	return &u, nil
}

func profileJSON(u *users.User) (string, error) {
	b, err := json.Marshal(u.Profile)
	if err != nil {
		return "", fmt.Errorf("users/postgres: %w", err)
	}
	return string(b), nil
}

// isConflict reports whether err is a uniqueness or primary key conflict.
func isConflict(err error) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && e.Code == "23505"
}

// CreateUser implements [users.Store].
func (s *Store) CreateUser(ctx context.Context, u *users.User) error {
	profile, err := profileJSON(u)
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO users (`+userCols+`) VALUES ($1,$2,$3,$4,$5,$6)`,
		u.Subject, u.Username, u.PasswordHash, profile, u.CreatedAt.UnixMilli(), u.UpdatedAt.UnixMilli())
	if isConflict(err) {
		return fmt.Errorf("%w: %q", users.ErrExists, u.Username)
	}
	if err != nil {
		return fmt.Errorf("users/postgres: %w", err)
	}
	return nil
}

// User implements [users.Store].
func (s *Store) User(ctx context.Context, subject string) (*users.User, error) {
	return scanUser(s.pool.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE subject = $1`, subject))
}

// UserByUsername implements [users.Store].
func (s *Store) UserByUsername(ctx context.Context, username string) (*users.User, error) {
	return scanUser(s.pool.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE username = $1`, username))
}

// Users implements [users.Store].
func (s *Store) Users(ctx context.Context) ([]*users.User, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+userCols+` FROM users ORDER BY username`)
	if err != nil {
		return nil, fmt.Errorf("users/postgres: %w", err)
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
		return nil, fmt.Errorf("users/postgres: %w", err)
	}
	return out, nil
}

// UpdateUser implements [users.Store].
func (s *Store) UpdateUser(ctx context.Context, u *users.User) error {
	profile, err := profileJSON(u)
	if err != nil {
		return err
	}
	return s.writeOne(ctx, `UPDATE users SET username = $1, password_hash = $2, profile = $3, created_at = $4, updated_at = $5
		WHERE subject = $6`, u.Username, u.PasswordHash, profile, u.CreatedAt.UnixMilli(), u.UpdatedAt.UnixMilli(), u.Subject)
}

// DeleteUser implements [users.Store].
func (s *Store) DeleteUser(ctx context.Context, subject string) error {
	return s.writeOne(ctx, `DELETE FROM users WHERE subject = $1`, subject)
}

// writeOne runs a statement that changes one user, or none: users.ErrNotFound.
func (s *Store) writeOne(ctx context.Context, query string, args ...any) error {
	tag, err := s.pool.Exec(ctx, query, args...)
	if isConflict(err) {
		return users.ErrExists
	}
	if err != nil {
		return fmt.Errorf("users/postgres: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return users.ErrNotFound
	}
	return nil
}

// Close closes the pool, waiting for the connections in use.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

var _ users.Store = (*Store)(nil)
