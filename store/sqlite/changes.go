package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/ssogate/ssogate/store"
)

var _ store.ChangeFeed = (*Store)(nil)

// changePoll is how often WatchChanges looks for new rows in the changes
// table: a revocation made by any process on the file reaches every
// process's caches within about this long.
const changePoll = 50 * time.Millisecond

// changeKeep is how long a row of the changes table is kept: watchers
// read every changePoll, and one that falls behind starts over.
const changeKeep = time.Hour

// execChange runs query on the writing connection and, in the same
// transaction, records c in the changes table when the query changed a
// row, so that every process watching the file hears of it.
func (s *Store) execChange(ctx context.Context, c store.Change, query string, args ...any) (sql.Result, error) {
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback() }()
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return nil, err
	}
	if n > 0 {
		if _, err := tx.ExecContext(ctx, `INSERT INTO changes (kind, id, at) VALUES (?, ?, ?)`,
			string(c.Kind), c.ID, time.Now().UnixMilli()); err != nil {
			return nil, err
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	return res, nil
}

// WatchChanges implements store.ChangeFeed for every process that opens
// the same database file: it reads the changes table every 50 ms. A read
// that fails reports live(false); the next one that succeeds starts from
// the newest row and reports live(true), since changes may have been
// missed meanwhile.
func (s *Store) WatchChanges(ctx context.Context, changed func(store.Change), live func(bool)) error {
	t := time.NewTicker(changePoll)
	defer t.Stop()
	var last int64
	up := false
	for {
		if !up {
			err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM changes`).Scan(&last)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if err == nil {
				up = true
				live(true)
			}
		} else if err := s.readChanges(ctx, &last, changed); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			up = false
			live(false)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// readChanges reports the rows after *last and moves *last past them.
func (s *Store) readChanges(ctx context.Context, last *int64, changed func(store.Change)) error {
	rows, err := s.db.QueryContext(ctx, `SELECT seq, kind, id FROM changes WHERE seq > ? ORDER BY seq`, *last)
	if err != nil {
		return fmt.Errorf("sqlite: read changes: %w", mapErr(err))
	}
	var list []store.Change
	for rows.Next() {
		var c store.Change
		var kind string
		if err := rows.Scan(last, &kind, &c.ID); err != nil {
			rows.Close()
			return fmt.Errorf("sqlite: read changes: %w", mapErr(err))
		}
		c.Kind = store.ChangeKind(kind)
		list = append(list, c)
	}
	if err := rows.Close(); err != nil {
		return fmt.Errorf("sqlite: read changes: %w", mapErr(err))
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlite: read changes: %w", mapErr(err))
	}
	// Callbacks run after the rows are closed: they may call the store.
	for _, c := range list {
		changed(c)
	}
	return nil
}

// pruneChanges deletes rows of the changes table older than changeKeep.
func (s *Store) pruneChanges(ctx context.Context) error {
	if _, err := s.wdb.ExecContext(ctx, `DELETE FROM changes WHERE at < ?`, time.Now().Add(-changeKeep).UnixMilli()); err != nil {
		return fmt.Errorf("sqlite: prune changes: %w", mapErr(err))
	}
	return nil
}
