package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/ssogate/ssogate/store"
)

const signingKeyColumns = `id, algorithm, private, public, created_at, active_at, retired_at`

// AddSigningKey stores k as given and publishes a store.ChangeKeys. It
// returns store.ErrConflict if k.ID exists.
func (s *Store) AddSigningKey(ctx context.Context, k *store.SigningKey) error {
	// private and public are NOT NULL: a nil slice would bind as NULL.
	priv, pub := k.Private, k.Public
	if priv == nil {
		priv = []byte{}
	}
	if pub == nil {
		pub = []byte{}
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO signing_keys (`+signingKeyColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			k.ID, k.Algorithm, priv, pub, ts(k.CreatedAt), ts(k.ActiveAt), ts(k.RetiredAt)); err != nil {
			return err
		}
		return notify(ctx, tx, store.Change{Kind: store.ChangeKeys})
	})
	if err != nil {
		return fmt.Errorf("postgres: add signing key: %w", mapErr(err))
	}
	return nil
}

// ListSigningKeys returns every key, oldest ActiveAt first (ties by id). A
// key with a zero ActiveAt sorts first.
func (s *Store) ListSigningKeys(ctx context.Context) ([]*store.SigningKey, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+signingKeyColumns+` FROM signing_keys
		ORDER BY active_at NULLS FIRST, id COLLATE "C"`)
	if err != nil {
		return nil, fmt.Errorf("postgres: list signing keys: %w", mapErr(err))
	}
	keys, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*store.SigningKey, error) {
		var (
			k                        store.SigningKey
			created, active, retired pgtype.Timestamptz
		)
		if err := r.Scan(&k.ID, &k.Algorithm, &k.Private, &k.Public, &created, &active, &retired); err != nil {
			return nil, err
		}
		k.CreatedAt, k.ActiveAt, k.RetiredAt = fromTS(created), fromTS(active), fromTS(retired)
		return &k, nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: list signing keys: %w", mapErr(err))
	}
	return keys, nil
}

// RetireSigningKey sets RetiredAt of key id to at, unless the key is
// already retired at or before at, and publishes a store.ChangeKeys. It
// returns store.ErrNotFound if the key is absent.
func (s *Store) RetireSigningKey(ctx context.Context, id string, at time.Time) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		// One statement, so a concurrent retire cannot move RetiredAt
		// later. The WHERE matches the key whatever its state, so the
		// row count tells a missing key from one retired earlier.
		tag, err := tx.Exec(ctx, `UPDATE signing_keys
			SET retired_at = CASE
				WHEN retired_at IS NULL OR ($1::timestamptz IS NOT NULL AND $1::timestamptz < retired_at) THEN $1::timestamptz
				ELSE retired_at END
			WHERE id = $2`, ts(at), id)
		if err := oneRow(tag, err); err != nil {
			return err
		}
		return notify(ctx, tx, store.Change{Kind: store.ChangeKeys})
	})
	if err != nil {
		return fmt.Errorf("postgres: retire signing key: %w", mapErr(err))
	}
	return nil
}

// DeleteSigningKey removes key id and publishes a store.ChangeKeys;
// deleting a missing key is not an error (and publishes nothing).
func (s *Store) DeleteSigningKey(ctx context.Context, id string) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM signing_keys WHERE id = $1`, id)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		return notify(ctx, tx, store.Change{Kind: store.ChangeKeys})
	})
	if err != nil {
		return fmt.Errorf("postgres: delete signing key: %w", mapErr(err))
	}
	return nil
}

// Secret returns the named gateway secret, creating it with generate() on
// first use. When several callers (in this process or others) race on
// first use, each may call generate, but only one value is stored and
// every caller returns it.
func (s *Store) Secret(ctx context.Context, name string, generate func() ([]byte, error)) ([]byte, error) {
	var value []byte
	err := s.pool.QueryRow(ctx, `SELECT value FROM secrets WHERE name = $1`, name).Scan(&value)
	if err == nil {
		return value, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("postgres: secret %q: %w", name, mapErr(err))
	}
	fresh, err := generate()
	if err != nil {
		return nil, fmt.Errorf("postgres: secret %q: generate: %w", name, err)
	}
	if len(fresh) == 0 {
		return nil, fmt.Errorf("postgres: secret %q: generate returned an empty value", name)
	}
	// DO NOTHING waits for a concurrent insert of the same name to
	// commit; the next statement (a new snapshot under READ COMMITTED)
	// then reads whichever value won.
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO secrets (name, value, created_at) VALUES ($1, $2, $3)
			ON CONFLICT (name) DO NOTHING`, name, fresh, now()); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT value FROM secrets WHERE name = $1`, name).Scan(&value)
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: secret %q: %w", name, mapErr(err))
	}
	return value, nil
}

// defaultAuditLimit is the number of events ListAudit returns when the
// filter sets no limit.
const defaultAuditLimit = 100

// AppendAudit appends e, assigning e.ID, and e.Time when it is zero.
func (s *Store) AppendAudit(ctx context.Context, e *store.AuditEvent) error {
	id, at, err := insertAudit(ctx, s.pool, e)
	if err != nil {
		return fmt.Errorf("postgres: append audit: %w", mapErr(err))
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
	at = at.UTC().Truncate(time.Millisecond)
	var id int64
	err := q.QueryRow(ctx, `INSERT INTO audit_events
		(time, action, user_id, actor, client_ip, outcome, detail, request_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
		at, e.Action, e.UserID, e.Actor, e.ClientIP, string(e.Outcome), e.Detail, e.RequestID).Scan(&id)
	return id, at, err
}

// ListAudit returns the events matching f, newest (by Time, then ID) first.
// Since is inclusive, Until exclusive, Before an ID bound (exclusive); a
// Limit of 0 or less means 100.
func (s *Store) ListAudit(ctx context.Context, f store.AuditFilter) ([]*store.AuditEvent, error) {
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
	if f.Action != "" {
		where = append(where, "action = "+arg(f.Action))
	}
	if !f.Since.IsZero() {
		where = append(where, "time >= "+arg(f.Since.UTC().Truncate(time.Millisecond)))
	}
	if !f.Until.IsZero() {
		where = append(where, "time < "+arg(f.Until.UTC().Truncate(time.Millisecond)))
	}
	if f.Outcome != "" {
		where = append(where, "outcome = "+arg(string(f.Outcome)))
	}
	if f.ClientIP != "" {
		where = append(where, "client_ip = "+arg(f.ClientIP))
	}
	if f.Before > 0 {
		where = append(where, "id < "+arg(f.Before))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultAuditLimit
	}
	q := `SELECT id, time, action, user_id, actor, client_ip, outcome, detail, request_id FROM audit_events`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY time DESC, id DESC LIMIT " + arg(limit)
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: list audit: %w", mapErr(err))
	}
	events, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*store.AuditEvent, error) {
		var (
			e       store.AuditEvent
			at      pgtype.Timestamptz
			outcome string
		)
		if err := r.Scan(&e.ID, &at, &e.Action, &e.UserID, &e.Actor, &e.ClientIP, &outcome, &e.Detail, &e.RequestID); err != nil {
			return nil, err
		}
		e.Time, e.Outcome = fromTS(at), store.Outcome(outcome)
		return &e, nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: list audit: %w", mapErr(err))
	}
	return events, nil
}
