package postgres

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tokengate/tokengate/provider/store"
)

// tokenReader coalesces the token reads that arrive while others are being
// answered into one query (WHERE hash = ANY($1)): under load, one round
// trip and one index scan in one backend serve many introspections, where
// each would cost a round trip, a backend wake-up and the context switches
// on both sides. At most maxFlights queries run at once; a read that finds
// one free runs at once, alone, so an idle store adds no latency.
//
// A read joins a batch whose query starts after the read began, never one
// already sent: a write that returned before the read began is seen, as
// [store.Store] requires of every read.
type tokenReader struct {
	pool *pgxpool.Pool

	mu sync.Mutex // guards pending and flights
	// pending are the reads waiting for the next query.
	pending []*tokenRead
	// flights is how many goroutines are sending queries (at most
	// maxFlights); each sends until pending is empty.
	flights int

	// reads and queries count the reads answered and the queries sent.
	reads, queries atomic.Int64
}

const (
	// maxFlights is how many batch queries may run at once: pgxpool's
	// default pool on two CPUs, so that reads leave no connection idle
	// at light load and writes still find one.
	maxFlights = 4
	// maxBatch caps the hashes of one query.
	maxBatch = 256
	// batchTimeout bounds a batch query, which runs apart from the
	// callers' contexts (each waits on its own, and may give up sooner).
	batchTimeout = 10 * time.Second
)

// tokenRead is one caller's read: done is closed when tok or err is set.
type tokenRead struct {
	hash []byte
	tok  *store.Token
	err  error
	done chan struct{}
}

// read returns the token whose hash is hash, or store.ErrNotFound.
func (r *tokenReader) read(ctx context.Context, hash []byte) (*store.Token, error) {
	req := &tokenRead{hash: hash, done: make(chan struct{})}
	r.mu.Lock()
	r.pending = append(r.pending, req)
	fly := r.flights < maxFlights
	if fly {
		r.flights++
	}
	r.mu.Unlock()
	if fly {
		go r.fly()
	}
	select {
	case <-req.done:
		return req.tok, req.err
	case <-ctx.Done():
		return nil, wrap(ctx.Err())
	}
}

// fly sends the pending reads, a batch at a time, until none are left.
func (r *tokenReader) fly() {
	for {
		r.mu.Lock()
		n := min(len(r.pending), maxBatch)
		if n == 0 {
			r.flights--
			r.mu.Unlock()
			return
		}
		batch := r.pending[:n:n]
		r.pending = r.pending[n:]
		if len(r.pending) == 0 {
			r.pending = nil // let the old array go
		}
		r.mu.Unlock()
		r.send(batch)
	}
}

// send answers batch with one query.
func (r *tokenReader) send(batch []*tokenRead) {
	hashes := make([][]byte, len(batch))
	for i, req := range batch {
		hashes[i] = req.hash
	}
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	found, err := r.query(ctx, hashes)
	r.queries.Add(1)
	r.reads.Add(int64(len(batch)))
	byHash := make(map[string]*store.Token, len(found))
	for _, t := range found {
		byHash[string(t.Hash)] = t
	}
	given := make(map[*store.Token]bool, len(found))
	for _, req := range batch {
		t, ok := byHash[string(req.hash)]
		switch {
		case err != nil:
			req.err = err
		case !ok:
			req.err = store.ErrNotFound
		case given[t]: // a hash asked twice: each caller has its own copy
			req.tok = t.Clone()
		default:
			given[t] = true
			req.tok = t
		}
	}
	// Only now, copies made: a caller may change its token once it has it.
	for _, req := range batch {
		close(req.done)
	}
}

// query reads the tokens whose hashes are among hashes.
func (r *tokenReader) query(ctx context.Context, hashes [][]byte) ([]*store.Token, error) {
	rows, err := r.pool.Query(ctx, `SELECT hash, `+tokenCols+` FROM tokens WHERE hash = ANY($1)`, hashes)
	if err != nil {
		return nil, wrap(err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*store.Token, error) {
		var t store.Token
		var iat, exp, authTime, grantExp, used int64
		err := row.Scan(&t.Hash, &t.ClientID, &t.Subject, &t.Scope, &t.Audience, &t.JWTID, &t.GrantID, &t.Format,
			&t.Claims, &iat, &exp, &t.Revoked, &t.Kind, &t.Username, &authTime, &t.ACR, &t.AMR, &grantExp, &used)
		t.Audience, t.AMR = fromList(t.Audience), fromList(t.AMR)
		t.IssuedAt, t.ExpiresAt = fromMillis(iat), fromMillis(exp)
		t.AuthTime, t.GrantExpiresAt, t.UsedAt = fromMillis(authTime), fromMillis(grantExp), fromMillis(used)
		return &t, err
	})
	if err != nil {
		return nil, wrap(err)
	}
	return out, nil
}
