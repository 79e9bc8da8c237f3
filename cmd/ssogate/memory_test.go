package main

import (
	"testing"

	"github.com/ssogate/ssogate/gateway"
)

// TestCacheMemoryLimitFollowsSessions: the soft memory limit bounds the
// garbage of password hashes, so it grows with the sessions the cache
// holds (a 100,000-session cache at the bare hashing limit made the
// collector run without pause: make bench's b100k fell to 0.12x) and
// comes back down when they go.
func TestCacheMemoryLimitFollowsSessions(t *testing.T) {
	const base = 112 << 20
	if got := cacheMemoryLimit(base, gateway.CacheStats{}); got != base {
		t.Errorf("no sessions: limit %d, want the base %d", got, base)
	}
	got := cacheMemoryLimit(base, gateway.CacheStats{Sessions: 100_000, Handoffs: 100_000})
	// About 1 KB live per session with its hand-off, twice that for the
	// collector's headroom.
	if min, max := int64(base+100_000*2000), int64(base+100_000*4096); got < min || got > max {
		t.Errorf("100,000 sessions: limit %d MiB, want between %d and %d MiB", got>>20, min>>20, max>>20)
	}
}
