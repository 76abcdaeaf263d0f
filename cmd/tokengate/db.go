package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/tokengate/tokengate/internal/pgdb"
	"github.com/tokengate/tokengate/provider/store"
	"github.com/tokengate/tokengate/provider/store/postgres"
	"github.com/tokengate/tokengate/provider/store/sqlite"
	"github.com/tokengate/tokengate/provider/users"
	userspg "github.com/tokengate/tokengate/provider/users/postgres"
	userssqlite "github.com/tokengate/tokengate/provider/users/sqlite"
)

// dbUsage is the --db flag's help, the same in every command that has it.
const dbUsage = "the `database`: a SQLite file, or a PostgreSQL URL (postgres://user@host/db); " +
	"TOKENGATE_DB keeps a password out of the process list"

// This file is the one place that tells the two kinds of --db apart: a
// postgres:// or postgresql:// URL is a PostgreSQL database, anything else
// a SQLite file.

// dbName is db as messages and logs may show it: a PostgreSQL URL without
// its password.
func dbName(db string) string {
	if pgdb.IsDSN(db) {
		return pgdb.Redact(db)
	}
	return db
}

// openStore opens the provider's store on db. The stores' own errors do
// not always name the database ("file is not a database"), so this one
// does.
func openStore(ctx context.Context, db string) (store.Store, error) {
	var st store.Store
	var err error
	if pgdb.IsDSN(db) {
		st, err = postgres.Open(ctx, postgres.Config{DSN: db})
	} else {
		st, err = sqlite.Open(sqlite.Config{Path: db})
	}
	if err != nil {
		return nil, fmt.Errorf("opening the database %s (--db): %w", dbName(db), err)
	}
	return st, nil
}

// usersStore is a users' store the command closes.
type usersStore interface {
	users.Store
	io.Closer
}

// openUsersStore opens the users' store on db.
func openUsersStore(ctx context.Context, db string) (usersStore, error) {
	var st usersStore
	var err error
	if pgdb.IsDSN(db) {
		st, err = userspg.Open(ctx, userspg.Config{DSN: db})
	} else {
		st, err = userssqlite.Open(userssqlite.Config{Path: db})
	}
	if err != nil {
		return nil, fmt.Errorf("opening the users of %s (--db): %w", dbName(db), err)
	}
	return st, nil
}

// checkDBExists fails if db is a SQLite file that does not exist, for the
// commands that must not make a new empty database (a mistyped path).
// PostgreSQL databases are made by their administrator, never by Open.
func checkDBExists(db, hint string) error {
	if pgdb.IsDSN(db) {
		return nil
	}
	if _, err := os.Stat(db); err != nil {
		return fmt.Errorf("no database at %s (%s): %w", db, hint, err)
	}
	return nil
}
