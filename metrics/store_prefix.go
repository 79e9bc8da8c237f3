package metrics

import (
	"context"
	"errors"

	"github.com/ssogate/ssogate/store"
)

// UsersByIDPrefix passes the PIN identity check's lookup by short id to
// the wrapped store when it has one (untimed: it is no method of
// store.Store, so it has no series), else errors.ErrUnsupported, upon
// which the check reads the user list instead.
func (ts *timedStore) UsersByIDPrefix(ctx context.Context, prefix string) ([]*store.User, error) {
	l, ok := ts.st.(interface {
		UsersByIDPrefix(ctx context.Context, prefix string) ([]*store.User, error)
	})
	if !ok {
		return nil, errors.ErrUnsupported
	}
	return l.UsersByIDPrefix(ctx, prefix)
}
