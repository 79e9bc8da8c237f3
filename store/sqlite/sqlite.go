// Package sqlite is the embedded default store.Store: one SQLite file in WAL
// mode (mattn/go-sqlite3, so it needs cgo), so `ssogate serve` runs with no
// other process. The schema is created and upgraded by numbered migrations
// embedded in the binary and applied by Open.
//
// Times are stored as INTEGER unix milliseconds in UTC (NULL for the zero
// time), lists as JSON arrays. Several gateway processes may open the same
// file on one host; several hosts need store/postgres.
package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/mattn/go-sqlite3"

	"github.com/ssogate/ssogate/store"
)

var _ store.Store = (*Store)(nil)

// dsnParams are the per-connection settings. _txlock=immediate makes every
// transaction take the write lock at BEGIN, so two writers wait on
// busy_timeout instead of failing with SQLITE_BUSY on a read-to-write upgrade.
const dsnParams = "_journal_mode=WAL&_busy_timeout=5000&_foreign_keys=on&_synchronous=NORMAL&_txlock=immediate"

// Store is a store.Store backed by one SQLite database file. It is safe for
// concurrent use.
type Store struct {
	db *sql.DB
}

// Open opens (creating if needed) the SQLite database at path dsn, a plain
// file path such as "./data/ssogate.db", and applies pending migrations. A
// missing parent directory is created with mode 0700 and a missing file with
// mode 0600, since the database holds password hashes and cookie keys.
// In-memory databases are not supported: each pooled connection would see a
// different one.
func Open(ctx context.Context, dsn string) (*Store, error) {
	if dsn == "" || dsn == ":memory:" || strings.HasPrefix(dsn, "file:") {
		return nil, fmt.Errorf("sqlite: open %q: dsn must be a file path, e.g. ./data/ssogate.db", dsn)
	}
	path, err := filepath.Abs(dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %q: %w", dsn, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("sqlite: open %q: %w", dsn, err)
	}
	// SQLite would create the file 0644; create it first so it is 0600.
	// Its -wal and -shm files inherit the database file's mode.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %q: %w", dsn, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("sqlite: open %q: %w", dsn, err)
	}

	db, err := sql.Open("sqlite3", "file:"+uriEscape(path)+"?"+dsnParams)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %q: %w", dsn, err)
	}
	// WAL lets readers run beside the single writer, so allow a few
	// connections; writers queue on the file lock (busy_timeout).
	n := max(4, runtime.GOMAXPROCS(0))
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)

	s := &Store{db: db}
	if err := s.init(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: open %q: %w", dsn, err)
	}
	return s, nil
}

func (s *Store) init(ctx context.Context) error {
	var mode string
	if err := s.db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return err
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("journal_mode is %q, want wal", mode)
	}
	if _, err := s.migrate(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// uriEscape escapes the characters that would end or corrupt the path part
// of an SQLite URI filename.
func uriEscape(path string) string {
	return strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
}

// Ping reports whether the database file answers a query.
func (s *Store) Ping(ctx context.Context) error {
	var v int
	if err := s.db.QueryRowContext(ctx, "PRAGMA schema_version").Scan(&v); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	return nil
}

// Close closes the database; a checkpoint folds the WAL back into the file.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("sqlite: close: %w", err)
	}
	return nil
}

// mapErr turns constraint violations into the store's sentinel errors: a
// taken unique value is store.ErrConflict, a missing referenced user is
// store.ErrNotFound. Anything else is returned unchanged.
func mapErr(err error) error {
	var se sqlite3.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.ExtendedCode {
	case sqlite3.ErrConstraintUnique, sqlite3.ErrConstraintPrimaryKey:
		return store.ErrConflict
	case sqlite3.ErrConstraintForeignKey:
		return store.ErrNotFound
	}
	return err
}

// now is the store's clock for the times it assigns itself, at the
// precision it keeps.
func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

// toMillis converts t for storage; the zero time becomes NULL.
func toMillis(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

// fromMillis is the inverse of toMillis.
func fromMillis(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.UnixMilli(n.Int64).UTC()
}

// toJSON encodes a list; nil and empty both become "[]".
func toJSON(list []string) (string, error) {
	if len(list) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(list)
	return string(b), err
}

// fromJSON decodes a list; an empty list comes back nil.
func fromJSON(s string) ([]string, error) {
	var list []string
	if err := json.Unmarshal([]byte(s), &list); err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, nil
	}
	return list, nil
}
