package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/ssogate/ssogate/store"
)

// UsersByIDPrefix returns the users whose id starts with prefix, at most
// two, through a range on the primary key's index. The range bounds the
// index scan whatever the database's collation (ids are lower-case hex,
// which every collation orders alike); the left() test makes the answer
// exact even so.
func (s *Store) UsersByIDPrefix(ctx context.Context, prefix string) ([]*store.User, error) {
	if prefix == "" {
		return nil, nil
	}
	upper := prefix[:len(prefix)-1] + string(rune(prefix[len(prefix)-1]+1))
	rows, err := s.pool.Query(ctx, `SELECT `+userColumns+` FROM users
		WHERE id >= $1 AND id < $2 AND left(id, length($1)) = $1 ORDER BY id LIMIT 2`, prefix, upper)
	if err != nil {
		return nil, fmt.Errorf("postgres: users by id prefix: %w", mapErr(err))
	}
	users, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*store.User, error) { return scanUser(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: users by id prefix: %w", mapErr(err))
	}
	return users, nil
}
