package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tokengate/tokengate/provider/store"
)

// migrationEvents (2) adds the log of revocation events: one row naming the
// log and holding its head, and the events.
//
// Positions follow the order of the commits, without gaps, across replicas
// (docs/revocation-events.md §3): a revoking transaction takes its
// positions by updating the head row, whose row lock it then holds until
// it commits, so a later transaction's positions are both higher and
// visible later. A sequence would not do: its values are taken in one
// order and committed in another.
const migrationEvents = `CREATE TABLE event_log (
		id integer PRIMARY KEY CHECK (id = 1),
		log_id text NOT NULL,
		head bigint NOT NULL
	);
	INSERT INTO event_log (id, log_id, head) VALUES (1, md5(random()::text || clock_timestamp()::text), 0);
	CREATE TABLE events (
		position bigint PRIMARY KEY,
		token_hash bytea NOT NULL,
		token_jti text NOT NULL DEFAULT '',
		token_exp bigint NOT NULL,
		client_id text NOT NULL,
		audience text[] NOT NULL DEFAULT '{}',
		reason text NOT NULL DEFAULT '',
		appended_at bigint NOT NULL
	);
	CREATE INDEX events_token_exp ON events(token_exp);
	CREATE INDEX events_appended_at ON events(appended_at);`

// appendEvents appends, in tx, an event with reason for each access token
// that is not revoked yet among the tokens matching where (a condition on
// the tokens table whose parameters are $3, $4...: args), locking them in
// the order of their hashes (two revocations of overlapping tokens, by
// grant and by user, take their locks in one order, not each its index's):
// the revoking statement must come after it, in the same transaction.
func appendEvents(ctx context.Context, tx pgx.Tx, reason, where string, args ...any) error {
	_, err := tx.Exec(ctx, `WITH
		ev AS MATERIALIZED (SELECT hash, jti, format, expires_at, client_id, audience FROM tokens
			WHERE NOT revoked AND kind <> 'refresh' AND (`+where+`) ORDER BY hash FOR UPDATE),
		log AS (UPDATE event_log SET head = head + (SELECT count(*) FROM ev) WHERE id = 1 RETURNING head)
		INSERT INTO events (position, token_hash, token_jti, token_exp, client_id, audience, reason, appended_at)
		SELECT (SELECT head FROM log) - (SELECT count(*) FROM ev) + row_number() OVER (ORDER BY expires_at, hash),
			hash, CASE WHEN format = 'jwt' THEN jti ELSE '' END, expires_at, client_id, audience, $1, $2
		FROM ev`,
		append([]any{reason, time.Now().UnixMilli()}, args...)...)
	return err
}

// revoking runs appendEvents and then revoke in one durable transaction.
func (s *Store) revoking(ctx context.Context, reason, where string, args []any, revoke func(pgx.Tx) error) error {
	return wrap(pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := appendEvents(ctx, tx, reason, where, args...); err != nil {
			return err
		}
		return revoke(tx)
	}))
}

const eventCols = `position, token_hash, token_jti, token_exp, client_id, audience, reason, appended_at`

func scanEvent(row pgx.Row) (*store.Event, error) {
	var e store.Event
	var exp, appended int64
	if err := row.Scan(&e.Position, &e.TokenHash, &e.TokenJWTID, &exp, &e.ClientID, &e.Audience, &e.Reason, &appended); err != nil {
		return nil, wrap(err)
	}
	e.Audience = fromList(e.Audience)
	e.TokenExpiresAt, e.AppendedAt = fromMillis(exp), fromMillis(appended)
	return &e, nil
}

// Events implements [store.Store] with two reads, the events then the log.
func (s *Store) Events(ctx context.Context, after int64, limit int) (*store.EventLog, []*store.Event, error) {
	if limit < 0 {
		return nil, nil, fmt.Errorf("postgres: Events: limit %d is negative", limit)
	}
	var events []*store.Event
	if limit > 0 {
		var err error
		events, err = queryAll(ctx, s.pool, scanEvent, `SELECT `+eventCols+` FROM events WHERE position > $1 ORDER BY position LIMIT $2`,
			after, limit)
		if err != nil {
			return nil, nil, err
		}
	}
	var log store.EventLog
	if err := s.pool.QueryRow(ctx, `SELECT log_id, head FROM event_log WHERE id = 1`).Scan(&log.ID, &log.Head); err != nil {
		return nil, nil, wrap(err)
	}
	return &log, events, nil
}

// DeleteEvents implements [store.Store]: one statement over at most limit
// rows; rows another transaction holds are skipped.
func (s *Store) DeleteEvents(ctx context.Context, tokenExpiredBefore, appendedBefore time.Time, limit int) (int64, error) {
	if limit <= 0 {
		return 0, fmt.Errorf("postgres: DeleteEvents: limit %d is not positive", limit)
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM events WHERE position IN
		(SELECT position FROM events WHERE token_exp < $1 OR appended_at < $2 LIMIT $3 FOR UPDATE SKIP LOCKED)`,
		toMillis(tokenExpiredBefore), toMillis(appendedBefore), limit)
	if err != nil {
		return 0, wrap(err)
	}
	return tag.RowsAffected(), nil
}
