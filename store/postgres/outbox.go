package postgres

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

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
	stored, err := insertMessage(ctx, s.pool, m)
	if err != nil {
		return fmt.Errorf("postgres: enqueue message: %w", mapErr(err))
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
	_, err := q.Exec(ctx, `INSERT INTO outbox (`+messageColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		c.ID, string(c.Channel), c.Template, c.To, c.Language, c.UserID, data,
		ts(c.CreatedAt), ts(c.NextAttemptAt), c.Attempts, c.LastError, ts(c.SentAt), ts(c.GaveUpAt))
	return c, err
}

// ClaimMessages leases to owner, until now+lease, up to limit messages due
// at now that are neither sent, given up nor leased at now, and returns
// them oldest due first. The subquery locks the rows it picks FOR UPDATE
// SKIP LOCKED, so concurrent claimers on any process pass over each
// other's rows instead of waiting for them, and a row whose lease another
// claimer committed meanwhile is re-checked and left out: no two owners
// ever hold the same message.
func (s *Store) ClaimMessages(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]*store.Message, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("postgres: claim messages: %w", err)
	}
	if limit <= 0 {
		return nil, nil
	}
	at := now.UTC().Truncate(time.Millisecond)
	rows, err := s.pool.Query(ctx, `UPDATE outbox SET lease_owner = $1, lease_until = $2
		WHERE id IN (SELECT id FROM outbox
			WHERE `+pendingSQL+` AND next_attempt_at <= $3 AND (lease_until IS NULL OR lease_until <= $3)
			ORDER BY next_attempt_at, created_at, id COLLATE "C" LIMIT $4
			FOR UPDATE SKIP LOCKED)
		RETURNING `+messageColumns, owner, now.Add(lease).UTC().Truncate(time.Millisecond), at, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: claim messages: %w", mapErr(err))
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*store.Message, error) { return scanMessage(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: claim messages: %w", mapErr(err))
	}
	// RETURNING promises no order.
	sortMessages(list)
	return list, nil
}

// sortMessages orders list oldest due first, as ClaimMessages returns it.
func sortMessages(list []*store.Message) {
	slices.SortFunc(list, func(a, b *store.Message) int {
		if c := a.NextAttemptAt.Compare(b.NextAttemptAt); c != 0 {
			return c
		}
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}

// MessageSent marks message id sent at `at` and drops its Data if owner
// still holds it: a lease that ran out without another process claiming
// the message is still owner's, since nobody else can have sent it.
// Otherwise it returns store.ErrNotFound.
func (s *Store) MessageSent(ctx context.Context, id, owner string, at time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE outbox SET sent_at = $1, data = NULL, lease_owner = NULL, lease_until = NULL
		WHERE id = $2 AND lease_owner = $3 AND `+pendingSQL, ts(at), id, owner)
	if err := oneRow(tag, err); err != nil {
		return fmt.Errorf("postgres: message sent: %w", mapErr(err))
	}
	return nil
}

// MessageFailed records a failed try of message id held by owner and
// releases it: due again at next, or given up at `at` with its Data
// dropped. It returns store.ErrNotFound when owner does not hold it.
func (s *Store) MessageFailed(ctx context.Context, id, owner, reason string, at, next time.Time, giveUp bool) error {
	q := `UPDATE outbox SET attempts = attempts + 1, last_error = $1,
		next_attempt_at = $2, lease_owner = NULL, lease_until = NULL
		WHERE id = $3 AND lease_owner = $4 AND ` + pendingSQL
	when := ts(next)
	if giveUp {
		q = `UPDATE outbox SET attempts = attempts + 1, last_error = $1,
			gave_up_at = $2, data = NULL, lease_owner = NULL, lease_until = NULL
			WHERE id = $3 AND lease_owner = $4 AND ` + pendingSQL
		when = ts(at)
	}
	tag, err := s.pool.Exec(ctx, q, reason, when, id, owner)
	if err := oneRow(tag, err); err != nil {
		return fmt.Errorf("postgres: message failed: %w", mapErr(err))
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
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.UserID != "" {
		where = append(where, "user_id = "+arg(f.UserID))
	}
	if f.Template != "" {
		where = append(where, "template = "+arg(f.Template))
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
	q += ` ORDER BY created_at DESC, id COLLATE "C" DESC LIMIT ` + arg(limit)
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: list messages: %w", mapErr(err))
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*store.Message, error) { return scanMessage(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: list messages: %w", mapErr(err))
	}
	return list, nil
}

func scanMessage(row pgx.Row) (*store.Message, error) {
	var (
		m                           store.Message
		channel                     string
		created, next, sent, gaveUp pgtype.Timestamptz
	)
	if err := row.Scan(&m.ID, &channel, &m.Template, &m.To, &m.Language, &m.UserID, &m.Data, &created,
		&next, &m.Attempts, &m.LastError, &sent, &gaveUp); err != nil {
		return nil, err
	}
	if len(m.Data) == 0 {
		m.Data = nil
	}
	m.Channel = store.Channel(channel)
	m.CreatedAt, m.NextAttemptAt = fromTS(created), fromTS(next)
	m.SentAt, m.GaveUpAt = fromTS(sent), fromTS(gaveUp)
	return &m, nil
}
