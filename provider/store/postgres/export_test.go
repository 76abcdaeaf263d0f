package postgres

import "context"

// SynchronousCommit returns the synchronous_commit setting of a session of
// the store's pool.
func SynchronousCommit(ctx context.Context, s *Store) string {
	var v string
	if err := s.pool.QueryRow(ctx, `SHOW synchronous_commit`).Scan(&v); err != nil {
		return err.Error()
	}
	return v
}

// TokenQueries returns how many token reads the store answered and in how
// many queries.
func TokenQueries(s *Store) (reads, queries int64) {
	return s.tokens.reads.Load(), s.tokens.queries.Load()
}
