package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/ssogate/ssogate/store"
)

// defaultAuditLimit is the number of events ListAudit returns when the
// filter sets no limit.
const defaultAuditLimit = 100

// AppendAudit appends e, assigning e.ID, and e.Time when it is zero.
func (s *Store) AppendAudit(ctx context.Context, e *store.AuditEvent) error {
	id, at, err := insertAudit(ctx, s.wdb, e)
	if err != nil {
		return fmt.Errorf("sqlite: append audit: %w", mapErr(err))
	}
	e.ID, e.Time = id, at
	return nil
}

// insertAudit appends e on q and returns the id and time it was given,
// leaving e alone.
func insertAudit(ctx context.Context, q querier, e *store.AuditEvent) (int64, time.Time, error) {
	at := e.Time
	if at.IsZero() {
		at = now()
	}
	res, err := q.ExecContext(ctx, `INSERT INTO audit_events
		(time, action, user_id, actor, client_ip, outcome, detail, request_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		at.UnixMilli(), e.Action, e.UserID, e.Actor, e.ClientIP, string(e.Outcome), e.Detail, e.RequestID)
	if err != nil {
		return 0, time.Time{}, err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, time.Time{}, err
	}
	return id, at, nil
}

// ListAudit returns the events matching f, newest (by Time, then ID) first.
// Since is inclusive, Until exclusive, Before an ID bound (exclusive); a
// Limit of 0 or less means 100.
func (s *Store) ListAudit(ctx context.Context, f store.AuditFilter) ([]*store.AuditEvent, error) {
	var (
		where []string
		args  []any
	)
	if f.UserID != "" {
		where, args = append(where, "user_id = ?"), append(args, f.UserID)
	}
	if f.Action != "" {
		where, args = append(where, "action = ?"), append(args, f.Action)
	}
	if !f.Since.IsZero() {
		where, args = append(where, "time >= ?"), append(args, f.Since.UnixMilli())
	}
	if !f.Until.IsZero() {
		where, args = append(where, "time < ?"), append(args, f.Until.UnixMilli())
	}
	if f.Outcome != "" {
		where, args = append(where, "outcome = ?"), append(args, string(f.Outcome))
	}
	if f.ClientIP != "" {
		where, args = append(where, "client_ip = ?"), append(args, f.ClientIP)
	}
	if f.Before > 0 {
		where, args = append(where, "id < ?"), append(args, f.Before)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultAuditLimit
	}
	q := `SELECT id, time, action, user_id, actor, client_ip, outcome, detail, request_id FROM audit_events`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY time DESC, id DESC LIMIT ?"
	args = append(args, limit)

	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list audit: %w", mapErr(err))
	}
	defer rows.Close()
	var list []*store.AuditEvent
	for rows.Next() {
		var (
			e       store.AuditEvent
			at      sql.NullInt64
			outcome string
		)
		if err := rows.Scan(&e.ID, &at, &e.Action, &e.UserID, &e.Actor, &e.ClientIP, &outcome, &e.Detail, &e.RequestID); err != nil {
			return nil, fmt.Errorf("sqlite: list audit: %w", mapErr(err))
		}
		e.Time, e.Outcome = fromMillis(at), store.Outcome(outcome)
		list = append(list, &e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list audit: %w", mapErr(err))
	}
	return list, nil
}
