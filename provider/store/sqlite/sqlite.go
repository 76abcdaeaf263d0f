// Package sqlite implements the provider's [store.Store] on an embedded
// SQLite database (modernc.org/sqlite: pure Go, no cgo).
//
// The database runs in WAL mode with a busy timeout, so several processes —
// "tokengate serve" and "tokengate client create", say — can use one file at
// once: readers never block, and a writer waits for another instead of
// failing. Schema migrations are versioned (PRAGMA user_version) and run when
// the store is opened.
package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/tokengate/tokengate/provider/store"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Config configures [Open].
type Config struct {
	// Path is the database file. It is created (mode 0600: it holds private
	// signing keys) if it does not exist; an existing file that group or
	// others may access is narrowed to owner-only. ":memory:" is refused:
	// each pooled connection would see its own empty database.
	Path string
	// BusyTimeout is how long a statement waits for another process's write
	// lock. Defaults to 5s.
	BusyTimeout time.Duration
	// MaxOpenConns caps the connection pool. Defaults to 8.
	MaxOpenConns int
}

// Store is a [store.Store] on a SQLite file. It is safe for concurrent use,
// also by several processes on the same file.
type Store struct {
	// db is the pool of read/write connections (writes take the lock at
	// BEGIN, see the _txlock DSN parameter).
	db *sql.DB
	// writeMu serialises this process's writes: SQLite admits one writer
	// at a time, and a writer that finds the lock taken sleeps in the busy
	// handler (milliseconds), so queueing here is much faster under load.
	// Other processes are still arbitrated by the busy timeout.
	writeMu sync.Mutex

	getClient, getToken *sql.Stmt
}

// migrations are applied in order; the database's user_version is the number
// applied so far. Never edit one that has shipped: append a new one.
var migrations = []string{
	// 1: initial schema.
	`CREATE TABLE clients (
		id TEXT PRIMARY KEY,
		secret_hash BLOB,
		name TEXT NOT NULL DEFAULT '',
		scopes TEXT NOT NULL DEFAULT '[]',
		grant_types TEXT NOT NULL DEFAULT '[]',
		resources TEXT NOT NULL DEFAULT '[]',
		token_lifetime_ms INTEGER NOT NULL DEFAULT 0,
		introspection INTEGER NOT NULL DEFAULT 0,
		access_token_format TEXT NOT NULL DEFAULT '',
		introspection_signed_response_alg TEXT NOT NULL DEFAULT '',
		introspection_encrypted_response_alg TEXT NOT NULL DEFAULT '',
		introspection_encrypted_response_enc TEXT NOT NULL DEFAULT '',
		jwks TEXT NOT NULL DEFAULT '',
		jwks_uri TEXT NOT NULL DEFAULT '',
		created_at INTEGER NOT NULL
	);
	CREATE TABLE tokens (
		hash BLOB PRIMARY KEY,
		client_id TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
		subject TEXT NOT NULL DEFAULT '',
		scope TEXT NOT NULL DEFAULT '',
		audience TEXT NOT NULL DEFAULT '[]',
		jti TEXT NOT NULL DEFAULT '',
		grant_id TEXT NOT NULL DEFAULT '',
		format TEXT NOT NULL DEFAULT '',
		claims BLOB,
		issued_at INTEGER NOT NULL,
		expires_at INTEGER NOT NULL,
		revoked INTEGER NOT NULL DEFAULT 0
	) WITHOUT ROWID;
	CREATE INDEX tokens_expires_at ON tokens(expires_at);
	CREATE INDEX tokens_grant_id ON tokens(grant_id);
	CREATE INDEX tokens_client_id ON tokens(client_id);
	CREATE TABLE keys (
		id TEXT PRIMARY KEY,
		alg TEXT NOT NULL,
		private BLOB NOT NULL,
		created_at INTEGER NOT NULL,
		retired_at INTEGER NOT NULL DEFAULT 0,
		not_after INTEGER NOT NULL DEFAULT 0
	);`,
}

// Open opens (creating if needed) the database at cfg.Path and migrates it to
// the current schema version.
func Open(cfg Config) (*Store, error) {
	if cfg.Path == "" || cfg.Path == ":memory:" || strings.HasPrefix(cfg.Path, "file:") {
		return nil, fmt.Errorf("sqlite: Config.Path must be a file path, not %q", cfg.Path)
	}
	if cfg.BusyTimeout <= 0 {
		cfg.BusyTimeout = 5 * time.Second
	}
	if cfg.MaxOpenConns <= 0 {
		cfg.MaxOpenConns = 8
	}
	// Create the file with owner-only permissions before SQLite does.
	f, err := os.OpenFile(cfg.Path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	err = ownerOnly(f)
	f.Close()
	if err != nil {
		return nil, err
	}

	q := url.Values{}
	q.Set("_busy_timeout", fmt.Sprint(cfg.BusyTimeout.Milliseconds()))
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "NORMAL")
	q.Set("_foreign_keys", "1")
	q.Set("_txlock", "immediate")
	dsn := "file:" + (&url.URL{Path: cfg.Path}).EscapedPath() + "?" + q.Encode()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	db.SetMaxOpenConns(cfg.MaxOpenConns)
	db.SetMaxIdleConns(cfg.MaxOpenConns)
	db.SetConnMaxLifetime(0)
	s := &Store{db: db}
	if err := s.migrate(context.Background()); err != nil {
		db.Close()
		return nil, err
	}
	if s.getClient, err = db.Prepare(`SELECT ` + clientCols + ` FROM clients WHERE id = ?`); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	if s.getToken, err = db.Prepare(`SELECT ` + tokenCols + ` FROM tokens WHERE hash = ?`); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	return s, nil
}

// ownerOnly narrows the mode of an existing database file (made by touch,
// or copied) that group or others may read: it holds private signing keys.
// SQLite gives its -wal and -shm files the database's mode when it creates
// them; ones left over from before are narrowed too.
func ownerOnly(f *os.File) error {
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	if fi.Mode().Perm()&0o077 == 0 {
		return nil
	}
	if err := f.Chmod(fi.Mode().Perm() & 0o700); err != nil {
		return fmt.Errorf("sqlite: %s is readable by others and cannot be made owner-only: %w", f.Name(), err)
	}
	for _, suffix := range []string{"-wal", "-shm", "-journal"} {
		if err := os.Chmod(f.Name()+suffix, 0o600); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("sqlite: %w", err)
		}
	}
	return nil
}

// migrate applies the migrations the database lacks, each in its own
// immediate transaction, so two processes opening a new file at once do not
// both apply one.
func (s *Store) migrate(ctx context.Context) error {
	for {
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("sqlite: migrate: %w", err)
		}
		var version int
		if err := tx.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&version); err != nil {
			tx.Rollback()
			return fmt.Errorf("sqlite: migrate: %w", err)
		}
		if version > len(migrations) {
			tx.Rollback()
			return fmt.Errorf("sqlite: database schema version %d is newer than this program's %d", version, len(migrations))
		}
		if version == len(migrations) {
			return tx.Rollback()
		}
		if _, err := tx.ExecContext(ctx, migrations[version]); err != nil {
			tx.Rollback()
			return fmt.Errorf("sqlite: migration %d: %w", version+1, err)
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, version+1)); err != nil {
			tx.Rollback()
			return fmt.Errorf("sqlite: migration %d: %w", version+1, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("sqlite: migration %d: %w", version+1, err)
		}
	}
}

// SchemaVersion returns the number of migrations applied to the database.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v)
	return v, err
}

const clientCols = `id, secret_hash, name, scopes, grant_types, resources, token_lifetime_ms, introspection,
	access_token_format, introspection_signed_response_alg, introspection_encrypted_response_alg,
	introspection_encrypted_response_enc, jwks, jwks_uri, created_at`

type scanner interface{ Scan(dest ...any) error }

func scanClient(row scanner) (*store.Client, error) {
	var c store.Client
	var scopes, grants, resources string
	var lifetime, created int64
	var right int
	err := row.Scan(&c.ID, &c.SecretHash, &c.Name, &scopes, &grants, &resources, &lifetime, &right,
		&c.AccessTokenFormat, &c.IntrospectionSignedResponseAlg, &c.IntrospectionEncryptedResponseAlg,
		&c.IntrospectionEncryptedResponseEnc, &c.JWKS, &c.JWKSURI, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	if err := unmarshalList(scopes, &c.Scopes); err != nil {
		return nil, err
	}
	if err := unmarshalList(grants, &c.GrantTypes); err != nil {
		return nil, err
	}
	if err := unmarshalList(resources, &c.Resources); err != nil {
		return nil, err
	}
	c.TokenLifetime = time.Duration(lifetime) * time.Millisecond
	c.Introspection = store.IntrospectionRight(right)
	c.CreatedAt = fromMillis(created)
	return &c, nil
}

// CreateClient implements [store.Store].
func (s *Store) CreateClient(ctx context.Context, c *store.Client) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	_, err := s.db.ExecContext(ctx, `INSERT INTO clients (`+clientCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		c.ID, c.SecretHash, c.Name, marshalList(c.Scopes), marshalList(c.GrantTypes), marshalList(c.Resources),
		c.TokenLifetime.Milliseconds(), int(c.Introspection), c.AccessTokenFormat,
		c.IntrospectionSignedResponseAlg, c.IntrospectionEncryptedResponseAlg, c.IntrospectionEncryptedResponseEnc,
		c.JWKS, c.JWKSURI, toMillis(c.CreatedAt))
	if err != nil && strings.Contains(err.Error(), "UNIQUE constraint") {
		return store.ErrExists
	}
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	return nil
}

// Client implements [store.Store].
func (s *Store) Client(ctx context.Context, id string) (*store.Client, error) {
	return scanClient(s.getClient.QueryRowContext(pointRead(ctx), id))
}

// pointRead returns the context for a one-row read by primary key, which
// every introspection makes. modernc.org/sqlite starts a goroutine per query
// to watch a cancellable context; such a read is short and bounded by the
// busy timeout anyway, so it runs detached from cancellation (values are
// kept). Under wrk load this took a lookup from 25–28µs to 13–20µs.
func pointRead(ctx context.Context) context.Context { return context.WithoutCancel(ctx) }

// Clients implements [store.Store].
func (s *Store) Clients(ctx context.Context) ([]*store.Client, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+clientCols+` FROM clients ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	defer rows.Close()
	var out []*store.Client
	for rows.Next() {
		c, err := scanClient(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	return out, nil
}

// DeleteClient implements [store.Store]; the client's tokens go with it
// (ON DELETE CASCADE).
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	res, err := s.db.ExecContext(ctx, `DELETE FROM clients WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// tokenCols are the columns of a token but its hash, which Token is given.
const tokenCols = `client_id, subject, scope, audience, jti, grant_id, format, claims, issued_at, expires_at, revoked`

// SaveToken implements [store.Store].
func (s *Store) SaveToken(ctx context.Context, t *store.Token) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	_, err := s.db.ExecContext(ctx, `INSERT INTO tokens (hash, `+tokenCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`,
		t.Hash, t.ClientID, t.Subject, t.Scope, marshalList(t.Audience), t.JWTID, t.GrantID, t.Format,
		t.Claims, toMillis(t.IssuedAt), toMillis(t.ExpiresAt), t.Revoked)
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	return nil
}

// Token implements [store.Store].
func (s *Store) Token(ctx context.Context, hash []byte) (*store.Token, error) {
	t := store.Token{Hash: bytes.Clone(hash)}
	var aud string
	var iat, exp int64
	err := s.getToken.QueryRowContext(pointRead(ctx), hash).Scan(&t.ClientID, &t.Subject, &t.Scope, &aud,
		&t.JWTID, &t.GrantID, &t.Format, &t.Claims, &iat, &exp, &t.Revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	if err := unmarshalList(aud, &t.Audience); err != nil {
		return nil, err
	}
	t.IssuedAt, t.ExpiresAt = fromMillis(iat), fromMillis(exp)
	return &t, nil
}

// RevokeGrant implements [store.Store]. The update commits before it
// returns, so every read that starts afterwards sees the token revoked.
func (s *Store) RevokeGrant(ctx context.Context, grantID string) (int64, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	res, err := s.db.ExecContext(ctx, `UPDATE tokens SET revoked = 1 WHERE grant_id = ?`, grantID)
	if err != nil {
		return 0, fmt.Errorf("sqlite: %w", err)
	}
	return res.RowsAffected()
}

// DeleteExpiredTokens implements [store.Store].
func (s *Store) DeleteExpiredTokens(ctx context.Context, before time.Time) (int64, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	res, err := s.db.ExecContext(ctx, `DELETE FROM tokens WHERE expires_at < ?`, toMillis(before))
	if err != nil {
		return 0, fmt.Errorf("sqlite: %w", err)
	}
	return res.RowsAffected()
}

// Keys implements [store.Store].
func (s *Store) Keys(ctx context.Context) ([]*store.Key, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, alg, private, created_at, retired_at, not_after FROM keys ORDER BY created_at DESC, id`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	defer rows.Close()
	var out []*store.Key
	for rows.Next() {
		var k store.Key
		var created, retired, notAfter int64
		if err := rows.Scan(&k.ID, &k.Alg, &k.Private, &created, &retired, &notAfter); err != nil {
			return nil, fmt.Errorf("sqlite: %w", err)
		}
		k.CreatedAt, k.RetiredAt, k.NotAfter = fromMillis(created), fromMillis(retired), fromMillis(notAfter)
		out = append(out, &k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	return out, nil
}

// RotateKeys implements [store.Store] in one immediate transaction.
func (s *Store) RotateKeys(ctx context.Context, add []*store.Key, now, retain time.Time, onlyIfMissing bool) (int, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("sqlite: %w", err)
	}
	defer tx.Rollback()
	n := 0
	for _, k := range add {
		if onlyIfMissing {
			var active int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM keys WHERE alg = ? AND retired_at = 0`, k.Alg).Scan(&active); err != nil {
				return 0, fmt.Errorf("sqlite: %w", err)
			}
			if active > 0 {
				continue
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE keys SET retired_at = ?, not_after = ? WHERE alg = ? AND retired_at = 0`,
			toMillis(now), toMillis(retain), k.Alg); err != nil {
			return 0, fmt.Errorf("sqlite: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO keys (id, alg, private, created_at, retired_at, not_after) VALUES (?,?,?,?,?,?)`,
			k.ID, k.Alg, k.Private, toMillis(k.CreatedAt), toMillis(k.RetiredAt), toMillis(k.NotAfter)); err != nil {
			return 0, fmt.Errorf("sqlite: %w", err)
		}
		n++
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM keys WHERE retired_at != 0 AND not_after < ?`, toMillis(now)); err != nil {
		return 0, fmt.Errorf("sqlite: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("sqlite: %w", err)
	}
	return n, nil
}

// Close implements [store.Store].
func (s *Store) Close() error {
	if s.getClient != nil {
		s.getClient.Close()
	}
	if s.getToken != nil {
		s.getToken.Close()
	}
	return s.db.Close()
}

func marshalList(l []string) string {
	if l == nil {
		l = []string{}
	}
	b, _ := json.Marshal(l)
	return string(b)
}

func unmarshalList(s string, dst *[]string) error {
	if err := json.Unmarshal([]byte(s), dst); err != nil {
		return fmt.Errorf("sqlite: corrupt list column: %w", err)
	}
	if len(*dst) == 0 {
		*dst = nil
	}
	return nil
}

// Times are stored as Unix milliseconds; 0 is the zero time.
func toMillis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

var _ store.Store = (*Store)(nil)
