package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/ssogate/ssogate/store"
)

// ErrNotEmpty is returned by Import when the database already holds data.
var ErrNotEmpty = errors.New("postgres: the target database is not empty")

// Import copies d into the database in one transaction, ids and times as
// they are, and returns the rows of each table as counted inside that
// transaction, which must equal d's: otherwise nothing is committed. It
// refuses (with ErrNotEmpty) a database that holds any users, sessions,
// keys, secrets, tickets, links, audit events, outbox messages, failure
// counts, 2-step verification records, settings, approved devices,
// OAuth tokens or session clients, even ones a gateway made
// on its first start there (signing keys, cookie secrets), since they
// would clash with the copied ones.
func (s *Store) Import(ctx context.Context, d *store.Dump) ([]store.TableCount, error) {
	var counts []store.TableCount
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		// Nobody else writes while the copy runs: a gateway started early
		// waits here rather than interleaving its own rows.
		if _, err := tx.Exec(ctx, `LOCK TABLE users, passwords, identity_links, signing_keys, secrets,
			tickets, sessions, audit_events, outbox, failure_counts, factors, recovery_codes,
			remembered_browsers, settings, approved_devices, oauth_tokens, session_clients IN EXCLUSIVE MODE`); err != nil {
			return err
		}
		before, err := countRows(ctx, tx, d.Counts())
		if err != nil {
			return err
		}
		var held []string
		for _, c := range before {
			if c.Rows > 0 {
				held = append(held, fmt.Sprintf("%s: %d", c.Table, c.Rows))
			}
		}
		if len(held) > 0 {
			return fmt.Errorf("%w (%s); copy into a new, empty database, before any gateway starts on it",
				ErrNotEmpty, strings.Join(held, ", "))
		}
		if err := copyDump(ctx, tx, d); err != nil {
			return err
		}
		if counts, err = countRows(ctx, tx, d.Counts()); err != nil {
			return err
		}
		for i, want := range d.Counts() {
			if counts[i].Rows != want.Rows {
				return fmt.Errorf("%s: %d rows copied, %d read", want.Table, counts[i].Rows, want.Rows)
			}
		}
		// New audit events continue after the copied ids.
		_, err = tx.Exec(ctx, `SELECT setval(pg_get_serial_sequence('audit_events', 'id'),
			coalesce((SELECT max(id) FROM audit_events), 0) + 1, false)`)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: import: %w", mapErr(err))
	}
	return counts, nil
}

// countRows counts the rows of each table named in tables.
func countRows(ctx context.Context, tx pgx.Tx, tables []store.TableCount) ([]store.TableCount, error) {
	out := make([]store.TableCount, len(tables))
	for i, t := range tables {
		out[i].Table = t.Table
		// The names are the fixed ones of store.Dump.Counts.
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{t.Table}.Sanitize()).Scan(&out[i].Rows); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// copyDump writes every row of d with COPY, users first so that the rows
// that refer to them find them.
func copyDump(ctx context.Context, tx pgx.Tx, d *store.Dump) error {
	tables := []struct {
		name    string
		columns []string
		rows    [][]any
	}{
		{"users", strings.Fields(strings.NewReplacer(",", " ").Replace(userColumns)), rowsOf(d.Users, func(u *store.User) []any {
			return []any{u.ID, normalizeEmail(u.Email), u.DisplayName, u.Phone, u.Mobile, u.Organization, u.Department,
				list(u.Groups), string(u.Role), string(u.Status), list(u.LoginMethods), u.Language, u.MustChangePassword,
				ts(u.CreatedAt), ts(u.UpdatedAt), ts(u.LastLoginAt), ts(u.PreviousLoginAt)}
		})},
		{"passwords", []string{"user_id", "hash", "updated_at"}, rowsOf(d.Passwords, func(p store.PasswordHash) []any {
			return []any{p.UserID, p.Hash, ts(p.UpdatedAt)}
		})},
		{"identity_links", strings.Fields(strings.NewReplacer(",", " ").Replace(identityColumns)), rowsOf(d.Links, func(l *store.IdentityLink) []any {
			return []any{l.ProviderID, l.Subject, l.UserID, l.Email, ts(l.CreatedAt), ts(l.LastUsedAt)}
		})},
		{"signing_keys", strings.Fields(strings.NewReplacer(",", " ").Replace(signingKeyColumns)), rowsOf(d.Keys, func(k *store.SigningKey) []any {
			return []any{k.ID, k.Algorithm, bytesOrEmpty(k.Private), bytesOrEmpty(k.Public), ts(k.CreatedAt), ts(k.ActiveAt), ts(k.RetiredAt)}
		})},
		{"secrets", []string{"name", "value", "created_at"}, rowsOf(d.Secrets, func(s store.Secret) []any {
			return []any{s.Name, bytesOrEmpty(s.Value), ts(s.CreatedAt)}
		})},
		{"tickets", strings.Fields(strings.NewReplacer(",", " ").Replace(ticketColumns)), rowsOf(d.Tickets, func(t *store.Ticket) []any {
			var data any
			if len(t.Data) > 0 {
				data = t.Data
			}
			return []any{t.ID, t.Purpose, nullString(t.UserID), data, ts(t.CreatedAt), ts(t.ExpiresAt)}
		})},
		{"sessions", strings.Fields(strings.NewReplacer(",", " ").Replace(sessionColumns)), rowsOf(d.Sessions, func(s *store.Session) []any {
			return []any{s.ID, s.UserID, list(s.AMR), ts(s.AuthTime), s.ClientIP, s.UserAgent, s.Line,
				ts(s.CreatedAt), ts(s.LastSeenAt), ts(s.IdleExpiresAt), ts(s.AbsoluteExpiresAt)}
		})},
		{"audit_events", []string{"id", "time", "action", "user_id", "actor", "client_ip", "outcome", "detail", "request_id"},
			rowsOf(d.Audit, func(e *store.AuditEvent) []any {
				return []any{e.ID, ts(e.Time), e.Action, e.UserID, e.Actor, e.ClientIP, string(e.Outcome), e.Detail, e.RequestID}
			})},
		{"outbox", strings.Fields(strings.NewReplacer(",", " ").Replace(messageColumns)), rowsOf(d.Messages, func(m *store.Message) []any {
			var data any
			if len(m.Data) > 0 {
				data = m.Data
			}
			return []any{m.ID, string(m.Channel), m.Template, m.To, m.Language, m.UserID, data,
				ts(m.CreatedAt), ts(m.NextAttemptAt), m.Attempts, m.LastError, ts(m.SentAt), ts(m.GaveUpAt)}
		})},
		{"failure_counts", []string{"user_id", "device", "count", "last_at"}, rowsOf(d.Failures, func(f store.FailureCount) []any {
			return []any{f.UserID, f.Device, f.Count, ts(f.LastAt)}
		})},
		{"factors", strings.Fields(strings.NewReplacer(",", " ").Replace(factorColumns)), rowsOf(d.Factors, func(f *store.Factor) []any {
			return []any{f.ID, f.UserID, f.Kind, f.Name, f.Handle, f.Target, bytesOrEmpty(f.Secret), f.Counter,
				ts(f.CreatedAt), ts(f.LastUsedAt)}
		})},
		{"recovery_codes", []string{"user_id", "hash"}, rowsOf(d.RecoveryCodes, func(c store.RecoveryCode) []any {
			return []any{c.UserID, c.Hash}
		})},
		{"remembered_browsers", strings.Fields(strings.NewReplacer(",", " ").Replace(browserColumns)), rowsOf(d.Browsers, func(b *store.RememberedBrowser) []any {
			return []any{b.ID, b.UserID, b.UserAgent, b.ClientIP, ts(b.CreatedAt), ts(b.LastUsedAt), ts(b.ExpiresAt)}
		})},
		{"settings", []string{"key", "value", "updated_by", "updated_at"}, rowsOf(d.Settings, func(st *store.Setting) []any {
			return []any{st.Key, st.Value, st.UpdatedBy, ts(st.UpdatedAt)}
		})},
		{"approved_devices", strings.Fields(strings.NewReplacer(",", " ").Replace(deviceColumns)), rowsOf(d.Devices, func(dev *store.ApprovedDevice) []any {
			return []any{dev.ID, dev.UserID, dev.UserAgent, dev.ClientIP, dev.ApprovedBy, ts(dev.CreatedAt), ts(dev.LastUsedAt)}
		})},
		{"oauth_tokens", strings.Fields(strings.NewReplacer(",", " ").Replace(oauthTokenColumns)), rowsOf(d.OAuthTokens, func(t *store.OAuthToken) []any {
			return []any{t.ID, t.Kind, t.FamilyID, t.ClientID, t.UserID, t.SessionID, list(t.Scopes), list(t.Audience), list(t.AMR),
				ts(t.AuthTime), ts(t.CreatedAt), ts(t.ExpiresAt), ts(t.UsedAt), nullBytes(t.Data)}
		})},
		{"session_clients", []string{"session_id", "protocol", "client_id", "user_id", "data", "created_at", "expires_at"},
			rowsOf(d.SessionClients, func(c *store.SessionClient) []any {
				return []any{c.SessionID, c.Protocol, c.ClientID, c.UserID, nullBytes(c.Data), ts(c.CreatedAt), ts(c.ExpiresAt)}
			})},
	}
	for _, t := range tables {
		if len(t.rows) == 0 {
			continue
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{t.name}, t.columns, pgx.CopyFromRows(t.rows)); err != nil {
			return fmt.Errorf("copy %s: %w", t.name, err)
		}
	}
	return nil
}

func rowsOf[T any](items []T, row func(T) []any) [][]any {
	out := make([][]any, len(items))
	for i, it := range items {
		out[i] = row(it)
	}
	return out
}

// bytesOrEmpty keeps a nil slice from binding as NULL in a NOT NULL column.
func bytesOrEmpty(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// nullBytes binds an empty slice as NULL, which comes back nil.
func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}
