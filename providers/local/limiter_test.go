package local

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ssogate/ssogate/providers"
)

// waitLimiter polls until l reports the given numbers.
func waitLimiter(t *testing.T, l *limiter, running, waiting int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r, w := l.stats()
		if r == running && w == waiting {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("stats() = %d, %d; want %d, %d", r, w, running, waiting)
		}
		time.Sleep(time.Millisecond)
	}
}

// A costly hash (an old hash with more memory) takes more of the budget,
// waiters are served in order, and a canceled head lets the next one in.
func TestLimiterWeightsAndOrder(t *testing.T) {
	l := newLimiter(10, 2)
	ctx := context.Background()
	if err := l.acquire(ctx, 6); err != nil {
		t.Fatal(err)
	}

	bigCtx, cancelBig := context.WithCancel(ctx)
	big := make(chan error, 1)
	go func() { big <- l.acquire(bigCtx, 8) }()
	waitLimiter(t, l, 1, 1)

	// 2 KiB would fit, but it must not overtake the waiter in front.
	small := make(chan error, 1)
	go func() { small <- l.acquire(ctx, 2) }()
	waitLimiter(t, l, 1, 2)

	if err := l.acquire(ctx, 1); !errors.Is(err, providers.ErrBusy) {
		t.Fatalf("acquire with a full queue = %v, want ErrBusy", err)
	}

	cancelBig()
	if err := <-big; !errors.Is(err, context.Canceled) {
		t.Errorf("canceled acquire = %v, want context.Canceled", err)
	}
	if err := <-small; err != nil {
		t.Errorf("small acquire after the head left = %v", err)
	}
	waitLimiter(t, l, 2, 0)
	if l.used != 8 {
		t.Errorf("used = %d, want 8", l.used)
	}
	l.release(6)
	l.release(2)
	waitLimiter(t, l, 0, 0)
	if l.used != 0 {
		t.Errorf("used = %d after releasing all, want 0", l.used)
	}
}
