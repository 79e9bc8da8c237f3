// Package sqlite is the embedded default store.Store: one SQLite file in WAL
// mode (mattn/go-sqlite3, so it needs cgo), so `ssogate serve` runs with no
// other process. The schema is created and upgraded by numbered migrations
// embedded in the binary and applied by Open.
//
// Times are stored as INTEGER unix milliseconds in UTC (NULL for the zero
// time), lists as JSON arrays. Several gateway processes may open the same
// file on one host; several hosts need store/postgres.
//
// The WAL is kept small while the gateway runs: each connection caps it
// with journal_size_limit, and a background checkpointer folds it back
// into the database file and truncates it every 30 seconds and after every
// 1000 commits (see Checkpoint). Ping proves the database can still write.
package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mattn/go-sqlite3"

	"github.com/ssogate/ssogate/store"
)

var _ store.Store = (*Store)(nil)

// dsnParams are the per-connection settings. _txlock=immediate makes every
// transaction take the write lock at BEGIN, so two writers wait on
// busy_timeout instead of failing with SQLITE_BUSY on a read-to-write upgrade.
const dsnParams = "_journal_mode=WAL&_busy_timeout=5000&_foreign_keys=on&_synchronous=NORMAL&_txlock=immediate"

// journalSizeLimit is the size, in bytes, that SQLite truncates the WAL to
// whenever it starts the WAL over: without it the file keeps the size of
// the largest burst it ever held.
const journalSizeLimit = 64 << 20

// Defaults of the Options.
const (
	defaultCheckpointEvery = 30 * time.Second
	defaultCheckpointAfter = 1000
	defaultPingTTL         = time.Second
)

// Option changes how Open sets up a Store.
type Option func(*options)

type options struct {
	checkpointEvery time.Duration
	checkpointAfter int64
	pingTTL         time.Duration
	log             *slog.Logger
}

// WithCheckpoint sets how often the background checkpointer truncates the
// WAL (every, 30 seconds by default) and after how many commits since the
// last checkpoint it runs early (afterCommits, 1000 by default). Values
// of zero or less keep the default.
func WithCheckpoint(every time.Duration, afterCommits int) Option {
	return func(o *options) {
		if every > 0 {
			o.checkpointEvery = every
		}
		if afterCommits > 0 {
			o.checkpointAfter = int64(afterCommits)
		}
	}
}

// WithPingTTL sets how long Ping reuses its last answer (one second by
// default); zero makes every Ping write.
func WithPingTTL(ttl time.Duration) Option {
	return func(o *options) { o.pingTTL = max(ttl, 0) }
}

// WithLogger sets where the background checkpointer reports failures
// (slog.Default() by default).
func WithLogger(log *slog.Logger) Option {
	return func(o *options) { o.log = log }
}

// Store is a store.Store backed by one SQLite database file. It is safe for
// concurrent use.
type Store struct {
	// db serves reads from a few connections at once (WAL lets readers
	// run beside the writer). wdb is the one connection that writes:
	// writers queue for it in Go instead of polling SQLite's file lock,
	// and the checkpointer takes its turn in that same queue, so it is
	// never starved by a stream of writers.
	db, wdb *sql.DB
	opts    options
	// hot are the statements of the gateway's hot path, prepared once
	// for the store's life rather than at every call.
	hot hotStatements

	// commits counts commits on wdb since the last checkpoint; every
	// opts.checkpointAfter of them kick the checkpointer.
	commits   atomic.Int64
	kick      chan struct{}
	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once

	// pingSem lets one Ping write at a time; pingAt and pingErr are the
	// last answer, guarded by pingSem.
	pingSem chan struct{}
	pingAt  time.Time
	pingErr error
}

// connector opens SQLite connections through a driver whose ConnectHook
// sets up each one, without registering a driver name process-wide.
type connector struct {
	dsn string
	drv *sqlite3.SQLiteDriver
}

func (c connector) Connect(context.Context) (driver.Conn, error) { return c.drv.Open(c.dsn) }
func (c connector) Driver() driver.Driver                        { return c.drv }

// Open opens (creating if needed) the SQLite database at path dsn, a plain
// file path such as "./data/ssogate.db", and applies pending migrations. A
// missing parent directory is created with mode 0700 and a missing file with
// mode 0600, since the database holds password hashes and cookie keys.
// In-memory databases are not supported: each pooled connection would see a
// different one. Close stops the background checkpointer Open starts.
func Open(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
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

	s := &Store{
		opts: options{checkpointEvery: defaultCheckpointEvery, checkpointAfter: defaultCheckpointAfter,
			pingTTL: defaultPingTTL, log: slog.Default()},
		kick:    make(chan struct{}, 1),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
		pingSem: make(chan struct{}, 1),
	}
	for _, o := range opts {
		o(&s.opts)
	}
	uri := "file:" + uriEscape(path) + "?" + dsnParams
	s.db = sql.OpenDB(connector{dsn: uri, drv: &sqlite3.SQLiteDriver{ConnectHook: limitJournal}})
	n := max(4, runtime.GOMAXPROCS(0))
	s.db.SetMaxOpenConns(n)
	s.db.SetMaxIdleConns(n)
	s.wdb = sql.OpenDB(connector{dsn: uri, drv: &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
		if err := limitJournal(c); err != nil {
			return err
		}
		c.RegisterCommitHook(s.committed)
		return nil
	}}})
	// Other processes on the same file still wait on busy_timeout.
	s.wdb.SetMaxOpenConns(1)
	s.wdb.SetMaxIdleConns(1)

	if err := s.init(ctx); err != nil {
		s.wdb.Close()
		s.db.Close()
		return nil, fmt.Errorf("sqlite: open %q: %w", dsn, mapErr(err))
	}
	if err := s.hot.prepare(ctx, s.db, s.wdb); err != nil {
		s.hot.close()
		s.wdb.Close()
		s.db.Close()
		return nil, fmt.Errorf("sqlite: open %q: %w", dsn, mapErr(err))
	}
	// The migrations' commits are not a burst of traffic.
	s.commits.Store(0)
	go s.checkpointLoop()
	return s, nil
}

// hotStatements are prepared statements for the calls every request may
// make: database/sql keeps each prepared on every connection it runs on,
// so SQLite parses and plans them once per connection instead of once per
// call.
type hotStatements struct {
	getSession, getUser, touchSession *sql.Stmt
}

func (h *hotStatements) prepare(ctx context.Context, db, wdb *sql.DB) error {
	var err error
	if h.getSession, err = db.PrepareContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id = ?`); err != nil {
		return fmt.Errorf("prepare get session: %w", err)
	}
	if h.getUser, err = db.PrepareContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`); err != nil {
		return fmt.Errorf("prepare get user: %w", err)
	}
	if h.touchSession, err = wdb.PrepareContext(ctx, `UPDATE sessions SET last_seen_at = ?, idle_expires_at = ? WHERE id = ?`); err != nil {
		return fmt.Errorf("prepare touch session: %w", err)
	}
	return nil
}

func (h *hotStatements) close() error {
	var errs []error
	for _, st := range []*sql.Stmt{h.getSession, h.getUser, h.touchSession} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(errs...)
}

// limitJournal sets the per-connection WAL size cap.
func limitJournal(c *sqlite3.SQLiteConn) error {
	if _, err := c.Exec(fmt.Sprintf("PRAGMA journal_size_limit = %d", journalSizeLimit), nil); err != nil {
		return fmt.Errorf("journal_size_limit: %w", err)
	}
	return nil
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

// Close stops the checkpointer and closes the database; the last
// connection to close folds the WAL back into the file and removes it.
// Calling Close again does nothing.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.stop)
		<-s.done
		err = errors.Join(s.hot.close(), s.db.Close(), s.wdb.Close())
	})
	if err != nil {
		return fmt.Errorf("sqlite: close: %w", err)
	}
	return nil
}

// mapErr turns SQLite's errors into the store's sentinel errors: a taken
// unique value is store.ErrConflict, a missing referenced user is
// store.ErrNotFound, and a database that cannot write or answer right now
// (disk full, read-only, I/O error, lock wait past busy_timeout, out of
// memory) is an error wrapping both store.ErrUnavailable and the cause.
// Anything else is returned unchanged.
func mapErr(err error) error {
	var se sqlite3.Error
	if !errors.As(err, &se) || errors.Is(err, store.ErrUnavailable) {
		return err
	}
	switch se.ExtendedCode {
	case sqlite3.ErrConstraintUnique, sqlite3.ErrConstraintPrimaryKey:
		return store.ErrConflict
	case sqlite3.ErrConstraintForeignKey:
		return store.ErrNotFound
	}
	switch se.Code {
	case sqlite3.ErrFull, sqlite3.ErrReadonly, sqlite3.ErrIoErr, sqlite3.ErrCantOpen,
		sqlite3.ErrBusy, sqlite3.ErrLocked, sqlite3.ErrNomem:
		return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
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
