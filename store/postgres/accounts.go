package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/ssogate/ssogate/store"
)

var _ store.Accounts = (*Store)(nil)

// querier is what the statements shared by the single methods and Apply
// run on: the pool or a transaction.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Apply commits b in one transaction. The ticket it consumes is deleted
// by one DELETE, so of concurrent Applies on any number of processes the
// ones that wait on its row lock find it gone: exactly one consumes it.
// It publishes with pg_notify what the single methods would (ChangeUser
// for User, Password and EndSessions, ChangeSession for every ended
// session), each distinct change once, delivered only if it commits. The
// values it assigns (the user's UpdatedAt and lower-cased Email, message
// ids and times, audit ids and times) are set in b only once it has
// committed.
func (s *Store) Apply(ctx context.Context, b *store.Batch) (*store.Ticket, error) {
	var (
		consumed *store.Ticket
		email    string
		updated  time.Time
		messages []store.Message
		auditIDs []int64
		auditAt  []time.Time
	)
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		consumed, email, updated, messages, auditIDs, auditAt = nil, "", time.Time{}, nil, nil, nil
		var (
			changes []store.Change
			seen    = map[store.Change]bool{}
		)
		publish := func(c store.Change) {
			if !seen[c] {
				seen[c] = true
				changes = append(changes, c)
			}
		}
		if c := b.Consume; c != nil {
			t, err := deleteTicket(ctx, tx, c.Purpose, c.ID)
			if err != nil {
				return err
			}
			if !c.Now.Before(t.ExpiresAt) {
				return store.ErrNotFound
			}
			consumed = t
		}
		if u := b.User; u != nil {
			updated = now()
			var args []any
			email, args = updateUserArgs(u, updated)
			if err := oneRow(tx.Exec(ctx, updateUserSQL, args...)); err != nil {
				return err
			}
			publish(store.Change{Kind: store.ChangeUser, ID: u.ID})
		}
		if p := b.Password; p != nil {
			if _, err := tx.Exec(ctx, setPasswordSQL, p.UserID, p.Encoded, now()); err != nil {
				return err
			}
			publish(store.Change{Kind: store.ChangeUser, ID: p.UserID})
		}
		if e := b.EndSessions; e != nil {
			rows, err := tx.Query(ctx, `DELETE FROM sessions WHERE user_id = $1 AND id <> $2 RETURNING id`, e.UserID, e.Keep)
			if err != nil {
				return err
			}
			ended, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				return err
			}
			// RETURNING promises no order; the change feed gets a stable one.
			slices.Sort(ended)
			if len(ended) > 0 {
				publish(store.Change{Kind: store.ChangeUser, ID: e.UserID})
			}
			for _, id := range ended {
				publish(store.Change{Kind: store.ChangeSession, ID: id})
			}
		}
		if d := b.DropTickets; d != nil && len(d.Purposes) > 0 {
			if _, err := tx.Exec(ctx, `DELETE FROM tickets WHERE user_id = $1 AND purpose = ANY($2)`, d.UserID, d.Purposes); err != nil {
				return err
			}
		}
		if b.ClearFailures != "" {
			if _, err := tx.Exec(ctx, `DELETE FROM failure_counts WHERE user_id = $1`, b.ClearFailures); err != nil {
				return err
			}
		}
		for _, t := range b.Tickets {
			if err := insertTicket(ctx, tx, t); err != nil {
				return err
			}
		}
		for _, m := range b.Messages {
			stored, err := insertMessage(ctx, tx, m)
			if err != nil {
				return err
			}
			messages = append(messages, stored)
		}
		for _, e := range b.Audit {
			id, at, err := insertAudit(ctx, tx, e)
			if err != nil {
				return err
			}
			auditIDs, auditAt = append(auditIDs, id), append(auditAt, at)
		}
		for _, c := range changes {
			if err := notify(ctx, tx, c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: apply: %w", mapErr(err))
	}
	if b.User != nil {
		b.User.Email, b.User.UpdatedAt = email, updated
	}
	for i, m := range b.Messages {
		m.ID, m.CreatedAt, m.NextAttemptAt = messages[i].ID, messages[i].CreatedAt, messages[i].NextAttemptAt
	}
	for i, e := range b.Audit {
		e.ID, e.Time = auditIDs[i], auditAt[i]
	}
	return consumed, nil
}

// CountFailure adds one wrong password for (userID, device) at `at` and
// returns the consecutive count, this one included. INSERT … ON CONFLICT
// DO UPDATE is atomic under concurrency, so concurrent calls on any
// process each see their own count. It returns store.ErrNotFound if the
// user does not exist.
func (s *Store) CountFailure(ctx context.Context, userID, device string, at time.Time) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `INSERT INTO failure_counts (user_id, device, count, last_at) VALUES ($1, $2, 1, $3)
		ON CONFLICT (user_id, device) DO UPDATE SET count = failure_counts.count + 1, last_at = excluded.last_at
		RETURNING count`, userID, device, ts(at)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("postgres: count failure: %w", mapErr(err))
	}
	return n, nil
}

// Failures returns the consecutive count for (userID, device), 0 when none.
func (s *Store) Failures(ctx context.Context, userID, device string) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count FROM failure_counts WHERE user_id = $1 AND device = $2`, userID, device).Scan(&n)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("postgres: failures: %w", mapErr(err))
	}
	return n, nil
}

// ClearFailure resets the count of (userID, device); clearing a count that
// does not exist is not an error.
func (s *Store) ClearFailure(ctx context.Context, userID, device string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM failure_counts WHERE user_id = $1 AND device = $2`, userID, device); err != nil {
		return fmt.Errorf("postgres: clear failure: %w", mapErr(err))
	}
	return nil
}

// Hit counts one event under key at `at` in its fixed window and returns
// the window's count and end. One upsert starts a window, counts in it, or
// starts it afresh when it has ended at `at`; its right-hand sides all see
// the row as it was, so the three CASEs agree.
func (s *Store) Hit(ctx context.Context, key string, at time.Time, window time.Duration) (int, time.Time, error) {
	var (
		n    int
		ends pgtype.Timestamptz
	)
	start := at.UTC().Truncate(time.Millisecond)
	err := s.pool.QueryRow(ctx, `INSERT INTO hit_windows (key, count, started_at, ends_at) VALUES ($1, 1, $2, $3)
		ON CONFLICT (key) DO UPDATE SET
			count      = CASE WHEN hit_windows.ends_at <= excluded.started_at THEN 1 ELSE hit_windows.count + 1 END,
			started_at = CASE WHEN hit_windows.ends_at <= excluded.started_at THEN excluded.started_at ELSE hit_windows.started_at END,
			ends_at    = CASE WHEN hit_windows.ends_at <= excluded.started_at THEN excluded.ends_at ELSE hit_windows.ends_at END
		RETURNING count, ends_at`, key, start, start.Add(window.Truncate(time.Millisecond))).Scan(&n, &ends)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("postgres: hit: %w", mapErr(err))
	}
	return n, fromTS(ends), nil
}

// HitCount returns key's count and window end current at `at`, without
// counting; 0 and the zero time when its window has ended or never began.
func (s *Store) HitCount(ctx context.Context, key string, at time.Time) (int, time.Time, error) {
	var (
		n    int
		ends pgtype.Timestamptz
	)
	err := s.pool.QueryRow(ctx, `SELECT count, ends_at FROM hit_windows WHERE key = $1 AND ends_at > $2`,
		key, ts(at)).Scan(&n, &ends)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, time.Time{}, nil
	}
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("postgres: hit count: %w", mapErr(err))
	}
	return n, fromTS(ends), nil
}

// DeleteExpiredHits removes the windows that have ended at now and
// returns how many.
func (s *Store) DeleteExpiredHits(ctx context.Context, now time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM hit_windows WHERE ends_at <= $1`, ts(now))
	if err != nil {
		return 0, fmt.Errorf("postgres: delete expired hits: %w", mapErr(err))
	}
	return int(tag.RowsAffected()), nil
}
