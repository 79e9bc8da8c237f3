package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/ssogate/ssogate/store"
)

const identityColumns = `provider_id, subject, user_id, email, created_at, last_used_at`

// LinkIdentity stores l as given. It returns store.ErrConflict if
// (l.ProviderID, l.Subject) is linked already, to this user or another, and
// store.ErrNotFound if l.UserID names no user.
func (s *Store) LinkIdentity(ctx context.Context, l *store.IdentityLink) error {
	_, err := s.wdb.ExecContext(ctx, `INSERT INTO identity_links (`+identityColumns+`)
		VALUES (?, ?, ?, ?, ?, ?)`,
		l.ProviderID, l.Subject, l.UserID, l.Email, toMillis(l.CreatedAt), toMillis(l.LastUsedAt))
	if err != nil {
		return fmt.Errorf("sqlite: link identity: %w", mapErr(err))
	}
	return nil
}

// UserByIdentity returns the user linked to (providerID, subject), or
// store.ErrNotFound.
func (s *Store) UserByIdentity(ctx context.Context, providerID, subject string) (*store.User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users
		WHERE id = (SELECT user_id FROM identity_links WHERE provider_id = ? AND subject = ?)`,
		providerID, subject))
	if err != nil {
		return nil, fmt.Errorf("sqlite: user by identity: %w", mapErr(err))
	}
	return u, nil
}

// TouchIdentity sets LastUsedAt of the link to at. It returns
// store.ErrNotFound if the link is absent.
func (s *Store) TouchIdentity(ctx context.Context, providerID, subject string, at time.Time) error {
	res, err := s.wdb.ExecContext(ctx, `UPDATE identity_links SET last_used_at = ?
		WHERE provider_id = ? AND subject = ?`, toMillis(at), providerID, subject)
	if err := oneRow(res, err); err != nil {
		return fmt.Errorf("sqlite: touch identity: %w", mapErr(err))
	}
	return nil
}

// ListUserIdentities returns the user's links, oldest (by CreatedAt) first,
// ties by provider and subject. A link with a zero CreatedAt sorts first.
func (s *Store) ListUserIdentities(ctx context.Context, userID string) ([]*store.IdentityLink, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+identityColumns+` FROM identity_links
		WHERE user_id = ? ORDER BY created_at, provider_id, subject`, userID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list user identities: %w", mapErr(err))
	}
	defer rows.Close()
	var list []*store.IdentityLink
	for rows.Next() {
		var (
			l             store.IdentityLink
			created, used sql.NullInt64
		)
		if err := rows.Scan(&l.ProviderID, &l.Subject, &l.UserID, &l.Email, &created, &used); err != nil {
			return nil, fmt.Errorf("sqlite: list user identities: %w", mapErr(err))
		}
		l.CreatedAt, l.LastUsedAt = fromMillis(created), fromMillis(used)
		list = append(list, &l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list user identities: %w", mapErr(err))
	}
	return list, nil
}

// UnlinkIdentity removes a link; removing a missing one is not an error.
func (s *Store) UnlinkIdentity(ctx context.Context, providerID, subject string) error {
	if _, err := s.wdb.ExecContext(ctx, `DELETE FROM identity_links WHERE provider_id = ? AND subject = ?`,
		providerID, subject); err != nil {
		return fmt.Errorf("sqlite: unlink identity: %w", mapErr(err))
	}
	return nil
}
