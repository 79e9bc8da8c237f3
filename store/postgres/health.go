package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ssogate/ssogate/store"
)

// Ping commits a write to the one-row health table, so a server that can
// still be read but no longer written (read-only, disk full) fails it with
// an error wrapping store.ErrUnavailable, as an unreachable one does. One
// Ping writes at a time, and its answer is reused for the Ping TTL (one
// second by default), so readiness probes under load cost at most one
// small write a second.
func (s *Store) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	select {
	case s.pingSem <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("postgres: ping: %w", ctx.Err())
	}
	defer func() { <-s.pingSem }()
	select {
	case <-s.closed:
		return fmt.Errorf("postgres: ping: %w: the store is closed", store.ErrUnavailable)
	default:
		if !s.pingAt.IsZero() && time.Since(s.pingAt) < s.opts.pingTTL {
			return s.pingErr
		}
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO health (id, checked_at) VALUES (1, $1)
		ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at`, now())
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("postgres: ping: %w", err)
		}
		// Whatever else keeps the write from committing makes the
		// store unable to serve.
		if err = mapErr(err); !errors.Is(err, store.ErrUnavailable) {
			err = fmt.Errorf("%w: %w", store.ErrUnavailable, err)
		}
		err = fmt.Errorf("postgres: ping: cannot write: %w", err)
	}
	// An answer cut short by the caller says nothing about the database.
	if ctx.Err() == nil {
		s.pingAt, s.pingErr = time.Now(), err
	}
	return err
}
