package local

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssogate/ssogate/providers"
)

// memAccounts is an in-memory Accounts: email -> {user id, hash}. An entry
// with an empty hash is an account without a password.
type memAccounts map[string]struct{ userID, hash string }

func (m memAccounts) LookupPassword(_ context.Context, email string) (string, string, error) {
	a, ok := m[email]
	if !ok || a.hash == "" {
		return "", "", fmt.Errorf("memaccounts: %q: %w", email, ErrNoAccount)
	}
	return a.userID, a.hash, nil
}

// failingAccounts is a store that is down.
type failingAccounts struct{ err error }

func (f failingAccounts) LookupPassword(context.Context, string) (string, string, error) {
	return "", "", f.err
}

// openTest opens a provider with cheap hashing unless cfg says otherwise.
func openTest(t testing.TB, cfg Config, accounts Accounts) *Provider {
	t.Helper()
	if cfg.Memory == 0 {
		cfg.Memory = 8192
	}
	if cfg.Iterations == 0 {
		cfg.Iterations = 1
	}
	if cfg.Parallelism == 0 {
		cfg.Parallelism = 1
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	p, err := Open("local", cfg, accounts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// withAccount returns accounts holding taro@example.com (user u-taro) with
// password "Passw0rd!", hashed by a provider with cfg.
func withAccount(t testing.TB, cfg Config) memAccounts {
	t.Helper()
	h, err := openTest(t, cfg, memAccounts{}).Hash(context.Background(), "Passw0rd!")
	if err != nil {
		t.Fatal(err)
	}
	return memAccounts{
		"taro@example.com":   {"u-taro", h},
		"hanako@example.com": {"u-hanako", ""}, // signs in with Google
	}
}

// holdAll takes the whole hashing budget, as running hashes would, until
// the returned func is called.
func holdAll(t *testing.T, p *Provider) (release func()) {
	t.Helper()
	if err := p.limit.acquire(context.Background(), p.limit.budget); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release = func() { once.Do(func() { p.limit.release(p.limit.budget) }) }
	t.Cleanup(release)
	return release
}

// waitStats polls until p reports the given numbers; there is no event to
// wait on when a goroutine joins the queue.
func waitStats(t *testing.T, p *Provider, inFlight, waiting int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		i, w := p.Stats()
		if i == inFlight && w == waiting {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Stats() = %d, %d; want %d, %d", i, w, inFlight, waiting)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestOpen(t *testing.T) {
	p, err := Open("local", Config{}, memAccounts{})
	if err != nil {
		t.Fatal(err)
	}
	if p.ID() != "local" || p.Type() != "local" {
		t.Errorf("ID, Type = %q, %q", p.ID(), p.Type())
	}
	if want := (params{memory: 65536, iterations: 3, parallelism: 2}); p.params != want {
		t.Errorf("default params = %+v, want %+v", p.params, want)
	}
	if want := (Policy{MinLength: 8, MinClasses: 3}); p.policy != want {
		t.Errorf("default policy = %+v, want %+v", p.policy, want)
	}
	if p.limit.maxWaiting != 256 {
		t.Errorf("default max waiting = %d, want 256", p.limit.maxWaiting)
	}
	if d := p.dummyFor("nobody@example.com"); d.params != p.params {
		t.Errorf("dummy hash cost %v, want the current parameters when no stored hash is known", d.params)
	}
	if p2 := openTest(t, Config{MaxWaiting: NoWaiting}, memAccounts{}); p2.limit.maxWaiting != 0 {
		t.Errorf("NoWaiting: max waiting = %d, want 0", p2.limit.maxWaiting)
	}

	bad := []struct {
		name     string
		id       string
		cfg      Config
		accounts Accounts
		want     string
	}{
		{"empty id", "", Config{}, memAccounts{}, "empty provider id"},
		{"nil accounts", "local", Config{}, nil, "nil Accounts"},
		{"min length below 8", "local", Config{MinLength: 6}, memAccounts{}, "min_length 6: want 8 to 256"},
		{"min length above 256", "local", Config{MinLength: 300}, memAccounts{}, "min_length 300"},
		{"min classes 5", "local", Config{MinClasses: 5}, memAccounts{}, "min_classes 5: want 1 to 4"},
		{"min classes negative", "local", Config{MinClasses: -1}, memAccounts{}, "min_classes -1"},
		{"memory too small", "local", Config{Memory: 1024}, memAccounts{}, "memory 1024 KiB: want 8192 to 1048576"},
		{"memory too large", "local", Config{Memory: 1<<20 + 1}, memAccounts{}, "memory 1048577 KiB"},
		{"iterations too many", "local", Config{Iterations: 101}, memAccounts{}, "iterations 101: want 1 to 100"},
		{"max in flight negative", "local", Config{MaxInFlight: -2}, memAccounts{}, "max_in_flight -2"},
		{"max waiting -2", "local", Config{MaxWaiting: -2}, memAccounts{}, "max_waiting -2: want 1 to 1048576, or -1 for no queue"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Open(tt.id, tt.cfg, tt.accounts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Open = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestAuthenticate(t *testing.T) {
	accounts := withAccount(t, Config{})
	p := openTest(t, Config{}, accounts)
	want := &providers.Identity{
		ProviderID: "local",
		Subject:    "u-taro",
		Email:      "taro@example.com",
		AMR:        []string{"pwd"},
	}
	tests := []struct {
		name     string
		login    string
		password string
		want     *providers.Identity // nil: ErrInvalidCredentials
	}{
		{"right", "taro@example.com", "Passw0rd!", want},
		{"login trimmed and lower-cased", "  Taro@Example.COM\t", "Passw0rd!", want},
		{"full-width login folded", "ｔａｒｏ＠ｅｘａｍｐｌｅ．ｃｏｍ\u3000", "Passw0rd!", want},
		{"non-ASCII login kept as typed", "ｔａｒｏ＠ｅｘａｍｐｌｅ．ｃｏｍ太", "Passw0rd!", nil},
		{"wrong password", "taro@example.com", "Passw0rd", nil},
		{"password case matters", "taro@example.com", "passw0rd!", nil},
		{"password not trimmed", "taro@example.com", "Passw0rd! ", nil},
		{"empty password", "taro@example.com", "", nil},
		{"unknown email", "jiro@example.com", "Passw0rd!", nil},
		{"account without password", "hanako@example.com", "Passw0rd!", nil},
		{"empty login", "", "Passw0rd!", nil},
		{"blank login", "   ", "Passw0rd!", nil},
		{"password too long", "taro@example.com", strings.Repeat("x", MaxPasswordBytes+1), nil},
		{"login too long", strings.Repeat("x", 400) + "@example.com", "Passw0rd!", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := p.Authenticate(context.Background(), tt.login, tt.password)
			if tt.want != nil {
				if err != nil {
					t.Fatalf("Authenticate = %v", err)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("Identity = %+v, want %+v", got, tt.want)
				}
				return
			}
			if got != nil || !errors.Is(err, providers.ErrInvalidCredentials) {
				t.Fatalf("Authenticate = %+v, %v; want ErrInvalidCredentials", got, err)
			}
		})
	}
}

// An unknown email and a wrong password must look the same to the caller:
// the same error, by identity and by message.
func TestAuthenticateSameErrorForUnknownAndWrong(t *testing.T) {
	p := openTest(t, Config{}, withAccount(t, Config{}))
	ctx := context.Background()
	_, wrong := p.Authenticate(ctx, "taro@example.com", "nope")
	_, unknown := p.Authenticate(ctx, "nobody@example.com", "nope")
	_, nopw := p.Authenticate(ctx, "hanako@example.com", "nope")
	for _, err := range []error{wrong, unknown, nopw} {
		if !errors.Is(err, providers.ErrInvalidCredentials) {
			t.Fatalf("error %v does not wrap ErrInvalidCredentials", err)
		}
		if err != wrong || err.Error() != wrong.Error() {
			t.Errorf("error %q differs from the wrong-password error %q", err, wrong)
		}
	}
	if errors.Is(wrong, ErrNoAccount) || errors.Is(unknown, ErrNoAccount) {
		t.Error("ErrNoAccount leaks to the caller")
	}
}

// Every path that could reveal whether an account exists must hash. With
// the budget taken and no queue, a path that hashes fails with ErrBusy; one
// that does not, fails with ErrInvalidCredentials at once.
func TestAuthenticateAlwaysHashes(t *testing.T) {
	p := openTest(t, Config{MaxInFlight: 1, MaxWaiting: NoWaiting}, withAccount(t, Config{}))
	holdAll(t, p)
	tests := []struct {
		name, login, password string
		want                  error
	}{
		{"wrong password", "taro@example.com", "x", providers.ErrBusy},
		{"empty password", "taro@example.com", "", providers.ErrBusy},
		{"unknown email", "jiro@example.com", "x", providers.ErrBusy},
		{"account without password", "hanako@example.com", "x", providers.ErrBusy},
		{"empty login", "", "x", providers.ErrBusy},
		// Refused on size alone, which says nothing about the account.
		{"password too long", "taro@example.com", strings.Repeat("x", MaxPasswordBytes+1), providers.ErrInvalidCredentials},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := p.Authenticate(context.Background(), tt.login, tt.password)
			if !errors.Is(err, tt.want) {
				t.Errorf("Authenticate = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestAuthenticateFailures(t *testing.T) {
	down := errors.New("database is locked")
	t.Run("store down", func(t *testing.T) {
		p := openTest(t, Config{}, failingAccounts{down})
		_, err := p.Authenticate(context.Background(), "taro@example.com", "Passw0rd!")
		if !errors.Is(err, providers.ErrUnavailable) || !errors.Is(err, down) {
			t.Errorf("Authenticate = %v, want ErrUnavailable wrapping the cause", err)
		}
		if errors.Is(err, providers.ErrInvalidCredentials) {
			t.Errorf("a failure reads as wrong credentials: %v", err)
		}
	})
	t.Run("empty user id", func(t *testing.T) {
		p := openTest(t, Config{}, memAccounts{"a@example.com": {"", "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"}})
		_, err := p.Authenticate(context.Background(), "a@example.com", "password")
		if !errors.Is(err, providers.ErrUnavailable) {
			t.Errorf("Authenticate = %v, want ErrUnavailable", err)
		}
	})
	t.Run("poisoned hash", func(t *testing.T) {
		p := openTest(t, Config{}, memAccounts{"a@example.com": {"u1", "$argon2id$v=19$m=4294967295,t=4294967295,p=255$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"}})
		_, err := p.Authenticate(context.Background(), "a@example.com", "password")
		if !errors.Is(err, errMalformed) || !strings.Contains(err.Error(), `user "u1"`) {
			t.Errorf("Authenticate = %v, want a malformed-hash error naming the user", err)
		}
	})
	t.Run("hash over budget", func(t *testing.T) {
		// Valid, but 1 GiB: more than 2 x 8 MiB may be held at once. The
		// account answers as an unknown email does, without running it.
		p := openTest(t, Config{MaxInFlight: 2}, memAccounts{"a@example.com": {"u1", "$argon2id$v=19$m=1048576,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"}})
		start := time.Now()
		_, err := p.Authenticate(context.Background(), "a@example.com", "password")
		if err != errInvalid {
			t.Errorf("Authenticate = %v, want the wrong-credentials error", err)
		}
		if d := time.Since(start); d > 500*time.Millisecond {
			t.Errorf("took %v: the over-budget hash was run", d)
		}
	})
	t.Run("canceled before lookup", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		p := openTest(t, Config{}, failingAccounts{ctx.Err()})
		_, err := p.Authenticate(ctx, "taro@example.com", "Passw0rd!")
		if !errors.Is(err, context.Canceled) || errors.Is(err, providers.ErrUnavailable) {
			t.Errorf("Authenticate = %v, want context.Canceled, not ErrUnavailable", err)
		}
	})
}

// The time an attacker sees for an unknown email and for a wrong password
// must be comparable: both pay one hash with the same parameters.
func TestAuthenticateTiming(t *testing.T) {
	cfg := Config{Memory: 8192, Iterations: 1, Parallelism: 1}
	p := openTest(t, cfg, withAccount(t, cfg))
	ctx := context.Background()
	measure := func(login string) time.Duration {
		start := time.Now()
		if _, err := p.Authenticate(ctx, login, "wrong password"); !errors.Is(err, providers.ErrInvalidCredentials) {
			t.Fatalf("Authenticate(%q) = %v", login, err)
		}
		return time.Since(start)
	}
	measure("taro@example.com") // warm up
	const n = 15
	var unknown, wrong []time.Duration
	for range n {
		// Interleaved, so drift in machine load hits both alike.
		unknown = append(unknown, measure("nobody@example.com"))
		wrong = append(wrong, measure("taro@example.com"))
	}
	mu, mw := median(unknown), median(wrong)
	t.Logf("median unknown email %v, wrong password %v", mu, mw)
	if ratio := float64(max(mu, mw)) / float64(min(mu, mw)); ratio > 2 {
		t.Errorf("medians differ by a factor of %.2f, want at most 2", ratio)
	}
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func TestBusy(t *testing.T) {
	p := openTest(t, Config{MaxInFlight: 1, MaxWaiting: 1}, withAccount(t, Config{}))
	release := holdAll(t, p)
	ctx := context.Background()

	queued := make(chan error, 1)
	go func() {
		_, err := p.Authenticate(ctx, "taro@example.com", "wrong")
		queued <- err
	}()
	waitStats(t, p, 1, 1)

	start := time.Now()
	if _, err := p.Authenticate(ctx, "taro@example.com", "Passw0rd!"); !errors.Is(err, providers.ErrBusy) {
		t.Errorf("Authenticate beyond the queue = %v, want ErrBusy", err)
	}
	if _, err := p.Hash(ctx, "Passw0rd!"); !errors.Is(err, providers.ErrBusy) {
		t.Errorf("Hash beyond the queue = %v, want ErrBusy", err)
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("refusing took %v, want at once", d)
	}

	release()
	if err := <-queued; !errors.Is(err, providers.ErrInvalidCredentials) {
		t.Errorf("queued Authenticate = %v, want ErrInvalidCredentials", err)
	}
	waitStats(t, p, 0, 0)
	if _, err := p.Authenticate(ctx, "taro@example.com", "Passw0rd!"); err != nil {
		t.Errorf("Authenticate after the storm = %v", err)
	}
}

func TestCancelWhileWaiting(t *testing.T) {
	p := openTest(t, Config{MaxInFlight: 1}, withAccount(t, Config{}))
	release := holdAll(t, p)

	tests := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"Authenticate", func(ctx context.Context) error {
			_, err := p.Authenticate(ctx, "taro@example.com", "Passw0rd!")
			return err
		}},
		{"Hash", func(ctx context.Context) error {
			_, err := p.Hash(ctx, "Passw0rd!")
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- tt.call(ctx) }()
			waitStats(t, p, 1, 1)
			cancel()
			err := <-done
			if !errors.Is(err, context.Canceled) {
				t.Errorf("error = %v, want context.Canceled", err)
			}
			if errors.Is(err, providers.ErrInvalidCredentials) {
				t.Errorf("a canceled wait reads as wrong credentials: %v", err)
			}
			waitStats(t, p, 1, 0)

			// Already ended: refused without joining the queue.
			if err := tt.call(ctx); !errors.Is(err, context.Canceled) {
				t.Errorf("with an ended ctx: %v, want context.Canceled", err)
			}
		})
	}
	release()
	waitStats(t, p, 0, 0)
}

// BenchmarkAuthenticate measures one successful sign-in: one argon2id
// derivation plus the lookup.
func BenchmarkAuthenticate(b *testing.B) {
	for _, bb := range []struct {
		name string
		cfg  Config
	}{
		{"defaults", Config{Memory: DefaultMemory, Iterations: DefaultIterations, Parallelism: DefaultParallelism}},
		{"m=16MiB,t=1,p=2", Config{Memory: 16384, Iterations: 1, Parallelism: 2}},
		{"m=8MiB,t=1,p=1", Config{Memory: 8192, Iterations: 1, Parallelism: 1}},
	} {
		b.Run(bb.name, func(b *testing.B) {
			p := openTest(b, bb.cfg, withAccount(b, bb.cfg))
			ctx := context.Background()
			for b.Loop() {
				if _, err := p.Authenticate(ctx, "taro@example.com", "Passw0rd!"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestProviderPolicy(t *testing.T) {
	p, err := Open("local", Config{MinLength: 10, MinClasses: 4}, memAccounts{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.Policy(), (Policy{MinLength: 10, MinClasses: 4}); got != want {
		t.Errorf("PasswordRule() = %+v, want %+v", got, want)
	}
}
