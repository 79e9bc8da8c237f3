package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ssogate/ssogate/store"
)

var _ store.TwoStep = (*Store)(nil)

const (
	factorColumns  = `id, user_id, kind, name, handle, target, secret, counter, created_at, last_used_at`
	browserColumns = `id, user_id, user_agent, client_ip, created_at, last_used_at, expires_at`
)

// PeekTicket returns the ticket with id and purpose if it has not expired
// at now, leaving it in place; otherwise store.ErrNotFound.
func (s *Store) PeekTicket(ctx context.Context, purpose, id string, now time.Time) (*store.Ticket, error) {
	t, err := scanTicket(s.db.QueryRowContext(ctx, `SELECT `+ticketColumns+` FROM tickets
		WHERE id = ? AND purpose = ? AND expires_at > ?`, id, purpose, now.UnixMilli()))
	if err != nil {
		return nil, fmt.Errorf("sqlite: peek ticket: %w", mapErr(err))
	}
	return t, nil
}

// AddFactor stores f, assigning f.ID when empty and f.CreatedAt when zero;
// f is changed only on success. It returns store.ErrNotFound if f.UserID
// names no user and store.ErrConflict if f.ID, or (f.Kind, f.Handle) with
// Handle set, is taken.
func (s *Store) AddFactor(ctx context.Context, f *store.Factor) error {
	id, created := f.ID, f.CreatedAt
	if id == "" {
		var err error
		if id, err = newID(); err != nil {
			return fmt.Errorf("sqlite: add factor: %w", err)
		}
	}
	if created.IsZero() {
		created = now()
	}
	_, err := s.wdb.ExecContext(ctx, `INSERT INTO factors (`+factorColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		id, f.UserID, f.Kind, f.Name, f.Handle, f.Target, bytesOrEmpty(f.Secret), f.Counter,
		created.UnixMilli(), toMillis(f.LastUsedAt))
	if err != nil {
		return fmt.Errorf("sqlite: add factor: %w", mapErr(err))
	}
	f.ID, f.CreatedAt = id, created.UTC().Truncate(time.Millisecond)
	return nil
}

// ListFactors returns the user's factors, oldest (by CreatedAt) first,
// ties by id.
func (s *Store) ListFactors(ctx context.Context, userID string) ([]*store.Factor, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+factorColumns+` FROM factors
		WHERE user_id = ? ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list factors: %w", mapErr(err))
	}
	defer rows.Close()
	var list []*store.Factor
	for rows.Next() {
		f, err := scanFactor(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list factors: %w", mapErr(err))
		}
		list = append(list, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list factors: %w", mapErr(err))
	}
	return list, nil
}

// FactorByHandle returns the factor of kind with handle, or
// store.ErrNotFound; an empty handle finds nothing.
func (s *Store) FactorByHandle(ctx context.Context, kind, handle string) (*store.Factor, error) {
	f, err := scanFactor(s.db.QueryRowContext(ctx, `SELECT `+factorColumns+` FROM factors
		WHERE kind = ? AND handle = ? AND handle <> ''`, kind, handle))
	if err != nil {
		return nil, fmt.Errorf("sqlite: factor by handle: %w", mapErr(err))
	}
	return f, nil
}

// UseFactor sets Counter to counter and LastUsedAt to at when counter is
// greater than the stored Counter or both are 0; otherwise it returns
// store.ErrConflict. The compare and the write are one statement on the
// one writing connection, so of concurrent calls with the same counter
// (in this process or another on the file) exactly one succeeds. It
// returns store.ErrNotFound if the factor is absent.
func (s *Store) UseFactor(ctx context.Context, id string, counter int64, at time.Time) error {
	res, err := s.wdb.ExecContext(ctx, `UPDATE factors SET counter = ?, last_used_at = ?
		WHERE id = ? AND (counter < ? OR (counter = 0 AND ? = 0))`,
		counter, toMillis(at), id, counter, counter)
	err = oneRow(res, err)
	if errors.Is(err, store.ErrNotFound) {
		// No row changed: tell a refused counter from a missing factor.
		// A deleted factor never comes back, so the answer holds.
		var n int
		if qerr := s.db.QueryRowContext(ctx, `SELECT count(*) FROM factors WHERE id = ?`, id).Scan(&n); qerr != nil {
			err = qerr
		} else if n > 0 {
			err = store.ErrConflict
		}
	}
	if err != nil {
		return fmt.Errorf("sqlite: use factor: %w", mapErr(err))
	}
	return nil
}

// RenameFactor sets the Name of the user's factor id. It returns
// store.ErrNotFound if the user has no such factor.
func (s *Store) RenameFactor(ctx context.Context, userID, id, name string) error {
	res, err := s.wdb.ExecContext(ctx, `UPDATE factors SET name = ? WHERE id = ? AND user_id = ?`, name, id, userID)
	if err := oneRow(res, err); err != nil {
		return fmt.Errorf("sqlite: rename factor: %w", mapErr(err))
	}
	return nil
}

// DeleteFactor removes the user's factor id. It returns store.ErrNotFound
// if the user has no such factor.
func (s *Store) DeleteFactor(ctx context.Context, userID, id string) error {
	res, err := s.wdb.ExecContext(ctx, `DELETE FROM factors WHERE id = ? AND user_id = ?`, id, userID)
	if err := oneRow(res, err); err != nil {
		return fmt.Errorf("sqlite: delete factor: %w", mapErr(err))
	}
	return nil
}

// SetRecoveryCodes replaces the user's recovery codes with hashes in one
// transaction; a hash given twice is stored once. It returns
// store.ErrNotFound if hashes is not empty and the user does not exist.
func (s *Store) SetRecoveryCodes(ctx context.Context, userID string, hashes []string) error {
	if err := s.setRecoveryCodes(ctx, userID, hashes); err != nil {
		return fmt.Errorf("sqlite: set recovery codes: %w", mapErr(err))
	}
	return nil
}

func (s *Store) setRecoveryCodes(ctx context.Context, userID string, hashes []string) error {
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, userID); err != nil {
		return err
	}
	for _, h := range hashes {
		if _, err := tx.ExecContext(ctx, `INSERT INTO recovery_codes (user_id, hash) VALUES (?, ?)
			ON CONFLICT (user_id, hash) DO NOTHING`, userID, h); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// UseRecoveryCode deletes the user's recovery code with hash, or returns
// store.ErrNotFound. The delete is one statement, so of concurrent calls
// with the same hash exactly one succeeds.
func (s *Store) UseRecoveryCode(ctx context.Context, userID, hash string) error {
	res, err := s.wdb.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = ? AND hash = ?`, userID, hash)
	if err := oneRow(res, err); err != nil {
		return fmt.Errorf("sqlite: use recovery code: %w", mapErr(err))
	}
	return nil
}

// RecoveryCodesLeft returns how many unused recovery codes the user has.
func (s *Store) RecoveryCodesLeft(ctx context.Context, userID string) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM recovery_codes WHERE user_id = ?`, userID).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: recovery codes left: %w", mapErr(err))
	}
	return n, nil
}

// RememberBrowser stores b as given. It returns store.ErrConflict if b.ID
// exists and store.ErrNotFound if b.UserID names no user.
func (s *Store) RememberBrowser(ctx context.Context, b *store.RememberedBrowser) error {
	_, err := s.wdb.ExecContext(ctx, `INSERT INTO remembered_browsers (`+browserColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		b.ID, b.UserID, b.UserAgent, b.ClientIP, toMillis(b.CreatedAt), toMillis(b.LastUsedAt), toMillis(b.ExpiresAt))
	if err != nil {
		return fmt.Errorf("sqlite: remember browser: %w", mapErr(err))
	}
	return nil
}

// UseRememberedBrowser moves LastUsedAt of the user's browser id to now
// and ExpiresAt to now+slide if it has not expired at now; otherwise it
// returns store.ErrNotFound, having deleted the user's expired record.
func (s *Store) UseRememberedBrowser(ctx context.Context, id, userID string, now time.Time, slide time.Duration) error {
	at := now.UnixMilli()
	res, err := s.wdb.ExecContext(ctx, `UPDATE remembered_browsers SET last_used_at = ?, expires_at = ?
		WHERE id = ? AND user_id = ? AND expires_at > ?`, at, now.Add(slide).UnixMilli(), id, userID, at)
	err = oneRow(res, err)
	if errors.Is(err, store.ErrNotFound) {
		// Only an expired record of this user is deleted: another
		// user's browser id says nothing about that user's record.
		if _, derr := s.wdb.ExecContext(ctx, `DELETE FROM remembered_browsers
			WHERE id = ? AND user_id = ? AND (expires_at IS NULL OR expires_at <= ?)`, id, userID, at); derr != nil {
			err = derr
		}
	}
	if err != nil {
		return fmt.Errorf("sqlite: use remembered browser: %w", mapErr(err))
	}
	return nil
}

// ListRememberedBrowsers returns the user's browsers unexpired at now,
// most recently used first, ties by id.
func (s *Store) ListRememberedBrowsers(ctx context.Context, userID string, now time.Time) ([]*store.RememberedBrowser, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+browserColumns+` FROM remembered_browsers
		WHERE user_id = ? AND expires_at > ? ORDER BY last_used_at DESC, id`, userID, now.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("sqlite: list remembered browsers: %w", mapErr(err))
	}
	defer rows.Close()
	var list []*store.RememberedBrowser
	for rows.Next() {
		var (
			b                      store.RememberedBrowser
			created, used, expires sql.NullInt64
		)
		if err := rows.Scan(&b.ID, &b.UserID, &b.UserAgent, &b.ClientIP, &created, &used, &expires); err != nil {
			return nil, fmt.Errorf("sqlite: list remembered browsers: %w", mapErr(err))
		}
		b.CreatedAt, b.LastUsedAt, b.ExpiresAt = fromMillis(created), fromMillis(used), fromMillis(expires)
		list = append(list, &b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list remembered browsers: %w", mapErr(err))
	}
	return list, nil
}

// ForgetBrowser deletes the user's remembered browser id. It returns
// store.ErrNotFound if the user has no such browser.
func (s *Store) ForgetBrowser(ctx context.Context, userID, id string) error {
	res, err := s.wdb.ExecContext(ctx, `DELETE FROM remembered_browsers WHERE id = ? AND user_id = ?`, id, userID)
	if err := oneRow(res, err); err != nil {
		return fmt.Errorf("sqlite: forget browser: %w", mapErr(err))
	}
	return nil
}

// DeleteExpiredBrowsers removes the remembered browsers whose ExpiresAt is
// at or before now (a zero expiry counts as expired) and returns how many.
func (s *Store) DeleteExpiredBrowsers(ctx context.Context, now time.Time) (int, error) {
	n, err := s.deleteCount(ctx, `DELETE FROM remembered_browsers WHERE expires_at IS NULL OR expires_at <= ?`, now.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete expired browsers: %w", mapErr(err))
	}
	return n, nil
}

// ResetTwoStep removes the user's factors, recovery codes and remembered
// browsers in one transaction.
func (s *Store) ResetTwoStep(ctx context.Context, userID string) error {
	if err := s.resetTwoStep(ctx, userID); err != nil {
		return fmt.Errorf("sqlite: reset two-step: %w", mapErr(err))
	}
	return nil
}

func (s *Store) resetTwoStep(ctx context.Context, userID string) error {
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	for _, table := range []string{"factors", "recovery_codes", "remembered_browsers"} {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE user_id = ?`, userID); err != nil {
			return err
		}
	}
	return tx.Commit()
}

func scanFactor(sc scanner) (*store.Factor, error) {
	var (
		f             store.Factor
		created, used sql.NullInt64
	)
	err := sc.Scan(&f.ID, &f.UserID, &f.Kind, &f.Name, &f.Handle, &f.Target, &f.Secret, &f.Counter, &created, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if len(f.Secret) == 0 {
		f.Secret = nil
	}
	f.CreatedAt, f.LastUsedAt = fromMillis(created), fromMillis(used)
	return &f, nil
}

// bytesOrEmpty keeps a nil slice from binding as NULL in a NOT NULL column.
func bytesOrEmpty(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
