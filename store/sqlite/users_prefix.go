package sqlite

import (
	"context"
	"fmt"

	"github.com/ssogate/ssogate/store"
)

// UsersByIDPrefix returns the users whose id starts with prefix (at most
// two: the PIN identity check needs to know one, or that the short id is
// ambiguous), through a range on the primary key's index, so that its
// cost does not grow with the number of users. An empty prefix finds none.
func (s *Store) UsersByIDPrefix(ctx context.Context, prefix string) ([]*store.User, error) {
	if prefix == "" {
		return nil, nil
	}
	// Every id that starts with prefix sorts (bytewise, SQLite's BINARY
	// collation) at or after prefix and before prefix with its last byte
	// one higher.
	upper := prefix[:len(prefix)-1] + string(rune(prefix[len(prefix)-1]+1))
	rows, err := s.db.QueryContext(ctx, `SELECT `+userColumns+` FROM users WHERE id >= ? AND id < ? ORDER BY id LIMIT 2`,
		prefix, upper)
	if err != nil {
		return nil, fmt.Errorf("sqlite: users by id prefix: %w", mapErr(err))
	}
	defer rows.Close()
	var out []*store.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: users by id prefix: %w", mapErr(err))
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: users by id prefix: %w", mapErr(err))
	}
	return out, nil
}
