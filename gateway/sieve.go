package gateway

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
)

// sieve is a bounded, sharded in-memory cache with SIEVE eviction (Zhang
// et al., NSDI 2024): a hit only sets a bit, under a shared read lock, so
// the hot path never serialises on one lock; when a shard is full, a hand
// walks from the oldest entry and evicts the first one not used since it
// last passed, clearing bits on its way. Values are replaced whole, never
// modified, so a reader holds a consistent *V without a lock.
//
// Go maps never shrink; prune rebuilds a shard's map once it holds less
// than half of what it held at its peak, so memory is given back when
// entries go.
type sieve[K comparable, V any] struct {
	seed   maphash.Seed
	shards []sieveShard[K, V]
	limit  int // entries per shard
}

type sieveShard[K comparable, V any] struct {
	mu sync.RWMutex
	m  map[K]*sieveNode[K, V]
	// head is the newest entry, tail the oldest; hand is where eviction
	// resumes (nil: from the tail).
	head, tail, hand *sieveNode[K, V]
	peak             int
	_                [32]byte // keep shards' locks off one cache line
}

type sieveNode[K comparable, V any] struct {
	key        K
	val        atomic.Pointer[V]
	visited    atomic.Bool
	prev, next *sieveNode[K, V] // prev is newer, next is older
}

// sieveShards is the number of shards; a power of two, a few per core.
const sieveShards = 32

// newSieve returns a cache of at most about capacity entries.
func newSieve[K comparable, V any](capacity int) *sieve[K, V] {
	c := &sieve[K, V]{seed: maphash.MakeSeed(), shards: make([]sieveShard[K, V], sieveShards)}
	c.limit = max(1, (capacity+sieveShards-1)/sieveShards)
	for i := range c.shards {
		c.shards[i].m = map[K]*sieveNode[K, V]{}
	}
	return c
}

func (c *sieve[K, V]) shard(k K) *sieveShard[K, V] {
	return &c.shards[maphash.Comparable(c.seed, k)&(sieveShards-1)]
}

// get returns the value of k, or nil, and marks k used.
func (c *sieve[K, V]) get(k K) *V {
	s := c.shard(k)
	s.mu.RLock()
	n := s.m[k]
	s.mu.RUnlock()
	if n == nil {
		return nil
	}
	if !n.visited.Load() {
		n.visited.Store(true)
	}
	return n.val.Load()
}

// put sets the value of k, evicting another entry when the shard is full.
func (c *sieve[K, V]) put(k K, v *V) {
	s := c.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := s.m[k]; n != nil {
		n.val.Store(v)
		return
	}
	for len(s.m) >= c.limit {
		s.evict()
	}
	n := &sieveNode[K, V]{key: k}
	n.val.Store(v)
	n.next = s.head
	if s.head != nil {
		s.head.prev = n
	}
	s.head = n
	if s.tail == nil {
		s.tail = n
	}
	s.m[k] = n
	s.peak = max(s.peak, len(s.m))
}

// swap replaces k's value with v if it is still old.
func (c *sieve[K, V]) swap(k K, old, v *V) {
	s := c.shard(k)
	s.mu.RLock()
	n := s.m[k]
	s.mu.RUnlock()
	if n != nil {
		n.val.CompareAndSwap(old, v)
	}
}

// evict removes one entry; s is locked and not empty.
func (s *sieveShard[K, V]) evict() {
	n := s.hand
	if n == nil {
		n = s.tail
	}
	// Readers set bits without the lock: after two laps, evict anyway.
	for i := 2 * len(s.m); i > 0 && n.visited.Load(); i-- {
		n.visited.Store(false)
		if n = n.prev; n == nil {
			n = s.tail
		}
	}
	s.hand = n
	s.remove(n)
}

// remove unlinks n; s is locked.
func (s *sieveShard[K, V]) remove(n *sieveNode[K, V]) {
	if s.hand == n {
		s.hand = n.prev
	}
	if n.prev != nil {
		n.prev.next = n.next
	} else {
		s.head = n.next
	}
	if n.next != nil {
		n.next.prev = n.prev
	} else {
		s.tail = n.prev
	}
	n.prev, n.next = nil, nil
	delete(s.m, n.key)
}

// delete drops k.
func (c *sieve[K, V]) delete(k K) {
	s := c.shard(k)
	s.mu.Lock()
	if n := s.m[k]; n != nil {
		s.remove(n)
	}
	s.mu.Unlock()
}

// prune drops every entry for which drop reports true, then gives back
// the memory of shards that shrank.
func (c *sieve[K, V]) prune(drop func(K, *V) bool) {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		for n := s.head; n != nil; {
			next := n.next
			if drop(n.key, n.val.Load()) {
				s.remove(n)
			}
			n = next
		}
		if len(s.m) < s.peak/2 {
			m := make(map[K]*sieveNode[K, V], len(s.m))
			for k, n := range s.m {
				m[k] = n
			}
			s.m, s.peak = m, len(m)
		}
		s.mu.Unlock()
	}
}

// reset drops every entry.
func (c *sieve[K, V]) reset() {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		s.m = map[K]*sieveNode[K, V]{}
		s.head, s.tail, s.hand, s.peak = nil, nil, nil, 0
		s.mu.Unlock()
	}
}

// len is the number of entries.
func (c *sieve[K, V]) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}
