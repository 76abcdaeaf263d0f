package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/tokengate/tokengate/provider/store"
	"github.com/tokengate/tokengate/secevent"
	sqlite3 "modernc.org/sqlite/lib"
)

const codeCols = `hash, client_id, grant_id, subject, username, redirect_uri, scope, audience, code_challenge, nonce,
	auth_time, acr, amr, issued_at, expires_at, used_at`

// SaveCode implements [store.Store].
func (s *Store) SaveCode(ctx context.Context, c *store.Code) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	_, err := s.db.ExecContext(ctx, `INSERT INTO codes (`+codeCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		c.Hash, c.ClientID, c.GrantID, c.Subject, c.Username, c.RedirectURI, c.Scope, marshalList(c.Audience),
		c.CodeChallenge, c.Nonce, toMillis(c.AuthTime), c.ACR, marshalList(c.AMR), toMillis(c.IssuedAt),
		toMillis(c.ExpiresAt), toMillis(c.UsedAt))
	if hasCode(err, sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY) {
		return fmt.Errorf("sqlite: code of client %q: %w", c.ClientID, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	return nil
}

// Code implements [store.Store].
func (s *Store) Code(ctx context.Context, hash []byte) (*store.Code, error) {
	var c store.Code
	var aud, amr string
	var authTime, iat, exp, used int64
	err := s.db.QueryRowContext(pointRead(ctx), `SELECT `+codeCols+` FROM codes WHERE hash = ?`, hash).Scan(
		&c.Hash, &c.ClientID, &c.GrantID, &c.Subject, &c.Username, &c.RedirectURI, &c.Scope, &aud, &c.CodeChallenge,
		&c.Nonce, &authTime, &c.ACR, &amr, &iat, &exp, &used)
	if err != nil {
		return nil, rowError(err)
	}
	if err := unmarshalList(aud, &c.Audience); err != nil {
		return nil, err
	}
	if err := unmarshalList(amr, &c.AMR); err != nil {
		return nil, err
	}
	c.AuthTime, c.IssuedAt, c.ExpiresAt, c.UsedAt = fromMillis(authTime), fromMillis(iat), fromMillis(exp), fromMillis(used)
	return &c, nil
}

// RedeemCode implements [store.Store]; it commits durably (see the package
// documentation): a redeemed code stays redeemed.
func (s *Store) RedeemCode(ctx context.Context, hash []byte, usedAt time.Time, tokens ...*store.Token) error {
	return s.useOnce(ctx, `UPDATE codes SET used_at = ? WHERE hash = ? AND used_at = 0`,
		`SELECT 1 FROM codes WHERE hash = ?`, hash, usedAt, tokens)
}

// RotateToken implements [store.Store]; it commits durably (see the
// package documentation): a rotated refresh token stays used.
func (s *Store) RotateToken(ctx context.Context, hash []byte, usedAt time.Time, tokens ...*store.Token) error {
	return s.useOnce(ctx, `UPDATE tokens SET used_at = ? WHERE hash = ? AND used_at = 0 AND revoked = 0`,
		`SELECT 1 FROM tokens WHERE hash = ?`, hash, usedAt, tokens)
}

// useOnce marks a single-use row used (update, which must change one row)
// and inserts tokens, in one durable transaction; when the update changes
// nothing, exists tells ErrUsed from ErrNotFound.
func (s *Store) useOnce(ctx context.Context, update, exists string, hash []byte, usedAt time.Time, tokens []*store.Token) error {
	errStop := errors.New("stop")
	var result error
	err := s.durableTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, update, max(toMillis(usedAt), 1), hash)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			var one int
			result = store.ErrUsed
			if err := tx.QueryRowContext(ctx, exists, hash).Scan(&one); errors.Is(err, sql.ErrNoRows) {
				result = store.ErrNotFound
			} else if err != nil {
				return err
			}
			return errStop
		}
		for _, t := range tokens {
			if err := insertToken(ctx, tx, t); err != nil {
				result = err
				return errStop
			}
		}
		return nil
	})
	if result != nil {
		return result
	}
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	return nil
}

// RevokeConsent implements [store.Store] in one transaction that commits
// durably (see the package documentation).
func (s *Store) RevokeConsent(ctx context.Context, subject, clientID string) (int64, error) {
	// client_id = ?2 OR ?2 = '': one statement for one client or all.
	var n int64
	err := s.durableTx(ctx, func(tx *sql.Tx) error {
		if err := appendEvents(ctx, tx, secevent.ReasonGrantRevoked, `subject = ? AND (client_id = ? OR ? = '')`,
			subject, clientID, clientID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM consents WHERE subject = ?1 AND (client_id = ?2 OR ?2 = '')`,
			subject, clientID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE tokens SET revoked = 1
			WHERE subject = ?1 AND (client_id = ?2 OR ?2 = '') AND revoked = 0`, subject, clientID)
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE codes SET used_at = issued_at
			WHERE subject = ?1 AND (client_id = ?2 OR ?2 = '') AND used_at = 0`, subject, clientID)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: %w", err)
	}
	return n, nil
}

const consentCols = `subject, client_id, scopes, granted_at, expires_at`

func scanConsent(row scanner) (*store.Consent, error) {
	var c store.Consent
	var scopes string
	var granted, exp int64
	if err := row.Scan(&c.Subject, &c.ClientID, &scopes, &granted, &exp); err != nil {
		return nil, rowError(err)
	}
	if err := unmarshalList(scopes, &c.Scopes); err != nil {
		return nil, err
	}
	c.GrantedAt, c.ExpiresAt = fromMillis(granted), fromMillis(exp)
	return &c, nil
}

// SaveConsent implements [store.Store].
func (s *Store) SaveConsent(ctx context.Context, c *store.Consent) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	_, err := s.db.ExecContext(ctx, `INSERT INTO consents (`+consentCols+`) VALUES (?,?,?,?,?)
		ON CONFLICT (subject, client_id) DO UPDATE SET scopes = excluded.scopes, granted_at = excluded.granted_at,
		expires_at = excluded.expires_at`,
		c.Subject, c.ClientID, marshalList(c.Scopes), toMillis(c.GrantedAt), toMillis(c.ExpiresAt))
	if hasCode(err, sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY) {
		return fmt.Errorf("sqlite: consent to client %q: %w", c.ClientID, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	return nil
}

// Consent implements [store.Store].
func (s *Store) Consent(ctx context.Context, subject, clientID string) (*store.Consent, error) {
	return scanConsent(s.getConsent.QueryRowContext(pointRead(ctx), subject, clientID))
}

// Consents implements [store.Store].
func (s *Store) Consents(ctx context.Context, subject string) ([]*store.Consent, error) {
	return queryAll(ctx, s.db, scanConsent, `SELECT `+consentCols+` FROM consents WHERE subject = ? ORDER BY client_id`, subject)
}

const sessionCols = `subject, username, auth_time, acr, amr, created_at, expires_at`

// SaveSession implements [store.Store].
func (s *Store) SaveSession(ctx context.Context, ss *store.Session) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	_, err := s.db.ExecContext(ctx, `INSERT INTO sessions (hash, `+sessionCols+`) VALUES (?,?,?,?,?,?,?,?)`,
		ss.Hash, ss.Subject, ss.Username, toMillis(ss.AuthTime), ss.ACR, marshalList(ss.AMR),
		toMillis(ss.CreatedAt), toMillis(ss.ExpiresAt))
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	return nil
}

// Session implements [store.Store].
func (s *Store) Session(ctx context.Context, hash []byte) (*store.Session, error) {
	ss := store.Session{Hash: bytes.Clone(hash)}
	var amr string
	var authTime, created, exp int64
	err := s.getSession.QueryRowContext(pointRead(ctx), hash).Scan(&ss.Subject, &ss.Username, &authTime, &ss.ACR,
		&amr, &created, &exp)
	if err != nil {
		return nil, rowError(err)
	}
	if err := unmarshalList(amr, &ss.AMR); err != nil {
		return nil, err
	}
	ss.AuthTime, ss.CreatedAt, ss.ExpiresAt = fromMillis(authTime), fromMillis(created), fromMillis(exp)
	return &ss, nil
}

// DeleteSession implements [store.Store]; it commits durably (see the
// package documentation): an ended session stays ended.
func (s *Store) DeleteSession(ctx context.Context, hash []byte) error {
	err := s.durableTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE hash = ?`, hash)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	return nil
}

// DeleteSessions implements [store.Store]; it commits durably.
func (s *Store) DeleteSessions(ctx context.Context, subject string) (int64, error) {
	var n int64
	err := s.durableTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE subject = ?`, subject)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: %w", err)
	}
	return n, nil
}

const interactionCols = `hash, browser_hash, kind, request, result, created_at, expires_at`

func scanInteraction(row scanner) (*store.Interaction, error) {
	var i store.Interaction
	var created, exp int64
	if err := row.Scan(&i.Hash, &i.BrowserHash, &i.Kind, &i.Request, &i.Result, &created, &exp); err != nil {
		return nil, rowError(err)
	}
	i.CreatedAt, i.ExpiresAt = fromMillis(created), fromMillis(exp)
	return &i, nil
}

// SaveInteraction implements [store.Store].
func (s *Store) SaveInteraction(ctx context.Context, i *store.Interaction) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	_, err := s.db.ExecContext(ctx, `INSERT INTO interactions (`+interactionCols+`) VALUES (?,?,?,?,?,?,?)`,
		i.Hash, i.BrowserHash, i.Kind, i.Request, i.Result, toMillis(i.CreatedAt), toMillis(i.ExpiresAt))
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	return nil
}

// Interaction implements [store.Store].
func (s *Store) Interaction(ctx context.Context, hash []byte) (*store.Interaction, error) {
	return scanInteraction(s.db.QueryRowContext(pointRead(ctx), `SELECT `+interactionCols+` FROM interactions WHERE hash = ?`, hash))
}

// FinishInteraction implements [store.Store].
func (s *Store) FinishInteraction(ctx context.Context, hash []byte, result []byte) error {
	if result == nil {
		result = []byte{}
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	res, err := s.db.ExecContext(ctx, `UPDATE interactions SET result = ? WHERE hash = ? AND result IS NULL`, result, hash)
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlite: %w", err)
	} else if n == 1 {
		return nil
	}
	var one int
	err = s.db.QueryRowContext(ctx, `SELECT 1 FROM interactions WHERE hash = ?`, hash).Scan(&one)
	if err != nil {
		return rowError(err)
	}
	return store.ErrUsed
}

// TakeInteraction implements [store.Store].
func (s *Store) TakeInteraction(ctx context.Context, hash []byte) (*store.Interaction, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	return scanInteraction(s.db.QueryRowContext(ctx, `DELETE FROM interactions WHERE hash = ? RETURNING `+interactionCols, hash))
}

// DeleteExpired implements [store.Store]: one transaction over the four
// tables, each through its expires_at index, at most limit rows in all.
func (s *Store) DeleteExpired(ctx context.Context, before time.Time, limit int) (int64, error) {
	if limit <= 0 {
		return 0, fmt.Errorf("sqlite: DeleteExpired: limit %d is not positive", limit)
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("sqlite: %w", err)
	}
	defer tx.Rollback()
	var total int64
	for _, q := range []string{
		`DELETE FROM codes WHERE hash IN (SELECT hash FROM codes WHERE expires_at < ? ORDER BY expires_at LIMIT ?)`,
		`DELETE FROM sessions WHERE hash IN (SELECT hash FROM sessions WHERE expires_at < ? ORDER BY expires_at LIMIT ?)`,
		`DELETE FROM consents WHERE (subject, client_id) IN
			(SELECT subject, client_id FROM consents WHERE expires_at < ? ORDER BY expires_at LIMIT ?)`,
		`DELETE FROM interactions WHERE hash IN (SELECT hash FROM interactions WHERE expires_at < ? ORDER BY expires_at LIMIT ?)`,
	} {
		if total >= int64(limit) {
			break
		}
		res, err := tx.ExecContext(ctx, q, toMillis(before), int64(limit)-total)
		if err != nil {
			return 0, fmt.Errorf("sqlite: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, fmt.Errorf("sqlite: %w", err)
		}
		total += n
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("sqlite: %w", err)
	}
	return total, nil
}
