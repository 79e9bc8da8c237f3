package local

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssogate/ssogate/providers"
)

// storeAccounts is an Accounts that can also list and replace hashes, as
// the gateway's store does: email -> user id and hash.
type storeAccounts struct {
	mu    sync.Mutex
	users map[string]struct{ userID, hash string }
}

func newStoreAccounts(m memAccounts) *storeAccounts {
	s := &storeAccounts{users: map[string]struct{ userID, hash string }{}}
	for k, v := range m {
		s.users[k] = v
	}
	return s
}

func (s *storeAccounts) LookupPassword(_ context.Context, email string) (string, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.users[email]
	if !ok || a.hash == "" {
		return "", "", fmt.Errorf("storeaccounts: %q: %w", email, ErrNoAccount)
	}
	return a.userID, a.hash, nil
}

func (s *storeAccounts) PasswordHashes(context.Context) (map[string]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	for _, a := range s.users {
		if a.hash != "" {
			out[a.userID] = a.hash
		}
	}
	return out, nil
}

func (s *storeAccounts) UpdatePasswordHash(_ context.Context, userID, old, encoded string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for email, a := range s.users {
		if a.userID == userID {
			if a.hash != old {
				return fmt.Errorf("storeaccounts: %w", ErrHashChanged)
			}
			s.users[email] = struct{ userID, hash string }{userID, encoded}
			return nil
		}
	}
	return fmt.Errorf("storeaccounts: %q: %w", userID, ErrNoAccount)
}

func (s *storeAccounts) hash(email string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.users[email].hash
}

// The costs of a cost change in these tests: stored hashes were made with
// old, new ones are made with now (cheaper, as after lowering the cost).
var (
	oldCost = Config{Memory: 8192, Iterations: 8, Parallelism: 1}
	nowCost = Config{Memory: 8192, Iterations: 1, Parallelism: 1}
)

// After a cost change the stored hashes keep their old cost until people
// sign in again. An attacker compares the time of a wrong password for a
// target email with that of a surely unknown email: both must cost alike,
// so the unknown email must pay what the stored hashes cost, not what new
// hashes would.
func TestTimingAfterCostChange(t *testing.T) {
	for _, tt := range []struct {
		name string
		// prepare teaches p the stored costs, or not.
		prepare func(t *testing.T, p *Provider)
	}{
		{"learned from the store at start", func(t *testing.T, p *Provider) {
			if err := p.Learn(context.Background()); err != nil {
				t.Fatal(err)
			}
		}},
		{"learned from a verification", func(t *testing.T, p *Provider) {
			_, _ = p.Authenticate(context.Background(), "taro@example.com", "wrong password")
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := openTest(t, nowCost, newStoreAccounts(withAccount(t, oldCost)))
			tt.prepare(t, p)
			mu, mk := compareTiming(t, p)
			t.Logf("median unknown email %v, wrong password for a known email %v", mu, mk)
			if float64(mu) < 0.5*float64(mk) || float64(mu) > 2*float64(mk) {
				t.Errorf("an unknown email costs %v, a known one %v: the difference tells which accounts exist", mu, mk)
			}
		})
	}
}

// compareTiming returns the median time of a wrong password for unknown
// emails and for taro@example.com.
func compareTiming(t *testing.T, p *Provider) (unknown, known time.Duration) {
	t.Helper()
	ctx := context.Background()
	measure := func(login string) time.Duration {
		start := time.Now()
		if _, err := p.Authenticate(ctx, login, "wrong password"); !errors.Is(err, providers.ErrInvalidCredentials) {
			t.Fatalf("Authenticate(%q) = %v", login, err)
		}
		return time.Since(start)
	}
	const n = 9
	var u, k []time.Duration
	for i := range n {
		// Interleaved, so drift in machine load hits both alike; a new
		// unknown email each time, as an attacker would probe.
		u = append(u, measure(fmt.Sprintf("nobody-%d@example.com", i)))
		k = append(k, measure("taro@example.com"))
	}
	return median(u), median(k)
}

// A sign-in after a cost change stores a hash with the new cost, once.
func TestRehashAfterCostChange(t *testing.T) {
	accounts := newStoreAccounts(withAccount(t, oldCost))
	p := openTest(t, nowCost, accounts)
	ctx := context.Background()
	before := accounts.hash("taro@example.com")

	// A wrong password rehashes nothing.
	if _, err := p.Authenticate(ctx, "taro@example.com", "wrong"); !errors.Is(err, providers.ErrInvalidCredentials) {
		t.Fatalf("Authenticate = %v", err)
	}
	id := &providers.Identity{ProviderID: "local", Subject: "u-taro", Email: "taro@example.com"}
	if from, to, err := p.Rehash(ctx, id, "wrong"); from != "" || to != "" || err != nil {
		t.Fatalf("Rehash after a wrong password = %q, %q, %v; want nothing done", from, to, err)
	}

	id, err := p.Authenticate(ctx, "taro@example.com", "Passw0rd!")
	if err != nil {
		t.Fatal(err)
	}
	// Only the password just verified is stored.
	if from, _, err := p.Rehash(ctx, id, "Other-Passw0rd!"); from != "" || err == nil {
		t.Fatalf("Rehash with another password = %q, %v; want an error", from, err)
	}
	if got := accounts.hash("taro@example.com"); got != before {
		t.Fatal("Rehash stored a password that was not verified")
	}
	id, err = p.Authenticate(ctx, "taro@example.com", "Passw0rd!")
	if err != nil {
		t.Fatal(err)
	}
	from, to, err := p.Rehash(ctx, id, "Passw0rd!")
	if err != nil {
		t.Fatal(err)
	}
	if from != "m=8192,t=8,p=1" || to != "m=8192,t=1,p=1" {
		t.Errorf("Rehash = %q -> %q, want m=8192,t=8,p=1 -> m=8192,t=1,p=1", from, to)
	}
	after := accounts.hash("taro@example.com")
	if after == before || !strings.HasPrefix(after, "$argon2id$v=19$m=8192,t=1,p=1$") || p.NeedsRehash(after) {
		t.Errorf("stored hash after the sign-in is %q, want one with the new cost", after)
	}
	if ok, err := Verify(after, "Passw0rd!"); !ok || err != nil {
		t.Errorf("the new hash does not verify the password: %v, %v", ok, err)
	}

	// Current now: the next sign-in has nothing to do.
	if id, err = p.Authenticate(ctx, "taro@example.com", "Passw0rd!"); err != nil {
		t.Fatal(err)
	}
	if from, to, err := p.Rehash(ctx, id, "Passw0rd!"); from != "" || to != "" || err != nil {
		t.Errorf("second Rehash = %q, %q, %v; want nothing done", from, to, err)
	}
	if got := p.StoredCosts(); len(got) != 1 || got[0].Cost.String() != "m=8192,t=1,p=1" || got[0].Accounts != 1 {
		t.Errorf("StoredCosts = %+v, want the one account at the new cost", got)
	}
}

// A password changed between the sign-in and the rehash is not undone.
func TestRehashKeepsAChangedPassword(t *testing.T) {
	accounts := newStoreAccounts(withAccount(t, oldCost))
	p := openTest(t, nowCost, accounts)
	ctx := context.Background()
	id, err := p.Authenticate(ctx, "taro@example.com", "Passw0rd!")
	if err != nil {
		t.Fatal(err)
	}
	changed, err := p.Hash(ctx, "N3w-Passw0rd!")
	if err != nil {
		t.Fatal(err)
	}
	accounts.users["taro@example.com"] = struct{ userID, hash string }{"u-taro", changed}
	if from, to, err := p.Rehash(ctx, id, "Passw0rd!"); from != "" || to != "" || err != nil {
		t.Errorf("Rehash = %q, %q, %v; want nothing done", from, to, err)
	}
	if got := accounts.hash("taro@example.com"); got != changed {
		t.Error("Rehash overwrote the changed password")
	}
}

// An account whose stored hash needs more memory than the budget cannot
// sign in, and answers exactly as an unknown email does.
func TestOverBudgetAnswersAsUnknown(t *testing.T) {
	big := Config{Memory: 32768, Iterations: 1, Parallelism: 1}
	accounts := newStoreAccounts(withAccount(t, big))
	var logs strings.Builder
	p := openTest(t, Config{MaxInFlight: 2, Logger: slog.New(slog.NewTextHandler(&logs, nil))}, accounts) // budget 2 x 8 MiB
	ctx := context.Background()
	_, overBudget := p.Authenticate(ctx, "taro@example.com", "Passw0rd!")
	_, unknown := p.Authenticate(ctx, "nobody@example.com", "Passw0rd!")
	if !errors.Is(overBudget, providers.ErrInvalidCredentials) || overBudget != unknown {
		t.Errorf("over budget: %v; unknown email: %v; want the same ErrInvalidCredentials", overBudget, unknown)
	}
	if l := logs.String(); !strings.Contains(l, "needs more memory than the hashing budget") || !strings.Contains(l, "user_id=u-taro") ||
		!strings.Contains(l, "memory_kib=32768") || strings.Contains(l, "$argon2id$") {
		t.Errorf("log for the operator = %q, want the user, the memory needed and no hash", l)
	}
	// The account is known now, but its cost is not one an unknown
	// email may be given: it could not be verified either.
	if d := p.dummyFor("nobody@example.com"); int64(d.memory) > p.BudgetKiB() {
		t.Errorf("dummy cost %+v exceeds the budget of %d KiB", d.params, p.BudgetKiB())
	}
}

// Each email is given one stored cost, always the same, and the costs are
// given out in proportion to the accounts that have them.
func TestCensusPick(t *testing.T) {
	c, err := newCensus(nil)
	if err != nil {
		t.Fatal(err)
	}
	cheap := params{memory: 8192, iterations: 1, parallelism: 1}
	dear := params{memory: 8192, iterations: 4, parallelism: 1}
	huge := params{memory: 1 << 20, iterations: 1, parallelism: 1}
	fallback := params{memory: 16384, iterations: 2, parallelism: 1}
	if got := c.pick("a@example.com", fallback, 1<<20); got != fallback {
		t.Errorf("empty census picks %+v, want the fallback", got)
	}
	for i := range 3 {
		c.set(fmt.Sprintf("u%d", i), dear)
	}
	c.set("u3", cheap)
	c.set("u4", huge)
	c.set("u5", cheap)
	c.set("u5", dear) // rehashed: counted once, at its new cost
	counts := map[params]int{}
	for i := range 2000 {
		email := fmt.Sprintf("probe-%d@example.com", i)
		got := c.pick(email, fallback, 65536)
		if again := c.pick(email, fallback, 65536); again != got {
			t.Fatalf("%s picked %+v, then %+v", email, got, again)
		}
		counts[got]++
	}
	if counts[huge] != 0 || counts[fallback] != 0 {
		t.Errorf("picked a cost over the budget or the fallback: %v", counts)
	}
	// 4 dear to 1 cheap.
	if share := float64(counts[dear]) / 2000; share < 0.75 || share > 0.85 {
		t.Errorf("dear cost given to %.2f of emails, want about 0.8 (%v)", share, counts)
	}
}

// Two providers with one DummyKey (replicas, or one gateway before and
// after a restart) give an unknown email the same cost.
func TestDummyKeyShared(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	cheap := Config{Memory: 8192, Iterations: 1, Parallelism: 1}
	dear := Config{Memory: 8192, Iterations: 3, Parallelism: 1}
	accounts := newStoreAccounts(memAccounts{})
	for i := range 4 {
		cfg := cheap
		if i%2 == 0 {
			cfg = dear
		}
		h, err := openTest(t, cfg, memAccounts{}).Hash(context.Background(), "Passw0rd!")
		if err != nil {
			t.Fatal(err)
		}
		accounts.users[fmt.Sprintf("u%d@example.com", i)] = struct{ userID, hash string }{fmt.Sprintf("u%d", i), h}
	}
	open := func(key []byte) *Provider {
		p := openTest(t, Config{DummyKey: key}, accounts)
		if err := p.Learn(context.Background()); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a, b := open(key), open(slices.Clone(key))
	differ := 0
	for i := range 200 {
		email := fmt.Sprintf("probe-%d@example.com", i)
		if a.dummyFor(email).params != b.dummyFor(email).params {
			t.Fatalf("%s: cost %+v on one replica, %+v on the other", email, a.dummyFor(email).params, b.dummyFor(email).params)
		}
		if a.dummyFor(email).params != open(nil).dummyFor(email).params {
			differ++
		}
	}
	if differ == 0 {
		t.Error("a random key chose exactly as the shared one: the key is not used")
	}
	if _, err := Open("local", Config{DummyKey: []byte("short")}, accounts); err == nil || !strings.Contains(err.Error(), "dummy key of 5 bytes") {
		t.Errorf("Open with a 5-byte key = %v, want an error", err)
	}
}
