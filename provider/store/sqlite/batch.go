package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"sync"

	"github.com/tokengate/tokengate/provider/store"
	sqlite3 "modernc.org/sqlite/lib"
)

// Group commit of issued tokens (issue 13). Every token the token endpoint
// issues is a row to insert, and a write transaction costs far more than
// the row: taking SQLite's write lock, appending the changed pages (the
// table's and four indexes') to the write-ahead log, and now and then a
// checkpoint. Concurrent SaveToken calls therefore queue, and one of them,
// the leader, inserts every queued token (up to maxTokenBatch) in one
// transaction; callers arriving meanwhile form the next batch. Nothing
// waits on a timer: a lone call is committed at once, and a batch grows
// only with the calls that arrive while the previous one commits.
//
// Each caller still gets its own answer: a row that fails a constraint
// (the client was deleted meanwhile, a duplicate hash) fails that caller
// only, as SQLite aborts the statement but not the transaction. An error
// of the transaction itself (beginning, a write, the commit) fails the
// whole batch, none of which is then stored. A SaveToken that returned nil
// is committed, as before.

// tokenCheckpointPages is the WAL size (pages of 4 KiB: 16 MiB) at which a
// commit of tokens checkpoints it. BenchmarkSaveTokenParallel, interleaved
// runs: SQLite's default of 1,000 pages 4.8-7.8k tokens/s, 4,000 pages
// 6.4-11.3k, 10,000 pages no better than 4,000.
const tokenCheckpointPages = 4000

// maxTokenBatch bounds the tokens one transaction inserts, and so how long
// the write lock is held at a time (and the WAL grows per commit).
const maxTokenBatch = 256

// tokenWrite is a SaveToken call waiting for its token to be written.
type tokenWrite struct {
	t *store.Token
	// err is the result, set before done is closed.
	err  error
	done chan struct{}
	// lead is closed when this call is to commit the next batch; it is
	// then first in the queue, so its own token is in that batch.
	lead chan struct{}
	// leads is set, under tokenQueue.mu, when the call becomes the leader;
	// it may then no longer leave the queue.
	leads bool
}

// tokenQueue is the queue of SaveToken calls.
type tokenQueue struct {
	// mu guards pending, leader and the leads fields of pending's entries.
	mu      sync.Mutex
	pending []*tokenWrite
	// leader is whether a call is to take the next batch: one is waiting
	// for the write lock, or about to.
	leader bool
}

// SaveToken implements [store.Store]. Concurrent calls are committed
// together (see above); a call waiting for its batch returns ctx's error
// when ctx is done before its token is taken into one. Once taken, the
// write is everyone's and is not interrupted (it is bounded by
// Config.BusyTimeout).
func (s *Store) SaveToken(ctx context.Context, t *store.Token) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	w := &tokenWrite{t: t, done: make(chan struct{}), lead: make(chan struct{})}
	q := &s.tokens
	q.mu.Lock()
	q.pending = append(q.pending, w)
	first := !q.leader
	if first {
		q.leader, w.leads = true, true
	}
	q.mu.Unlock()
	if first {
		s.commitTokens()
	}
	lead := w.lead
	for {
		select {
		case <-w.done:
			return w.err
		case <-lead:
			lead = nil
			s.commitTokens()
		case <-ctx.Done():
			if q.leave(w) {
				return fmt.Errorf("sqlite: %w", ctx.Err())
			}
			// Taken into a batch, or leading the next: wait for it.
			ctx = context.Background()
		}
	}
}

// leave takes w out of the queue, unless it is in a batch already or is to
// lead the next one; it reports whether it did.
func (q *tokenQueue) leave(w *tokenWrite) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if w.leads {
		return false
	}
	for i, p := range q.pending {
		if p == w {
			q.pending = append(q.pending[:i], q.pending[i+1:]...)
			return true
		}
	}
	return false
}

// commitTokens is the leader's work: once it holds the write lock, it takes
// the queued tokens (at most maxTokenBatch), hands the lead to the first
// call left in the queue, if any, and writes the batch in one transaction.
func (s *Store) commitTokens() {
	s.writeMu.Lock()
	q := &s.tokens
	q.mu.Lock()
	batch := make([]*tokenWrite, min(len(q.pending), maxTokenBatch))
	copy(batch, q.pending)
	q.pending = append(q.pending[:0], q.pending[len(batch):]...)
	if len(q.pending) > 0 {
		next := q.pending[0]
		next.leads = true
		close(next.lead)
	} else {
		q.leader = false
	}
	q.mu.Unlock()
	if s.onTokenBatch != nil {
		s.onTokenBatch(len(batch))
	}
	s.insertTokens(batch)
	s.writeMu.Unlock()
	for _, w := range batch {
		close(w.done)
	}
}

// insertTokens writes batch in one transaction, setting each call's err.
// It runs on no caller's context: the batch is everyone's.
func (s *Store) insertTokens(batch []*tokenWrite) {
	ctx := context.Background()
	err := func() error {
		tx, err := s.tokenDB.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		insert := tx.StmtContext(ctx, s.saveToken)
		for _, w := range batch {
			_, err := insert.ExecContext(ctx, tokenArgs(w.t)...)
			if err != nil && !isConstraint(err) {
				return err // the transaction may be gone with it
			}
			w.err = tokenInsertError(w.t, err)
		}
		return tx.Commit()
	}()
	if err != nil {
		for _, w := range batch {
			w.err = fmt.Errorf("sqlite: saving %d tokens in one transaction: %w", len(batch), err)
		}
	}
}

// isConstraint reports whether err is a violation of one of the schema's
// constraints, which aborts the statement but leaves the transaction as it
// was. (A trigger's RAISE may roll the transaction back: not one of these.)
func isConstraint(err error) bool {
	return hasCode(err, sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY,
		sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_NOTNULL, sqlite3.SQLITE_CONSTRAINT_CHECK)
}

// insertTokenSQL inserts a token; its arguments are tokenArgs.
const insertTokenSQL = `INSERT INTO tokens (hash, ` + tokenCols + `) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`

// tokenArgs are the arguments of insertTokenSQL for t.
func tokenArgs(t *store.Token) []any {
	return []any{t.Hash, t.ClientID, t.Subject, t.Scope, marshalList(t.Audience), t.JWTID, t.GrantID, t.Format,
		t.Claims, toMillis(t.IssuedAt), toMillis(t.ExpiresAt), t.Revoked,
		t.Kind, t.Username, toMillis(t.AuthTime), t.ACR, marshalList(t.AMR), toMillis(t.GrantExpiresAt), toMillis(t.UsedAt)}
}

// tokenInsertError is SaveToken's error for inserting t, given the
// statement's: a token of a client that does not exist (deleted, maybe by
// another process, after it authenticated) is store.ErrNotFound.
func tokenInsertError(t *store.Token, err error) error {
	if hasCode(err, sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY) {
		return fmt.Errorf("sqlite: token of client %q: %w", t.ClientID, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	return nil
}

// insertToken inserts t in a transaction of its own caller's (RedeemCode,
// RotateToken).
func insertToken(ctx context.Context, tx *sql.Tx, t *store.Token) error {
	_, err := tx.ExecContext(ctx, insertTokenSQL, tokenArgs(t)...)
	return tokenInsertError(t, err)
}
