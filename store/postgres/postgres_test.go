package postgres

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ssogate/ssogate/internal/testpeers"
	"github.com/ssogate/ssogate/store"
	"github.com/ssogate/ssogate/store/storetest"
)

func TestMain(m *testing.M) { testpeers.Main(m) }

// openDB opens a store on dsn, closed when t ends.
func openDB(t *testing.T, dsn string, opts ...Option) *Store {
	t.Helper()
	s, err := Open(t.Context(), dsn, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	pg := testpeers.Postgres(t)
	start := time.Now()
	storetest.Run(t, func(t *testing.T) store.Store { return openDB(t, pg.Database(t)) })
	t.Logf("storetest.Run on PostgreSQL took %v", time.Since(start).Round(time.Millisecond))
}

func TestTwoStepGoesWithUser(t *testing.T) {
	pg := testpeers.Postgres(t)
	storetest.RunTwoStepGoesWithUser(t, func(t *testing.T) store.Store { return openDB(t, pg.Database(t)) },
		func(t *testing.T, s store.Store, id string) {
			if _, err := s.(*Store).pool.Exec(t.Context(), `DELETE FROM users WHERE id = $1`, id); err != nil {
				t.Fatal(err)
			}
		})
}

func TestChangeFeed(t *testing.T) {
	pg := testpeers.Postgres(t)
	storetest.RunChangeFeed(t, func(t *testing.T) storetest.Shared {
		dsn := pg.Database(t)
		a, b := openDB(t, dsn), openDB(t, dsn)
		return storetest.Shared{A: a, B: b, Cut: func(t *testing.T) {
			cut(t, dsn)
		}}
	})
}

// TestManyUsers runs the 100,000-user listing case, seeding the users
// with Import (COPY, one transaction).
func TestManyUsers(t *testing.T) {
	pg := testpeers.Postgres(t)
	storetest.RunManyUsers(t, func(t *testing.T) store.Store { return openDB(t, pg.Database(t)) },
		func(t *testing.T, s store.Store, users []*store.User) {
			if _, err := s.(*Store).Import(t.Context(), &store.Dump{Users: users}); err != nil {
				t.Fatal(err)
			}
			// Fresh statistics, as autovacuum would soon have them, so the
			// planner sees 100,000 rows rather than an empty table.
			if _, err := s.(*Store).pool.Exec(t.Context(), `ANALYZE users`); err != nil {
				t.Fatal(err)
			}
		})
}

// TestUpgradeFromV6 takes a database back to schema version 6 (before
// the administrator's half) with users in it and checks that Open
// upgrades it in place: the users there are found by a search of their
// name, department and group, which reads the columns the migration
// fills for them.
func TestUpgradeFromV6(t *testing.T) {
	pg := testpeers.Postgres(t)
	dsn := pg.Database(t)
	ctx := t.Context()
	s, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, `DROP TABLE oauth_tokens, session_clients; DROP TABLE approved_devices; DROP TABLE settings;
		DROP TRIGGER users_search ON users; DROP FUNCTION users_search();
		ALTER TABLE users DROP COLUMN search, DROP COLUMN search_groups;
		DROP INDEX users_email_c, users_last_login, users_status_email, users_groups,
			tickets_purpose_created_at, tickets_user_id, audit_events_client_ip_time, audit_events_outcome_time;
		DELETE FROM schema_migrations WHERE version > 6;
		INSERT INTO users (id, email, display_name, department, groups, role, status)
			VALUES ('u1', 'a@example.com', 'Ann Sato', 'Sales', '{Staff}', 'user', 'active')`); err != nil {
		t.Fatal(err)
	}
	if v, err := s.SchemaVersion(ctx); err != nil || v != 6 {
		t.Fatalf("SchemaVersion of the v6 database = %d, %v; want 6", v, err)
	}
	s.Close()

	s = openDB(t, dsn)
	if v, err := s.SchemaVersion(ctx); err != nil || v != 8 {
		t.Errorf("SchemaVersion after upgrade = %d, %v; want 8", v, err)
	}
	for _, text := range []string{"SATO", "sales", "staff", "A@EXAMPLE"} {
		if page, err := s.SearchUsers(ctx, store.UserQuery{Text: text}); err != nil || page.Total != 1 || page.Users[0].ID != "u1" {
			t.Errorf("SearchUsers %q after upgrade = %+v, %v; want u1", text, page, err)
		}
	}
	if err := s.AddDevice(ctx, &store.ApprovedDevice{ID: "d1", UserID: "u1"}); err != nil {
		t.Fatalf("AddDevice after upgrade: %v", err)
	}
}

func TestAdminChanges(t *testing.T) {
	pg := testpeers.Postgres(t)
	storetest.RunAdminChanges(t, func(t *testing.T) storetest.Shared {
		dsn := pg.Database(t)
		return storetest.Shared{A: openDB(t, dsn), B: openDB(t, dsn)}
	})
}

func TestShared(t *testing.T) {
	pg := testpeers.Postgres(t)
	storetest.RunShared(t, func(t *testing.T) storetest.Shared {
		dsn := pg.Database(t)
		return storetest.Shared{A: openDB(t, dsn), B: openDB(t, dsn)}
	})
}

// cut terminates the ChangeFeed's listening connections on dsn's database,
// as a server restart or a failover would.
func cut(t *testing.T, dsn string) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(t.Context(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND application_name = $1`, listenerName).Scan(&n); err != nil {
		t.Fatalf("pg_terminate_backend: %v", err)
	}
	if n == 0 {
		t.Fatalf("no %s connection to terminate", listenerName)
	}
}

// TestUnavailable runs the unavailable half of the suite on a server of
// its own made read-only (default_transaction_read_only, set with ALTER
// SYSTEM and a reload, so that it reaches the pool's open connections):
// what PostgreSQL does when an operator or a failover to a standby makes
// it refuse writes. Every write then fails with SQLSTATE 25006.
func TestUnavailable(t *testing.T) {
	pg := testpeers.PostgresPrivate(t)
	readOnly := func(t *testing.T, on bool) {
		t.Helper()
		set := "ALTER SYSTEM SET default_transaction_read_only = on"
		want := "on"
		if !on {
			set, want = "ALTER SYSTEM RESET default_transaction_read_only", "off"
		}
		pg.Exec(t, "postgres", set, "SELECT pg_reload_conf()")
		// A new session sees the setting once the postmaster has reloaded;
		// open ones apply it before their next command.
		deadline := time.Now().Add(5 * time.Second)
		for {
			conn, err := pgx.Connect(t.Context(), pg.AdminDSN("postgres"))
			if err != nil {
				t.Fatalf("connect: %v", err)
			}
			var got string
			err = conn.QueryRow(t.Context(), "SHOW default_transaction_read_only").Scan(&got)
			conn.Close(context.Background())
			if err != nil {
				t.Fatalf("SHOW: %v", err)
			}
			if got == want {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("default_transaction_read_only = %s after 5 s, want %s", got, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
		// The backends get the reload signal from the postmaster at the
		// same time; give them a moment to take it.
		time.Sleep(100 * time.Millisecond)
	}
	storetest.RunUnavailable(t, func(t *testing.T) storetest.Faulty {
		s := openDB(t, pg.Database(t), WithPingTTL(0))
		return storetest.Faulty{
			Store: s,
			Fill:  func(t *testing.T) { readOnly(t, true) },
			Free:  func(t *testing.T) { readOnly(t, false) },
		}
	})
}

// TestUnreachable checks that a server that cannot be reached makes calls
// fail with store.ErrUnavailable, not a bare network error.
func TestUnreachable(t *testing.T) {
	pg := testpeers.Postgres(t)
	dsn := pg.Database(t)
	s := openDB(t, dsn, WithPingTTL(0))
	u := &store.User{Email: "a@example.com"}
	if err := s.CreateUser(t.Context(), u); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	// Every connection of the pool goes, and the database refuses new ones.
	if _, err := conn.Exec(t.Context(), `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid()`); err != nil {
		t.Fatalf("terminate: %v", err)
	}
	conn.Close(context.Background())
	pg.Exec(t, "postgres", "ALTER DATABASE "+pgx.Identifier{dbName(t, dsn)}.Sanitize()+" ALLOW_CONNECTIONS false")
	if _, err := s.GetUser(t.Context(), u.ID); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("GetUser with the connections gone: err = %v, want store.ErrUnavailable", err)
	}
	if err := s.Ping(t.Context()); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Ping with the connections gone: err = %v, want store.ErrUnavailable", err)
	}
	pg.Exec(t, "postgres", "ALTER DATABASE "+pgx.Identifier{dbName(t, dsn)}.Sanitize()+" ALLOW_CONNECTIONS true")
	if _, err := s.GetUser(t.Context(), u.ID); err != nil {
		t.Errorf("GetUser once connections are allowed again: %v", err)
	}
}

func dbName(t *testing.T, dsn string) string {
	t.Helper()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Database
}

// TestConcurrentOpen starts several stores on one empty database at once,
// as replicas starting together do: the advisory lock lets one migrate
// while the others wait, so every Open succeeds and each migration is
// applied once.
func TestConcurrentOpen(t *testing.T) {
	pg := testpeers.Postgres(t)
	dsn := pg.Database(t)
	const n = 8
	errs := make(chan error, n)
	for range n {
		go func() {
			s, err := Open(t.Context(), dsn)
			if err == nil {
				s.Close()
			}
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Errorf("Open: %v", err)
		}
	}
	s := openDB(t, dsn)
	var versions, latest int
	if err := s.pool.QueryRow(t.Context(), "SELECT count(*), max(version) FROM schema_migrations").Scan(&versions, &latest); err != nil {
		t.Fatal(err)
	}
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	if versions != len(ms) || latest != ms[len(ms)-1].version {
		t.Errorf("schema_migrations holds %d rows up to version %d, want %d up to %d", versions, latest, len(ms), ms[len(ms)-1].version)
	}
}

// TestPingReusesAnswer checks that Ping writes the health row at most
// once per TTL however often it is asked, and again once the TTL passed.
func TestPingReusesAnswer(t *testing.T) {
	// Generous, so that a stall of the test (a loaded 2-core CI machine,
	// -race) cannot carry a Ping of the first half-TTL loop past the TTL.
	const ttl = 2 * time.Second
	pg := testpeers.Postgres(t)
	s := openDB(t, pg.Database(t), WithPingTTL(ttl))
	checked := func() time.Time {
		t.Helper()
		var at time.Time
		if err := s.pool.QueryRow(t.Context(), "SELECT checked_at FROM health WHERE id = 1").Scan(&at); err != nil {
			t.Fatalf("read health row: %v", err)
		}
		return at
	}
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("first Ping: %v", err)
	}
	first := checked()
	start := time.Now()
	for time.Since(start) < ttl/4 {
		if err := s.Ping(t.Context()); err != nil {
			t.Fatalf("Ping: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := checked(); !got.Equal(first) {
		t.Errorf("health row rewritten within the TTL: %v, then %v", first, got)
	}
	time.Sleep(ttl)
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping after the TTL: %v", err)
	}
	if got := checked(); !got.After(first) {
		t.Errorf("health row not rewritten after the TTL: still %v", got)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Ping(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Ping with a cancelled ctx = %v, want context.Canceled", err)
	}
}

// TestWatchChangesStartsDown checks that a feed that cannot connect at
// first says live(false), then live(true) once the database lets it in.
func TestWatchChangesStartsDown(t *testing.T) {
	pg := testpeers.Postgres(t)
	dsn := pg.Database(t)
	s := openDB(t, dsn)
	db := pgx.Identifier{dbName(t, dsn)}.Sanitize()
	pg.Exec(t, "postgres", "ALTER DATABASE "+db+" ALLOW_CONNECTIONS false")
	lives := make(chan bool, 16)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.WatchChanges(ctx, func(store.Change) {}, func(up bool) { lives <- up })
	}()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case up := <-lives:
		if up {
			t.Fatal("first live call = true while the database refuses connections")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no live(false) within 5 s")
	}
	pg.Exec(t, "postgres", "ALTER DATABASE "+db+" ALLOW_CONNECTIONS true")
	select {
	case up := <-lives:
		if !up {
			t.Fatal("live(false) twice in a row")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no live(true) within 10 s of connections being allowed")
	}
}
