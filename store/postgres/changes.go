package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ssogate/ssogate/store"
)

// changeChannel is the LISTEN/NOTIFY channel of the ChangeFeed.
const changeChannel = "ssogate_changes"

// The payload of a notification is one letter for the kind, and for a
// session or a user a colon and the id: "s:<id>", "u:<id>", "k", "o"
// (organisation settings). Ids are hex or the store's own, far below
// NOTIFY's 8000-byte limit.
var kindCodes = map[store.ChangeKind]string{
	store.ChangeSession:  "s",
	store.ChangeUser:     "u",
	store.ChangeKeys:     "k",
	store.ChangeSettings: "o",
}

// withoutID reports whether a Change of kind carries no id.
func withoutID(kind store.ChangeKind) bool {
	return kind == store.ChangeKeys || kind == store.ChangeSettings
}

// encodeChange is the notification payload of c.
func encodeChange(c store.Change) string {
	if withoutID(c.Kind) {
		return kindCodes[c.Kind]
	}
	return kindCodes[c.Kind] + ":" + c.ID
}

// decodeChange is the inverse of encodeChange; ok is false for a payload
// it does not know (a newer ssogate's), which is then ignored.
func decodeChange(payload string) (c store.Change, ok bool) {
	code, id, hasID := strings.Cut(payload, ":")
	for kind, k := range kindCodes {
		if k != code {
			continue
		}
		if withoutID(kind) == hasID || (hasID && id == "") {
			return store.Change{}, false
		}
		return store.Change{Kind: kind, ID: id}, true
	}
	return store.Change{}, false
}

// notify publishes c in tx: PostgreSQL delivers it to the listeners only
// when tx commits, and not at all when it rolls back.
func notify(ctx context.Context, tx pgx.Tx, c store.Change) error {
	_, err := tx.Exec(ctx, "SELECT pg_notify($1, $2)", changeChannel, encodeChange(c))
	return err
}

// Reconnect backoff of WatchChanges.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// listenerName is the application_name of WatchChanges' connection, so
// that an operator (and the tests) can tell it in pg_stat_activity.
const listenerName = "ssogate-changes"

// WatchChanges calls changed for every Change committed on the database,
// by any process, until ctx ends; then it returns ctx.Err(). It listens
// on a connection of its own, outside the pool; when that connection is
// lost it calls live(false) and reconnects with backoff (100 ms doubling
// to 5 s), calling live(true) once it listens again. The first call is
// live(true) once it listens (or live(false) if it cannot connect at
// first). Callbacks run on this goroutine, in order.
func (s *Store) WatchChanges(ctx context.Context, changed func(store.Change), live func(bool)) error {
	cfg := s.pool.Config().ConnConfig.Copy()
	cfg.RuntimeParams["application_name"] = listenerName
	var (
		up      bool
		told    bool // live was called at least once
		backoff = minBackoff
	)
	down := func() {
		if up || !told {
			live(false)
		}
		up, told = false, true
	}
	for {
		err := s.listen(ctx, cfg, changed, func() {
			up, told, backoff = true, true, minBackoff
			live(true)
		})
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if up || !told {
			s.opts.log.Warn("postgres: change feed is down; caches fall back to their TTL until it reconnects",
				"err", err, "retry_in", backoff)
		}
		down()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// listen connects, LISTENs, calls listening, and delivers notifications
// until the connection fails or ctx ends.
func (s *Store) listen(ctx context.Context, cfg *pgx.ConnConfig, changed func(store.Change), listening func()) error {
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("postgres: watch changes: %w", mapErr(err))
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+changeChannel); err != nil {
		return fmt.Errorf("postgres: watch changes: %w", mapErr(err))
	}
	listening()
	for {
		// A connection that goes quiet without closing (a network cut
		// with no reset, a hung backend) would otherwise count as live
		// for ever while notices are lost: after heartbeatEvery without
		// one, the connection must answer a query within heartbeatWait.
		wctx, cancel := context.WithTimeout(ctx, heartbeatEvery)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil || !errors.Is(err, context.DeadlineExceeded) {
				return fmt.Errorf("postgres: watch changes: %w", mapErr(err))
			}
			pctx, cancel := context.WithTimeout(ctx, heartbeatWait)
			_, err := conn.Exec(pctx, "SELECT 1")
			cancel()
			if err != nil {
				return fmt.Errorf("postgres: watch changes: the listening connection does not answer: %w", mapErr(err))
			}
			continue
		}
		if n == nil {
			continue
		}
		if c, ok := decodeChange(n.Payload); ok {
			changed(c)
		}
	}
}

// The listening connection's heartbeat: how long it may stay silent, and
// how long it then has to answer. A stalled connection is noticed within
// their sum, well inside the default session.cache_ttl (5 s).
const (
	heartbeatEvery = time.Second
	heartbeatWait  = time.Second
)
