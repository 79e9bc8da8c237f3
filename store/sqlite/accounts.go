package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ssogate/ssogate/store"
)

var _ store.Accounts = (*Store)(nil)

// querier is what the statements shared by the single methods and Apply
// run on: the writing connection or a transaction on it.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Apply commits b in one immediate transaction on the writing connection,
// so other writers, in this process or another on the file, wait for it
// and a ticket it consumes is consumed by it alone. It publishes on the
// changes table what the single methods would (ChangeUser for User,
// Password and EndSessions, ChangeSession for every ended session), each
// distinct change once. The values it assigns (the user's UpdatedAt and
// lower-cased Email, message ids and times, audit ids and times) are set
// in b only once the transaction has committed.
func (s *Store) Apply(ctx context.Context, b *store.Batch) (*store.Ticket, error) {
	t, err := s.applyBatch(ctx, b)
	if err != nil {
		return nil, fmt.Errorf("sqlite: apply: %w", mapErr(err))
	}
	return t, nil
}

// applied is what Apply hands back to the caller's values after commit.
type applied struct {
	email    string
	updated  time.Time
	messages []store.Message
	auditIDs []int64
	auditAt  []time.Time
}

func (s *Store) applyBatch(ctx context.Context, b *store.Batch) (*store.Ticket, error) {
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback() }()
	var (
		out     applied
		changes []store.Change
		seen    = map[store.Change]bool{}
	)
	publish := func(c store.Change) {
		if !seen[c] {
			seen[c] = true
			changes = append(changes, c)
		}
	}

	var consumed *store.Ticket
	if c := b.Consume; c != nil {
		t, err := deleteTicket(ctx, tx, c.Purpose, c.ID)
		if err != nil {
			return nil, err
		}
		if !c.Now.Before(t.ExpiresAt) {
			return nil, store.ErrNotFound
		}
		consumed = t
	}
	if u := b.User; u != nil {
		out.updated = now()
		email, args, err := updateUserArgs(u, out.updated)
		if err != nil {
			return nil, err
		}
		res, err := tx.ExecContext(ctx, updateUserSQL, args...)
		if err := oneRow(res, err); err != nil {
			return nil, err
		}
		out.email = email
		publish(store.Change{Kind: store.ChangeUser, ID: u.ID})
	}
	if p := b.Password; p != nil {
		if _, err := tx.ExecContext(ctx, setPasswordSQL, p.UserID, p.Encoded, now().UnixMilli()); err != nil {
			return nil, err
		}
		publish(store.Change{Kind: store.ChangeUser, ID: p.UserID})
	}
	if e := b.EndSessions; e != nil {
		ended, err := endSessions(ctx, tx, e.UserID, e.Keep)
		if err != nil {
			return nil, err
		}
		if len(ended) > 0 {
			publish(store.Change{Kind: store.ChangeUser, ID: e.UserID})
		}
		for _, id := range ended {
			publish(store.Change{Kind: store.ChangeSession, ID: id})
		}
	}
	if d := b.DropTickets; d != nil && len(d.Purposes) > 0 {
		args := []any{d.UserID}
		for _, p := range d.Purposes {
			args = append(args, p)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM tickets WHERE user_id = ? AND purpose IN (?`+
			strings.Repeat(", ?", len(d.Purposes)-1)+`)`, args...); err != nil {
			return nil, err
		}
	}
	if b.ClearFailures != "" {
		if _, err := tx.ExecContext(ctx, `DELETE FROM failure_counts WHERE user_id = ?`, b.ClearFailures); err != nil {
			return nil, err
		}
	}
	for _, t := range b.Tickets {
		if err := insertTicket(ctx, tx, t); err != nil {
			return nil, err
		}
	}
	for _, m := range b.Messages {
		stored, err := insertMessage(ctx, tx, m)
		if err != nil {
			return nil, err
		}
		out.messages = append(out.messages, stored)
	}
	for _, e := range b.Audit {
		id, at, err := insertAudit(ctx, tx, e)
		if err != nil {
			return nil, err
		}
		out.auditIDs, out.auditAt = append(out.auditIDs, id), append(out.auditAt, at)
	}
	at := time.Now().UnixMilli()
	for _, c := range changes {
		if _, err := tx.ExecContext(ctx, `INSERT INTO changes (kind, id, at) VALUES (?, ?, ?)`, string(c.Kind), c.ID, at); err != nil {
			return nil, err
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}

	if b.User != nil {
		b.User.Email, b.User.UpdatedAt = out.email, out.updated
	}
	for i, m := range b.Messages {
		m.ID, m.CreatedAt, m.NextAttemptAt = out.messages[i].ID, out.messages[i].CreatedAt, out.messages[i].NextAttemptAt
	}
	for i, e := range b.Audit {
		e.ID, e.Time = out.auditIDs[i], out.auditAt[i]
	}
	return consumed, nil
}

// endSessions deletes the user's sessions but keep and returns their ids,
// in id order.
func endSessions(ctx context.Context, q querier, userID, keep string) ([]string, error) {
	rows, err := q.QueryContext(ctx, `DELETE FROM sessions WHERE user_id = ? AND id <> ? RETURNING id`, userID, keep)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ended []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ended = append(ended, id)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// RETURNING promises no order; the change feed gets a stable one.
	slices.Sort(ended)
	return ended, nil
}

// CountFailure adds one wrong password for (userID, device) at `at` and
// returns the consecutive count, this one included. The upsert is one
// statement, so concurrent calls, from any process on the file, each see
// their own count. It returns store.ErrNotFound if the user does not
// exist.
func (s *Store) CountFailure(ctx context.Context, userID, device string, at time.Time) (int, error) {
	var n int
	err := s.wdb.QueryRowContext(ctx, `INSERT INTO failure_counts (user_id, device, count, last_at) VALUES (?, ?, 1, ?)
		ON CONFLICT (user_id, device) DO UPDATE SET count = failure_counts.count + 1, last_at = excluded.last_at
		RETURNING count`, userID, device, at.UnixMilli()).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("sqlite: count failure: %w", mapErr(err))
	}
	return n, nil
}

// Failures returns the consecutive count for (userID, device), 0 when none.
func (s *Store) Failures(ctx context.Context, userID, device string) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT count FROM failure_counts WHERE user_id = ? AND device = ?`, userID, device).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("sqlite: failures: %w", mapErr(err))
	}
	return n, nil
}

// ClearFailure resets the count of (userID, device); clearing a count that
// does not exist is not an error.
func (s *Store) ClearFailure(ctx context.Context, userID, device string) error {
	if _, err := s.wdb.ExecContext(ctx, `DELETE FROM failure_counts WHERE user_id = ? AND device = ?`, userID, device); err != nil {
		return fmt.Errorf("sqlite: clear failure: %w", mapErr(err))
	}
	return nil
}

// Hit counts one event under key at `at` in its fixed window and returns
// the window's count and end. One upsert statement starts a window, counts
// in it, or starts it afresh when it has ended at `at`; its right-hand
// sides all see the row as it was, so the three CASEs agree.
func (s *Store) Hit(ctx context.Context, key string, at time.Time, window time.Duration) (int, time.Time, error) {
	var (
		n    int
		ends int64
	)
	start := at.UnixMilli()
	err := s.wdb.QueryRowContext(ctx, `INSERT INTO hit_windows (key, count, started_at, ends_at) VALUES (?, 1, ?, ?)
		ON CONFLICT (key) DO UPDATE SET
			count      = CASE WHEN hit_windows.ends_at <= excluded.started_at THEN 1 ELSE hit_windows.count + 1 END,
			started_at = CASE WHEN hit_windows.ends_at <= excluded.started_at THEN excluded.started_at ELSE hit_windows.started_at END,
			ends_at    = CASE WHEN hit_windows.ends_at <= excluded.started_at THEN excluded.ends_at ELSE hit_windows.ends_at END
		RETURNING count, ends_at`, key, start, start+window.Milliseconds()).Scan(&n, &ends)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("sqlite: hit: %w", mapErr(err))
	}
	return n, time.UnixMilli(ends).UTC(), nil
}

// HitCount returns key's count and window end current at `at`, without
// counting; 0 and the zero time when its window has ended or never began.
func (s *Store) HitCount(ctx context.Context, key string, at time.Time) (int, time.Time, error) {
	var (
		n    int
		ends int64
	)
	err := s.db.QueryRowContext(ctx, `SELECT count, ends_at FROM hit_windows WHERE key = ? AND ends_at > ?`,
		key, at.UnixMilli()).Scan(&n, &ends)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, time.Time{}, nil
	}
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("sqlite: hit count: %w", mapErr(err))
	}
	return n, time.UnixMilli(ends).UTC(), nil
}

// DeleteExpiredHits removes the windows that have ended at now and
// returns how many.
func (s *Store) DeleteExpiredHits(ctx context.Context, now time.Time) (int, error) {
	n, err := s.deleteCount(ctx, `DELETE FROM hit_windows WHERE ends_at <= ?`, now.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete expired hits: %w", mapErr(err))
	}
	return n, nil
}
