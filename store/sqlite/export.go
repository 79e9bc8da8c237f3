package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mattn/go-sqlite3"

	"github.com/ssogate/ssogate/store"
)

// Export reads every row of the SQLite database at path into a
// store.Dump, read-only and in one transaction, so that a gateway still
// running on the file neither blocks it nor makes it see half a change.
// The database must be at this binary's schema version: Export applies no
// migrations (it never writes), so an older file needs `ssogate migrate`
// first.
func Export(ctx context.Context, path string) (*store.Dump, error) {
	d, err := export(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: export %q: %w", path, mapErr(err))
	}
	return d, nil
}

func export(ctx context.Context, path string) (*store.Dump, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	// mode=ro would create nothing, but a missing file deserves its own
	// message rather than SQLite's "unable to open database file".
	if _, err := os.Stat(abs); err != nil {
		return nil, err
	}
	db := sql.OpenDB(connector{dsn: "file:" + uriEscape(abs) + "?mode=ro&_busy_timeout=5000", drv: &sqlite3.SQLiteDriver{}})
	defer db.Close()
	db.SetMaxOpenConns(1)

	ms, err := loadMigrations()
	if err != nil {
		return nil, err
	}
	latest := ms[len(ms)-1].version
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	var v sql.NullInt64
	var tables int
	if err := tx.QueryRowContext(ctx,
		"SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").Scan(&tables); err != nil {
		return nil, err
	}
	if tables > 0 {
		if err := tx.QueryRowContext(ctx, "SELECT max(version) FROM schema_migrations").Scan(&v); err != nil {
			return nil, err
		}
	}
	if int(v.Int64) != latest {
		return nil, fmt.Errorf("schema version %d, this ssogate's is %d; run `ssogate migrate` on it with this ssogate first", v.Int64, latest)
	}

	d := &store.Dump{}
	steps := []struct {
		query string
		scan  func(rows *sql.Rows) error
	}{
		{`SELECT ` + userColumns + ` FROM users ORDER BY id`, func(rows *sql.Rows) error {
			u, err := scanUser(rows)
			d.Users = append(d.Users, u)
			return err
		}},
		{`SELECT user_id, hash, updated_at FROM passwords ORDER BY user_id`, func(rows *sql.Rows) error {
			var (
				p  store.PasswordHash
				at sql.NullInt64
			)
			err := rows.Scan(&p.UserID, &p.Hash, &at)
			p.UpdatedAt = fromMillis(at)
			d.Passwords = append(d.Passwords, p)
			return err
		}},
		{`SELECT ` + identityColumns + ` FROM identity_links ORDER BY provider_id, subject`, func(rows *sql.Rows) error {
			var (
				l             store.IdentityLink
				created, used sql.NullInt64
			)
			err := rows.Scan(&l.ProviderID, &l.Subject, &l.UserID, &l.Email, &created, &used)
			l.CreatedAt, l.LastUsedAt = fromMillis(created), fromMillis(used)
			d.Links = append(d.Links, &l)
			return err
		}},
		{`SELECT ` + signingKeyColumns + ` FROM signing_keys ORDER BY id`, func(rows *sql.Rows) error {
			var (
				k                        store.SigningKey
				created, active, retired sql.NullInt64
			)
			err := rows.Scan(&k.ID, &k.Algorithm, &k.Private, &k.Public, &created, &active, &retired)
			k.CreatedAt, k.ActiveAt, k.RetiredAt = fromMillis(created), fromMillis(active), fromMillis(retired)
			d.Keys = append(d.Keys, &k)
			return err
		}},
		{`SELECT name, value, created_at FROM secrets ORDER BY name`, func(rows *sql.Rows) error {
			var (
				s  store.Secret
				at sql.NullInt64
			)
			err := rows.Scan(&s.Name, &s.Value, &at)
			s.CreatedAt = fromMillis(at)
			d.Secrets = append(d.Secrets, s)
			return err
		}},
		{`SELECT ` + ticketColumns + ` FROM tickets ORDER BY id`, func(rows *sql.Rows) error {
			t, err := scanTicket(rows)
			d.Tickets = append(d.Tickets, t)
			return err
		}},
		{`SELECT ` + sessionColumns + ` FROM sessions ORDER BY id`, func(rows *sql.Rows) error {
			s, err := scanSession(rows)
			d.Sessions = append(d.Sessions, s)
			return err
		}},
		{`SELECT id, time, action, user_id, actor, client_ip, outcome, detail, request_id FROM audit_events ORDER BY id`,
			func(rows *sql.Rows) error {
				var (
					e       store.AuditEvent
					at      sql.NullInt64
					outcome string
				)
				err := rows.Scan(&e.ID, &at, &e.Action, &e.UserID, &e.Actor, &e.ClientIP, &outcome, &e.Detail, &e.RequestID)
				e.Time, e.Outcome = fromMillis(at), store.Outcome(outcome)
				d.Audit = append(d.Audit, &e)
				return err
			}},
		{`SELECT ` + messageColumns + ` FROM outbox WHERE ` + pendingSQL + ` ORDER BY created_at, id`, func(rows *sql.Rows) error {
			m, err := scanMessage(rows)
			d.Messages = append(d.Messages, m)
			return err
		}},
		{`SELECT user_id, device, count, last_at FROM failure_counts ORDER BY user_id, device`, func(rows *sql.Rows) error {
			var (
				f  store.FailureCount
				at sql.NullInt64
			)
			err := rows.Scan(&f.UserID, &f.Device, &f.Count, &at)
			f.LastAt = fromMillis(at)
			d.Failures = append(d.Failures, f)
			return err
		}},
		{`SELECT ` + factorColumns + ` FROM factors ORDER BY id`, func(rows *sql.Rows) error {
			f, err := scanFactor(rows)
			d.Factors = append(d.Factors, f)
			return err
		}},
		{`SELECT user_id, hash FROM recovery_codes ORDER BY user_id, hash`, func(rows *sql.Rows) error {
			var c store.RecoveryCode
			err := rows.Scan(&c.UserID, &c.Hash)
			d.RecoveryCodes = append(d.RecoveryCodes, c)
			return err
		}},
		{`SELECT ` + browserColumns + ` FROM remembered_browsers ORDER BY id`, func(rows *sql.Rows) error {
			var (
				b                      store.RememberedBrowser
				created, used, expires sql.NullInt64
			)
			err := rows.Scan(&b.ID, &b.UserID, &b.UserAgent, &b.ClientIP, &created, &used, &expires)
			b.CreatedAt, b.LastUsedAt, b.ExpiresAt = fromMillis(created), fromMillis(used), fromMillis(expires)
			d.Browsers = append(d.Browsers, &b)
			return err
		}},
		{`SELECT key, value, updated_by, updated_at FROM settings ORDER BY key`, func(rows *sql.Rows) error {
			var (
				st store.Setting
				at sql.NullInt64
			)
			err := rows.Scan(&st.Key, &st.Value, &st.UpdatedBy, &at)
			st.UpdatedAt = fromMillis(at)
			d.Settings = append(d.Settings, &st)
			return err
		}},
		{`SELECT ` + deviceColumns + ` FROM approved_devices ORDER BY id`, func(rows *sql.Rows) error {
			dev, err := scanDevice(rows)
			d.Devices = append(d.Devices, dev)
			return err
		}},
		{`SELECT ` + oauthTokenColumns + ` FROM oauth_tokens ORDER BY id`, func(rows *sql.Rows) error {
			tok, err := scanOAuthToken(rows)
			d.OAuthTokens = append(d.OAuthTokens, tok)
			return err
		}},
		{`SELECT session_id, protocol, client_id, user_id, data, created_at, expires_at FROM session_clients
			ORDER BY session_id, created_at, protocol, client_id`, func(rows *sql.Rows) error {
			var (
				c                store.SessionClient
				created, expires sql.NullInt64
			)
			err := rows.Scan(&c.SessionID, &c.Protocol, &c.ClientID, &c.UserID, &c.Data, &created, &expires)
			c.CreatedAt, c.ExpiresAt = fromMillis(created), fromMillis(expires)
			d.SessionClients = append(d.SessionClients, &c)
			return err
		}},
	}
	for _, st := range steps {
		if err := readRows(ctx, tx, st.query, st.scan); err != nil {
			return nil, err
		}
	}
	return d, nil
}

func readRows(ctx context.Context, tx *sql.Tx, query string, scan func(*sql.Rows) error) error {
	rows, err := tx.QueryContext(ctx, query)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
