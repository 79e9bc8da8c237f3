package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ssogate/ssogate/store"
)

const oauthTokenColumns = `id, kind, family_id, client_id, user_id, session_id, scopes, audience, amr,
	auth_time, created_at, expires_at, used_at, data`

// CreateOAuthToken stores t; CreatedAt is the store's clock when zero.
// store.ErrConflict if t.ID exists, store.ErrNotFound if the user does not.
func (s *Store) CreateOAuthToken(ctx context.Context, t *store.OAuthToken) error {
	if err := insertOAuthToken(ctx, s.wdb, t); err != nil {
		return fmt.Errorf("sqlite: create oauth token: %w", mapErr(err))
	}
	return nil
}

func insertOAuthToken(ctx context.Context, q querier, t *store.OAuthToken) error {
	if t.CreatedAt.IsZero() {
		t.CreatedAt = now()
	}
	scopes, err := toJSON(t.Scopes)
	if err != nil {
		return err
	}
	aud, err := toJSON(t.Audience)
	if err != nil {
		return err
	}
	amr, err := toJSON(t.AMR)
	if err != nil {
		return err
	}
	var data any
	if len(t.Data) > 0 {
		data = t.Data
	}
	_, err = q.ExecContext(ctx, `INSERT INTO oauth_tokens (`+oauthTokenColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.ID, t.Kind, t.FamilyID, t.ClientID, t.UserID, t.SessionID, scopes, aud, amr,
		toMillis(t.AuthTime), t.CreatedAt.UnixMilli(), t.ExpiresAt.UnixMilli(), toMillis(t.UsedAt), data)
	return err
}

// GetOAuthToken returns the token with id, expired or not, or
// store.ErrNotFound.
func (s *Store) GetOAuthToken(ctx context.Context, id string) (*store.OAuthToken, error) {
	t, err := scanOAuthToken(s.db.QueryRowContext(ctx, `SELECT `+oauthTokenColumns+` FROM oauth_tokens WHERE id = ?`, id))
	if err != nil {
		return nil, fmt.Errorf("sqlite: get oauth token: %w", mapErr(err))
	}
	return t, nil
}

// RotateRefreshToken marks refresh token id used and stores next in its
// family, in one transaction on the single writing connection, so of
// concurrent callers exactly one finds the token unused.
func (s *Store) RotateRefreshToken(ctx context.Context, id string, next *store.OAuthToken, at time.Time) (*store.OAuthToken, error) {
	old, err := s.rotateRefreshToken(ctx, id, next, at)
	if err != nil {
		return nil, fmt.Errorf("sqlite: rotate refresh token: %w", mapErr(err))
	}
	return old, nil
}

func (s *Store) rotateRefreshToken(ctx context.Context, id string, next *store.OAuthToken, at time.Time) (*store.OAuthToken, error) {
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback() }()
	old, err := scanOAuthToken(tx.QueryRowContext(ctx, `SELECT `+oauthTokenColumns+` FROM oauth_tokens WHERE id = ?`, id))
	if err != nil {
		return nil, err
	}
	if old.Kind != store.TokenRefresh || !at.Before(old.ExpiresAt) {
		return nil, store.ErrNotFound
	}
	if !old.UsedAt.IsZero() {
		// An empty family_id is no family: the other tokens without one
		// are not this token's.
		if _, err := tx.ExecContext(ctx, `DELETE FROM oauth_tokens WHERE id = ? OR (family_id = ? AND family_id <> '')`,
			old.ID, old.FamilyID); err != nil {
			return nil, err
		}
		if err := tx.Commit(); err != nil {
			return nil, err
		}
		return nil, store.ErrTokenReused
	}
	if _, err := tx.ExecContext(ctx, `UPDATE oauth_tokens SET used_at = ? WHERE id = ?`, at.UnixMilli(), id); err != nil {
		return nil, err
	}
	next.FamilyID = old.FamilyID
	if err := insertOAuthToken(ctx, tx, next); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	old.UsedAt = at.UTC().Truncate(time.Millisecond)
	return old, nil
}

// DeleteOAuthTokens removes the tokens matching every non-empty field of f.
func (s *Store) DeleteOAuthTokens(ctx context.Context, f store.OAuthTokenFilter) (int, error) {
	var where []string
	var args []any
	for _, c := range []struct{ col, val string }{
		{"id", f.ID}, {"family_id", f.FamilyID}, {"client_id", f.ClientID}, {"user_id", f.UserID}, {"session_id", f.SessionID},
	} {
		if c.val != "" {
			where = append(where, c.col+" = ?")
			args = append(args, c.val)
		}
	}
	if len(where) == 0 {
		return 0, errors.New("sqlite: delete oauth tokens: empty filter")
	}
	res, err := s.wdb.ExecContext(ctx, `DELETE FROM oauth_tokens WHERE `+strings.Join(where, " AND "), args...)
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete oauth tokens: %w", mapErr(err))
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// DeleteExpiredOAuthTokens removes tokens expired at t.
func (s *Store) DeleteExpiredOAuthTokens(ctx context.Context, t time.Time) (int, error) {
	res, err := s.wdb.ExecContext(ctx, `DELETE FROM oauth_tokens WHERE expires_at <= ?`, t.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete expired oauth tokens: %w", mapErr(err))
	}
	n, err := res.RowsAffected()
	return int(n), err
}

func scanOAuthToken(row scanner) (*store.OAuthToken, error) {
	var t store.OAuthToken
	var scopes, aud, amr string
	var authTime, createdAt, expiresAt, usedAt sql.NullInt64
	if err := row.Scan(&t.ID, &t.Kind, &t.FamilyID, &t.ClientID, &t.UserID, &t.SessionID, &scopes, &aud, &amr,
		&authTime, &createdAt, &expiresAt, &usedAt, &t.Data); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, store.ErrNotFound
		}
		return nil, err
	}
	var err error
	if t.Scopes, err = fromJSON(scopes); err != nil {
		return nil, err
	}
	if t.Audience, err = fromJSON(aud); err != nil {
		return nil, err
	}
	if t.AMR, err = fromJSON(amr); err != nil {
		return nil, err
	}
	t.AuthTime, t.CreatedAt, t.ExpiresAt, t.UsedAt = fromMillis(authTime), fromMillis(createdAt), fromMillis(expiresAt), fromMillis(usedAt)
	return &t, nil
}

// AddSessionClient stores c, replacing Data and ExpiresAt of an existing
// record of the same session, protocol and client.
func (s *Store) AddSessionClient(ctx context.Context, c *store.SessionClient) error {
	if c.CreatedAt.IsZero() {
		c.CreatedAt = now()
	}
	var data any
	if len(c.Data) > 0 {
		data = c.Data
	}
	_, err := s.wdb.ExecContext(ctx, `INSERT INTO session_clients (session_id, protocol, client_id, user_id, data, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (session_id, protocol, client_id) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at`,
		c.SessionID, c.Protocol, c.ClientID, c.UserID, data, c.CreatedAt.UnixMilli(), c.ExpiresAt.UnixMilli())
	if err != nil {
		return fmt.Errorf("sqlite: add session client: %w", mapErr(err))
	}
	return nil
}

// ListSessionClients returns the session's records, oldest first.
func (s *Store) ListSessionClients(ctx context.Context, sessionID string) ([]*store.SessionClient, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT session_id, protocol, client_id, user_id, data, created_at, expires_at
		FROM session_clients WHERE session_id = ? ORDER BY created_at, protocol, client_id`, sessionID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list session clients: %w", mapErr(err))
	}
	defer rows.Close()
	var out []*store.SessionClient
	for rows.Next() {
		var c store.SessionClient
		var createdAt, expiresAt sql.NullInt64
		if err := rows.Scan(&c.SessionID, &c.Protocol, &c.ClientID, &c.UserID, &c.Data, &createdAt, &expiresAt); err != nil {
			return nil, fmt.Errorf("sqlite: list session clients: %w", err)
		}
		c.CreatedAt, c.ExpiresAt = fromMillis(createdAt), fromMillis(expiresAt)
		out = append(out, &c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list session clients: %w", mapErr(err))
	}
	return out, nil
}

// DeleteSessionClients removes the session's records.
func (s *Store) DeleteSessionClients(ctx context.Context, sessionID string) error {
	if _, err := s.wdb.ExecContext(ctx, `DELETE FROM session_clients WHERE session_id = ?`, sessionID); err != nil {
		return fmt.Errorf("sqlite: delete session clients: %w", mapErr(err))
	}
	return nil
}

// DeleteExpiredSessionClients removes records expired at t.
func (s *Store) DeleteExpiredSessionClients(ctx context.Context, t time.Time) (int, error) {
	res, err := s.wdb.ExecContext(ctx, `DELETE FROM session_clients WHERE expires_at <= ?`, t.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete expired session clients: %w", mapErr(err))
	}
	n, err := res.RowsAffected()
	return int(n), err
}
