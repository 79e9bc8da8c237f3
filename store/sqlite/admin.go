package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/ssogate/ssogate/store"
)

var _ store.Admin = (*Store)(nil)

const deviceColumns = `id, user_id, user_agent, client_ip, approved_by, created_at, last_used_at`

// lastLoginKey is the sort key of store.SortLastLogin: the last sign-in,
// and below every time for a user who never signed in. It is written
// exactly as in the users_last_login index (0008_admin.sql), so that
// SQLite seeks the index rather than sorting.
const lastLoginKey = `ifnull(last_login_at, -9223372036854775808)`

// SearchUsers returns the page of users q selects. Paging is by keyset:
// a page seeks its order's index to the cursor and reads Limit+1 rows,
// so the last page of 100,000 users costs what the first does. Status
// narrows through an index too. Text and Group are LIKE '%x%' tests and
// a look into the groups list, which no index answers: with them a page
// reads users in order until it has Limit matches, and Total counts over
// the whole table. At 100,000 users that full scan is tens of
// milliseconds (storetest's 100,000-user case measures and logs it),
// fine for an admin console; a trigram index would be the next step.
func (s *Store) SearchUsers(ctx context.Context, q store.UserQuery) (*store.UserPage, error) {
	page, err := s.searchUsers(ctx, q.Normalize())
	if err != nil {
		return nil, fmt.Errorf("sqlite: search users: %w", mapErr(err))
	}
	return page, nil
}

func (s *Store) searchUsers(ctx context.Context, q store.UserQuery) (*store.UserPage, error) {
	var (
		where []string
		args  []any
	)
	if q.Text != "" {
		like := "%" + escapeLike(q.Text) + "%"
		group, err := json.Marshal(q.Text)
		if err != nil {
			return nil, err
		}
		// LIKE and NOCASE fold ASCII letters only, so the text is not
		// lower-cased here: other letters then match in the case typed.
		// The groups LIKE is a cheap test on the JSON text before
		// json_each checks a whole element.
		where = append(where, `(email LIKE ? ESCAPE '\' OR display_name LIKE ? ESCAPE '\'
			OR department LIKE ? ESCAPE '\'
			OR (groups LIKE ? ESCAPE '\' AND EXISTS (SELECT 1 FROM json_each(users.groups) WHERE value = ? COLLATE NOCASE)))`)
		args = append(args, like, like, like, "%"+escapeLike(string(group))+"%", q.Text)
	}
	if q.Group != "" {
		group, err := json.Marshal(q.Group)
		if err != nil {
			return nil, err
		}
		where = append(where, `(groups LIKE ? ESCAPE '\' AND EXISTS (SELECT 1 FROM json_each(users.groups) WHERE value = ?))`)
		args = append(args, "%"+escapeLike(string(group))+"%", q.Group)
	}
	if q.Role != "" {
		where, args = append(where, "role = ?"), append(args, string(q.Role))
	}
	if q.Status != "" {
		where, args = append(where, "status = ?"), append(args, string(q.Status))
	}
	filter := ""
	if len(where) > 0 {
		filter = " WHERE " + strings.Join(where, " AND ")
	}
	var total int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM users`+filter, args...).Scan(&total); err != nil {
		return nil, err
	}

	order := " ORDER BY email, id"
	if q.Sort == store.SortLastLogin {
		order = " ORDER BY " + lastLoginKey + " DESC, id DESC"
	}
	if q.Cursor != "" {
		c, err := store.ParseUserCursor(q.Cursor, q.Sort)
		if err != nil {
			return nil, err
		}
		if q.Sort == store.SortLastLogin {
			key := int64(math.MinInt64)
			if !c.LastLogin.IsZero() {
				key = c.LastLogin.UnixMilli()
			}
			where, args = append(where, "("+lastLoginKey+", id) < (?, ?)"), append(args, key, c.ID)
		} else {
			where, args = append(where, "(email, id) > (?, ?)"), append(args, c.Email, c.ID)
		}
	}
	query := `SELECT ` + userColumns + ` FROM users`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += order + " LIMIT ?"
	args = append(args, q.Limit+1)
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	page := &store.UserPage{Total: total}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		page.Users = append(page.Users, u)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(page.Users) > q.Limit {
		page.Users = page.Users[:q.Limit]
		page.Next = store.CursorAfter(q.Sort, page.Users[q.Limit-1]).Encode()
	}
	return page, nil
}

// escapeLike escapes LIKE's wildcards (and the escape character) in s
// for a pattern with ESCAPE '\'.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// DeleteUser removes the user and, in the same transaction, the tickets
// that name them; their sessions, identity links, password, factors,
// recovery codes, remembered and approved browsers and failure counts go
// with the user's row (ON DELETE CASCADE). Audit events stay. It records
// a store.ChangeUser and a store.ChangeSession for each session it ended
// (as Accounts.Apply's EndSessions does), and returns store.ErrNotFound
// if the user is absent.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	if err := s.deleteUser(ctx, id); err != nil {
		return fmt.Errorf("sqlite: delete user: %w", mapErr(err))
	}
	return nil
}

func (s *Store) deleteUser(ctx context.Context, id string) error {
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	// The sessions go first, explicitly, so that each is reported.
	ended, err := endSessions(ctx, tx, id, "")
	if err != nil {
		return err
	}
	if err := oneRow(tx.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, id)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM tickets WHERE user_id = ?`, id); err != nil {
		return err
	}
	changes := []store.Change{{Kind: store.ChangeUser, ID: id}}
	for _, sid := range ended {
		changes = append(changes, store.Change{Kind: store.ChangeSession, ID: sid})
	}
	at := time.Now().UnixMilli()
	for _, c := range changes {
		if _, err := tx.ExecContext(ctx, `INSERT INTO changes (kind, id, at) VALUES (?, ?, ?)`, string(c.Kind), c.ID, at); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// Settings returns every stored organisation setting, ordered by key.
func (s *Store) Settings(ctx context.Context) ([]*store.Setting, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT key, value, updated_by, updated_at FROM settings ORDER BY key`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: settings: %w", mapErr(err))
	}
	defer rows.Close()
	var list []*store.Setting
	for rows.Next() {
		var (
			st      store.Setting
			updated sql.NullInt64
		)
		if err := rows.Scan(&st.Key, &st.Value, &st.UpdatedBy, &updated); err != nil {
			return nil, fmt.Errorf("sqlite: settings: %w", mapErr(err))
		}
		st.UpdatedAt = fromMillis(updated)
		list = append(list, &st)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: settings: %w", mapErr(err))
	}
	return list, nil
}

// SetSetting stores (or replaces) st, setting st.UpdatedAt to now when it
// is zero, and records a store.ChangeSettings.
func (s *Store) SetSetting(ctx context.Context, st *store.Setting) error {
	updated := st.UpdatedAt
	if updated.IsZero() {
		updated = now()
	}
	_, err := s.execChange(ctx, store.Change{Kind: store.ChangeSettings}, `INSERT INTO settings
		(key, value, updated_by, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_by = excluded.updated_by,
			updated_at = excluded.updated_at`,
		st.Key, st.Value, st.UpdatedBy, updated.UnixMilli())
	if err != nil {
		return fmt.Errorf("sqlite: set setting: %w", mapErr(err))
	}
	st.UpdatedAt = updated.UTC().Truncate(time.Millisecond)
	return nil
}

// ListTickets returns the tickets of purpose unexpired at now, newest (by
// CreatedAt) first, ties by id.
func (s *Store) ListTickets(ctx context.Context, purpose string, now time.Time) ([]*store.Ticket, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+ticketColumns+` FROM tickets
		WHERE purpose = ? AND expires_at > ? ORDER BY created_at DESC, id`, purpose, now.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("sqlite: list tickets: %w", mapErr(err))
	}
	defer rows.Close()
	var list []*store.Ticket
	for rows.Next() {
		t, err := scanTicket(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list tickets: %w", mapErr(err))
		}
		list = append(list, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list tickets: %w", mapErr(err))
	}
	return list, nil
}

// DeleteTickets removes the tickets of purpose whose UserID is userID,
// expired or not, and returns how many.
func (s *Store) DeleteTickets(ctx context.Context, purpose, userID string) (int, error) {
	n, err := s.deleteCount(ctx, `DELETE FROM tickets WHERE purpose = ? AND user_id = ?`, purpose, userID)
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete tickets: %w", mapErr(err))
	}
	return n, nil
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
	_, err := s.wdb.ExecContext(ctx, `INSERT INTO approved_devices (`+deviceColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		d.ID, d.UserID, d.UserAgent, d.ClientIP, d.ApprovedBy, created.UnixMilli(), used.UnixMilli())
	if err != nil {
		return fmt.Errorf("sqlite: add device: %w", mapErr(err))
	}
	d.CreatedAt = created.UTC().Truncate(time.Millisecond)
	d.LastUsedAt = used.UTC().Truncate(time.Millisecond)
	return nil
}

// UseDevice sets LastUsedAt of the user's approved device id to at. It
// returns store.ErrNotFound if the user has no such device.
func (s *Store) UseDevice(ctx context.Context, id, userID string, at time.Time) error {
	res, err := s.wdb.ExecContext(ctx, `UPDATE approved_devices SET last_used_at = ?
		WHERE id = ? AND user_id = ?`, at.UnixMilli(), id, userID)
	if err := oneRow(res, err); err != nil {
		return fmt.Errorf("sqlite: use device: %w", mapErr(err))
	}
	return nil
}

// ListDevices returns the user's approved devices, most recently used
// first, ties by id.
func (s *Store) ListDevices(ctx context.Context, userID string) ([]*store.ApprovedDevice, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+deviceColumns+` FROM approved_devices
		WHERE user_id = ? ORDER BY last_used_at DESC, id`, userID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list devices: %w", mapErr(err))
	}
	defer rows.Close()
	var list []*store.ApprovedDevice
	for rows.Next() {
		d, err := scanDevice(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list devices: %w", mapErr(err))
		}
		list = append(list, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list devices: %w", mapErr(err))
	}
	return list, nil
}

// DeleteDevice removes the user's approved device id. It returns
// store.ErrNotFound if the user has no such device.
func (s *Store) DeleteDevice(ctx context.Context, userID, id string) error {
	res, err := s.wdb.ExecContext(ctx, `DELETE FROM approved_devices WHERE id = ? AND user_id = ?`, id, userID)
	if err := oneRow(res, err); err != nil {
		return fmt.Errorf("sqlite: delete device: %w", mapErr(err))
	}
	return nil
}

func scanDevice(sc scanner) (*store.ApprovedDevice, error) {
	var (
		d             store.ApprovedDevice
		created, used sql.NullInt64
	)
	err := sc.Scan(&d.ID, &d.UserID, &d.UserAgent, &d.ClientIP, &d.ApprovedBy, &created, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	d.CreatedAt, d.LastUsedAt = fromMillis(created), fromMillis(used)
	return &d, nil
}
