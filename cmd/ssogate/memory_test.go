package main

import (
	"testing"

	"github.com/ssogate/ssogate/gateway"
)

// TestCacheMemoryLimitFollowsSessions: the soft memory limit bounds the
// garbage of password hashes, so it grows with what the caches hold (a
// 100,000-session cache at the bare hashing limit made the collector run
// without pause: make bench's b100k fell to 0.12x), hand-offs included
// (counting sessions alone held b100k to 0.68x once sessions were handed
// to two services), and comes back down when they go.
func TestCacheMemoryLimitFollowsSessions(t *testing.T) {
	const base = 112 << 20
	if got := cacheMemoryLimit(base, gateway.CacheStats{}); got != base {
		t.Errorf("no sessions: limit %d, want the base %d", got, base)
	}
	one := cacheMemoryLimit(base, gateway.CacheStats{Sessions: 100_000, Handoffs: 100_000})
	// About 1 KB live per session with its hand-off, twice that for the
	// collector's headroom.
	if min, max := int64(base+100_000*2000), int64(base+100_000*4096); one < min || one > max {
		t.Errorf("100,000 sessions, one service each: limit %d MiB, want between %d and %d MiB", one>>20, min>>20, max>>20)
	}
	// A second service's hand-offs (about 730 bytes live each) add twice
	// their size again.
	two := cacheMemoryLimit(base, gateway.CacheStats{Sessions: 100_000, Handoffs: 200_000})
	if d := two - one; d < 100_000*1460 || d > 100_000*4096 {
		t.Errorf("100,000 more hand-offs raise the limit by %d MiB, want about %d MiB", d>>20, 100_000*1460>>20)
	}
}
