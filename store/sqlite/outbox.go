package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/ssogate/ssogate/store"
)

var _ store.Outbox = (*Store)(nil)

// defaultMessageLimit is the number of messages ListMessages returns when
// the filter sets no limit.
const defaultMessageLimit = 100

const messageColumns = `id, channel, template, recipient, language, user_id, data, created_at,
	next_attempt_at, attempts, last_error, sent_at, gave_up_at`

// pendingSQL is the condition of a message still to send.
const pendingSQL = `sent_at IS NULL AND gave_up_at IS NULL`

// EnqueueMessage stores m, assigning m.ID when empty, CreatedAt (now) when
// zero and NextAttemptAt (CreatedAt) when zero; m is changed only on
// success. It returns store.ErrConflict if m.ID exists.
func (s *Store) EnqueueMessage(ctx context.Context, m *store.Message) error {
	stored, err := insertMessage(ctx, s.wdb, m)
	if err != nil {
		return fmt.Errorf("sqlite: enqueue message: %w", mapErr(err))
	}
	m.ID, m.CreatedAt, m.NextAttemptAt = stored.ID, stored.CreatedAt, stored.NextAttemptAt
	return nil
}

// insertMessage inserts m on q with its id and times assigned as
// EnqueueMessage does, and returns a copy with them, leaving m alone.
// Attempts, LastError, SentAt and GaveUpAt are stored as given, so that
// a migrated message keeps its history.
func insertMessage(ctx context.Context, q querier, m *store.Message) (store.Message, error) {
	c := *m
	if c.ID == "" {
		id, err := newID()
		if err != nil {
			return c, err
		}
		c.ID = id
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = now()
	}
	if c.NextAttemptAt.IsZero() {
		c.NextAttemptAt = c.CreatedAt
	}
	var data any
	if len(c.Data) > 0 {
		data = c.Data
	}
	_, err := q.ExecContext(ctx, `INSERT INTO outbox (`+messageColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, string(c.Channel), c.Template, c.To, c.Language, c.UserID, data,
		c.CreatedAt.UnixMilli(), c.NextAttemptAt.UnixMilli(), c.Attempts, c.LastError,
		toMillis(c.SentAt), toMillis(c.GaveUpAt))
	return c, err
}

// ClaimMessages leases to owner, until now+lease, up to limit messages due
// at now that are neither sent, given up nor leased at now, and returns
// them oldest due first. The choice and the lease are one UPDATE on the
// writing connection: SQLite runs one writer at a time across every
// process on the file, so no two owners ever hold the same message.
func (s *Store) ClaimMessages(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]*store.Message, error) {
	if limit <= 0 {
		return nil, nil
	}
	at := now.UnixMilli()
	rows, err := s.wdb.QueryContext(ctx, `UPDATE outbox SET lease_owner = ?, lease_until = ?
		WHERE id IN (SELECT id FROM outbox
			WHERE `+pendingSQL+` AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until <= ?)
			ORDER BY next_attempt_at, created_at, id LIMIT ?)
		RETURNING `+messageColumns, owner, now.Add(lease).UnixMilli(), at, at, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: claim messages: %w", mapErr(err))
	}
	list, err := scanMessages(rows)
	if err != nil {
		return nil, fmt.Errorf("sqlite: claim messages: %w", mapErr(err))
	}
	// RETURNING promises no order.
	sort.Slice(list, func(i, j int) bool {
		a, b := list[i], list[j]
		if !a.NextAttemptAt.Equal(b.NextAttemptAt) {
			return a.NextAttemptAt.Before(b.NextAttemptAt)
		}
		if !a.CreatedAt.Equal(b.CreatedAt) {
			return a.CreatedAt.Before(b.CreatedAt)
		}
		return a.ID < b.ID
	})
	return list, nil
}

// MessageSent marks message id sent at `at` and drops its Data if owner
// still holds it: a lease that ran out without another process claiming
// the message is still owner's, since nobody else can have sent it.
// Otherwise it returns store.ErrNotFound.
func (s *Store) MessageSent(ctx context.Context, id, owner string, at time.Time) error {
	res, err := s.wdb.ExecContext(ctx, `UPDATE outbox SET sent_at = ?, data = NULL, lease_owner = NULL, lease_until = NULL
		WHERE id = ? AND lease_owner = ? AND `+pendingSQL, at.UnixMilli(), id, owner)
	if err := oneRow(res, err); err != nil {
		return fmt.Errorf("sqlite: message sent: %w", mapErr(err))
	}
	return nil
}

// MessageFailed records a failed try of message id held by owner and
// releases it: due again at next, or given up at `at` with its Data
// dropped. It returns store.ErrNotFound when owner does not hold it.
func (s *Store) MessageFailed(ctx context.Context, id, owner, reason string, at, next time.Time, giveUp bool) error {
	var (
		res sql.Result
		err error
	)
	if giveUp {
		res, err = s.wdb.ExecContext(ctx, `UPDATE outbox SET attempts = attempts + 1, last_error = ?,
			gave_up_at = ?, data = NULL, lease_owner = NULL, lease_until = NULL
			WHERE id = ? AND lease_owner = ? AND `+pendingSQL, reason, at.UnixMilli(), id, owner)
	} else {
		res, err = s.wdb.ExecContext(ctx, `UPDATE outbox SET attempts = attempts + 1, last_error = ?,
			next_attempt_at = ?, lease_owner = NULL, lease_until = NULL
			WHERE id = ? AND lease_owner = ? AND `+pendingSQL, reason, next.UnixMilli(), id, owner)
	}
	if err := oneRow(res, err); err != nil {
		return fmt.Errorf("sqlite: message failed: %w", mapErr(err))
	}
	return nil
}

// ListMessages returns the messages matching f, newest (by CreatedAt, then
// ID) first. A Limit of 0 or less means 100.
func (s *Store) ListMessages(ctx context.Context, f store.MessageFilter) ([]*store.Message, error) {
	var (
		where []string
		args  []any
	)
	if f.UserID != "" {
		where, args = append(where, "user_id = ?"), append(args, f.UserID)
	}
	if f.Template != "" {
		where, args = append(where, "template = ?"), append(args, f.Template)
	}
	if f.Pending {
		where = append(where, pendingSQL)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultMessageLimit
	}
	q := `SELECT ` + messageColumns + ` FROM outbox`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY created_at DESC, id DESC LIMIT ?"
	rows, err := s.db.QueryContext(ctx, q, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list messages: %w", mapErr(err))
	}
	list, err := scanMessages(rows)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list messages: %w", mapErr(err))
	}
	return list, nil
}

// scanMessages reads every row of rows and closes it.
func scanMessages(rows *sql.Rows) ([]*store.Message, error) {
	defer rows.Close()
	var list []*store.Message
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, err
		}
		list = append(list, m)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return list, nil
}

func scanMessage(sc scanner) (*store.Message, error) {
	var (
		m                           store.Message
		channel                     string
		created, next, sent, gaveUp sql.NullInt64
	)
	err := sc.Scan(&m.ID, &channel, &m.Template, &m.To, &m.Language, &m.UserID, &m.Data, &created,
		&next, &m.Attempts, &m.LastError, &sent, &gaveUp)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if len(m.Data) == 0 {
		m.Data = nil
	}
	m.Channel = store.Channel(channel)
	m.CreatedAt, m.NextAttemptAt = fromMillis(created), fromMillis(next)
	m.SentAt, m.GaveUpAt = fromMillis(sent), fromMillis(gaveUp)
	return &m, nil
}
