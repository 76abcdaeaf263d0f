//go:build unix

package main

import "github.com/tokengate/tokengate/internal/testserver"

// startPostgres starts a PostgreSQL server of its own and makes a database
// on it; stop stops the server and removes its data.
func startPostgres() (dsn string, stop func(), err error) {
	pg, err := testserver.StartPostgres()
	if err != nil {
		return "", nil, err
	}
	if dsn, err = pg.CreateDatabase(); err != nil {
		pg.Close()
		return "", nil, err
	}
	return dsn, pg.Close, nil
}
