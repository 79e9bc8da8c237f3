package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Secret returns the named gateway secret, creating it with generate() on
// first use. When several callers (in this process or in others sharing the
// file) race on first use, each may call generate, but only one value is
// stored and every caller returns it.
func (s *Store) Secret(ctx context.Context, name string, generate func() ([]byte, error)) ([]byte, error) {
	var value []byte
	err := s.db.QueryRowContext(ctx, `SELECT value FROM secrets WHERE name = ?`, name).Scan(&value)
	if err == nil {
		return value, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlite: secret %q: %w", name, mapErr(err))
	}

	fresh, err := generate()
	if err != nil {
		return nil, fmt.Errorf("sqlite: secret %q: generate: %w", name, err)
	}
	if len(fresh) == 0 {
		return nil, fmt.Errorf("sqlite: secret %q: generate returned an empty value", name)
	}
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("sqlite: secret %q: %w", name, mapErr(err))
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO secrets (name, value, created_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO NOTHING`, name, fresh, now().UnixMilli()); err != nil {
		return nil, fmt.Errorf("sqlite: secret %q: %w", name, mapErr(err))
	}
	if err := tx.QueryRowContext(ctx, `SELECT value FROM secrets WHERE name = ?`, name).Scan(&value); err != nil {
		return nil, fmt.Errorf("sqlite: secret %q: %w", name, mapErr(err))
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("sqlite: secret %q: %w", name, mapErr(err))
	}
	return value, nil
}
