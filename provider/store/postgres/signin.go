package postgres

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tokengate/tokengate/provider/store"
	"github.com/tokengate/tokengate/secevent"
)

const codeCols = `hash, client_id, grant_id, subject, username, redirect_uri, scope, audience, code_challenge, nonce,
	auth_time, acr, amr, issued_at, expires_at, used_at`

// SaveCode implements [store.Store].
func (s *Store) SaveCode(ctx context.Context, c *store.Code) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO codes (`+codeCols+`) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16)`,
		c.Hash, c.ClientID, c.GrantID, c.Subject, c.Username, c.RedirectURI, c.Scope, toList(c.Audience),
		c.CodeChallenge, c.Nonce, toMillis(c.AuthTime), c.ACR, toList(c.AMR), toMillis(c.IssuedAt),
		toMillis(c.ExpiresAt), toMillis(c.UsedAt))
	if hasCode(err, foreignKeyViolation) {
		return fmt.Errorf("postgres: code of client %q: %w", c.ClientID, store.ErrNotFound)
	}
	return wrap(err)
}

// Code implements [store.Store].
func (s *Store) Code(ctx context.Context, hash []byte) (*store.Code, error) {
	var c store.Code
	var authTime, iat, exp, used int64
	err := s.pool.QueryRow(ctx, `SELECT `+codeCols+` FROM codes WHERE hash = $1`, hash).Scan(
		&c.Hash, &c.ClientID, &c.GrantID, &c.Subject, &c.Username, &c.RedirectURI, &c.Scope, &c.Audience, &c.CodeChallenge,
		&c.Nonce, &authTime, &c.ACR, &c.AMR, &iat, &exp, &used)
	if err != nil {
		return nil, rowError(err)
	}
	c.Audience, c.AMR = fromList(c.Audience), fromList(c.AMR)
	c.AuthTime, c.IssuedAt, c.ExpiresAt, c.UsedAt = fromMillis(authTime), fromMillis(iat), fromMillis(exp), fromMillis(used)
	return &c, nil
}

// RedeemCode implements [store.Store] in one durable statement (see
// [Store.useOnce]): a redeemed code stays redeemed.
func (s *Store) RedeemCode(ctx context.Context, hash []byte, usedAt time.Time, tokens ...*store.Token) error {
	return s.useOnce(ctx, `UPDATE codes SET used_at = $2 WHERE hash = $1 AND used_at = 0 RETURNING hash`,
		`SELECT FROM codes WHERE hash = $1`, hash, usedAt, tokens)
}

// RotateToken implements [store.Store] in one durable statement (see
// [Store.useOnce]): a rotated refresh token stays used.
func (s *Store) RotateToken(ctx context.Context, hash []byte, usedAt time.Time, tokens ...*store.Token) error {
	return s.useOnce(ctx, `UPDATE tokens SET used_at = $2 WHERE hash = $1 AND used_at = 0 AND NOT revoked RETURNING hash`,
		`SELECT FROM tokens WHERE hash = $1`, hash, usedAt, tokens)
}

// useOnce marks a single-use row used and inserts tokens in one statement,
// so one round trip and one atomic commit: update (which must change one
// row) runs as a data-modifying common table expression, the tokens are
// inserted only if it changed one, and exists tells ErrUsed from
// ErrNotFound when it did not. Of two redemptions at once, the second
// waits for the first's row lock and then finds the row used. The tokens
// travel as one JSON array of rows (jsonb_populate_recordset), whatever
// their number; a token of a client that does not exist fails the whole
// statement, so the row stays unused.
func (s *Store) useOnce(ctx context.Context, update, exists string, hash []byte, usedAt time.Time, tokens []*store.Token) error {
	rows := make([]tokenRow, len(tokens))
	for i, t := range tokens {
		rows[i] = newTokenRow(t)
	}
	batch, err := json.Marshal(rows)
	if err != nil {
		return wrap(err)
	}
	var updated, found bool
	err = s.pool.QueryRow(ctx, `WITH used AS (`+update+`),
		saved AS (INSERT INTO tokens SELECT * FROM jsonb_populate_recordset(NULL::tokens, $3::jsonb) WHERE EXISTS (SELECT FROM used))
		SELECT EXISTS (SELECT FROM used), EXISTS (`+exists+`)`,
		hash, max(toMillis(usedAt), 1), string(batch)).Scan(&updated, &found)
	switch {
	case hasCode(err, foreignKeyViolation):
		return fmt.Errorf("postgres: token of an unknown client: %w", store.ErrNotFound)
	case err != nil:
		return wrap(err)
	case !found:
		return store.ErrNotFound
	case !updated:
		return store.ErrUsed
	}
	return nil
}

// tokenRow is a row of the tokens table as jsonb_populate_recordset reads
// it: one member per column, bytea as PostgreSQL's hex text.
type tokenRow struct {
	Hash           string   `json:"hash"`
	ClientID       string   `json:"client_id"`
	Subject        string   `json:"subject"`
	Scope          string   `json:"scope"`
	Audience       []string `json:"audience"`
	JTI            string   `json:"jti"`
	GrantID        string   `json:"grant_id"`
	Format         string   `json:"format"`
	Claims         *string  `json:"claims"`
	IssuedAt       int64    `json:"issued_at"`
	ExpiresAt      int64    `json:"expires_at"`
	Revoked        bool     `json:"revoked"`
	Kind           string   `json:"kind"`
	Username       string   `json:"username"`
	AuthTime       int64    `json:"auth_time"`
	ACR            string   `json:"acr"`
	AMR            []string `json:"amr"`
	GrantExpiresAt int64    `json:"grant_expires_at"`
	UsedAt         int64    `json:"used_at"`
}

func newTokenRow(t *store.Token) tokenRow {
	r := tokenRow{
		Hash: byteaText(t.Hash), ClientID: t.ClientID, Subject: t.Subject, Scope: t.Scope, Audience: toList(t.Audience),
		JTI: t.JWTID, GrantID: t.GrantID, Format: t.Format, IssuedAt: toMillis(t.IssuedAt), ExpiresAt: toMillis(t.ExpiresAt),
		Revoked: t.Revoked, Kind: t.Kind, Username: t.Username, AuthTime: toMillis(t.AuthTime), ACR: t.ACR,
		AMR: toList(t.AMR), GrantExpiresAt: toMillis(t.GrantExpiresAt), UsedAt: toMillis(t.UsedAt),
	}
	if t.Claims != nil {
		c := byteaText(t.Claims)
		r.Claims = &c
	}
	return r
}

// byteaText is b in PostgreSQL's hex input format for bytea.
func byteaText(b []byte) string { return `\x` + hex.EncodeToString(b) }

// RevokeConsent implements [store.Store] in one durable transaction: the
// events appended, then one statement: the consent deleted, the user's
// tokens of the client revoked and its unredeemed codes marked used, all
// or nothing.
func (s *Store) RevokeConsent(ctx context.Context, subject, clientID string) (int64, error) {
	// client_id = $2 OR $2 = '': one statement for one client or all.
	var n int64
	err := s.revoking(ctx, secevent.ReasonGrantRevoked, `subject = $3 AND (client_id = $4 OR $4 = '')`, []any{subject, clientID}, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `WITH
		consent AS (DELETE FROM consents WHERE subject = $1 AND (client_id = $2 OR $2 = '')),
		code AS (UPDATE codes SET used_at = issued_at WHERE subject = $1 AND (client_id = $2 OR $2 = '') AND used_at = 0),
		revoked AS (UPDATE tokens SET revoked = true WHERE subject = $1 AND (client_id = $2 OR $2 = '') AND NOT revoked RETURNING 1)
		SELECT count(*) FROM revoked`, subject, clientID).Scan(&n)
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

const consentCols = `subject, client_id, scopes, granted_at, expires_at`

func scanConsent(row pgx.Row) (*store.Consent, error) {
	var c store.Consent
	var granted, exp int64
	if err := row.Scan(&c.Subject, &c.ClientID, &c.Scopes, &granted, &exp); err != nil {
		return nil, rowError(err)
	}
	c.Scopes = fromList(c.Scopes)
	c.GrantedAt, c.ExpiresAt = fromMillis(granted), fromMillis(exp)
	return &c, nil
}

// SaveConsent implements [store.Store].
func (s *Store) SaveConsent(ctx context.Context, c *store.Consent) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO consents (`+consentCols+`) VALUES ($1,$2,$3,$4,$5)
		ON CONFLICT (subject, client_id) DO UPDATE SET scopes = excluded.scopes, granted_at = excluded.granted_at,
		expires_at = excluded.expires_at`,
		c.Subject, c.ClientID, toList(c.Scopes), toMillis(c.GrantedAt), toMillis(c.ExpiresAt))
	if hasCode(err, foreignKeyViolation) {
		return fmt.Errorf("postgres: consent to client %q: %w", c.ClientID, store.ErrNotFound)
	}
	return wrap(err)
}

// Consent implements [store.Store].
func (s *Store) Consent(ctx context.Context, subject, clientID string) (*store.Consent, error) {
	return scanConsent(s.pool.QueryRow(ctx, `SELECT `+consentCols+` FROM consents WHERE subject = $1 AND client_id = $2`,
		subject, clientID))
}

// Consents implements [store.Store].
func (s *Store) Consents(ctx context.Context, subject string) ([]*store.Consent, error) {
	return queryAll(ctx, s.pool, scanConsent, `SELECT `+consentCols+` FROM consents WHERE subject = $1 ORDER BY client_id`, subject)
}

const sessionCols = `subject, username, auth_time, acr, amr, created_at, expires_at`

// SaveSession implements [store.Store].
func (s *Store) SaveSession(ctx context.Context, ss *store.Session) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO sessions (hash, `+sessionCols+`) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`,
		ss.Hash, ss.Subject, ss.Username, toMillis(ss.AuthTime), ss.ACR, toList(ss.AMR),
		toMillis(ss.CreatedAt), toMillis(ss.ExpiresAt))
	return wrap(err)
}

// Session implements [store.Store].
func (s *Store) Session(ctx context.Context, hash []byte) (*store.Session, error) {
	ss := store.Session{Hash: bytes.Clone(hash)}
	var authTime, created, exp int64
	err := s.pool.QueryRow(ctx, `SELECT `+sessionCols+` FROM sessions WHERE hash = $1`, hash).Scan(
		&ss.Subject, &ss.Username, &authTime, &ss.ACR, &ss.AMR, &created, &exp)
	if err != nil {
		return nil, rowError(err)
	}
	ss.AMR = fromList(ss.AMR)
	ss.AuthTime, ss.CreatedAt, ss.ExpiresAt = fromMillis(authTime), fromMillis(created), fromMillis(exp)
	return &ss, nil
}

// DeleteSession implements [store.Store] with one durable delete: an ended
// session stays ended.
func (s *Store) DeleteSession(ctx context.Context, hash []byte) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE hash = $1`, hash)
	return wrap(err)
}

// DeleteSessions implements [store.Store] with one durable delete.
func (s *Store) DeleteSessions(ctx context.Context, subject string) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE subject = $1`, subject)
	if err != nil {
		return 0, wrap(err)
	}
	return tag.RowsAffected(), nil
}

const interactionCols = `hash, browser_hash, kind, request, result, created_at, expires_at`

func scanInteraction(row pgx.Row) (*store.Interaction, error) {
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
	_, err := s.pool.Exec(ctx, `INSERT INTO interactions (`+interactionCols+`) VALUES ($1,$2,$3,$4,$5,$6,$7)`,
		i.Hash, i.BrowserHash, i.Kind, i.Request, i.Result, toMillis(i.CreatedAt), toMillis(i.ExpiresAt))
	return wrap(err)
}

// Interaction implements [store.Store].
func (s *Store) Interaction(ctx context.Context, hash []byte) (*store.Interaction, error) {
	return scanInteraction(s.pool.QueryRow(ctx, `SELECT `+interactionCols+` FROM interactions WHERE hash = $1`, hash))
}

// FinishInteraction implements [store.Store] in one statement, which also
// tells a finished interaction (ErrUsed) from a missing one.
func (s *Store) FinishInteraction(ctx context.Context, hash []byte, result []byte) error {
	if result == nil {
		result = []byte{}
	}
	var updated, found bool
	err := s.pool.QueryRow(ctx, `WITH finished AS
		(UPDATE interactions SET result = $2 WHERE hash = $1 AND result IS NULL RETURNING hash)
		SELECT EXISTS (SELECT FROM finished), EXISTS (SELECT FROM interactions WHERE hash = $1)`,
		hash, result).Scan(&updated, &found)
	switch {
	case err != nil:
		return wrap(err)
	case updated:
		return nil
	case !found:
		return store.ErrNotFound
	}
	return store.ErrUsed
}

// TakeInteraction implements [store.Store]: of two deletes at once, the
// second finds no row.
func (s *Store) TakeInteraction(ctx context.Context, hash []byte) (*store.Interaction, error) {
	return scanInteraction(s.pool.QueryRow(ctx, `DELETE FROM interactions WHERE hash = $1 RETURNING `+interactionCols, hash))
}

// DeleteExpired implements [store.Store]: one transaction over the four
// tables, each through its expires_at index, at most limit rows in all.
func (s *Store) DeleteExpired(ctx context.Context, before time.Time, limit int) (int64, error) {
	if limit <= 0 {
		return 0, fmt.Errorf("postgres: DeleteExpired: limit %d is not positive", limit)
	}
	var total int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		total = 0
		for _, q := range []string{
			`DELETE FROM codes WHERE hash IN
				(SELECT hash FROM codes WHERE expires_at < $1 ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
			`DELETE FROM sessions WHERE hash IN
				(SELECT hash FROM sessions WHERE expires_at < $1 ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
			`DELETE FROM consents WHERE (subject, client_id) IN
				(SELECT subject, client_id FROM consents WHERE expires_at < $1 ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
			`DELETE FROM interactions WHERE hash IN
				(SELECT hash FROM interactions WHERE expires_at < $1 ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
		} {
			if total >= int64(limit) {
				break
			}
			tag, err := tx.Exec(ctx, q, toMillis(before), int64(limit)-total)
			if err != nil {
				return err
			}
			total += tag.RowsAffected()
		}
		return nil
	})
	if err != nil {
		return 0, wrap(err)
	}
	return total, nil
}
