package local

import (
	"runtime/debug"
	"sync"
	"time"
)

// Timing of the return of hash memory to the operating system.
const (
	// reclaimDelay is how long hashing must be idle before the memory of
	// the finished hashes is returned: long enough that a burst's hashes
	// reuse each other's memory, short enough that the process is small
	// again seconds after the burst.
	reclaimDelay = 2 * time.Second
	// reclaimInterval is the least time between two returns, so a steady
	// trickle of sign-ins does not pay a full collection for each.
	reclaimInterval = 10 * time.Second
)

// reclaimer returns the memory of finished hashes to the operating system
// once hashing has gone idle. Each argon2id hash allocates its whole cost
// (64 MiB by default) and x/crypto/argon2 has no way to pass it a buffer to
// reuse; the Go runtime keeps freed memory mapped for the next allocation
// and gives it back only slowly, so after a sign-in burst the process would
// stay at the burst's size for minutes. debug.FreeOSMemory collects and
// returns it at once; it stops the world for a full collection, which is
// why it runs only after idle and at most once per reclaimInterval.
type reclaimer struct {
	free  func()      // debug.FreeOSMemory; tests count calls
	busy  func() bool // whether a hash runs or waits
	delay time.Duration
	every time.Duration

	mu    sync.Mutex
	timer *time.Timer // pending return, nil when none
	last  time.Time   // the last return
}

func newReclaimer(busy func() bool) *reclaimer {
	return &reclaimer{free: debug.FreeOSMemory, busy: busy, delay: reclaimDelay, every: reclaimInterval}
}

// idle is called when the last running hash has finished and nobody
// waits: it schedules a return unless one is pending.
func (r *reclaimer) idle() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.timer != nil {
		return
	}
	wait := r.delay
	if next := time.Until(r.last.Add(r.every)); next > wait {
		wait = next
	}
	r.timer = time.AfterFunc(wait, r.fire)
}

func (r *reclaimer) fire() {
	r.mu.Lock()
	r.timer = nil
	r.mu.Unlock()
	if r.busy() {
		// Hashing started again; when it ends, idle schedules anew.
		return
	}
	r.free()
	r.mu.Lock()
	r.last = time.Now()
	r.mu.Unlock()
}
