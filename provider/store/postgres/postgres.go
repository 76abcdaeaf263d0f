// Package postgres implements the provider's [store.Store] on PostgreSQL
// (github.com/jackc/pgx/v5, through a pgxpool connection pool), so that
// several replicas of the provider share one database.
//
// # Schema and migrations
//
// The tables have plain names (clients, tokens, keys, ...): give tokengate
// a database of its own, or a schema of its own named first in the DSN's
// search_path. Migrations are versioned in the table tokengate_schema and
// run when the store is opened. Opening a database that is up to date only
// reads the version; otherwise the migrations run in one transaction that
// first takes a transaction-level advisory lock (pg_advisory_xact_lock), so
// replicas starting at once on a new database wait for each other and
// apply each migration once.
//
// # Round trips
//
// Every method on the request path is one statement, so one round trip: a
// read by primary key ([Store.Token] for every introspection; the reads
// that arrive while others are in flight share one query, WHERE hash =
// ANY($1), so that under load a round trip serves many), one
// insert ([Store.SaveToken] for every issuance), and one statement with
// data-modifying common table expressions for the conditional writes
// ([Store.RedeemCode], [Store.RotateToken], [Store.RevokeConsent]): the
// statement marks the code or refresh token used and inserts the new
// tokens only if it did, atomically. Statements are prepared once per
// connection and cached by pgx (QueryExecModeCacheStatement), which needs
// a session-pooling or direct connection: behind PgBouncer in transaction
// mode, set default_query_exec_mode=exec in the DSN.
//
// # Durability
//
// Every commit waits for the write-ahead log to reach the disk: the store
// sets synchronous_commit=on for its sessions (a stricter value given in
// the DSN, such as remote_apply, is kept; "off" and "local" are refused,
// since they could undo a revocation the provider has already answered
// for). Revoking, redeeming, rotating, deleting a client and rotating keys
// are therefore durable once the method returns, as [store.Store]
// requires, and visible at once to every replica reading the database.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tokengate/tokengate/internal/pgdb"
	"github.com/tokengate/tokengate/provider/store"
	"github.com/tokengate/tokengate/secevent"
)

// Config configures [Open].
type Config struct {
	// DSN is the PostgreSQL connection string, as a URL
	// (postgres://user:password@host:5432/db?sslmode=verify-full) or in
	// keyword=value form; see the pgx and libpq documentation. Required.
	DSN string
	// MaxConns caps the connection pool. Zero means the DSN's
	// pool_max_conns, else pgxpool's default (4, or the number of CPUs if
	// greater).
	MaxConns int32
}

// Store is a [store.Store] on PostgreSQL. It is safe for concurrent use,
// also by several processes (replicas) on one database.
type Store struct {
	pool   *pgxpool.Pool
	tokens *tokenReader
}

// migrations are applied in order; tokengate_schema holds how many have
// been. Never edit one that has shipped: append a new one. Times are Unix
// milliseconds, 0 for none, as in provider/store/sqlite.
var migrations = []string{
	// 1: the schema of provider/store/sqlite's third version.
	`CREATE TABLE clients (
		id text PRIMARY KEY,
		secret_hash bytea,
		name text NOT NULL DEFAULT '',
		scopes text[] NOT NULL DEFAULT '{}',
		grant_types text[] NOT NULL DEFAULT '{}',
		resources text[] NOT NULL DEFAULT '{}',
		token_lifetime_ms bigint NOT NULL DEFAULT 0,
		introspection integer NOT NULL DEFAULT 0,
		access_token_format text NOT NULL DEFAULT '',
		introspection_signed_response_alg text NOT NULL DEFAULT '',
		introspection_encrypted_response_alg text NOT NULL DEFAULT '',
		introspection_encrypted_response_enc text NOT NULL DEFAULT '',
		jwks text NOT NULL DEFAULT '',
		jwks_uri text NOT NULL DEFAULT '',
		created_at bigint NOT NULL,
		redirect_uris text[] NOT NULL DEFAULT '{}',
		post_logout_redirect_uris text[] NOT NULL DEFAULT '{}',
		first_party boolean NOT NULL DEFAULT false,
		id_token_signed_response_alg text NOT NULL DEFAULT '',
		id_token_include_claims boolean NOT NULL DEFAULT false,
		pairwise_subject boolean NOT NULL DEFAULT false
	);
	CREATE TABLE tokens (
		hash bytea PRIMARY KEY,
		client_id text NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
		subject text NOT NULL DEFAULT '',
		scope text NOT NULL DEFAULT '',
		audience text[] NOT NULL DEFAULT '{}',
		jti text NOT NULL DEFAULT '',
		grant_id text NOT NULL DEFAULT '',
		format text NOT NULL DEFAULT '',
		claims bytea,
		issued_at bigint NOT NULL,
		expires_at bigint NOT NULL,
		revoked boolean NOT NULL DEFAULT false,
		kind text NOT NULL DEFAULT '',
		username text NOT NULL DEFAULT '',
		auth_time bigint NOT NULL DEFAULT 0,
		acr text NOT NULL DEFAULT '',
		amr text[] NOT NULL DEFAULT '{}',
		grant_expires_at bigint NOT NULL DEFAULT 0,
		used_at bigint NOT NULL DEFAULT 0
	);
	CREATE INDEX tokens_expires_at ON tokens(expires_at);
	CREATE INDEX tokens_grant_id ON tokens(grant_id);
	CREATE INDEX tokens_client_id ON tokens(client_id);
	CREATE INDEX tokens_subject_client_id ON tokens(subject, client_id);
	CREATE TABLE keys (
		id text PRIMARY KEY,
		alg text NOT NULL,
		private bytea NOT NULL,
		created_at bigint NOT NULL,
		retired_at bigint NOT NULL DEFAULT 0,
		not_after bigint NOT NULL DEFAULT 0
	);
	CREATE TABLE settings (
		id integer PRIMARY KEY CHECK (id = 1),
		key_algorithms text[] NOT NULL,
		max_token_lifetime_ms bigint NOT NULL,
		key_refresh_interval_ms bigint NOT NULL,
		pairwise_salt bytea
	);
	CREATE TABLE codes (
		hash bytea PRIMARY KEY,
		client_id text NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
		grant_id text NOT NULL,
		subject text NOT NULL,
		username text NOT NULL DEFAULT '',
		redirect_uri text NOT NULL DEFAULT '',
		scope text NOT NULL DEFAULT '',
		audience text[] NOT NULL DEFAULT '{}',
		code_challenge text NOT NULL,
		nonce text NOT NULL DEFAULT '',
		auth_time bigint NOT NULL DEFAULT 0,
		acr text NOT NULL DEFAULT '',
		amr text[] NOT NULL DEFAULT '{}',
		issued_at bigint NOT NULL,
		expires_at bigint NOT NULL,
		used_at bigint NOT NULL DEFAULT 0
	);
	CREATE INDEX codes_expires_at ON codes(expires_at);
	CREATE INDEX codes_client_id ON codes(client_id);
	CREATE INDEX codes_subject_client_id ON codes(subject, client_id);
	CREATE TABLE consents (
		subject text NOT NULL,
		client_id text NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
		scopes text[] NOT NULL DEFAULT '{}',
		granted_at bigint NOT NULL,
		expires_at bigint NOT NULL,
		PRIMARY KEY (subject, client_id)
	);
	CREATE INDEX consents_expires_at ON consents(expires_at);
	CREATE INDEX consents_client_id ON consents(client_id);
	CREATE TABLE sessions (
		hash bytea PRIMARY KEY,
		subject text NOT NULL,
		username text NOT NULL DEFAULT '',
		auth_time bigint NOT NULL,
		acr text NOT NULL DEFAULT '',
		amr text[] NOT NULL DEFAULT '{}',
		created_at bigint NOT NULL,
		expires_at bigint NOT NULL
	);
	CREATE INDEX sessions_subject ON sessions(subject);
	CREATE INDEX sessions_expires_at ON sessions(expires_at);
	CREATE TABLE interactions (
		hash bytea PRIMARY KEY,
		browser_hash bytea NOT NULL,
		kind text NOT NULL,
		request bytea NOT NULL,
		result bytea,
		created_at bigint NOT NULL,
		expires_at bigint NOT NULL
	);
	CREATE INDEX interactions_expires_at ON interactions(expires_at);`,
	// 2: the log of revocation events (events.go).
	migrationEvents,
}

// Open connects to the database cfg.DSN names and migrates it to the
// current schema version. ctx bounds the connection and the migration.
// Errors never contain the DSN's password.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	pool, err := pgdb.Connect(ctx, "postgres", cfg.DSN, cfg.MaxConns)
	if err != nil {
		return nil, err
	}
	if err := pgdb.Migrate(ctx, pool, "postgres", "tokengate_schema", migrations); err != nil {
		pool.Close()
		return nil, err
	}
	return &Store{pool: pool, tokens: &tokenReader{pool: pool}}, nil
}

// SchemaVersion returns the number of migrations applied to the database.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	return pgdb.SchemaVersion(ctx, s.pool, "tokengate_schema")
}

const clientCols = `id, secret_hash, name, scopes, grant_types, resources, token_lifetime_ms, introspection,
	access_token_format, introspection_signed_response_alg, introspection_encrypted_response_alg,
	introspection_encrypted_response_enc, jwks, jwks_uri, created_at, redirect_uris, post_logout_redirect_uris,
	first_party, id_token_signed_response_alg, id_token_include_claims, pairwise_subject`

func scanClient(row pgx.Row) (*store.Client, error) {
	var c store.Client
	var lifetime, created int64
	var right int
	err := row.Scan(&c.ID, &c.SecretHash, &c.Name, &c.Scopes, &c.GrantTypes, &c.Resources, &lifetime, &right,
		&c.AccessTokenFormat, &c.IntrospectionSignedResponseAlg, &c.IntrospectionEncryptedResponseAlg,
		&c.IntrospectionEncryptedResponseEnc, &c.JWKS, &c.JWKSURI, &created, &c.RedirectURIs, &c.PostLogoutRedirectURIs,
		&c.FirstParty, &c.IDTokenSignedResponseAlg, &c.IDTokenIncludeClaims, &c.PairwiseSubject)
	if err != nil {
		return nil, rowError(err)
	}
	for _, l := range []*[]string{&c.Scopes, &c.GrantTypes, &c.Resources, &c.RedirectURIs, &c.PostLogoutRedirectURIs} {
		*l = fromList(*l)
	}
	c.TokenLifetime = time.Duration(lifetime) * time.Millisecond
	c.Introspection = store.IntrospectionRight(right)
	c.CreatedAt = fromMillis(created)
	return &c, nil
}

// CreateClient implements [store.Store].
func (s *Store) CreateClient(ctx context.Context, c *store.Client) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO clients (`+clientCols+`)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21)`,
		c.ID, c.SecretHash, c.Name, toList(c.Scopes), toList(c.GrantTypes), toList(c.Resources),
		c.TokenLifetime.Milliseconds(), int(c.Introspection), c.AccessTokenFormat,
		c.IntrospectionSignedResponseAlg, c.IntrospectionEncryptedResponseAlg, c.IntrospectionEncryptedResponseEnc,
		c.JWKS, c.JWKSURI, toMillis(c.CreatedAt), toList(c.RedirectURIs), toList(c.PostLogoutRedirectURIs),
		c.FirstParty, c.IDTokenSignedResponseAlg, c.IDTokenIncludeClaims, c.PairwiseSubject)
	if hasCode(err, uniqueViolation) {
		return store.ErrExists
	}
	return wrap(err)
}

// Client implements [store.Store].
func (s *Store) Client(ctx context.Context, id string) (*store.Client, error) {
	return scanClient(s.pool.QueryRow(ctx, `SELECT `+clientCols+` FROM clients WHERE id = $1`, id))
}

// Clients implements [store.Store].
func (s *Store) Clients(ctx context.Context) ([]*store.Client, error) {
	return queryAll(ctx, s.pool, scanClient, `SELECT `+clientCols+` FROM clients ORDER BY id`)
}

// queryAll runs a query and scans every row it returns with scan.
func queryAll[T any](ctx context.Context, db *pgxpool.Pool, scan func(pgx.Row) (*T, error), query string, args ...any) ([]*T, error) {
	rows, err := db.Query(ctx, query, args...)
	if err != nil {
		return nil, wrap(err)
	}
	defer rows.Close()
	var out []*T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap(err)
	}
	return out, nil
}

// DeleteClient implements [store.Store]; the client's tokens, codes and
// consents go with it (ON DELETE CASCADE), in one durable statement. A
// token being inserted for the client at the same moment either commits
// first and is deleted with it, or fails its foreign key check.
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	var n int64
	err := s.revoking(ctx, secevent.ReasonClientDeleted, `client_id = $3`, []any{id}, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM clients WHERE id = $1`, id)
		n = tag.RowsAffected()
		return err
	})
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// tokenCols are the columns of a token but its hash, which Token is given.
const tokenCols = `client_id, subject, scope, audience, jti, grant_id, format, claims, issued_at, expires_at, revoked,
	kind, username, auth_time, acr, amr, grant_expires_at, used_at`

// SaveToken implements [store.Store] with one insert; a token of a client
// that does not exist (deleted, maybe by another replica, after it
// authenticated) is store.ErrNotFound.
func (s *Store) SaveToken(ctx context.Context, t *store.Token) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO tokens (hash, `+tokenCols+`)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19)`,
		t.Hash, t.ClientID, t.Subject, t.Scope, toList(t.Audience), t.JWTID, t.GrantID, t.Format,
		t.Claims, toMillis(t.IssuedAt), toMillis(t.ExpiresAt), t.Revoked,
		t.Kind, t.Username, toMillis(t.AuthTime), t.ACR, toList(t.AMR), toMillis(t.GrantExpiresAt), toMillis(t.UsedAt))
	if hasCode(err, foreignKeyViolation) {
		return fmt.Errorf("postgres: token of client %q: %w", t.ClientID, store.ErrNotFound)
	}
	return wrap(err)
}

// Token implements [store.Store]: the read every introspection makes, by
// primary key. Reads that arrive together share one query (see
// tokenReader): one round trip for many.
func (s *Store) Token(ctx context.Context, hash []byte) (*store.Token, error) {
	return s.tokens.read(ctx, hash)
}

// RevokeGrant implements [store.Store] with one durable transaction (the
// events, then the update): once it returns, every replica's next read
// sees the tokens revoked.
func (s *Store) RevokeGrant(ctx context.Context, grantID, reason string) (int64, error) {
	var n int64
	err := s.revoking(ctx, reason, `grant_id = $3`, []any{grantID}, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE tokens SET revoked = true WHERE grant_id = $1`, grantID)
		n = tag.RowsAffected()
		return err
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// DeleteExpiredTokens implements [store.Store]: one statement over at most
// limit rows found through the expires_at index. Rows another transaction
// holds are skipped (SKIP LOCKED): the next batch takes them.
func (s *Store) DeleteExpiredTokens(ctx context.Context, before time.Time, limit int) (int64, error) {
	if limit <= 0 {
		return 0, fmt.Errorf("postgres: DeleteExpiredTokens: limit %d is not positive", limit)
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM tokens WHERE hash IN
		(SELECT hash FROM tokens WHERE expires_at < $1 ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
		toMillis(before), limit)
	if err != nil {
		return 0, wrap(err)
	}
	return tag.RowsAffected(), nil
}

// Keys implements [store.Store].
func (s *Store) Keys(ctx context.Context) ([]*store.Key, error) {
	return queryAll(ctx, s.pool, func(row pgx.Row) (*store.Key, error) {
		var k store.Key
		var created, retired, notAfter int64
		if err := row.Scan(&k.ID, &k.Alg, &k.Private, &created, &retired, &notAfter); err != nil {
			return nil, wrap(err)
		}
		k.CreatedAt, k.RetiredAt, k.NotAfter = fromMillis(created), fromMillis(retired), fromMillis(notAfter)
		return &k, nil
	}, `SELECT id, alg, private, created_at, retired_at, not_after FROM keys ORDER BY created_at DESC, id`)
}

// RotateKeys implements [store.Store] in one durable transaction. It locks
// the keys table against other writers first (reads go on), so that two
// replicas starting at once with onlyIfMissing add one key per algorithm,
// not one each.
func (s *Store) RotateKeys(ctx context.Context, add []*store.Key, now, retain time.Time, onlyIfMissing bool) (int, error) {
	n := 0
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		n = 0 // BeginFunc does not retry, but keep n true to this attempt
		if _, err := tx.Exec(ctx, `LOCK TABLE keys IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return err
		}
		for _, k := range add {
			if onlyIfMissing {
				var active bool
				if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT FROM keys WHERE alg = $1 AND retired_at = 0)`, k.Alg).Scan(&active); err != nil {
					return err
				}
				if active {
					continue
				}
			}
			if _, err := tx.Exec(ctx, `UPDATE keys SET retired_at = $1, not_after = $2 WHERE alg = $3 AND retired_at = 0`,
				toMillis(now), toMillis(retain), k.Alg); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO keys (id, alg, private, created_at, retired_at, not_after) VALUES ($1,$2,$3,$4,$5,$6)`,
				k.ID, k.Alg, k.Private, toMillis(k.CreatedAt), toMillis(k.RetiredAt), toMillis(k.NotAfter)); err != nil {
				return err
			}
			n++
		}
		_, err := tx.Exec(ctx, `DELETE FROM keys WHERE retired_at <> 0 AND not_after < $1`, toMillis(now))
		return err
	})
	if err != nil {
		return 0, wrap(err)
	}
	return n, nil
}

// Settings implements [store.Store].
func (s *Store) Settings(ctx context.Context) (*store.Settings, error) {
	var st store.Settings
	var maxLifetime, refresh int64
	err := s.pool.QueryRow(ctx, `SELECT key_algorithms, max_token_lifetime_ms, key_refresh_interval_ms, pairwise_salt
		FROM settings WHERE id = 1`).Scan(&st.KeyAlgorithms, &maxLifetime, &refresh, &st.PairwiseSalt)
	if err != nil {
		return nil, rowError(err)
	}
	st.KeyAlgorithms = fromList(st.KeyAlgorithms)
	st.MaxTokenLifetime = time.Duration(maxLifetime) * time.Millisecond
	st.KeyRefreshInterval = time.Duration(refresh) * time.Millisecond
	return &st, nil
}

// SaveSettings implements [store.Store].
func (s *Store) SaveSettings(ctx context.Context, st *store.Settings) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO settings (id, key_algorithms, max_token_lifetime_ms, key_refresh_interval_ms, pairwise_salt)
		VALUES (1, $1, $2, $3, $4) ON CONFLICT (id) DO UPDATE SET key_algorithms = excluded.key_algorithms,
		max_token_lifetime_ms = excluded.max_token_lifetime_ms, key_refresh_interval_ms = excluded.key_refresh_interval_ms,
		pairwise_salt = excluded.pairwise_salt`,
		toList(st.KeyAlgorithms), st.MaxTokenLifetime.Milliseconds(), st.KeyRefreshInterval.Milliseconds(), st.PairwiseSalt)
	return wrap(err)
}

// Close implements [store.Store]: it closes the pool, waiting for the
// connections in use to be released.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// PostgreSQL error codes (SQLSTATE) the store tells apart.
const (
	uniqueViolation     = "23505"
	foreignKeyViolation = "23503"
)

// hasCode reports whether err is a PostgreSQL error with the given SQLSTATE.
func hasCode(err error, code string) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && e.Code == code
}

// wrap prefixes err with the package name, and with store.ErrUnavailable
// if the database could not be reached or answer (the provider then
// answers 503, not 500); nil stays nil.
func wrap(err error) error {
	switch {
	case err == nil:
		return nil
	case pgdb.Unavailable(err):
		return fmt.Errorf("postgres: %w: %w", store.ErrUnavailable, err)
	}
	return fmt.Errorf("postgres: %w", err)
}

// rowError is the error of a one-row read: store.ErrNotFound for no row.
func rowError(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ErrNotFound
	}
	return wrap(err)
}

// toList is l for a text[] column that is NOT NULL: nil becomes empty.
func toList(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// fromList reads a list column back as the other stores do: empty is nil.
func fromList(l []string) []string {
	if len(l) == 0 {
		return nil
	}
	return l
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
