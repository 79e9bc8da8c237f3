package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

// migrationFS holds the schema changes, applied in the order of their
// numeric prefix. A released migration is never edited; a change is a new file.
//
//go:embed migrations/*.sql
var migrationFS embed.FS

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
// yet, each in its own transaction together with its schema_migrations row,
// and returns the file names it applied (none when up to date). Open calls
// it; calling it again is harmless. It fails if the database was migrated
// by a newer ssogate than this one.
func (s *Store) Migrate(ctx context.Context) (applied []string, err error) {
	applied, err = s.migrate(ctx)
	if err != nil {
		return applied, fmt.Errorf("sqlite: migrate: %w", mapErr(err))
	}
	return applied, nil
}

func (s *Store) migrate(ctx context.Context) (applied []string, err error) {
	ms, err := loadMigrations()
	if err != nil {
		return nil, err
	}
	if _, err := s.wdb.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at INTEGER NOT NULL
	)`); err != nil {
		return nil, err
	}
	cur, err := s.schemaVersion(ctx)
	if err != nil {
		return nil, err
	}
	if latest := ms[len(ms)-1].version; cur > latest {
		return nil, fmt.Errorf("database schema version %d is newer than this binary's %d", cur, latest)
	}
	for _, m := range ms {
		if m.version <= cur {
			continue
		}
		ok, err := s.apply(ctx, m)
		if err != nil {
			return applied, fmt.Errorf("%s: %w", m.name, err)
		}
		if ok {
			applied = append(applied, m.name)
		}
	}
	return applied, nil
}

// apply runs one migration unless another process applied it since we
// looked; the immediate transaction holds the write lock while it checks.
func (s *Store) apply(ctx context.Context, m migration) (bool, error) {
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations WHERE version = ?", m.version).Scan(&n); err != nil {
		return false, err
	}
	if n > 0 {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
		m.version, m.name, now().UnixMilli()); err != nil {
		return false, err
	}
	return true, tx.Commit()
}

// SchemaVersion returns the highest migration version applied to the
// database, 0 for a database Migrate has not touched.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	v, err := s.schemaVersion(ctx)
	if err != nil {
		return 0, fmt.Errorf("sqlite: schema version: %w", mapErr(err))
	}
	return v, nil
}

func (s *Store) schemaVersion(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx,
		"SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").Scan(&n); err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, nil
	}
	var v sql.NullInt64
	if err := s.db.QueryRowContext(ctx, "SELECT max(version) FROM schema_migrations").Scan(&v); err != nil {
		return 0, err
	}
	return int(v.Int64), nil
}
