package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// migrationFS holds the schema changes, applied in the order of their
// numeric prefix. A released migration is never edited; a change is a new
// file, numbered in this backend's own sequence (its store/sqlite twin
// may carry another number: SQLite has migrations PostgreSQL needs not).
//
//go:embed migrations/*.sql
var migrationFS embed.FS

// migrationLock is the pg_advisory_lock key that serialises migrations of
// processes starting at once ("ssogate" in ASCII).
const migrationLock int64 = 0x73736f67617465

type migration struct {
	version int
	name    string // file name, e.g. "0001_init.sql"
	sql     string
}

func loadMigrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, err
	}
	var ms []migration
	seen := map[int]string{}
	for _, e := range entries {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %q: name must be NNNN_description.sql", name)
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations %q and %q share version %d", prev, name, v)
		}
		seen[v] = name
		b, err := migrationFS.ReadFile("migrations/" + name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: name, sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, nil
}

// Migrate applies the embedded migrations that the database has not seen
// yet, each in its own transaction together with its schema_migrations
// row, and returns the file names it applied (none when up to date). Open
// calls it; calling it again is harmless. It fails if the database was
// migrated by a newer ssogate than this one.
func (s *Store) Migrate(ctx context.Context) (applied []string, err error) {
	applied, err = s.migrate(ctx)
	if err != nil {
		return applied, fmt.Errorf("postgres: migrate: %w", mapErr(err))
	}
	return applied, nil
}

func (s *Store) migrate(ctx context.Context) (applied []string, err error) {
	ms, err := loadMigrations()
	if err != nil {
		return nil, err
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Release()
	// A session-level advisory lock: a second process starting now waits
	// here and then finds every migration applied.
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrationLock); err != nil {
		return nil, err
	}
	defer func() {
		// A lock left behind (the unlock failed on a broken connection)
		// goes with the connection, which then is not reused.
		if _, uerr := conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrationLock); uerr != nil {
			conn.Conn().Close(context.WithoutCancel(ctx))
		}
	}()
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    integer     PRIMARY KEY,
		name       text        NOT NULL,
		applied_at timestamptz NOT NULL
	)`); err != nil {
		return nil, err
	}
	var cur int
	if err := conn.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&cur); err != nil {
		return nil, err
	}
	if latest := ms[len(ms)-1].version; cur > latest {
		return nil, fmt.Errorf("database schema version %d is newer than this binary's %d", cur, latest)
	}
	for _, m := range ms {
		if m.version <= cur {
			continue
		}
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
				m.version, m.name, now())
			return err
		})
		if err != nil {
			return applied, fmt.Errorf("%s: %w", m.name, err)
		}
		applied = append(applied, m.name)
	}
	return applied, nil
}

// SchemaVersion returns the highest migration version applied to the
// database, 0 for a database Migrate has not touched.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.pool.QueryRow(ctx, `SELECT CASE WHEN to_regclass('schema_migrations') IS NULL THEN 0
		ELSE (SELECT coalesce(max(version), 0) FROM schema_migrations) END`).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("postgres: schema version: %w", mapErr(err))
	}
	return v, nil
}
