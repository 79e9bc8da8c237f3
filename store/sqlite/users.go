package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ssogate/ssogate/store"
)

const userColumns = `id, email, display_name, phone, mobile, organization, department,
	groups, role, status, login_methods, language, must_change_password,
	created_at, updated_at, last_login_at, previous_login_at`

// newID returns 16 random bytes in hex.
func newID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

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
			return fmt.Errorf("sqlite: create user: %w", mapErr(err))
		}
	}
	if created.IsZero() {
		created = now()
	}
	if updated.IsZero() {
		updated = created
	}
	email := normalizeEmail(u.Email)
	groups, err := toJSON(u.Groups)
	if err != nil {
		return fmt.Errorf("sqlite: create user: %w", mapErr(err))
	}
	methods, err := toJSON(u.LoginMethods)
	if err != nil {
		return fmt.Errorf("sqlite: create user: %w", mapErr(err))
	}
	_, err = s.wdb.ExecContext(ctx, `INSERT INTO users (`+userColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		id, email, u.DisplayName, u.Phone, u.Mobile, u.Organization, u.Department,
		groups, string(u.Role), string(u.Status), methods, u.Language, u.MustChangePassword,
		toMillis(created), toMillis(updated), toMillis(u.LastLoginAt), toMillis(u.PreviousLoginAt))
	if err != nil {
		return fmt.Errorf("sqlite: create user: %w", mapErr(err))
	}
	u.ID, u.Email, u.CreatedAt, u.UpdatedAt = id, email, created, updated
	return nil
}

// GetUser returns the user with the given id, or store.ErrNotFound.
func (s *Store) GetUser(ctx context.Context, id string) (*store.User, error) {
	u, err := scanUser(s.hot.getUser.QueryRowContext(ctx, id))
	if err != nil {
		return nil, fmt.Errorf("sqlite: get user: %w", mapErr(err))
	}
	return u, nil
}

// GetUserByEmail returns the user whose email equals email
// case-insensitively, or store.ErrNotFound.
func (s *Store) GetUserByEmail(ctx context.Context, email string) (*store.User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE email = ?`, normalizeEmail(email)))
	if err != nil {
		return nil, fmt.Errorf("sqlite: get user by email: %w", mapErr(err))
	}
	return u, nil
}

// ListUsers returns all users ordered by email.
func (s *Store) ListUsers(ctx context.Context) ([]*store.User, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+userColumns+` FROM users ORDER BY email`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list users: %w", mapErr(err))
	}
	defer rows.Close()
	var users []*store.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list users: %w", mapErr(err))
		}
		users = append(users, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list users: %w", mapErr(err))
	}
	return users, nil
}

// UpdateUser replaces the mutable fields of the user with u.ID and sets
// UpdatedAt to now, in the database and in u. It lower-cases u.Email.
// CreatedAt and the login times are left alone. It returns
// store.ErrNotFound if the user is absent and store.ErrConflict if the new
// email is taken.
func (s *Store) UpdateUser(ctx context.Context, u *store.User) error {
	updated := now()
	email, args, err := updateUserArgs(u, updated)
	if err != nil {
		return fmt.Errorf("sqlite: update user: %w", mapErr(err))
	}
	res, err := s.execChange(ctx, store.Change{Kind: store.ChangeUser, ID: u.ID}, updateUserSQL, args...)
	if err := oneRow(res, err); err != nil {
		return fmt.Errorf("sqlite: update user: %w", mapErr(err))
	}
	u.Email = email
	u.UpdatedAt = updated
	return nil
}

// updateUserSQL replaces the mutable fields of a user; updateUserArgs
// gives its arguments and the stored email.
const updateUserSQL = `UPDATE users SET email = ?, display_name = ?, phone = ?, mobile = ?,
	organization = ?, department = ?, groups = ?, role = ?, status = ?, login_methods = ?,
	language = ?, must_change_password = ?, updated_at = ?
	WHERE id = ?`

func updateUserArgs(u *store.User, updated time.Time) (email string, args []any, err error) {
	groups, err := toJSON(u.Groups)
	if err != nil {
		return "", nil, err
	}
	methods, err := toJSON(u.LoginMethods)
	if err != nil {
		return "", nil, err
	}
	email = normalizeEmail(u.Email)
	return email, []any{email, u.DisplayName, u.Phone, u.Mobile, u.Organization, u.Department,
		groups, string(u.Role), string(u.Status), methods, u.Language, u.MustChangePassword,
		updated.UnixMilli(), u.ID}, nil
}

// RecordLogin moves LastLoginAt to PreviousLoginAt and sets LastLoginAt to
// at. It returns store.ErrNotFound if the user is absent.
func (s *Store) RecordLogin(ctx context.Context, userID string, at time.Time) error {
	// The right-hand sides see the row as it was before the update.
	res, err := s.wdb.ExecContext(ctx,
		`UPDATE users SET previous_login_at = last_login_at, last_login_at = ? WHERE id = ?`,
		toMillis(at), userID)
	if err := oneRow(res, err); err != nil {
		return fmt.Errorf("sqlite: record login: %w", mapErr(err))
	}
	return nil
}

// SetPasswordHash stores (or replaces) the user's encoded password hash. It
// returns store.ErrNotFound if the user is absent.
func (s *Store) SetPasswordHash(ctx context.Context, userID, encoded string) error {
	_, err := s.execChange(ctx, store.Change{Kind: store.ChangeUser, ID: userID}, setPasswordSQL,
		userID, encoded, now().UnixMilli())
	if err != nil {
		return fmt.Errorf("sqlite: set password hash: %w", mapErr(err))
	}
	return nil
}

// setPasswordSQL stores or replaces a hash: user id, hash, updated at.
const setPasswordSQL = `INSERT INTO passwords (user_id, hash, updated_at) VALUES (?, ?, ?)
	ON CONFLICT (user_id) DO UPDATE SET hash = excluded.hash, updated_at = excluded.updated_at`

// PasswordHash returns the user's encoded password hash, or
// store.ErrNotFound when the user has none (or does not exist).
func (s *Store) PasswordHash(ctx context.Context, userID string) (string, error) {
	var hash string
	err := s.db.QueryRowContext(ctx, `SELECT hash FROM passwords WHERE user_id = ?`, userID).Scan(&hash)
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("sqlite: password hash: %w", mapErr(err))
	}
	return hash, nil
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

func scanUser(sc scanner) (*store.User, error) {
	var (
		u                                store.User
		role, status, groups, methods    string
		created, updated, last, previous sql.NullInt64
	)
	err := sc.Scan(&u.ID, &u.Email, &u.DisplayName, &u.Phone, &u.Mobile, &u.Organization, &u.Department,
		&groups, &role, &status, &methods, &u.Language, &u.MustChangePassword, &created, &updated, &last, &previous)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	u.Role, u.Status = store.Role(role), store.Status(status)
	if u.Groups, err = fromJSON(groups); err != nil {
		return nil, fmt.Errorf("user %s groups: %w", u.ID, err)
	}
	if u.LoginMethods, err = fromJSON(methods); err != nil {
		return nil, fmt.Errorf("user %s login methods: %w", u.ID, err)
	}
	u.CreatedAt, u.UpdatedAt = fromMillis(created), fromMillis(updated)
	u.LastLoginAt, u.PreviousLoginAt = fromMillis(last), fromMillis(previous)
	return &u, nil
}

// oneRow checks the result of a statement that must change exactly one
// row: none changed means store.ErrNotFound.
func oneRow(res sql.Result, err error) error {
	if err != nil {
		return mapErr(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}
