package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/tokengate/tokengate/provider/store"
)

// migrationEvents (4) adds the log of revocation events: one row naming the
// log and holding its head, and the events. An event's position is the
// head plus one, taken in the revoking transaction; SQLite has one writer
// at a time, so positions follow the order of the commits.
const migrationEvents = `CREATE TABLE event_log (
		id INTEGER PRIMARY KEY CHECK (id = 1),
		log_id TEXT NOT NULL,
		head INTEGER NOT NULL
	);
	INSERT INTO event_log (id, log_id, head) VALUES (1, lower(hex(randomblob(16))), 0);
	CREATE TABLE events (
		position INTEGER PRIMARY KEY,
		token_hash BLOB NOT NULL,
		token_jti TEXT NOT NULL DEFAULT '',
		token_exp INTEGER NOT NULL,
		client_id TEXT NOT NULL,
		audience TEXT NOT NULL DEFAULT '[]',
		reason TEXT NOT NULL DEFAULT '',
		appended_at INTEGER NOT NULL
	);
	CREATE INDEX events_token_exp ON events(token_exp);
	CREATE INDEX events_appended_at ON events(appended_at);`

// appendEvents appends, in tx, an event with reason for each access token
// that is not revoked yet among the tokens matching where (a condition on
// the tokens table, with args): the revoking statement must come after it.
func appendEvents(ctx context.Context, tx *sql.Tx, reason, where string, args ...any) error {
	res, err := tx.ExecContext(ctx, `INSERT INTO events
		(position, token_hash, token_jti, token_exp, client_id, audience, reason, appended_at)
		SELECT (SELECT head FROM event_log WHERE id = 1) + row_number() OVER (ORDER BY expires_at, hash),
			hash, CASE WHEN format = 'jwt' THEN jti ELSE '' END, expires_at, client_id, audience, ?, ?
		FROM tokens WHERE revoked = 0 AND kind != 'refresh' AND (`+where+`)`,
		append([]any{reason, time.Now().UnixMilli()}, args...)...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil || n == 0 {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE event_log SET head = head + ? WHERE id = 1`, n)
	return err
}

const eventCols = `position, token_hash, token_jti, token_exp, client_id, audience, reason, appended_at`

func scanEvent(row scanner) (*store.Event, error) {
	var e store.Event
	var aud string
	var exp, appended int64
	if err := row.Scan(&e.Position, &e.TokenHash, &e.TokenJWTID, &exp, &e.ClientID, &aud, &e.Reason, &appended); err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	if err := unmarshalList(aud, &e.Audience); err != nil {
		return nil, err
	}
	e.TokenExpiresAt, e.AppendedAt = fromMillis(exp), fromMillis(appended)
	return &e, nil
}

// Events implements [store.Store]. It runs two reads, the events then the
// log, outside a transaction (an immediate one would wait for writers):
// the head it reports is at least the last position it returns.
func (s *Store) Events(ctx context.Context, after int64, limit int) (*store.EventLog, []*store.Event, error) {
	if limit < 0 {
		return nil, nil, fmt.Errorf("sqlite: Events: limit %d is negative", limit)
	}
	var events []*store.Event
	if limit > 0 {
		var err error
		events, err = queryAll(ctx, s.db, scanEvent, `SELECT `+eventCols+` FROM events WHERE position > ? ORDER BY position LIMIT ?`,
			after, limit)
		if err != nil {
			return nil, nil, err
		}
	}
	var log store.EventLog
	if err := s.getEventLog.QueryRowContext(pointRead(ctx)).Scan(&log.ID, &log.Head); err != nil {
		return nil, nil, fmt.Errorf("sqlite: %w", err)
	}
	return &log, events, nil
}

// DeleteEvents implements [store.Store]: one statement over at most limit
// rows found through the token_exp and appended_at indexes.
func (s *Store) DeleteEvents(ctx context.Context, tokenExpiredBefore, appendedBefore time.Time, limit int) (int64, error) {
	if limit <= 0 {
		return 0, fmt.Errorf("sqlite: DeleteEvents: limit %d is not positive", limit)
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	res, err := s.db.ExecContext(ctx, `DELETE FROM events WHERE position IN
		(SELECT position FROM events WHERE token_exp < ? OR appended_at < ? LIMIT ?)`,
		toMillis(tokenExpiredBefore), toMillis(appendedBefore), limit)
	if err != nil {
		return 0, fmt.Errorf("sqlite: %w", err)
	}
	return res.RowsAffected()
}
