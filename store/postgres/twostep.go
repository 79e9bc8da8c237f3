package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/ssogate/ssogate/store"
)

var _ store.TwoStep = (*Store)(nil)

// The TwoStep methods publish nothing on the change feed: no gateway
// caches factors, recovery codes or remembered browsers.

const (
	factorColumns  = `id, user_id, kind, name, handle, target, secret, counter, created_at, last_used_at`
	browserColumns = `id, user_id, user_agent, client_ip, created_at, last_used_at, expires_at`
)

// PeekTicket returns the ticket with id and purpose if it has not expired
// at now, leaving it in place; otherwise store.ErrNotFound.
func (s *Store) PeekTicket(ctx context.Context, purpose, id string, now time.Time) (*store.Ticket, error) {
	t, err := scanTicket(s.pool.QueryRow(ctx, `SELECT `+ticketColumns+` FROM tickets
		WHERE id = $1 AND purpose = $2 AND expires_at > $3`, id, purpose, now.UTC().Truncate(time.Millisecond)))
	if err != nil {
		return nil, fmt.Errorf("postgres: peek ticket: %w", mapErr(err))
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
			return fmt.Errorf("postgres: add factor: %w", err)
		}
	}
	if created.IsZero() {
		created = now()
	}
	created = created.UTC().Truncate(time.Millisecond)
	_, err := s.pool.Exec(ctx, `INSERT INTO factors (`+factorColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		id, f.UserID, f.Kind, f.Name, f.Handle, f.Target, bytesOrEmpty(f.Secret), f.Counter, created, ts(f.LastUsedAt))
	if err != nil {
		return fmt.Errorf("postgres: add factor: %w", mapErr(err))
	}
	f.ID, f.CreatedAt = id, created
	return nil
}

// ListFactors returns the user's factors, oldest (by CreatedAt) first,
// ties by id.
func (s *Store) ListFactors(ctx context.Context, userID string) ([]*store.Factor, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+factorColumns+` FROM factors
		WHERE user_id = $1 ORDER BY created_at, id COLLATE "C"`, userID)
	if err != nil {
		return nil, fmt.Errorf("postgres: list factors: %w", mapErr(err))
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*store.Factor, error) { return scanFactor(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: list factors: %w", mapErr(err))
	}
	return list, nil
}

// FactorByHandle returns the factor of kind with handle, or
// store.ErrNotFound; an empty handle finds nothing.
func (s *Store) FactorByHandle(ctx context.Context, kind, handle string) (*store.Factor, error) {
	f, err := scanFactor(s.pool.QueryRow(ctx, `SELECT `+factorColumns+` FROM factors
		WHERE kind = $1 AND handle = $2 AND handle <> ''`, kind, handle))
	if err != nil {
		return nil, fmt.Errorf("postgres: factor by handle: %w", mapErr(err))
	}
	return f, nil
}

// UseFactor sets Counter to counter and LastUsedAt to at when counter is
// greater than the stored Counter or both are 0; otherwise it returns
// store.ErrConflict. The compare and the write are one UPDATE: a
// concurrent call waits on the row lock and then re-checks the condition
// against the row as committed, so of concurrent calls with the same
// counter, on any process, exactly one succeeds. It returns
// store.ErrNotFound if the factor is absent.
func (s *Store) UseFactor(ctx context.Context, id string, counter int64, at time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE factors SET counter = $2, last_used_at = $3
		WHERE id = $1 AND (counter < $2 OR (counter = 0 AND $2 = 0))`, id, counter, ts(at))
	err = oneRow(tag, err)
	if errors.Is(err, store.ErrNotFound) {
		// No row changed: tell a refused counter from a missing factor.
		// A deleted factor never comes back, so the answer holds.
		var exists bool
		if qerr := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM factors WHERE id = $1)`, id).Scan(&exists); qerr != nil {
			err = qerr
		} else if exists {
			err = store.ErrConflict
		}
	}
	if err != nil {
		return fmt.Errorf("postgres: use factor: %w", mapErr(err))
	}
	return nil
}

// RenameFactor sets the Name of the user's factor id. It returns
// store.ErrNotFound if the user has no such factor.
func (s *Store) RenameFactor(ctx context.Context, userID, id, name string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE factors SET name = $1 WHERE id = $2 AND user_id = $3`, name, id, userID)
	if err := oneRow(tag, err); err != nil {
		return fmt.Errorf("postgres: rename factor: %w", mapErr(err))
	}
	return nil
}

// DeleteFactor removes the user's factor id. It returns store.ErrNotFound
// if the user has no such factor.
func (s *Store) DeleteFactor(ctx context.Context, userID, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM factors WHERE id = $1 AND user_id = $2`, id, userID)
	if err := oneRow(tag, err); err != nil {
		return fmt.Errorf("postgres: delete factor: %w", mapErr(err))
	}
	return nil
}

// SetRecoveryCodes replaces the user's recovery codes with hashes in one
// transaction; a hash given twice is stored once. It returns
// store.ErrNotFound if hashes is not empty and the user does not exist.
func (s *Store) SetRecoveryCodes(ctx context.Context, userID string, hashes []string) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM recovery_codes WHERE user_id = $1`, userID); err != nil {
			return err
		}
		if len(hashes) == 0 {
			return nil
		}
		_, err := tx.Exec(ctx, `INSERT INTO recovery_codes (user_id, hash)
			SELECT $1, h FROM unnest($2::text[]) AS h
			ON CONFLICT (user_id, hash) DO NOTHING`, userID, hashes)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: set recovery codes: %w", mapErr(err))
	}
	return nil
}

// UseRecoveryCode deletes the user's recovery code with hash, or returns
// store.ErrNotFound. The delete is one statement: of concurrent calls with
// the same hash, the ones that wait on the row lock find it gone, so
// exactly one succeeds.
func (s *Store) UseRecoveryCode(ctx context.Context, userID, hash string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM recovery_codes WHERE user_id = $1 AND hash = $2`, userID, hash)
	if err := oneRow(tag, err); err != nil {
		return fmt.Errorf("postgres: use recovery code: %w", mapErr(err))
	}
	return nil
}

// RecoveryCodesLeft returns how many unused recovery codes the user has.
func (s *Store) RecoveryCodesLeft(ctx context.Context, userID string) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM recovery_codes WHERE user_id = $1`, userID).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: recovery codes left: %w", mapErr(err))
	}
	return n, nil
}

// RememberBrowser stores b as given. It returns store.ErrConflict if b.ID
// exists and store.ErrNotFound if b.UserID names no user.
func (s *Store) RememberBrowser(ctx context.Context, b *store.RememberedBrowser) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO remembered_browsers (`+browserColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		b.ID, b.UserID, b.UserAgent, b.ClientIP, ts(b.CreatedAt), ts(b.LastUsedAt), ts(b.ExpiresAt))
	if err != nil {
		return fmt.Errorf("postgres: remember browser: %w", mapErr(err))
	}
	return nil
}

// UseRememberedBrowser moves LastUsedAt of the user's browser id to now
// and ExpiresAt to now+slide if it has not expired at now; otherwise it
// returns store.ErrNotFound, having deleted the user's expired record.
func (s *Store) UseRememberedBrowser(ctx context.Context, id, userID string, now time.Time, slide time.Duration) error {
	at := now.UTC().Truncate(time.Millisecond)
	tag, err := s.pool.Exec(ctx, `UPDATE remembered_browsers SET last_used_at = $3, expires_at = $4
		WHERE id = $1 AND user_id = $2 AND expires_at > $3`, id, userID, at, now.Add(slide).UTC().Truncate(time.Millisecond))
	err = oneRow(tag, err)
	if errors.Is(err, store.ErrNotFound) {
		// Only an expired record of this user is deleted: another
		// user's browser id says nothing about that user's record.
		if _, derr := s.pool.Exec(ctx, `DELETE FROM remembered_browsers
			WHERE id = $1 AND user_id = $2 AND (expires_at IS NULL OR expires_at <= $3)`, id, userID, at); derr != nil {
			err = derr
		}
	}
	if err != nil {
		return fmt.Errorf("postgres: use remembered browser: %w", mapErr(err))
	}
	return nil
}

// ListRememberedBrowsers returns the user's browsers unexpired at now,
// most recently used first, ties by id.
func (s *Store) ListRememberedBrowsers(ctx context.Context, userID string, now time.Time) ([]*store.RememberedBrowser, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+browserColumns+` FROM remembered_browsers
		WHERE user_id = $1 AND expires_at > $2 ORDER BY last_used_at DESC NULLS LAST, id COLLATE "C"`,
		userID, now.UTC().Truncate(time.Millisecond))
	if err != nil {
		return nil, fmt.Errorf("postgres: list remembered browsers: %w", mapErr(err))
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*store.RememberedBrowser, error) {
		var (
			b                      store.RememberedBrowser
			created, used, expires pgtype.Timestamptz
		)
		if err := r.Scan(&b.ID, &b.UserID, &b.UserAgent, &b.ClientIP, &created, &used, &expires); err != nil {
			return nil, err
		}
		b.CreatedAt, b.LastUsedAt, b.ExpiresAt = fromTS(created), fromTS(used), fromTS(expires)
		return &b, nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: list remembered browsers: %w", mapErr(err))
	}
	return list, nil
}

// ForgetBrowser deletes the user's remembered browser id. It returns
// store.ErrNotFound if the user has no such browser.
func (s *Store) ForgetBrowser(ctx context.Context, userID, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM remembered_browsers WHERE id = $1 AND user_id = $2`, id, userID)
	if err := oneRow(tag, err); err != nil {
		return fmt.Errorf("postgres: forget browser: %w", mapErr(err))
	}
	return nil
}

// DeleteExpiredBrowsers removes the remembered browsers whose ExpiresAt is
// at or before now (a zero expiry counts as expired) and returns how many.
func (s *Store) DeleteExpiredBrowsers(ctx context.Context, now time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM remembered_browsers WHERE expires_at IS NULL OR expires_at <= $1`,
		now.UTC().Truncate(time.Millisecond))
	if err != nil {
		return 0, fmt.Errorf("postgres: delete expired browsers: %w", mapErr(err))
	}
	return int(tag.RowsAffected()), nil
}

// ResetTwoStep removes the user's factors, recovery codes and remembered
// browsers in one transaction.
func (s *Store) ResetTwoStep(ctx context.Context, userID string) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		for _, table := range []string{"factors", "recovery_codes", "remembered_browsers"} {
			if _, err := tx.Exec(ctx, `DELETE FROM `+table+` WHERE user_id = $1`, userID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("postgres: reset two-step: %w", mapErr(err))
	}
	return nil
}

func scanFactor(row pgx.Row) (*store.Factor, error) {
	var (
		f             store.Factor
		created, used pgtype.Timestamptz
	)
	if err := row.Scan(&f.ID, &f.UserID, &f.Kind, &f.Name, &f.Handle, &f.Target, &f.Secret, &f.Counter, &created, &used); err != nil {
		return nil, err
	}
	if len(f.Secret) == 0 {
		f.Secret = nil
	}
	f.CreatedAt, f.LastUsedAt = fromTS(created), fromTS(used)
	return &f, nil
}
