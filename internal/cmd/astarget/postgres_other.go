//go:build !unix

package main

import "errors"

// startPostgres is for unix systems only: give -db a DSN elsewhere.
func startPostgres() (string, func(), error) {
	return "", nil, errors.New("astarget: -store postgres without -db starts PostgreSQL on unix systems only; give -db a DSN")
}
