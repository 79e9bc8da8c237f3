package local

import (
	"container/list"
	"context"
	"fmt"
	"sync"

	"github.com/ssogate/ssogate/providers"
)

// limiter is a first-come-first-served semaphore over a memory budget in
// KiB, with a bounded queue. A hash holds its own memory cost while it
// runs, so the hashes in flight never hold more than the budget together,
// whatever mix of current and older (costlier) parameters they use.
type limiter struct {
	budget     int64 // KiB
	maxWaiting int
	// onIdle, when set, is called (without mu) each time the last
	// running hash finishes with nobody waiting.
	onIdle func()

	mu      sync.Mutex
	used    int64 // KiB held by running hashes
	running int
	waiters list.List // of *waiter, oldest first
}

type waiter struct {
	need  int64
	ready chan struct{} // closed when the slot is granted
}

func newLimiter(budget int64, maxWaiting int) *limiter {
	return &limiter{budget: budget, maxWaiting: maxWaiting}
}

// acquire takes need KiB of the budget, waiting in line if it is taken. It
// returns an error wrapping providers.ErrBusy at once when the line is
// full, and one wrapping ctx.Err() when ctx ends first. need must not
// exceed the budget. On success the caller must call release(need).
func (l *limiter) acquire(ctx context.Context, need int64) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("local: waiting for a hash slot: %w", err)
	}
	l.mu.Lock()
	if l.waiters.Len() == 0 && l.used+need <= l.budget {
		l.used += need
		l.running++
		l.mu.Unlock()
		return nil
	}
	if l.waiters.Len() >= l.maxWaiting {
		running, waiting := l.running, l.waiters.Len()
		l.mu.Unlock()
		return fmt.Errorf("local: %d hashes running, %d waiting: %w", running, waiting, providers.ErrBusy)
	}
	w := &waiter{need: need, ready: make(chan struct{})}
	elem := l.waiters.PushBack(w)
	l.mu.Unlock()

	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
	}

	l.mu.Lock()
	select {
	case <-w.ready:
		// Granted while ctx ended; the caller gives up, so hand it on.
		l.used -= need
		l.running--
		l.grantLocked()
	default:
		front := l.waiters.Front() == elem
		l.waiters.Remove(elem)
		if front {
			// The head may have been all that held smaller waiters back.
			l.grantLocked()
		}
	}
	l.mu.Unlock()
	return fmt.Errorf("local: waiting for a hash slot: %w", ctx.Err())
}

// release returns need KiB taken by acquire and wakes whoever now fits.
func (l *limiter) release(need int64) {
	l.mu.Lock()
	l.used -= need
	l.running--
	l.grantLocked()
	idle := l.running == 0 && l.waiters.Len() == 0
	l.mu.Unlock()
	if idle && l.onIdle != nil {
		l.onIdle()
	}
}

// busy reports whether a hash runs or a caller waits.
func (l *limiter) busy() bool {
	running, waiting := l.stats()
	return running > 0 || waiting > 0
}

// grantLocked hands the budget to waiters in order while the next one fits.
func (l *limiter) grantLocked() {
	for e := l.waiters.Front(); e != nil; e = l.waiters.Front() {
		w := e.Value.(*waiter)
		if l.used+w.need > l.budget {
			return
		}
		l.used += w.need
		l.running++
		l.waiters.Remove(e)
		close(w.ready)
	}
}

// stats returns how many hashes run and how many callers wait.
func (l *limiter) stats() (running, waiting int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.running, l.waiters.Len()
}
