package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/ssogate/ssogate/store"
)

// Ping commits a write to the one-row health table, so a database that
// can still be read but no longer written (a full disk, a read-only file)
// fails it with an error wrapping store.ErrUnavailable. One Ping writes at
// a time, and its answer is reused for the Ping TTL (one second by
// default), so readiness probes under load cost at most one small write a
// second.
func (s *Store) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	select {
	case s.pingSem <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("sqlite: ping: %w", ctx.Err())
	}
	defer func() { <-s.pingSem }()
	select {
	case <-s.stop:
		// Closed: the write below fails, whatever was cached.
	default:
		if !s.pingAt.IsZero() && time.Since(s.pingAt) < s.opts.pingTTL {
			return s.pingErr
		}
	}
	_, err := s.wdb.ExecContext(ctx, `INSERT INTO health (id, checked_at) VALUES (1, ?)
		ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at`, now().UnixMilli())
	if err != nil {
		err = fmt.Errorf("sqlite: ping: cannot write: %w", mapErr(err))
	}
	// An answer cut short by the caller says nothing about the database.
	if ctx.Err() == nil {
		s.pingAt, s.pingErr = time.Now(), err
	}
	return err
}

// committed is the commit hook of the writing connection: it counts the
// commit and kicks the checkpointer every opts.checkpointAfter commits.
// It runs inside SQLite's commit, so it only counts and never blocks.
func (s *Store) committed() int {
	if s.commits.Add(1)%s.opts.checkpointAfter == 0 {
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
	return 0 // 0 lets the commit go ahead
}

// checkpointLoop checkpoints the WAL every opts.checkpointEvery and when
// committed kicks it, until Close.
func (s *Store) checkpointLoop() {
	defer close(s.done)
	tick := time.NewTicker(s.opts.checkpointEvery)
	defer tick.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-s.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	for {
		select {
		case <-s.stop:
			return
		case <-tick.C:
		case <-s.kick:
		}
		if err := s.pruneChanges(ctx); err != nil && ctx.Err() == nil {
			s.opts.log.Warn("sqlite: changes prune failed; retrying later", "err", err)
		}
		if err := s.Checkpoint(ctx); err != nil && ctx.Err() == nil {
			s.opts.log.Warn("sqlite: wal checkpoint failed; retrying later", "err", err)
		}
	}
}

// Checkpoint copies every frame of the WAL into the database file and
// truncates the WAL to zero bytes. It runs on the writing connection, so
// this process's writers wait their turn while it runs; readers do not.
// It fails with an error wrapping store.ErrUnavailable when readers (or
// another process) kept it from finishing; the next checkpoint catches
// up. The background checkpointer calls it; other callers need not.
func (s *Store) Checkpoint(ctx context.Context) error {
	s.commits.Store(0)
	var busy, frames, copied int
	if err := s.wdb.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &frames, &copied); err != nil {
		return fmt.Errorf("sqlite: checkpoint: %w", mapErr(err))
	}
	if busy != 0 {
		return fmt.Errorf("sqlite: checkpoint: %w: wal in use, %d of %d frames copied", store.ErrUnavailable, copied, frames)
	}
	return nil
}
