// Package postgres is the store.Store for several gateway processes on
// several hosts: one PostgreSQL database (jackc/pgx through a pgxpool)
// that every process shares. The schema is created and upgraded by
// numbered migrations embedded in the binary and applied by Open (or
// `ssogate migrate`), under an advisory lock so that processes starting
// together do not race.
//
// Times are timestamptz truncated to the millisecond (NULL for the zero
// time), lists text[], opaque bytes bytea. The store also implements
// store.ChangeFeed: every method that revokes or alters what a gateway
// caches publishes a Change with pg_notify in its own transaction, and
// WatchChanges LISTENs for them on a connection of its own.
//
// The DSN is a libpq connection string or URL; TLS is configured in it,
// e.g. "postgres://sso@db.example/sso?sslmode=verify-full&sslrootcert=/etc/ssogate/db-ca.pem".
package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ssogate/ssogate/store"
)

var (
	_ store.Store      = (*Store)(nil)
	_ store.ChangeFeed = (*Store)(nil)
)

// defaultPingTTL is how long Ping reuses its answer, as store/sqlite does.
const defaultPingTTL = time.Second

// Option changes how Open sets up a Store.
type Option func(*options)

type options struct {
	pingTTL time.Duration
	log     *slog.Logger
}

// WithLogger sets where WatchChanges reports a lost connection
// (slog.Default() by default).
func WithLogger(log *slog.Logger) Option {
	return func(o *options) { o.log = log }
}

// WithPingTTL sets how long Ping reuses its last answer (one second by
// default); zero makes every Ping write.
func WithPingTTL(ttl time.Duration) Option {
	return func(o *options) { o.pingTTL = max(ttl, 0) }
}

// Store is a store.Store backed by a PostgreSQL database. It is safe for
// concurrent use.
type Store struct {
	pool *pgxpool.Pool
	opts options

	// pingSem lets one Ping write at a time; pingAt and pingErr are the
	// last answer, guarded by pingSem.
	pingSem chan struct{}
	pingAt  time.Time
	pingErr error

	closeOnce sync.Once
	closed    chan struct{}
}

// Open connects to the database named by dsn and applies pending
// migrations. It fails when the database cannot be reached.
func Open(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// The parse error may quote the DSN, password included.
		return nil, errors.New("postgres: open: the dsn is not a valid connection string or URL")
	}
	cfg.ConnConfig.RuntimeParams["timezone"] = "UTC"
	if cfg.ConnConfig.RuntimeParams["application_name"] == "" {
		cfg.ConnConfig.RuntimeParams["application_name"] = "ssogate"
	}
	s := &Store{
		opts:    options{pingTTL: defaultPingTTL, log: slog.Default()},
		pingSem: make(chan struct{}, 1),
		closed:  make(chan struct{}),
	}
	for _, o := range opts {
		o(&s.opts)
	}
	s.pool, err = pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", mapErr(err))
	}
	if _, err := s.migrate(ctx); err != nil {
		s.pool.Close()
		return nil, fmt.Errorf("postgres: open: migrate: %w", mapErr(err))
	}
	return s, nil
}

// Close closes the pool; a WatchChanges still running ends with its ctx.
// Calling Close again does nothing.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.closed)
		s.pool.Close()
	})
	return nil
}

// mapErr turns PostgreSQL's errors into the store's sentinel errors: a
// taken unique value is store.ErrConflict, a missing referenced user
// store.ErrNotFound, and a server that cannot be reached or cannot write
// right now (connection lost, disk full or out of resources, shutting
// down, read-only) an error wrapping both store.ErrUnavailable and the
// cause. A cancelled context and anything else are returned unchanged.
func mapErr(err error) error {
	if err == nil || errors.Is(err, store.ErrUnavailable) {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ErrNotFound
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "23505":
			return store.ErrConflict
		case pe.Code == "23503":
			return store.ErrNotFound
		case pe.Code == "25006", strings.HasPrefix(pe.Code, "08"), strings.HasPrefix(pe.Code, "53"),
			strings.HasPrefix(pe.Code, "57P"):
			return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
		}
		return err
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	if errors.As(err, &ce) || errors.As(err, &ne) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) || pgconn.SafeToRetry(err) {
		return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
	}
	return err
}

// now is the store's clock for the times it assigns itself, at the
// precision it keeps.
func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

// ts converts t for storage at millisecond precision; the zero time
// becomes NULL.
func ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Truncate(time.Millisecond)
}

// fromTS is the inverse of ts.
func fromTS(t pgtype.Timestamptz) time.Time {
	if !t.Valid {
		return time.Time{}
	}
	return t.Time.UTC()
}

// list converts a list for a NOT NULL text[] column: nil binds as NULL.
func list(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// unlist returns nil for an empty list, as the store contract asks.
func unlist(l []string) []string {
	if len(l) == 0 {
		return nil
	}
	return l
}

// newID returns 16 random bytes in hex.
func newID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

// nullString converts s for storage; the empty string becomes NULL.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// oneRow checks the result of a statement that must change exactly one
// row: none changed means store.ErrNotFound.
func oneRow(tag pgconn.CommandTag, err error) error {
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return store.ErrNotFound
	}
	return nil
}

// inTx runs fn in a transaction and commits it; fn's error rolls it back.
func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, fn)
}
