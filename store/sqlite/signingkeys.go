package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/ssogate/ssogate/store"
)

const signingKeyColumns = `id, algorithm, private, public, created_at, active_at, retired_at`

// AddSigningKey stores k as given. It returns store.ErrConflict if k.ID
// exists.
func (s *Store) AddSigningKey(ctx context.Context, k *store.SigningKey) error {
	// Private and Public are NOT NULL: a nil slice would bind as NULL.
	priv, pub := k.Private, k.Public
	if priv == nil {
		priv = []byte{}
	}
	if pub == nil {
		pub = []byte{}
	}
	_, err := s.execChange(ctx, store.Change{Kind: store.ChangeKeys}, `INSERT INTO signing_keys (`+signingKeyColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		k.ID, k.Algorithm, priv, pub, toMillis(k.CreatedAt), toMillis(k.ActiveAt), toMillis(k.RetiredAt))
	if err != nil {
		return fmt.Errorf("sqlite: add signing key: %w", mapErr(err))
	}
	return nil
}

// ListSigningKeys returns every key, oldest ActiveAt first (ties by id). A
// key with a zero ActiveAt sorts first.
func (s *Store) ListSigningKeys(ctx context.Context) ([]*store.SigningKey, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+signingKeyColumns+` FROM signing_keys
		ORDER BY active_at, id`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list signing keys: %w", mapErr(err))
	}
	defer rows.Close()
	var list []*store.SigningKey
	for rows.Next() {
		var (
			k                        store.SigningKey
			created, active, retired sql.NullInt64
		)
		if err := rows.Scan(&k.ID, &k.Algorithm, &k.Private, &k.Public, &created, &active, &retired); err != nil {
			return nil, fmt.Errorf("sqlite: list signing keys: %w", mapErr(err))
		}
		k.CreatedAt, k.ActiveAt, k.RetiredAt = fromMillis(created), fromMillis(active), fromMillis(retired)
		list = append(list, &k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list signing keys: %w", mapErr(err))
	}
	return list, nil
}

// RetireSigningKey sets RetiredAt of key id to at, unless the key is already
// retired at or before at. It returns store.ErrNotFound if the key is absent.
func (s *Store) RetireSigningKey(ctx context.Context, id string, at time.Time) error {
	ms := toMillis(at)
	// One statement, so a concurrent retire cannot move RetiredAt later.
	// The WHERE matches the key whatever its state, so RowsAffected tells
	// a missing key from one already retired earlier.
	res, err := s.execChange(ctx, store.Change{Kind: store.ChangeKeys}, `UPDATE signing_keys
		SET retired_at = CASE
			WHEN retired_at IS NULL OR (?1 IS NOT NULL AND ?1 < retired_at) THEN ?1
			ELSE retired_at END
		WHERE id = ?2`, ms, id)
	if err := oneRow(res, err); err != nil {
		return fmt.Errorf("sqlite: retire signing key: %w", mapErr(err))
	}
	return nil
}

// DeleteSigningKey removes key id; deleting a missing key is not an error.
func (s *Store) DeleteSigningKey(ctx context.Context, id string) error {
	if _, err := s.execChange(ctx, store.Change{Kind: store.ChangeKeys}, `DELETE FROM signing_keys WHERE id = ?`, id); err != nil {
		return fmt.Errorf("sqlite: delete signing key: %w", mapErr(err))
	}
	return nil
}
