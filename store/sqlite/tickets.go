package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ssogate/ssogate/store"
)

const ticketColumns = `id, purpose, user_id, data, created_at, expires_at`

// CreateTicket stores t as given; an empty UserID and an empty Data are
// stored as NULL. It returns store.ErrConflict if a ticket with t.ID exists
// and has not expired at t.CreatedAt (the store's clock when that is zero);
// an expired one is replaced. A ticket expires when ExpiresAt is reached; a
// zero ExpiresAt counts as expired.
func (s *Store) CreateTicket(ctx context.Context, t *store.Ticket) error {
	if err := insertTicket(ctx, s.wdb, t); err != nil {
		return fmt.Errorf("sqlite: create ticket: %w", mapErr(err))
	}
	return nil
}

// insertTicket is CreateTicket on q, the writing connection or a
// transaction on it.
func insertTicket(ctx context.Context, q querier, t *store.Ticket) error {
	at := t.CreatedAt
	if at.IsZero() {
		at = now()
	}
	var data any
	if len(t.Data) > 0 {
		data = t.Data
	}
	// One statement, so a concurrent create or consume cannot slip between
	// the check for a live ticket and the write. The DO UPDATE changes no
	// row when the existing ticket is live, which RowsAffected reports.
	res, err := q.ExecContext(ctx, `INSERT INTO tickets (`+ticketColumns+`)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET purpose = excluded.purpose, user_id = excluded.user_id,
			data = excluded.data, created_at = excluded.created_at, expires_at = excluded.expires_at
		WHERE tickets.expires_at IS NULL OR tickets.expires_at <= ?`,
		t.ID, t.Purpose, nullString(t.UserID), data, toMillis(t.CreatedAt), toMillis(t.ExpiresAt), at.UnixMilli())
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrConflict
	}
	return nil
}

// ConsumeTicket deletes the ticket with id and purpose and returns it if it
// has not expired at now (ExpiresAt is after now); otherwise it returns
// store.ErrNotFound, having deleted an expired one. A ticket with another
// purpose is left alone. The delete is one statement, so of any number of
// concurrent callers (in this process or others sharing the file) exactly
// one gets the ticket.
func (s *Store) ConsumeTicket(ctx context.Context, purpose, id string, now time.Time) (*store.Ticket, error) {
	t, err := deleteTicket(ctx, s.wdb, purpose, id)
	if err != nil {
		return nil, fmt.Errorf("sqlite: consume ticket: %w", mapErr(err))
	}
	if !now.Before(t.ExpiresAt) {
		return nil, fmt.Errorf("sqlite: consume ticket: %w", store.ErrNotFound)
	}
	return t, nil
}

// deleteTicket deletes the ticket with id and purpose on q and returns it,
// expired or not; store.ErrNotFound when there is none.
func deleteTicket(ctx context.Context, q querier, purpose, id string) (*store.Ticket, error) {
	return scanTicket(q.QueryRowContext(ctx, `DELETE FROM tickets WHERE id = ? AND purpose = ?
		RETURNING `+ticketColumns, id, purpose))
}

// DeleteExpiredTickets removes the tickets whose ExpiresAt is at or before
// now (a zero expiry counts as expired) and returns how many.
func (s *Store) DeleteExpiredTickets(ctx context.Context, now time.Time) (int, error) {
	n, err := s.deleteCount(ctx, `DELETE FROM tickets WHERE expires_at IS NULL OR expires_at <= ?`, now.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete expired tickets: %w", mapErr(err))
	}
	return n, nil
}

func scanTicket(sc scanner) (*store.Ticket, error) {
	var (
		t                store.Ticket
		userID           sql.NullString
		created, expires sql.NullInt64
	)
	err := sc.Scan(&t.ID, &t.Purpose, &userID, &t.Data, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if len(t.Data) == 0 {
		t.Data = nil
	}
	t.UserID = userID.String
	t.CreatedAt, t.ExpiresAt = fromMillis(created), fromMillis(expires)
	return &t, nil
}

// nullString converts s for storage; the empty string becomes NULL.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}
