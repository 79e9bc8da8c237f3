package sqlite

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssogate/ssogate/internal/testdisk"
	"github.com/ssogate/ssogate/store"
	"github.com/ssogate/ssogate/store/storetest"
)

func openTemp(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "ssogate.db"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTemp(t) })
}

// openFull opens a store on a small tmpfs of its own that fill can run
// full: a real full disk, on which SQLite fails with SQLITE_FULL.
func openFull(t *testing.T, opts ...Option) (s *Store, fill func(t *testing.T) (free func())) {
	t.Helper()
	dir := testdisk.Mount(t, "8m")
	s, err := Open(t.Context(), filepath.Join(dir, "ssogate.db"), opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, func(t *testing.T) func() {
		t.Helper()
		// Start from an empty WAL, so that the next commit needs new
		// space rather than reusing WAL pages it already has.
		if err := s.Checkpoint(t.Context()); err != nil {
			t.Fatalf("Checkpoint before filling the disk: %v", err)
		}
		return testdisk.Fill(t, dir)
	}
}

func TestUnavailable(t *testing.T) {
	storetest.RunUnavailable(t, func(t *testing.T) storetest.Faulty {
		s, fill := openFull(t, WithPingTTL(0))
		var free func()
		return storetest.Faulty{
			Store: s,
			Fill:  func(t *testing.T) { free = fill(t) },
			Free:  func(*testing.T) { free() },
		}
	})
}

// TestPingReusesAnswer checks that Ping writes at most once per TTL however
// many probes ask, and that a disk filled within the TTL is noticed once
// it has passed.
func TestPingReusesAnswer(t *testing.T) {
	const ttl = 300 * time.Millisecond
	s, fill := openFull(t, WithPingTTL(ttl), WithCheckpoint(time.Hour, 1<<30))
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("first Ping: %v", err)
	}
	start := time.Now()
	before := s.commits.Load()
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if err := s.Ping(t.Context()); err != nil {
				t.Errorf("Ping: %v", err)
			}
		})
	}
	wg.Wait()
	if n := s.commits.Load() - before; n > 1 && time.Since(start) < ttl {
		t.Errorf("50 Pings within the TTL committed %d writes, want at most 1", n)
	}

	free := fill(t)
	filled := time.Now()
	err := s.Ping(t.Context())
	for err == nil && time.Since(filled) < ttl+2*time.Second {
		time.Sleep(20 * time.Millisecond)
		err = s.Ping(t.Context())
	}
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Ping on a full disk: err = %v, want store.ErrUnavailable", err)
	}
	if waited := time.Since(filled); waited > ttl+time.Second {
		t.Errorf("Ping noticed the full disk after %v, want within the TTL (%v)", waited, ttl)
	}
	free()
	time.Sleep(ttl)
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("Ping a TTL after space was freed: %v", err)
	}
}

func TestMigrateIdempotent(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ssogate.db")
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	latest := ms[len(ms)-1].version

	s, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("first Open: %v", err)
	}
	v1, err := s.SchemaVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v1 != latest {
		t.Errorf("SchemaVersion after Open = %d, want %d", v1, latest)
	}
	applied, err := s.Migrate(ctx)
	if err != nil || len(applied) != 0 {
		t.Errorf("Migrate on a migrated database = %q, %v; want nothing applied", applied, err)
	}
	u := &store.User{Email: "a@example.com"}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(ctx, path)
	if err != nil {
		t.Fatalf("second Open: %v", err)
	}
	defer s.Close()
	v2, err := s.SchemaVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v2 != v1 {
		t.Errorf("SchemaVersion after reopening = %d, want %d", v2, v1)
	}
	if _, err := s.GetUser(ctx, u.ID); err != nil {
		t.Errorf("user lost on reopen: %v", err)
	}
}

func TestMigrateReportsApplied(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	// Forget the schema, as on a database that predates every migration.
	if _, err := s.db.ExecContext(ctx, `DROP TABLE users; DROP TABLE passwords; DROP TABLE sessions;
		DROP TABLE audit_events; DROP TABLE secrets; DROP TABLE signing_keys;
		DROP TABLE identity_links; DROP TABLE tickets; DROP TABLE health; DROP TABLE changes;
		DROP TABLE outbox; DROP TABLE failure_counts; DROP TABLE hit_windows;
		DROP TABLE factors; DROP TABLE recovery_codes; DROP TABLE remembered_browsers;
		DROP TABLE settings; DROP TABLE approved_devices; DROP TABLE oauth_tokens; DROP TABLE session_clients;
		DROP TABLE schema_migrations`); err != nil {
		t.Fatal(err)
	}
	if v, err := s.SchemaVersion(ctx); err != nil || v != 0 {
		t.Fatalf("SchemaVersion of an empty database = %d, %v; want 0", v, err)
	}
	applied, err := s.Migrate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"0001_init.sql", "0002_signing_keys.sql", "0003_identities_tickets.sql", "0004_health.sql", "0005_changes.sql", "0006_accounts.sql",
		"0007_twostep.sql", "0008_admin.sql", "0009_federation.sql"}
	if !slices.Equal(applied, want) {
		t.Errorf("Migrate applied %q, want %q", applied, want)
	}
}

// TestUpgradeFromV1 opens a database left at schema version 1 (before
// signing keys) and checks that Open upgrades it in place.
func TestUpgradeFromV1(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "ssogate.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	u := &store.User{Email: "a@example.com"}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.ExecContext(ctx, `DROP TABLE signing_keys; DROP TABLE identity_links; DROP TABLE tickets;
		DROP TABLE health; DROP TABLE changes; `+dropAdmin+dropTwoStep+dropAccounts+` DELETE FROM schema_migrations WHERE version > 1`); err != nil {
		t.Fatal(err)
	}
	if v, err := s.SchemaVersion(ctx); err != nil || v != 1 {
		t.Fatalf("SchemaVersion of the v1 database = %d, %v; want 1", v, err)
	}
	s.Close()

	s, err = Open(ctx, path)
	if err != nil {
		t.Fatalf("Open of a v1 database: %v", err)
	}
	defer s.Close()
	if v, err := s.SchemaVersion(ctx); err != nil || v != latestVersion(t) {
		t.Errorf("SchemaVersion after upgrade = %d, %v; want %d", v, err, latestVersion(t))
	}
	if _, err := s.GetUser(ctx, u.ID); err != nil {
		t.Errorf("user lost in the upgrade: %v", err)
	}
	k := &store.SigningKey{ID: "k1", Algorithm: "ES256", Private: []byte{1}, Public: []byte{2}, ActiveAt: time.Now()}
	if err := s.AddSigningKey(ctx, k); err != nil {
		t.Fatalf("AddSigningKey after upgrade: %v", err)
	}
	if list, err := s.ListSigningKeys(ctx); err != nil || len(list) != 1 {
		t.Errorf("ListSigningKeys after upgrade = %d keys, %v; want 1", len(list), err)
	}
}

// dropAdmin undoes migrations 0009 (the identity-provider side) and 0008
// (the administrator's half).
const dropAdmin = `DROP TABLE oauth_tokens; DROP TABLE session_clients; DROP TABLE approved_devices; DROP TABLE settings;
	DROP INDEX users_last_login; DROP INDEX users_status_email;
	DROP INDEX IF EXISTS tickets_purpose_created_at; DROP INDEX IF EXISTS tickets_user_id;
	DROP INDEX audit_events_client_ip_time; DROP INDEX audit_events_outcome_time;`

// dropTwoStep undoes migration 0007 (2-step verification).
const dropTwoStep = `DROP TABLE factors; DROP TABLE recovery_codes; DROP TABLE remembered_browsers;`

// dropAccounts undoes migration 0006 (accounts and outbox).
const dropAccounts = `DROP TABLE outbox; DROP TABLE failure_counts; DROP TABLE hit_windows;
	ALTER TABLE users DROP COLUMN language; ALTER TABLE users DROP COLUMN must_change_password;`

// TestUpgradeFromV5 opens a database left at schema version 5 (before
// the account columns and the outbox) and checks that Open upgrades it in
// place: an existing user has no language and need not change their
// password, and the outbox and failure counts work.
func TestUpgradeFromV5(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "ssogate.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.ExecContext(ctx, dropAdmin+dropTwoStep+dropAccounts+` DELETE FROM schema_migrations WHERE version > 5`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO users (id, email, role, status) VALUES ('u1', 'a@example.com', 'user', 'active')`); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = Open(ctx, path)
	if err != nil {
		t.Fatalf("Open of a v5 database: %v", err)
	}
	defer s.Close()
	if v, err := s.SchemaVersion(ctx); err != nil || v != latestVersion(t) {
		t.Errorf("SchemaVersion after upgrade = %d, %v; want %d", v, err, latestVersion(t))
	}
	u, err := s.GetUser(ctx, "u1")
	if err != nil {
		t.Fatalf("user lost in the upgrade: %v", err)
	}
	if u.Language != "" || u.MustChangePassword {
		t.Errorf("upgraded user Language, MustChangePassword = %q, %v; want \"\", false", u.Language, u.MustChangePassword)
	}
	if n, err := s.CountFailure(ctx, "u1", "", time.Now()); err != nil || n != 1 {
		t.Errorf("CountFailure after upgrade = %d, %v; want 1", n, err)
	}
	m := &store.Message{Channel: store.ChannelMail, Template: "password_reset", To: "a@example.com", Data: []byte{1}}
	if err := s.EnqueueMessage(ctx, m); err != nil {
		t.Fatalf("EnqueueMessage after upgrade: %v", err)
	}
	if got, err := s.ClaimMessages(ctx, "w1", time.Now(), time.Minute, 10); err != nil || len(got) != 1 || got[0].ID != m.ID {
		t.Errorf("ClaimMessages after upgrade = %v, %v; want the message", got, err)
	}
}

// TestUpgradeFromV6 opens a database left at schema version 6 (before
// 2-step verification) and checks that Open upgrades it in place: an
// existing user has no factors, and can be given factors, recovery codes
// and a remembered browser.
func TestUpgradeFromV6(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "ssogate.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.ExecContext(ctx, dropAdmin+dropTwoStep+` DELETE FROM schema_migrations WHERE version > 6`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO users (id, email, role, status) VALUES ('u1', 'a@example.com', 'user', 'active')`); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = Open(ctx, path)
	if err != nil {
		t.Fatalf("Open of a v6 database: %v", err)
	}
	defer s.Close()
	if v, err := s.SchemaVersion(ctx); err != nil || v != latestVersion(t) {
		t.Errorf("SchemaVersion after upgrade = %d, %v; want %d", v, err, latestVersion(t))
	}
	if list, err := s.ListFactors(ctx, "u1"); err != nil || len(list) != 0 {
		t.Errorf("ListFactors of an upgraded user = %d factors, %v; want none", len(list), err)
	}
	f := &store.Factor{UserID: "u1", Kind: store.FactorTOTP, Secret: []byte{0, 1, 2}}
	if err := s.AddFactor(ctx, f); err != nil {
		t.Fatalf("AddFactor after upgrade: %v", err)
	}
	if err := s.SetRecoveryCodes(ctx, "u1", []string{"h1"}); err != nil {
		t.Fatalf("SetRecoveryCodes after upgrade: %v", err)
	}
	now := time.Now()
	if err := s.RememberBrowser(ctx, &store.RememberedBrowser{ID: "b1", UserID: "u1", LastUsedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatalf("RememberBrowser after upgrade: %v", err)
	}
}

// TestUpgradeFromV7 opens a database left at schema version 7 (before
// the administrator's half) and checks that Open upgrades it in place:
// the users there are listed by last sign-in and searched, and settings
// and approved devices can be stored.
func TestUpgradeFromV7(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "ssogate.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.ExecContext(ctx, dropAdmin+` DELETE FROM schema_migrations WHERE version > 7`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO users (id, email, display_name, role, status, last_login_at)
		VALUES ('u1', 'a@example.com', 'Ann', 'user', 'active', NULL), ('u2', 'b@example.com', 'Ben', 'user', 'active', 1000)`); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = Open(ctx, path)
	if err != nil {
		t.Fatalf("Open of a v7 database: %v", err)
	}
	defer s.Close()
	if v, err := s.SchemaVersion(ctx); err != nil || v != latestVersion(t) {
		t.Errorf("SchemaVersion after upgrade = %d, %v; want %d", v, err, latestVersion(t))
	}
	page, err := s.SearchUsers(ctx, store.UserQuery{Sort: store.SortLastLogin})
	if err != nil || len(page.Users) != 2 || page.Users[0].ID != "u2" || page.Users[1].ID != "u1" {
		t.Errorf("SearchUsers by last login after upgrade = %+v, %v; want u2, u1", page, err)
	}
	if page, err := s.SearchUsers(ctx, store.UserQuery{Text: "ann"}); err != nil || page.Total != 1 {
		t.Errorf("SearchUsers ann after upgrade = %+v, %v; want u1", page, err)
	}
	if err := s.SetSetting(ctx, &store.Setting{Key: store.SettingAccessRoute, Value: "line_only"}); err != nil {
		t.Fatalf("SetSetting after upgrade: %v", err)
	}
	if err := s.AddDevice(ctx, &store.ApprovedDevice{ID: "d1", UserID: "u1"}); err != nil {
		t.Fatalf("AddDevice after upgrade: %v", err)
	}
}

// latestVersion is the version of the newest embedded migration.
func latestVersion(t *testing.T) int {
	t.Helper()
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	return ms[len(ms)-1].version
}

// TestUpgradeFromV2 opens a database left at schema version 2 (before
// identity links and tickets) and checks that Open upgrades it in place.
func TestUpgradeFromV2(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "ssogate.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	u := &store.User{Email: "a@example.com"}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.ExecContext(ctx, `DROP TABLE identity_links; DROP TABLE tickets; DROP TABLE health; DROP TABLE changes;
		`+dropAdmin+dropTwoStep+dropAccounts+` DELETE FROM schema_migrations WHERE version > 2`); err != nil {
		t.Fatal(err)
	}
	if v, err := s.SchemaVersion(ctx); err != nil || v != 2 {
		t.Fatalf("SchemaVersion of the v2 database = %d, %v; want 2", v, err)
	}
	s.Close()

	s, err = Open(ctx, path)
	if err != nil {
		t.Fatalf("Open of a v2 database: %v", err)
	}
	defer s.Close()
	if v, err := s.SchemaVersion(ctx); err != nil || v != latestVersion(t) {
		t.Errorf("SchemaVersion after upgrade = %d, %v; want %d", v, err, latestVersion(t))
	}
	l := &store.IdentityLink{ProviderID: "google", Subject: "sub-1", UserID: u.ID, CreatedAt: time.Now()}
	if err := s.LinkIdentity(ctx, l); err != nil {
		t.Fatalf("LinkIdentity after upgrade: %v", err)
	}
	if got, err := s.UserByIdentity(ctx, "google", "sub-1"); err != nil || got.ID != u.ID {
		t.Errorf("UserByIdentity after upgrade = %v, %v; want user %s", got, err, u.ID)
	}
	tk := &store.Ticket{ID: "t1", Purpose: "reset", CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}
	if err := s.CreateTicket(ctx, tk); err != nil {
		t.Fatalf("CreateTicket after upgrade: %v", err)
	}
	if _, err := s.ConsumeTicket(ctx, "reset", "t1", time.Now()); err != nil {
		t.Errorf("ConsumeTicket after upgrade: %v", err)
	}
}

// TestIdentityLinksGoWithUser checks the ON DELETE CASCADE that the Store
// interface cannot reach (it has no DeleteUser), and that tickets, which
// have no foreign key, stay.
func TestIdentityLinksGoWithUser(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	u := &store.User{Email: "a@example.com"}
	other := &store.User{Email: "b@example.com"}
	for _, x := range []*store.User{u, other} {
		if err := s.CreateUser(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	for _, l := range []*store.IdentityLink{
		{ProviderID: "google", Subject: "sub-1", UserID: u.ID},
		{ProviderID: "entra", Subject: "sub-1", UserID: u.ID},
		{ProviderID: "google", Subject: "sub-2", UserID: other.ID},
	} {
		if err := s.LinkIdentity(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	exp := time.Now().Add(time.Hour)
	if err := s.CreateTicket(ctx, &store.Ticket{ID: "t1", Purpose: "reset", UserID: u.ID, ExpiresAt: exp}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, u.ID); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM identity_links WHERE user_id = ?`, u.ID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d links left after deleting their user, want 0", n)
	}
	if _, err := s.UserByIdentity(ctx, "google", "sub-1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UserByIdentity of a deleted user's link: err = %v, want ErrNotFound", err)
	}
	if got, err := s.UserByIdentity(ctx, "google", "sub-2"); err != nil || got.ID != other.ID {
		t.Errorf("other user's link after the delete = %v, %v", got, err)
	}
	if tk, err := s.ConsumeTicket(ctx, "reset", "t1", time.Now()); err != nil || tk.UserID != u.ID {
		t.Errorf("ticket of a deleted user = %v, %v; want it kept", tk, err)
	}
}

func TestTwoStepGoesWithUser(t *testing.T) {
	storetest.RunTwoStepGoesWithUser(t, func(t *testing.T) store.Store { return openTemp(t) },
		func(t *testing.T, s store.Store, id string) {
			if _, err := s.(*Store).wdb.ExecContext(t.Context(), `DELETE FROM users WHERE id = ?`, id); err != nil {
				t.Fatal(err)
			}
		})
}

func TestRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ssogate.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.ExecContext(ctx,
		`INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, '9999_future.sql', 0)`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err := Open(ctx, path); err == nil {
		s.Close()
		t.Fatal("Open of a database from a newer binary succeeded, want an error")
	}
}

func TestFileModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "nested")
	path := filepath.Join(dir, "ssogate.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Write something so the -wal and -shm files exist.
	if err := s.CreateUser(t.Context(), &store.User{Email: "a@example.com"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		want os.FileMode
	}{
		{dir, 0o700 | os.ModeDir},
		{path, 0o600},
		{path + "-wal", 0o600},
		{path + "-shm", 0o600},
	} {
		fi, err := os.Stat(tc.path)
		if err != nil {
			t.Errorf("stat: %v", err)
			continue
		}
		if fi.Mode() != tc.want {
			t.Errorf("%s mode = %v, want %v", filepath.Base(tc.path), fi.Mode(), tc.want)
		}
	}
}

func TestPragmas(t *testing.T) {
	s := openTemp(t)
	// Ask on several connections at once: each pooled connection must have
	// the settings, not only the first; and on the writing connection.
	const n = 6
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n + 1 {
		wg.Go(func() {
			<-start
			db := s.db
			if i == n {
				db = s.wdb
			}
			conn, err := db.Conn(t.Context())
			if err != nil {
				t.Error(err)
				return
			}
			defer conn.Close()
			for _, tc := range []struct{ pragma, want string }{
				{"journal_mode", "wal"},
				{"foreign_keys", "1"},
				{"busy_timeout", "5000"},
				{"synchronous", "1"}, // NORMAL
				{"journal_size_limit", "67108864"},
			} {
				var got string
				if err := conn.QueryRowContext(t.Context(), "PRAGMA "+tc.pragma).Scan(&got); err != nil {
					t.Error(err)
					continue
				}
				if got != tc.want {
					t.Errorf("PRAGMA %s = %q, want %q", tc.pragma, got, tc.want)
				}
			}
		})
	}
	close(start)
	wg.Wait()
}

func TestOpenRejectsNonFileDSN(t *testing.T) {
	for _, dsn := range []string{"", ":memory:", "file:x.db?mode=memory"} {
		if s, err := Open(t.Context(), dsn); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded, want an error", dsn)
		}
	}
}

func TestPathWithURICharacters(t *testing.T) {
	dir := t.TempDir()
	name := "odd?name#with%25chars.db"
	for range 2 {
		s, err := Open(t.Context(), filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.CreateUser(t.Context(), &store.User{Email: "a@example.com"}); err != nil && !errors.Is(err, store.ErrConflict) {
			t.Fatal(err)
		}
		s.Close()
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), name) {
			t.Errorf("stray file %q next to %q", e.Name(), name)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Size() == 0 {
		t.Errorf("database not written at %q: %v", name, err)
	}
}

// TestSecretAcrossProcesses stands two Stores on one file in for two
// gateway processes racing on first start.
func TestSecretAcrossProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ssogate.db")
	var stores [2]*Store
	for i := range stores {
		s, err := Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		stores[i] = s
	}
	const n = 20
	var (
		wg     sync.WaitGroup
		start  = make(chan struct{})
		values = make([][]byte, n)
		errs   = make([]error, n)
	)
	for i := range n {
		wg.Go(func() {
			<-start
			values[i], errs[i] = stores[i%2].Secret(t.Context(), "shared", func() ([]byte, error) {
				return fmt.Appendf(nil, "from-%d", i), nil
			})
		})
	}
	close(start)
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if !bytes.Equal(values[i], values[0]) {
			t.Errorf("caller %d got %q, caller 0 got %q", i, values[i], values[0])
		}
	}
}

// TestManyUsers runs the 100,000-user listing case, seeding the users in
// one transaction on the writing connection.
func TestManyUsers(t *testing.T) {
	storetest.RunManyUsers(t, func(t *testing.T) store.Store { return openTemp(t) },
		func(t *testing.T, st store.Store, users []*store.User) {
			s := st.(*Store)
			ctx := t.Context()
			tx, err := s.wdb.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback()
			ins, err := tx.PrepareContext(ctx, `INSERT INTO users (`+userColumns+`)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range users {
				groups, err := toJSON(u.Groups)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := ins.ExecContext(ctx, u.ID, normalizeEmail(u.Email), u.DisplayName, u.Phone, u.Mobile,
					u.Organization, u.Department, groups, string(u.Role), string(u.Status), "[]", u.Language,
					u.MustChangePassword, toMillis(u.CreatedAt), toMillis(u.UpdatedAt), toMillis(u.LastLoginAt),
					toMillis(u.PreviousLoginAt)); err != nil {
					t.Fatal(err)
				}
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
		})
}
