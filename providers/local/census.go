package local

import (
	"cmp"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
)

// Cost is the argon2id cost a hash was made with, which is what verifying
// it takes: MemoryKiB of memory for Iterations passes over Parallelism
// lanes.
type Cost struct {
	MemoryKiB   uint32
	Iterations  uint32
	Parallelism uint8
}

// String returns c as in a PHC string: "m=65536,t=3,p=2".
func (c Cost) String() string {
	return fmt.Sprintf("m=%d,t=%d,p=%d", c.MemoryKiB, c.Iterations, c.Parallelism)
}

// StoredCost is one Cost and how many stored hashes have it.
type StoredCost struct {
	Cost
	Accounts int
}

// HashCost returns the cost of encoded, an argon2id PHC string, or an
// error for a malformed one (which never quotes it).
func HashCost(encoded string) (Cost, error) {
	h, err := decodeHash(encoded)
	if err != nil {
		return Cost{}, err
	}
	return h.params.cost(), nil
}

func (p params) cost() Cost {
	return Cost{MemoryKiB: p.memory, Iterations: p.iterations, Parallelism: p.parallelism}
}

// census knows the cost of each account's stored hash, learned from the
// store at start and from every verification since, so that an unknown
// email can be made to cost what a known account costs.
type census struct {
	key []byte // keys the choice of cost per email

	mu     sync.Mutex
	byUser map[string]params
	counts map[params]int
}

// newCensus returns an empty census whose choices are keyed by key, or by
// a random key when key is nil.
func newCensus(key []byte) (*census, error) {
	c := &census{key: key, byUser: map[string]params{}, counts: map[params]int{}}
	if c.key == nil {
		c.key = make([]byte, 32)
		if _, err := rand.Read(c.key); err != nil {
			return nil, fmt.Errorf("read census key: %w", err)
		}
	}
	return c, nil
}

// set records that userID's stored hash has cost p.
func (c *census) set(userID string, p params) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.byUser[userID]; ok {
		if old == p {
			return
		}
		if c.counts[old]--; c.counts[old] == 0 {
			delete(c.counts, old)
		}
	}
	c.byUser[userID] = p
	c.counts[p]++
}

// costs returns each known cost with its count, cheapest first.
func (c *census) costs() []StoredCost {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]StoredCost, 0, len(c.counts))
	for p, n := range c.counts {
		out = append(out, StoredCost{Cost: p.cost(), Accounts: n})
	}
	slices.SortFunc(out, func(a, b StoredCost) int {
		return cmp.Or(cmp.Compare(a.MemoryKiB, b.MemoryKiB), cmp.Compare(a.Iterations, b.Iterations),
			cmp.Compare(a.Parallelism, b.Parallelism))
	})
	return out
}

// pick returns the cost an unknown email pays: one of the stored costs
// that fit within budget KiB, chosen in proportion to how many accounts
// have it, and always the same one for the same email. An attacker who
// times a probe then sees, for any email, a cost that real accounts have,
// and the same cost on every try, just as for a real account. With no
// stored hash known, it is fallback (the cost of new hashes).
func (c *census) pick(email string, fallback params, budget int64) params {
	var fit []StoredCost
	total := 0
	for _, sc := range c.costs() {
		if int64(sc.MemoryKiB) <= budget {
			fit = append(fit, sc)
			total += sc.Accounts
		}
	}
	if total == 0 {
		return fallback
	}
	mac := hmac.New(sha256.New, c.key)
	mac.Write([]byte(email))
	x := binary.BigEndian.Uint64(mac.Sum(nil)) % uint64(total)
	for _, sc := range fit {
		if x < uint64(sc.Accounts) {
			return params{memory: sc.MemoryKiB, iterations: sc.Iterations, parallelism: sc.Parallelism}
		}
		x -= uint64(sc.Accounts)
	}
	return fallback // unreachable: x < total
}
