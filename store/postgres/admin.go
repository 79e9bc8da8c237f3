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

var _ store.Admin = (*Store)(nil)

const deviceColumns = `id, user_id, user_agent, client_ip, approved_by, created_at, last_used_at`

// lastLoginKey is the sort key of store.SortLastLogin: the last sign-in,
// and below every time for a user who never signed in. It is written
// exactly as in the users_last_login index (0007_admin.sql), so that
// PostgreSQL scans the index rather than sorting.
const lastLoginKey = `coalesce(last_login_at, '-infinity'::timestamptz)`

// SearchUsers returns the page of users q selects. Paging is by keyset:
// a page scans its order's index from the cursor and reads Limit+1 rows,
// so the last page of 100,000 users costs what the first does; Group uses
// the groups GIN index and Status an index too. Text is LIKE '%x%' on
// two lower-cased columns the users_search trigger keeps, which no index
// here answers: with it, a page reads users in order until it has Limit
// matches, and Total counts over the whole table. At 100,000 users that
// scan is tens of milliseconds (storetest's 100,000-user case measures
// and logs it), fine for an admin console; pg_trgm would be the next step.
func (s *Store) SearchUsers(ctx context.Context, q store.UserQuery) (*store.UserPage, error) {
	page, err := s.searchUsers(ctx, q.Normalize())
	if err != nil {
		return nil, fmt.Errorf("postgres: search users: %w", mapErr(err))
	}
	return page, nil
}

func (s *Store) searchUsers(ctx context.Context, q store.UserQuery) (*store.UserPage, error) {
	var (
		where []string
		args  []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if q.Text != "" {
		// search and search_groups are lower-cased by the users_search
		// trigger (0007_admin.sql); lower() here makes the pattern match.
		where = append(where, `(search LIKE lower(`+arg("%"+escapeLike(q.Text)+"%")+`)
			OR search_groups LIKE lower(`+arg("%\x1f"+escapeLike(q.Text)+"\x1f%")+`))`)
	}
	if q.Group != "" {
		where = append(where, "groups @> ARRAY["+arg(q.Group)+"::text]")
	}
	if q.Role != "" {
		where = append(where, "role = "+arg(string(q.Role)))
	}
	if q.Status != "" {
		where = append(where, "status = "+arg(string(q.Status)))
	}
	filter := ""
	if len(where) > 0 {
		filter = " WHERE " + strings.Join(where, " AND ")
	}
	var total int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM users`+filter, args...).Scan(&total); err != nil {
		return nil, err
	}

	order := ` ORDER BY email COLLATE "C", id COLLATE "C"`
	if q.Sort == store.SortLastLogin {
		order = ` ORDER BY ` + lastLoginKey + ` DESC, id COLLATE "C" DESC`
	}
	if q.Cursor != "" {
		c, err := store.ParseUserCursor(q.Cursor, q.Sort)
		if err != nil {
			return nil, err
		}
		if q.Sort == store.SortLastLogin {
			key := pgtype.Timestamptz{Valid: true, InfinityModifier: pgtype.NegativeInfinity}
			if !c.LastLogin.IsZero() {
				key = pgtype.Timestamptz{Valid: true, Time: c.LastLogin.UTC().Truncate(time.Millisecond)}
			}
			where = append(where, `(`+lastLoginKey+`, id COLLATE "C") < (`+arg(key)+`, `+arg(c.ID)+`)`)
		} else {
			where = append(where, `(email COLLATE "C", id COLLATE "C") > (`+arg(c.Email)+`, `+arg(c.ID)+`)`)
		}
	}
	query := `SELECT ` + userColumns + ` FROM users`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += order + " LIMIT " + arg(q.Limit+1)
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	users, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*store.User, error) { return scanUser(r) })
	if err != nil {
		return nil, err
	}
	page := &store.UserPage{Users: users, Total: total}
	if len(users) > q.Limit {
		page.Users = users[:q.Limit]
		page.Next = store.CursorAfter(q.Sort, page.Users[q.Limit-1]).Encode()
	}
	return page, nil
}

// escapeLike escapes LIKE's wildcards (and the escape character, a
// backslash by default) in s.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// DeleteUser removes the user and, in the same transaction, the tickets
// that name them; their sessions, identity links, password, factors,
// recovery codes, remembered and approved browsers and failure counts go
// with the user's row (ON DELETE CASCADE). Audit events stay. It
// publishes a store.ChangeUser and a store.ChangeSession for each session
// it ended (as Accounts.Apply's EndSessions does), and returns
// store.ErrNotFound if the user is absent.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		// The sessions go first, explicitly, so that each is reported.
		rows, err := tx.Query(ctx, `DELETE FROM sessions WHERE user_id = $1 RETURNING id`, id)
		if err != nil {
			return err
		}
		ended, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		// RETURNING promises no order; the change feed gets a stable one.
		slices.Sort(ended)
		if err := oneRow(tx.Exec(ctx, `DELETE FROM users WHERE id = $1`, id)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM tickets WHERE user_id = $1`, id); err != nil {
			return err
		}
		if err := notify(ctx, tx, store.Change{Kind: store.ChangeUser, ID: id}); err != nil {
			return err
		}
		for _, sid := range ended {
			if err := notify(ctx, tx, store.Change{Kind: store.ChangeSession, ID: sid}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("postgres: delete user: %w", mapErr(err))
	}
	return nil
}

// Settings returns every stored organisation setting, ordered by key.
func (s *Store) Settings(ctx context.Context) ([]*store.Setting, error) {
	rows, err := s.pool.Query(ctx, `SELECT key, value, updated_by, updated_at FROM settings ORDER BY key COLLATE "C"`)
	if err != nil {
		return nil, fmt.Errorf("postgres: settings: %w", mapErr(err))
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*store.Setting, error) {
		var (
			st      store.Setting
			updated pgtype.Timestamptz
		)
		if err := r.Scan(&st.Key, &st.Value, &st.UpdatedBy, &updated); err != nil {
			return nil, err
		}
		st.UpdatedAt = fromTS(updated)
		return &st, nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: settings: %w", mapErr(err))
	}
	return list, nil
}

// SetSetting stores (or replaces) st, setting st.UpdatedAt to now when it
// is zero, and publishes a store.ChangeSettings.
func (s *Store) SetSetting(ctx context.Context, st *store.Setting) error {
	updated := st.UpdatedAt
	if updated.IsZero() {
		updated = now()
	}
	updated = updated.UTC().Truncate(time.Millisecond)
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO settings (key, value, updated_by, updated_at)
			VALUES ($1, $2, $3, $4)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_by = excluded.updated_by,
				updated_at = excluded.updated_at`, st.Key, st.Value, st.UpdatedBy, updated); err != nil {
			return err
		}
		return notify(ctx, tx, store.Change{Kind: store.ChangeSettings})
	})
	if err != nil {
		return fmt.Errorf("postgres: set setting: %w", mapErr(err))
	}
	st.UpdatedAt = updated
	return nil
}

// ListTickets returns the tickets of purpose unexpired at now, newest (by
// CreatedAt) first, ties by id.
func (s *Store) ListTickets(ctx context.Context, purpose string, now time.Time) ([]*store.Ticket, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+ticketColumns+` FROM tickets
		WHERE purpose = $1 AND expires_at > $2 ORDER BY created_at DESC NULLS LAST, id COLLATE "C"`,
		purpose, now.UTC().Truncate(time.Millisecond))
	if err != nil {
		return nil, fmt.Errorf("postgres: list tickets: %w", mapErr(err))
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*store.Ticket, error) { return scanTicket(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: list tickets: %w", mapErr(err))
	}
	return list, nil
}

// DeleteTickets removes the tickets of purpose whose UserID is userID,
// expired or not, and returns how many.
func (s *Store) DeleteTickets(ctx context.Context, purpose, userID string) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM tickets WHERE purpose = $1 AND user_id = $2`, purpose, userID)
	if err != nil {
		return 0, fmt.Errorf("postgres: delete tickets: %w", mapErr(err))
	}
	return int(tag.RowsAffected()), nil
}

// AddDevice stores d, setting d.CreatedAt to now when it is zero and
// d.LastUsedAt to d.CreatedAt when it is zero (approving is a use); d is
// changed only on success. It returns store.ErrConflict if d.ID exists and
// store.ErrNotFound if d.UserID names no user.
func (s *Store) AddDevice(ctx context.Context, d *store.ApprovedDevice) error {
	created, used := d.CreatedAt, d.LastUsedAt
	if created.IsZero() {
		created = now()
	}
	if used.IsZero() {
		used = created
	}
	created, used = created.UTC().Truncate(time.Millisecond), used.UTC().Truncate(time.Millisecond)
	_, err := s.pool.Exec(ctx, `INSERT INTO approved_devices (`+deviceColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		d.ID, d.UserID, d.UserAgent, d.ClientIP, d.ApprovedBy, created, used)
	if err != nil {
		return fmt.Errorf("postgres: add device: %w", mapErr(err))
	}
	d.CreatedAt, d.LastUsedAt = created, used
	return nil
}

// UseDevice sets LastUsedAt of the user's approved device id to at. It
// returns store.ErrNotFound if the user has no such device.
func (s *Store) UseDevice(ctx context.Context, id, userID string, at time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE approved_devices SET last_used_at = $1
		WHERE id = $2 AND user_id = $3`, at.UTC().Truncate(time.Millisecond), id, userID)
	if err := oneRow(tag, err); err != nil {
		return fmt.Errorf("postgres: use device: %w", mapErr(err))
	}
	return nil
}

// ListDevices returns the user's approved devices, most recently used
// first, ties by id.
func (s *Store) ListDevices(ctx context.Context, userID string) ([]*store.ApprovedDevice, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+deviceColumns+` FROM approved_devices
		WHERE user_id = $1 ORDER BY last_used_at DESC, id COLLATE "C"`, userID)
	if err != nil {
		return nil, fmt.Errorf("postgres: list devices: %w", mapErr(err))
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*store.ApprovedDevice, error) {
		var (
			d             store.ApprovedDevice
			created, used pgtype.Timestamptz
		)
		if err := r.Scan(&d.ID, &d.UserID, &d.UserAgent, &d.ClientIP, &d.ApprovedBy, &created, &used); err != nil {
			return nil, err
		}
		d.CreatedAt, d.LastUsedAt = fromTS(created), fromTS(used)
		return &d, nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: list devices: %w", mapErr(err))
	}
	return list, nil
}

// DeleteDevice removes the user's approved device id. It returns
// store.ErrNotFound if the user has no such device.
func (s *Store) DeleteDevice(ctx context.Context, userID, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM approved_devices WHERE id = $1 AND user_id = $2`, id, userID)
	if err := oneRow(tag, err); err != nil {
		return fmt.Errorf("postgres: delete device: %w", mapErr(err))
	}
	return nil
}
