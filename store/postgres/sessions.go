package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/ssogate/ssogate/store"
)

const sessionColumns = `id, user_id, amr, auth_time, client_ip, user_agent, line,
	created_at, last_seen_at, idle_expires_at, absolute_expires_at`

// CreateSession inserts sess as given. It returns store.ErrConflict if
// sess.ID exists and store.ErrNotFound if sess.UserID names no user.
func (s *Store) CreateSession(ctx context.Context, sess *store.Session) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO sessions (`+sessionColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		sess.ID, sess.UserID, list(sess.AMR), ts(sess.AuthTime), sess.ClientIP, sess.UserAgent, sess.Line,
		ts(sess.CreatedAt), ts(sess.LastSeenAt), ts(sess.IdleExpiresAt), ts(sess.AbsoluteExpiresAt))
	if err != nil {
		return fmt.Errorf("postgres: create session: %w", mapErr(err))
	}
	return nil
}

// GetSession returns the session with the given id, expired or not, or
// store.ErrNotFound.
func (s *Store) GetSession(ctx context.Context, id string) (*store.Session, error) {
	sess, err := scanSession(s.pool.QueryRow(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id = $1`, id))
	if err != nil {
		return nil, fmt.Errorf("postgres: get session: %w", mapErr(err))
	}
	return sess, nil
}

// TouchSession sets LastSeenAt = seen and IdleExpiresAt = idle. It returns
// store.ErrNotFound if the session is gone (revoked or expired and removed).
func (s *Store) TouchSession(ctx context.Context, id string, seen, idle time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE sessions SET last_seen_at = $1, idle_expires_at = $2 WHERE id = $3`,
		ts(seen), ts(idle), id)
	if err := oneRow(tag, err); err != nil {
		return fmt.Errorf("postgres: touch session: %w", mapErr(err))
	}
	return nil
}

// DeleteSession removes a session and publishes a store.ChangeSession;
// deleting a missing one is not an error (and publishes nothing).
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM sessions WHERE id = $1`, id)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		return notify(ctx, tx, store.Change{Kind: store.ChangeSession, ID: id})
	})
	if err != nil {
		return fmt.Errorf("postgres: delete session: %w", mapErr(err))
	}
	return nil
}

// ListUserSessions returns the user's sessions, newest (by CreatedAt) first.
func (s *Store) ListUserSessions(ctx context.Context, userID string) ([]*store.Session, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+sessionColumns+` FROM sessions
		WHERE user_id = $1 ORDER BY created_at DESC NULLS LAST, id COLLATE "C" DESC`, userID)
	if err != nil {
		return nil, fmt.Errorf("postgres: list user sessions: %w", mapErr(err))
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*store.Session, error) { return scanSession(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: list user sessions: %w", mapErr(err))
	}
	return list, nil
}

// DeleteUserSessions removes every session of the user, returns how many,
// and publishes a store.ChangeUser when there were any.
func (s *Store) DeleteUserSessions(ctx context.Context, userID string) (int, error) {
	var n int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1`, userID)
		if err != nil {
			return err
		}
		if n = tag.RowsAffected(); n == 0 {
			return nil
		}
		return notify(ctx, tx, store.Change{Kind: store.ChangeUser, ID: userID})
	})
	if err != nil {
		return 0, fmt.Errorf("postgres: delete user sessions: %w", mapErr(err))
	}
	return int(n), nil
}

// DeleteExpiredSessions removes the sessions for which Session.Expired(now)
// holds (a zero expiry counts as expired) and returns how many. Nothing
// is published: an expired session is refused by every cache anyway.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error) {
	at := now.UTC().Truncate(time.Millisecond)
	tag, err := s.pool.Exec(ctx, `DELETE FROM sessions
		WHERE idle_expires_at IS NULL OR idle_expires_at <= $1
		   OR absolute_expires_at IS NULL OR absolute_expires_at <= $1`, at)
	if err != nil {
		return 0, fmt.Errorf("postgres: delete expired sessions: %w", mapErr(err))
	}
	return int(tag.RowsAffected()), nil
}

func scanSession(row pgx.Row) (*store.Session, error) {
	var (
		sess                                store.Session
		auth, created, seen, idle, absolute pgtype.Timestamptz
	)
	err := row.Scan(&sess.ID, &sess.UserID, &sess.AMR, &auth, &sess.ClientIP, &sess.UserAgent, &sess.Line,
		&created, &seen, &idle, &absolute)
	if err != nil {
		return nil, err
	}
	sess.AMR = unlist(sess.AMR)
	sess.AuthTime, sess.CreatedAt, sess.LastSeenAt = fromTS(auth), fromTS(created), fromTS(seen)
	sess.IdleExpiresAt, sess.AbsoluteExpiresAt = fromTS(idle), fromTS(absolute)
	return &sess, nil
}

const ticketColumns = `id, purpose, user_id, data, created_at, expires_at`

// CreateTicket stores t as given; an empty UserID and an empty Data are
// stored as NULL. It returns store.ErrConflict if a ticket with t.ID exists
// and has not expired at t.CreatedAt (the store's clock when that is zero);
// an expired one is replaced.
func (s *Store) CreateTicket(ctx context.Context, t *store.Ticket) error {
	if err := insertTicket(ctx, s.pool, t); err != nil {
		return fmt.Errorf("postgres: create ticket: %w", mapErr(err))
	}
	return nil
}

// insertTicket is CreateTicket on q, the pool or a transaction.
func insertTicket(ctx context.Context, q querier, t *store.Ticket) error {
	at := t.CreatedAt
	if at.IsZero() {
		at = now()
	}
	var data any
	if len(t.Data) > 0 {
		data = t.Data
	}
	// One statement: the row lock ON CONFLICT takes keeps a concurrent
	// create or consume from slipping between the check and the write.
	// The DO UPDATE changes no row when the existing ticket is live.
	tag, err := q.Exec(ctx, `INSERT INTO tickets (`+ticketColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (id) DO UPDATE SET purpose = excluded.purpose, user_id = excluded.user_id,
			data = excluded.data, created_at = excluded.created_at, expires_at = excluded.expires_at
		WHERE tickets.expires_at IS NULL OR tickets.expires_at <= $7`,
		t.ID, t.Purpose, nullString(t.UserID), data, ts(t.CreatedAt), ts(t.ExpiresAt), at.UTC().Truncate(time.Millisecond))
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return store.ErrConflict
	}
	return nil
}

// ConsumeTicket deletes the ticket with id and purpose and returns it if it
// has not expired at now; otherwise it returns store.ErrNotFound, having
// deleted an expired one. A ticket with another purpose is left alone.
// The delete is one statement: of concurrent callers, the ones that wait
// on the row lock find the row gone, so exactly one gets the ticket.
func (s *Store) ConsumeTicket(ctx context.Context, purpose, id string, now time.Time) (*store.Ticket, error) {
	t, err := deleteTicket(ctx, s.pool, purpose, id)
	if err != nil {
		return nil, fmt.Errorf("postgres: consume ticket: %w", mapErr(err))
	}
	if !now.Before(t.ExpiresAt) {
		return nil, fmt.Errorf("postgres: consume ticket: %w", store.ErrNotFound)
	}
	return t, nil
}

// deleteTicket deletes the ticket with id and purpose on q and returns it,
// expired or not; pgx.ErrNoRows when there is none.
func deleteTicket(ctx context.Context, q querier, purpose, id string) (*store.Ticket, error) {
	return scanTicket(q.QueryRow(ctx, `DELETE FROM tickets WHERE id = $1 AND purpose = $2
		RETURNING `+ticketColumns, id, purpose))
}

// DeleteExpiredTickets removes the tickets whose ExpiresAt is at or before
// now (a zero expiry counts as expired) and returns how many.
func (s *Store) DeleteExpiredTickets(ctx context.Context, now time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM tickets WHERE expires_at IS NULL OR expires_at <= $1`,
		now.UTC().Truncate(time.Millisecond))
	if err != nil {
		return 0, fmt.Errorf("postgres: delete expired tickets: %w", mapErr(err))
	}
	return int(tag.RowsAffected()), nil
}

func scanTicket(row pgx.Row) (*store.Ticket, error) {
	var (
		t                store.Ticket
		userID           pgtype.Text
		created, expires pgtype.Timestamptz
	)
	if err := row.Scan(&t.ID, &t.Purpose, &userID, &t.Data, &created, &expires); err != nil {
		return nil, err
	}
	if len(t.Data) == 0 {
		t.Data = nil
	}
	t.UserID = userID.String
	t.CreatedAt, t.ExpiresAt = fromTS(created), fromTS(expires)
	return &t, nil
}
