// Package pgdb is the plumbing the PostgreSQL stores share (the provider's,
// provider/store/postgres, and the users', provider/users/postgres):
// connecting a pgxpool with the session settings they rely on, versioned
// migrations under an advisory lock, and redacting a DSN's password for
// messages.
package pgdb

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net"
	"net/url"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// IsDSN reports whether s names a PostgreSQL database as a URL
// (postgres:// or postgresql://) rather than a file.
func IsDSN(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// Connect parses dsn and opens a pool on it, checking that the server
// answers. Sessions get synchronous_commit=on (every commit durable when it
// returns) unless the DSN asks for a stricter value; a DSN asking for "off"
// or "local" is refused. pkg prefixes error messages, which never contain
// the DSN's password.
func Connect(ctx context.Context, pkg, dsn string, maxConns int32) (*pgxpool.Pool, error) {
	if dsn == "" {
		return nil, fmt.Errorf("%s: Config.DSN is empty", pkg)
	}
	if maxConns < 0 {
		return nil, fmt.Errorf("%s: Config.MaxConns %d is negative", pkg, maxConns)
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's message quotes the DSN with the password masked on a best
		// effort basis only: say nothing of it.
		return nil, fmt.Errorf("%s: Config.DSN is not a PostgreSQL connection string (a postgres:// URL or key=value pairs)", pkg)
	}
	params := cfg.ConnConfig.RuntimeParams
	switch params["synchronous_commit"] {
	case "":
		params["synchronous_commit"] = "on"
	case "on", "remote_write", "remote_apply":
	default:
		return nil, fmt.Errorf("%s: synchronous_commit=%s in the DSN could lose a committed revocation; use on (the default) or stricter",
			pkg, params["synchronous_commit"])
	}
	if params["application_name"] == "" {
		params["application_name"] = "tokengate"
	}
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", pkg, err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("%s: %w", pkg, err)
	}
	return pool, nil
}

// Unavailable reports whether err says that the database cannot be reached
// or cannot answer for now — refused or lost connections, a server shutting
// down or starting, too many connections, a timeout, a serialization
// failure — rather than that the statement was wrong: the same request may
// succeed later.
func Unavailable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// Classes 08 (connection exception), 53 (insufficient resources:
		// too many connections, disk full), 57P (admin or crash shutdown,
		// cannot connect now); serialization failure and deadlock; a
		// read-only transaction (a standby, during a failover).
		switch c := pgErr.Code; {
		case strings.HasPrefix(c, "08"), strings.HasPrefix(c, "53"), strings.HasPrefix(c, "57P"),
			c == "40001", c == "40P01", c == "25006":
			return true
		}
		return false
	}
	var connect *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connect) || errors.As(err, &netErr) || pgconn.Timeout(err) || pgconn.SafeToRetry(err) ||
		errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, context.DeadlineExceeded)
}

// SchemaVersion returns how many migrations the version table records: 0
// if the table does not exist.
func SchemaVersion(ctx context.Context, db interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, table string) (int, error) {
	var exists bool
	if err := db.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, table).Scan(&exists); err != nil || !exists {
		return 0, err
	}
	var v int
	err := db.QueryRow(ctx, `SELECT version FROM `+pgx.Identifier{table}.Sanitize()+` WHERE id = 1`).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	return v, err
}

// Migrate applies the migrations the database lacks, recording their
// number in table. An up-to-date database is only read. Otherwise they run
// in one transaction that first takes an advisory lock (released at its
// end) and reads the version again, so that of several processes starting
// at once on a new database one migrates and the others, once it commits,
// find nothing left to do.
func Migrate(ctx context.Context, pool *pgxpool.Pool, pkg, table string, migrations []string) error {
	version, err := SchemaVersion(ctx, pool, table)
	if err != nil {
		return fmt.Errorf("%s: migrate: %w", pkg, err)
	}
	if version > len(migrations) {
		return fmt.Errorf("%s: database schema version %d is newer than this program's %d", pkg, version, len(migrations))
	}
	if version == len(migrations) {
		return nil
	}
	lock := LockKey(table)
	ident := pgx.Identifier{table}.Sanitize()
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lock); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+ident+` (id integer PRIMARY KEY CHECK (id = 1), version integer NOT NULL)`); err != nil {
			return err
		}
		if version, err = SchemaVersion(ctx, tx, table); err != nil {
			return err
		}
		if version > len(migrations) {
			return fmt.Errorf("database schema version %d is newer than this program's %d", version, len(migrations))
		}
		for ; version < len(migrations); version++ {
			if _, err := tx.Exec(ctx, migrations[version]); err != nil {
				return fmt.Errorf("migration %d: %w", version+1, err)
			}
		}
		_, err := tx.Exec(ctx, `INSERT INTO `+ident+` (id, version) VALUES (1, $1)
			ON CONFLICT (id) DO UPDATE SET version = excluded.version`, version)
		return err
	})
	if err != nil {
		return fmt.Errorf("%s: migrate: %w", pkg, err)
	}
	return nil
}

// LockKey is the key of the advisory lock [Migrate] holds while it
// migrates the tables versioned in table.
func LockKey(table string) int64 {
	h := fnv.New64a()
	h.Write([]byte("tokengate migrate " + table))
	return int64(h.Sum64())
}

// keywordPassword matches a password in key=value form, quoted or not.
var keywordPassword = regexp.MustCompile(`(?i)\b(password|sslpassword)\s*=\s*('(\\.|[^'])*'|\S*)`)

// Redact returns dsn with its passwords replaced by "xxxxx", for messages
// and logs. A URL that does not parse is replaced as a whole.
func Redact(dsn string) string {
	if !IsDSN(dsn) {
		return keywordPassword.ReplaceAllString(dsn, "$1=xxxxx")
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "postgres://(unparsable DSN, hidden)"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	q := u.Query()
	changed := false
	for k := range q {
		if strings.EqualFold(k, "password") || strings.EqualFold(k, "sslpassword") {
			q.Set(k, "xxxxx")
			changed = true
		}
	}
	if changed {
		u.RawQuery = q.Encode()
	}
	return u.String()
}
