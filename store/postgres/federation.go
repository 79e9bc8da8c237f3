package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/ssogate/ssogate/store"
)

var _ store.Federation = (*Store)(nil)

// The Federation methods publish nothing on the change feed: no gateway
// caches tokens or session clients; each request reads them.

const oauthTokenColumns = `id, kind, family_id, client_id, user_id, session_id, scopes, audience, amr,
	auth_time, created_at, expires_at, used_at, data`

// CreateOAuthToken stores t; CreatedAt is the store's clock when zero.
// store.ErrConflict if t.ID exists, store.ErrNotFound if the user does not.
func (s *Store) CreateOAuthToken(ctx context.Context, t *store.OAuthToken) error {
	if err := insertOAuthToken(ctx, s.pool, t); err != nil {
		return fmt.Errorf("postgres: create oauth token: %w", mapErr(err))
	}
	return nil
}

func insertOAuthToken(ctx context.Context, q interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}, t *store.OAuthToken) error {
	if t.CreatedAt.IsZero() {
		t.CreatedAt = now()
	}
	// An empty Data is stored as NULL, so that it comes back nil.
	var data any
	if len(t.Data) > 0 {
		data = t.Data
	}
	var one int
	return q.QueryRow(ctx, `INSERT INTO oauth_tokens (`+oauthTokenColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING 1`,
		t.ID, t.Kind, t.FamilyID, t.ClientID, t.UserID, t.SessionID, list(t.Scopes), list(t.Audience), list(t.AMR),
		ts(t.AuthTime), ts(t.CreatedAt), ts(t.ExpiresAt), ts(t.UsedAt), data).Scan(&one)
}

// GetOAuthToken returns the token with id, expired or not, or
// store.ErrNotFound.
func (s *Store) GetOAuthToken(ctx context.Context, id string) (*store.OAuthToken, error) {
	t, err := scanOAuthToken(s.pool.QueryRow(ctx, `SELECT `+oauthTokenColumns+` FROM oauth_tokens WHERE id = $1`, id))
	if err != nil {
		return nil, fmt.Errorf("postgres: get oauth token: %w", mapErr(err))
	}
	return t, nil
}

// RotateRefreshToken marks refresh token id used and stores next in its
// family in one transaction; the row is locked (FOR UPDATE), so of
// concurrent callers on any replica exactly one finds it unused.
func (s *Store) RotateRefreshToken(ctx context.Context, id string, next *store.OAuthToken, at time.Time) (*store.OAuthToken, error) {
	var old *store.OAuthToken
	reused := false
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		old, err = scanOAuthToken(tx.QueryRow(ctx, `SELECT `+oauthTokenColumns+` FROM oauth_tokens WHERE id = $1 FOR UPDATE`, id))
		if err != nil {
			return err
		}
		if old.Kind != store.TokenRefresh || !at.Before(old.ExpiresAt) {
			return store.ErrNotFound
		}
		if !old.UsedAt.IsZero() {
			// The family's deletion commits; the caller learns of the reuse.
			reused = true
			// An empty family_id is no family: the other tokens without
			// one are not this token's.
			_, err := tx.Exec(ctx, `DELETE FROM oauth_tokens WHERE id = $1 OR (family_id = $2 AND family_id <> '')`,
				old.ID, old.FamilyID)
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE oauth_tokens SET used_at = $1 WHERE id = $2`, ts(at), id); err != nil {
			return err
		}
		next.FamilyID = old.FamilyID
		return insertOAuthToken(ctx, tx, next)
	})
	if err == nil && reused {
		err = store.ErrTokenReused
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: rotate refresh token: %w", mapErr(err))
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
			args = append(args, c.val)
			where = append(where, c.col+" = $"+strconv.Itoa(len(args)))
		}
	}
	if len(where) == 0 {
		return 0, errors.New("postgres: delete oauth tokens: empty filter")
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM oauth_tokens WHERE `+strings.Join(where, " AND "), args...)
	if err != nil {
		return 0, fmt.Errorf("postgres: delete oauth tokens: %w", mapErr(err))
	}
	return int(tag.RowsAffected()), nil
}

// DeleteExpiredOAuthTokens removes tokens expired at t.
func (s *Store) DeleteExpiredOAuthTokens(ctx context.Context, t time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM oauth_tokens WHERE expires_at <= $1`, ts(t))
	if err != nil {
		return 0, fmt.Errorf("postgres: delete expired oauth tokens: %w", mapErr(err))
	}
	return int(tag.RowsAffected()), nil
}

func scanOAuthToken(row pgx.Row) (*store.OAuthToken, error) {
	var t store.OAuthToken
	var authTime, createdAt, expiresAt, usedAt pgtype.Timestamptz
	if err := row.Scan(&t.ID, &t.Kind, &t.FamilyID, &t.ClientID, &t.UserID, &t.SessionID, &t.Scopes, &t.Audience, &t.AMR,
		&authTime, &createdAt, &expiresAt, &usedAt, &t.Data); err != nil {
		return nil, err
	}
	t.Scopes, t.Audience, t.AMR = unlist(t.Scopes), unlist(t.Audience), unlist(t.AMR)
	t.AuthTime, t.CreatedAt, t.ExpiresAt, t.UsedAt = fromTS(authTime), fromTS(createdAt), fromTS(expiresAt), fromTS(usedAt)
	return &t, nil
}

// AddSessionClient stores c, replacing Data and ExpiresAt of an existing
// record of the same session, protocol and client.
func (s *Store) AddSessionClient(ctx context.Context, c *store.SessionClient) error {
	if c.CreatedAt.IsZero() {
		c.CreatedAt = now()
	}
	// An empty Data is stored as NULL, so that it comes back nil.
	var data any
	if len(c.Data) > 0 {
		data = c.Data
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO session_clients (session_id, protocol, client_id, user_id, data, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (session_id, protocol, client_id) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at`,
		c.SessionID, c.Protocol, c.ClientID, c.UserID, data, ts(c.CreatedAt), ts(c.ExpiresAt))
	if err != nil {
		return fmt.Errorf("postgres: add session client: %w", mapErr(err))
	}
	return nil
}

// ListSessionClients returns the session's records, oldest first.
func (s *Store) ListSessionClients(ctx context.Context, sessionID string) ([]*store.SessionClient, error) {
	rows, err := s.pool.Query(ctx, `SELECT session_id, protocol, client_id, user_id, data, created_at, expires_at
		FROM session_clients WHERE session_id = $1 ORDER BY created_at, protocol, client_id`, sessionID)
	if err != nil {
		return nil, fmt.Errorf("postgres: list session clients: %w", mapErr(err))
	}
	defer rows.Close()
	var out []*store.SessionClient
	for rows.Next() {
		var c store.SessionClient
		var createdAt, expiresAt pgtype.Timestamptz
		if err := rows.Scan(&c.SessionID, &c.Protocol, &c.ClientID, &c.UserID, &c.Data, &createdAt, &expiresAt); err != nil {
			return nil, fmt.Errorf("postgres: list session clients: %w", mapErr(err))
		}
		c.CreatedAt, c.ExpiresAt = fromTS(createdAt), fromTS(expiresAt)
		out = append(out, &c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: list session clients: %w", mapErr(err))
	}
	return out, nil
}

// DeleteSessionClients removes the session's records.
func (s *Store) DeleteSessionClients(ctx context.Context, sessionID string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM session_clients WHERE session_id = $1`, sessionID); err != nil {
		return fmt.Errorf("postgres: delete session clients: %w", mapErr(err))
	}
	return nil
}

// DeleteExpiredSessionClients removes records expired at t.
func (s *Store) DeleteExpiredSessionClients(ctx context.Context, t time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM session_clients WHERE expires_at <= $1`, ts(t))
	if err != nil {
		return 0, fmt.Errorf("postgres: delete expired session clients: %w", mapErr(err))
	}
	return int(tag.RowsAffected()), nil
}
