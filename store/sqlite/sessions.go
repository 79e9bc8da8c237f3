package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ssogate/ssogate/store"
)

const sessionColumns = `id, user_id, amr, auth_time, client_ip, user_agent, line,
	created_at, last_seen_at, idle_expires_at, absolute_expires_at`

// CreateSession inserts s as given. It returns store.ErrConflict if s.ID
// exists and store.ErrNotFound if s.UserID names no user.
func (s *Store) CreateSession(ctx context.Context, sess *store.Session) error {
	amr, err := toJSON(sess.AMR)
	if err != nil {
		return fmt.Errorf("sqlite: create session: %w", mapErr(err))
	}
	_, err = s.wdb.ExecContext(ctx, `INSERT INTO sessions (`+sessionColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		sess.ID, sess.UserID, amr, toMillis(sess.AuthTime), sess.ClientIP, sess.UserAgent, sess.Line,
		toMillis(sess.CreatedAt), toMillis(sess.LastSeenAt), toMillis(sess.IdleExpiresAt), toMillis(sess.AbsoluteExpiresAt))
	if err != nil {
		return fmt.Errorf("sqlite: create session: %w", mapErr(err))
	}
	return nil
}

// GetSession returns the session with the given id, expired or not, or
// store.ErrNotFound.
func (s *Store) GetSession(ctx context.Context, id string) (*store.Session, error) {
	sess, err := scanSession(s.hot.getSession.QueryRowContext(ctx, id))
	if err != nil {
		return nil, fmt.Errorf("sqlite: get session: %w", mapErr(err))
	}
	return sess, nil
}

// TouchSession sets LastSeenAt = seen and IdleExpiresAt = idle. It returns
// store.ErrNotFound if the session is gone (revoked or expired and removed).
func (s *Store) TouchSession(ctx context.Context, id string, seen, idle time.Time) error {
	res, err := s.hot.touchSession.ExecContext(ctx, toMillis(seen), toMillis(idle), id)
	if err := oneRow(res, err); err != nil {
		return fmt.Errorf("sqlite: touch session: %w", mapErr(err))
	}
	return nil
}

// TouchSessions records many touches in one transaction on the writing
// connection: one commit (and one WAL sync) for a whole batch instead of
// one per session.
func (s *Store) TouchSessions(ctx context.Context, touches []store.SessionTouch) ([]string, error) {
	if len(touches) == 0 {
		return nil, nil
	}
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("sqlite: touch sessions: %w", mapErr(err))
	}
	defer func() { _ = tx.Rollback() }()
	stmt := tx.StmtContext(ctx, s.hot.touchSession)
	var missing []string
	for _, t := range touches {
		res, err := stmt.ExecContext(ctx, toMillis(t.Seen), toMillis(t.Idle), t.ID)
		if err != nil {
			return nil, fmt.Errorf("sqlite: touch sessions: %w", mapErr(err))
		}
		if n, err := res.RowsAffected(); err != nil {
			return nil, fmt.Errorf("sqlite: touch sessions: %w", mapErr(err))
		} else if n == 0 {
			missing = append(missing, t.ID)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("sqlite: touch sessions: %w", mapErr(err))
	}
	return missing, nil
}

// DeleteSession removes a session; deleting a missing one is not an error.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	if _, err := s.execChange(ctx, store.Change{Kind: store.ChangeSession, ID: id}, `DELETE FROM sessions WHERE id = ?`, id); err != nil {
		return fmt.Errorf("sqlite: delete session: %w", mapErr(err))
	}
	return nil
}

// ListUserSessions returns the user's sessions, newest (by CreatedAt) first.
func (s *Store) ListUserSessions(ctx context.Context, userID string) ([]*store.Session, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+sessionColumns+` FROM sessions
		WHERE user_id = ? ORDER BY created_at DESC, id DESC`, userID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list user sessions: %w", mapErr(err))
	}
	defer rows.Close()
	var list []*store.Session
	for rows.Next() {
		sess, err := scanSession(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list user sessions: %w", mapErr(err))
		}
		list = append(list, sess)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list user sessions: %w", mapErr(err))
	}
	return list, nil
}

// DeleteUserSessions removes every session of the user and returns how many.
func (s *Store) DeleteUserSessions(ctx context.Context, userID string) (int, error) {
	res, err := s.execChange(ctx, store.Change{Kind: store.ChangeUser, ID: userID}, `DELETE FROM sessions WHERE user_id = ?`, userID)
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete user sessions: %w", mapErr(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete user sessions: %w", mapErr(err))
	}
	return int(n), nil
}

// DeleteExpiredSessions removes the sessions for which Session.Expired(now)
// holds (a zero expiry counts as expired) and returns how many.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error) {
	ms := now.UnixMilli()
	n, err := s.deleteCount(ctx, `DELETE FROM sessions
		WHERE idle_expires_at IS NULL OR idle_expires_at <= ?
		   OR absolute_expires_at IS NULL OR absolute_expires_at <= ?`, ms, ms)
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete expired sessions: %w", mapErr(err))
	}
	return n, nil
}

func (s *Store) deleteCount(ctx context.Context, query string, args ...any) (int, error) {
	res, err := s.wdb.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

func scanSession(sc scanner) (*store.Session, error) {
	var (
		sess                                store.Session
		amr                                 string
		auth, created, seen, idle, absolute sql.NullInt64
	)
	err := sc.Scan(&sess.ID, &sess.UserID, &amr, &auth, &sess.ClientIP, &sess.UserAgent, &sess.Line,
		&created, &seen, &idle, &absolute)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if sess.AMR, err = fromJSON(amr); err != nil {
		return nil, fmt.Errorf("session amr: %w", mapErr(err))
	}
	sess.AuthTime, sess.CreatedAt, sess.LastSeenAt = fromMillis(auth), fromMillis(created), fromMillis(seen)
	sess.IdleExpiresAt, sess.AbsoluteExpiresAt = fromMillis(idle), fromMillis(absolute)
	return &sess, nil
}
