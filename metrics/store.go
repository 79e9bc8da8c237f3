package metrics

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ssogate/ssogate/store"
)

// storeCall names a store method, as an index into the per-method series.
type storeCall int

// storeSeries are one store method's series, made once.
type storeSeries struct {
	duration prometheus.Observer
	errors   prometheus.Counter
}

// timedStore is a store.Store that times every call of the store it
// wraps.
type timedStore struct {
	st     store.Store
	series *[numStoreCalls]storeSeries
}

// timedFeedStore is a timedStore over a store that is also a
// store.ChangeFeed, and passes the feed through: the gateway finds the
// feed by a type assertion on the store it is given.
type timedFeedStore struct {
	*timedStore
	feed store.ChangeFeed
}

var (
	_ store.Store      = (*timedStore)(nil)
	_ store.Store      = timedFeedStore{}
	_ store.ChangeFeed = timedFeedStore{}
)

// WrapStore returns st with every call timed in
// ssogate_store_call_duration_seconds{method} and its failures counted in
// ssogate_store_call_errors_total{method}. The result is a
// store.ChangeFeed exactly when st is.
func (m *Metrics) WrapStore(st store.Store) store.Store {
	t := &timedStore{st: st, series: &m.storeSeries}
	if feed, ok := st.(store.ChangeFeed); ok {
		return timedFeedStore{timedStore: t, feed: feed}
	}
	return t
}

// WatchChanges is the wrapped store's, untimed: it runs until ctx ends.
func (s timedFeedStore) WatchChanges(ctx context.Context, changed func(store.Change), live func(bool)) error {
	return s.feed.WatchChanges(ctx, changed, live)
}

// done records one call. ErrNotFound and ErrConflict are answers, not
// failures, and are not counted as errors.
func (s *timedStore) done(c storeCall, start time.Time, err error) {
	se := &s.series[c]
	se.duration.Observe(time.Since(start).Seconds())
	if err != nil && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrConflict) {
		se.errors.Inc()
	}
}
