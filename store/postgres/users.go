package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/ssogate/ssogate/store"
)

const userColumns = `id, email, display_name, phone, mobile, organization, department,
	groups, role, status, login_methods, language, must_change_password,
	created_at, updated_at, last_login_at, previous_login_at`

// normalizeEmail is the stored form of an email: the store compares emails
// case-insensitively by keeping them lower-cased.
func normalizeEmail(email string) string { return strings.ToLower(email) }

// CreateUser inserts u, assigning u.ID when empty and CreatedAt/UpdatedAt
// when zero, and lower-cases u.Email; u is changed only on success. It
// returns store.ErrConflict if the email or the id is taken.
func (s *Store) CreateUser(ctx context.Context, u *store.User) error {
	id, created, updated := u.ID, u.CreatedAt, u.UpdatedAt
	if id == "" {
		var err error
		if id, err = newID(); err != nil {
			return fmt.Errorf("postgres: create user: %w", err)
		}
	}
	if created.IsZero() {
		created = now()
	}
	if updated.IsZero() {
		updated = created
	}
	email := normalizeEmail(u.Email)
	_, err := s.pool.Exec(ctx, `INSERT INTO users (`+userColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
		id, email, u.DisplayName, u.Phone, u.Mobile, u.Organization, u.Department,
		list(u.Groups), string(u.Role), string(u.Status), list(u.LoginMethods), u.Language, u.MustChangePassword,
		ts(created), ts(updated), ts(u.LastLoginAt), ts(u.PreviousLoginAt))
	if err != nil {
		return fmt.Errorf("postgres: create user: %w", mapErr(err))
	}
	u.ID, u.Email = id, email
	u.CreatedAt, u.UpdatedAt = created.UTC().Truncate(time.Millisecond), updated.UTC().Truncate(time.Millisecond)
	return nil
}

// GetUser returns the user with the given id, or store.ErrNotFound.
func (s *Store) GetUser(ctx context.Context, id string) (*store.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
	if err != nil {
		return nil, fmt.Errorf("postgres: get user: %w", mapErr(err))
	}
	return u, nil
}

// GetUserByEmail returns the user whose email equals email
// case-insensitively, or store.ErrNotFound.
func (s *Store) GetUserByEmail(ctx context.Context, email string) (*store.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE email = $1`, normalizeEmail(email)))
	if err != nil {
		return nil, fmt.Errorf("postgres: get user by email: %w", mapErr(err))
	}
	return u, nil
}

// ListUsers returns all users ordered by email.
func (s *Store) ListUsers(ctx context.Context) ([]*store.User, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+userColumns+` FROM users ORDER BY email COLLATE "C"`)
	if err != nil {
		return nil, fmt.Errorf("postgres: list users: %w", mapErr(err))
	}
	users, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*store.User, error) { return scanUser(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: list users: %w", mapErr(err))
	}
	return users, nil
}

// UpdateUser replaces the mutable fields of the user with u.ID and sets
// UpdatedAt to now, in the database and in u, and publishes a
// store.ChangeUser. It lower-cases u.Email. It returns store.ErrNotFound
// if the user is absent and store.ErrConflict if the new email is taken.
func (s *Store) UpdateUser(ctx context.Context, u *store.User) error {
	updated := now()
	email, args := updateUserArgs(u, updated)
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := oneRow(tx.Exec(ctx, updateUserSQL, args...)); err != nil {
			return err
		}
		return notify(ctx, tx, store.Change{Kind: store.ChangeUser, ID: u.ID})
	})
	if err != nil {
		return fmt.Errorf("postgres: update user: %w", mapErr(err))
	}
	u.Email = email
	u.UpdatedAt = updated
	return nil
}

// updateUserSQL replaces the mutable fields of a user; updateUserArgs
// gives its arguments and the stored email.
const updateUserSQL = `UPDATE users SET email = $1, display_name = $2, phone = $3, mobile = $4,
	organization = $5, department = $6, groups = $7, role = $8, status = $9, login_methods = $10,
	language = $11, must_change_password = $12, updated_at = $13 WHERE id = $14`

func updateUserArgs(u *store.User, updated time.Time) (email string, args []any) {
	email = normalizeEmail(u.Email)
	return email, []any{email, u.DisplayName, u.Phone, u.Mobile, u.Organization, u.Department,
		list(u.Groups), string(u.Role), string(u.Status), list(u.LoginMethods), u.Language, u.MustChangePassword,
		updated, u.ID}
}

// RecordLogin moves LastLoginAt to PreviousLoginAt and sets LastLoginAt to
// at. It returns store.ErrNotFound if the user is absent.
func (s *Store) RecordLogin(ctx context.Context, userID string, at time.Time) error {
	// The right-hand sides see the row as it was before the update.
	tag, err := s.pool.Exec(ctx,
		`UPDATE users SET previous_login_at = last_login_at, last_login_at = $1 WHERE id = $2`, ts(at), userID)
	if err := oneRow(tag, err); err != nil {
		return fmt.Errorf("postgres: record login: %w", mapErr(err))
	}
	return nil
}

// SetPasswordHash stores (or replaces) the user's encoded password hash
// and publishes a store.ChangeUser. It returns store.ErrNotFound if the
// user is absent.
func (s *Store) SetPasswordHash(ctx context.Context, userID, encoded string) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, setPasswordSQL, userID, encoded, now()); err != nil {
			return err
		}
		return notify(ctx, tx, store.Change{Kind: store.ChangeUser, ID: userID})
	})
	if err != nil {
		return fmt.Errorf("postgres: set password hash: %w", mapErr(err))
	}
	return nil
}

// setPasswordSQL stores or replaces a hash: user id, hash, updated at.
const setPasswordSQL = `INSERT INTO passwords (user_id, hash, updated_at) VALUES ($1, $2, $3)
	ON CONFLICT (user_id) DO UPDATE SET hash = excluded.hash, updated_at = excluded.updated_at`

// PasswordHash returns the user's encoded password hash, or
// store.ErrNotFound when the user has none (or does not exist).
func (s *Store) PasswordHash(ctx context.Context, userID string) (string, error) {
	var hash string
	if err := s.pool.QueryRow(ctx, `SELECT hash FROM passwords WHERE user_id = $1`, userID).Scan(&hash); err != nil {
		return "", fmt.Errorf("postgres: password hash: %w", mapErr(err))
	}
	return hash, nil
}

func scanUser(row pgx.Row) (*store.User, error) {
	var (
		u                                store.User
		role, status                     string
		created, updated, last, previous pgtype.Timestamptz
	)
	err := row.Scan(&u.ID, &u.Email, &u.DisplayName, &u.Phone, &u.Mobile, &u.Organization, &u.Department,
		&u.Groups, &role, &status, &u.LoginMethods, &u.Language, &u.MustChangePassword, &created, &updated, &last, &previous)
	if err != nil {
		return nil, err
	}
	u.Role, u.Status = store.Role(role), store.Status(status)
	u.Groups, u.LoginMethods = unlist(u.Groups), unlist(u.LoginMethods)
	u.CreatedAt, u.UpdatedAt = fromTS(created), fromTS(updated)
	u.LastLoginAt, u.PreviousLoginAt = fromTS(last), fromTS(previous)
	return &u, nil
}

const identityColumns = `provider_id, subject, user_id, email, created_at, last_used_at`

// LinkIdentity stores l as given. It returns store.ErrConflict if
// (l.ProviderID, l.Subject) is linked already, to this user or another, and
// store.ErrNotFound if l.UserID names no user.
func (s *Store) LinkIdentity(ctx context.Context, l *store.IdentityLink) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO identity_links (`+identityColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6)`,
		l.ProviderID, l.Subject, l.UserID, l.Email, ts(l.CreatedAt), ts(l.LastUsedAt))
	if err != nil {
		return fmt.Errorf("postgres: link identity: %w", mapErr(err))
	}
	return nil
}

// UserByIdentity returns the user linked to (providerID, subject), or
// store.ErrNotFound.
func (s *Store) UserByIdentity(ctx context.Context, providerID, subject string) (*store.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users
		WHERE id = (SELECT user_id FROM identity_links WHERE provider_id = $1 AND subject = $2)`,
		providerID, subject))
	if err != nil {
		return nil, fmt.Errorf("postgres: user by identity: %w", mapErr(err))
	}
	return u, nil
}

// TouchIdentity sets LastUsedAt of the link to at. It returns
// store.ErrNotFound if the link is absent.
func (s *Store) TouchIdentity(ctx context.Context, providerID, subject string, at time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE identity_links SET last_used_at = $1
		WHERE provider_id = $2 AND subject = $3`, ts(at), providerID, subject)
	if err := oneRow(tag, err); err != nil {
		return fmt.Errorf("postgres: touch identity: %w", mapErr(err))
	}
	return nil
}

// ListUserIdentities returns the user's links, oldest (by CreatedAt) first,
// ties by provider and subject. A link with a zero CreatedAt sorts first.
func (s *Store) ListUserIdentities(ctx context.Context, userID string) ([]*store.IdentityLink, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+identityColumns+` FROM identity_links
		WHERE user_id = $1 ORDER BY created_at NULLS FIRST, provider_id COLLATE "C", subject COLLATE "C"`, userID)
	if err != nil {
		return nil, fmt.Errorf("postgres: list user identities: %w", mapErr(err))
	}
	links, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*store.IdentityLink, error) {
		var (
			l             store.IdentityLink
			created, used pgtype.Timestamptz
		)
		if err := r.Scan(&l.ProviderID, &l.Subject, &l.UserID, &l.Email, &created, &used); err != nil {
			return nil, err
		}
		l.CreatedAt, l.LastUsedAt = fromTS(created), fromTS(used)
		return &l, nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: list user identities: %w", mapErr(err))
	}
	return links, nil
}

// UnlinkIdentity removes a link; removing a missing one is not an error.
func (s *Store) UnlinkIdentity(ctx context.Context, providerID, subject string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM identity_links WHERE provider_id = $1 AND subject = $2`,
		providerID, subject); err != nil {
		return fmt.Errorf("postgres: unlink identity: %w", mapErr(err))
	}
	return nil
}
