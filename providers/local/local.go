// Package local is the email + password provider: accounts whose argon2id
// password hashes ssogate keeps in its own store, and the rule a new
// password must meet.
//
// The package does not reach the store; the gateway hands it an Accounts
// that looks a password hash up by email. Every hash, at sign-in or when a
// password is set, runs under one memory budget (Config.MaxInFlight hashes
// of Config.Memory KiB) with a bounded queue, so a login storm is refused
// with providers.ErrBusy rather than exhausting memory.
package local

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"

	"github.com/ssogate/ssogate/credentials"
	"github.com/ssogate/ssogate/providers"
)

// ErrNoAccount means no account has the email, or the account has no
// password (it signs in elsewhere). Accounts.LookupPassword returns an
// error wrapping it; Authenticate never does.
var ErrNoAccount = errors.New("local: no such account")

// Accounts looks up password hashes. The gateway implements it over its
// store.
type Accounts interface {
	// LookupPassword returns the user id and the PHC-encoded argon2id hash
	// of the account whose login is email (already trimmed and lower-case).
	// It returns an error wrapping ErrNoAccount when there is no such
	// account or it has no password; any other error is a failure.
	LookupPassword(ctx context.Context, email string) (userID, encodedHash string, err error)
}

// HashLister is an Accounts that can list every stored hash. Provider.Learn
// reads them, so that an unknown email costs what stored hashes cost from
// the first sign-in on.
type HashLister interface {
	// PasswordHashes returns the encoded hash of every account that has
	// one, by user id.
	PasswordHashes(ctx context.Context) (map[string]string, error)
}

// HashUpdater is an Accounts that can replace a stored hash. Provider.Rehash
// needs it.
type HashUpdater interface {
	// UpdatePasswordHash stores encoded as userID's hash if the stored
	// hash is still old, and returns an error wrapping ErrHashChanged if
	// it is not (the password was changed meanwhile).
	UpdatePasswordHash(ctx context.Context, userID, old, encoded string) error
}

// ErrHashChanged is wrapped by HashUpdater.UpdatePasswordHash when the
// stored hash is no longer the one to replace.
var ErrHashChanged = errors.New("local: stored hash changed")

// Configuration defaults and limits.
const (
	DefaultMemory      = 64 * 1024 // KiB
	DefaultIterations  = 3
	DefaultParallelism = 2
	DefaultMaxWaiting  = 256

	// NoWaiting as Config.MaxWaiting refuses a hash at once when every
	// slot is busy.
	NoWaiting = -1

	minMemory      = 8 * 1024 // KiB
	maxMaxInFlight = 1 << 16
	maxMaxWaiting  = 1 << 20
	// maxLoginBytes is longer than any email (RFC 5321 allows 254).
	maxLoginBytes = 320
)

// defaultInFlightBudget caps the memory of the hashes in flight under the
// default MaxInFlight.
const defaultInFlightBudget = 256 * 1024 // KiB

// DefaultMaxInFlight is the default bound on concurrent hashes: the number
// of CPUs divided by the hash's parallelism, at least 1, and no more than
// 256 MiB of hashes in flight. A hash of parallelism p keeps p cores busy,
// so NumCPU/p hashes at once already use every core: more in flight would
// not sign anyone in sooner, only hold more memory and make each hash
// slower. At the default cost (64 MiB, p=2) that is 1 hash on 2 cores (a
// 64 MiB budget), 4 on 8 or more.
func DefaultMaxInFlight(memoryKiB uint32, parallelism uint8) int {
	n := runtime.NumCPU() / max(int(parallelism), 1)
	if memoryKiB > 0 {
		n = min(n, defaultInFlightBudget/int(memoryKiB))
	}
	return max(n, 1)
}

// Config configures a local provider. In ssogate.yaml it is written as
//
//	providers:
//	  - id: local
//	    type: local
//	    password:
//	      min_length: 8       # MinLength
//	      min_classes: 3      # MinClasses
//	    hashing:
//	      memory_kib: 65536   # Memory
//	      iterations: 3       # Iterations
//	      parallelism: 2      # Parallelism
//	      max_in_flight: 4    # MaxInFlight
//	      max_waiting: 256    # MaxWaiting
//
// A zero field takes its default; in ssogate.yaml an absent key does, and
// a written max_waiting: 0 is NoWaiting. Hashes in flight hold at most
// MaxInFlight * Memory KiB however many people sign in at once. The Go heap
// also holds the buffers of finished hashes until the collector frees them:
// in a login storm under the default GOGC=100 it peaked at about 3.5 times
// that budget; GOMEMLIMIT or a lower GOGC keeps it closer.
type Config struct {
	// MinLength is the least number of characters in a new password,
	// 8 to 256. Default 8.
	MinLength int
	// MinClasses is how many of upper, lower, digit and symbol a new
	// password must use, 1 to 4. Default 3. See Policy.
	MinClasses int

	// Memory is argon2id's memory cost for new hashes in KiB, 8192 to
	// 1048576 (1 GiB). Default 65536 (64 MiB).
	Memory uint32
	// Iterations is argon2id's time cost for new hashes, 1 to 100.
	// Default 3.
	Iterations uint32
	// Parallelism is argon2id's number of lanes for new hashes. Default 2.
	Parallelism uint8

	// MaxInFlight is how many hashes of Memory KiB may run at once, 1 to
	// 65536. Default DefaultMaxInFlight(Memory, Parallelism).
	MaxInFlight int
	// MaxWaiting is how many callers may wait for a hash slot; beyond it
	// a call fails at once with providers.ErrBusy. Default 256; NoWaiting
	// (-1) means no queue: refuse whenever every slot is busy.
	MaxWaiting int

	// DummyKey keys which stored cost each unknown email pays (see
	// Provider.Learn), at least 16 bytes. Replicas behind one load
	// balancer should share it, and it should outlive a restart, so that
	// an unknown email costs the same on every try, as a real account
	// does. Default: random for this process.
	DummyKey []byte

	// Logger receives what the operator must act on (a stored hash that
	// needs more memory than the budget). Default slog.Default().
	Logger *slog.Logger
}

// withDefaults returns c with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.MinLength == 0 {
		c.MinLength = DefaultMinLength
	}
	if c.MinClasses == 0 {
		c.MinClasses = DefaultMinClasses
	}
	if c.Memory == 0 {
		c.Memory = DefaultMemory
	}
	if c.Iterations == 0 {
		c.Iterations = DefaultIterations
	}
	if c.Parallelism == 0 {
		c.Parallelism = DefaultParallelism
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = DefaultMaxInFlight(c.Memory, c.Parallelism)
	}
	if c.MaxWaiting == 0 {
		c.MaxWaiting = DefaultMaxWaiting
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// validate checks c after defaults; each error names the field and says
// what would be valid.
func (c Config) validate() error {
	var errs []error
	if c.MinLength < DefaultMinLength || c.MinLength > MaxPasswordRunes {
		errs = append(errs, fmt.Errorf("min_length %d: want %d to %d", c.MinLength, DefaultMinLength, MaxPasswordRunes))
	}
	if c.MinClasses < 1 || c.MinClasses > 4 {
		errs = append(errs, fmt.Errorf("min_classes %d: want 1 to 4", c.MinClasses))
	}
	if c.Memory < minMemory || c.Memory > maxMemoryKiB {
		errs = append(errs, fmt.Errorf("memory %d KiB: want %d to %d", c.Memory, minMemory, maxMemoryKiB))
	}
	if c.Iterations > maxIterations {
		errs = append(errs, fmt.Errorf("iterations %d: want 1 to %d", c.Iterations, maxIterations))
	}
	if c.MaxInFlight < 1 || c.MaxInFlight > maxMaxInFlight {
		errs = append(errs, fmt.Errorf("max_in_flight %d: want 1 to %d", c.MaxInFlight, maxMaxInFlight))
	}
	if c.MaxWaiting != NoWaiting && (c.MaxWaiting < 1 || c.MaxWaiting > maxMaxWaiting) {
		errs = append(errs, fmt.Errorf("max_waiting %d: want 1 to %d, or %d for no queue", c.MaxWaiting, maxMaxWaiting, NoWaiting))
	}
	return errors.Join(errs...)
}

// Provider signs people in with an email and a password. It is safe for
// concurrent use.
type Provider struct {
	id       string
	accounts Accounts
	policy   Policy
	params   params // for new hashes
	limit    *limiter
	log      *slog.Logger
	// An unknown email verifies a dummy hash of this salt and key, at a
	// cost the census picks, so that it costs what a wrong password for
	// a real account costs.
	dummySalt, dummyKey []byte
	census              *census
	// verified holds, by user id, a verifiedHash that a successful
	// Authenticate found out of date, for Rehash to replace.
	verified sync.Map
	// bindKey keys the MAC that ties a verifiedHash to its password.
	bindKey [32]byte
}

// verifiedHash is an out-of-date stored hash that a password was just
// verified against, with a MAC of that password: Rehash stores a new hash
// only of the same password, without paying for another verification.
type verifiedHash struct {
	encoded string
	mac     []byte
}

// passwordMAC ties a password to this provider's verifiedHash entries.
func (p *Provider) passwordMAC(userID, password string) []byte {
	m := hmac.New(sha256.New, p.bindKey[:])
	m.Write([]byte(userID))
	m.Write([]byte{0})
	m.Write([]byte(password))
	return m.Sum(nil)
}

var _ providers.PasswordAuthenticator = (*Provider)(nil)

// Open returns a local provider with the given id, after applying defaults
// to cfg and validating it.
func Open(id string, cfg Config, accounts Accounts) (*Provider, error) {
	if id == "" {
		return nil, errors.New("local: empty provider id")
	}
	if accounts == nil {
		return nil, fmt.Errorf("local: provider %q: nil Accounts", id)
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("local: provider %q: %w", id, err)
	}
	p := &Provider{
		id:       id,
		accounts: accounts,
		policy:   Policy{MinLength: cfg.MinLength, MinClasses: cfg.MinClasses},
		params:   params{memory: cfg.Memory, iterations: cfg.Iterations, parallelism: cfg.Parallelism},
		log:      cfg.Logger,
	}
	if err := p.params.check(); err != nil {
		return nil, fmt.Errorf("local: provider %q: %w", id, err)
	}
	maxWaiting := cfg.MaxWaiting
	if maxWaiting == NoWaiting {
		maxWaiting = 0
	}
	p.limit = newLimiter(int64(cfg.MaxInFlight)*int64(cfg.Memory), maxWaiting)
	p.limit.onIdle = newReclaimer(p.limit.busy).idle

	// A random key of the right length is as good as hashing a random
	// password, and costs no hash at start-up.
	p.dummySalt, p.dummyKey = make([]byte, saltLen), make([]byte, keyLen)
	if _, err := rand.Read(p.dummySalt); err != nil {
		return nil, fmt.Errorf("local: provider %q: read salt: %w", id, err)
	}
	if _, err := rand.Read(p.dummyKey); err != nil {
		return nil, fmt.Errorf("local: provider %q: read key: %w", id, err)
	}
	if _, err := rand.Read(p.bindKey[:]); err != nil {
		return nil, fmt.Errorf("local: provider %q: read key: %w", id, err)
	}
	if cfg.DummyKey != nil && len(cfg.DummyKey) < 16 {
		return nil, fmt.Errorf("local: provider %q: dummy key of %d bytes, want 16 or more", id, len(cfg.DummyKey))
	}
	c, err := newCensus(cfg.DummyKey)
	if err != nil {
		return nil, fmt.Errorf("local: provider %q: %w", id, err)
	}
	p.census = c
	return p, nil
}

// ID returns the provider's configured id.
func (p *Provider) ID() string { return p.id }

// Type returns "local".
func (p *Provider) Type() string { return "local" }

// Policy returns the rule new passwords must meet. The gateway checks it
// before calling Hash.
func (p *Provider) Policy() Policy { return p.policy }

// Stats returns how many hashes are running and how many callers wait for
// a slot, for metrics.
func (p *Provider) Stats() (inFlight, waiting int) { return p.limit.stats() }

// BudgetKiB is the hashing budget: MaxInFlight * Memory KiB. A stored hash
// that needs more memory than this cannot be verified.
func (p *Provider) BudgetKiB() int64 { return p.limit.budget }

// Learn reads the cost of every stored hash when Accounts is a HashLister
// (and does nothing otherwise). Until then an unknown email costs what a
// new hash costs, which after a cost change is not what stored hashes
// cost; each verification teaches the provider one account's cost too.
func (p *Provider) Learn(ctx context.Context) error {
	lister, ok := p.accounts.(HashLister)
	if !ok {
		return nil
	}
	hashes, err := lister.PasswordHashes(ctx)
	if err != nil {
		return fmt.Errorf("local: provider %q: list password hashes: %w", p.id, err)
	}
	for userID, encoded := range hashes {
		// A malformed hash fails at its sign-in, with its user named.
		if h, err := decodeHash(encoded); err == nil {
			p.census.set(userID, h.params)
		}
	}
	return nil
}

// StoredCosts returns the cost of the stored hashes the provider knows of
// (from Learn and from verifications), each with how many accounts have
// it, cheapest first.
func (p *Provider) StoredCosts() []StoredCost { return p.census.costs() }

// dummyFor is the hash an unknown email (or an account that cannot sign
// in) is verified against: never matched, at a cost a stored hash has.
func (p *Provider) dummyFor(email string) *phcHash {
	return &phcHash{params: p.census.pick(email, p.params, p.limit.budget), salt: p.dummySalt, key: p.dummyKey}
}

// NormalizeEmail is the form a login is looked up in; see
// credentials.NormalizeEmail.
func NormalizeEmail(login string) string { return credentials.NormalizeEmail(login) }

// errInvalid is the one error for every kind of wrong credentials, so that
// callers cannot tell an unknown email from a wrong password by value or
// message.
var errInvalid = fmt.Errorf("local: %w", providers.ErrInvalidCredentials)

// Authenticate verifies login (an email, compared as NormalizeEmail makes it)
// and password. It returns an error wrapping providers.ErrInvalidCredentials
// when the email is unknown or the password wrong, after the same argon2id
// work in both cases (an unknown email pays the cost of a stored hash, see
// Learn), and so does an account whose stored hash needs more memory than
// the budget (logged for the operator); one wrapping
// providers.ErrUnavailable when Accounts fails; one wrapping providers.ErrBusy when too many hashes are queued;
// and one wrapping ctx.Err() when ctx ends while waiting for a slot.
//
// On success, Identity.Subject is the user id and Identity.Email the
// normalised login, not verified by this provider.
func (p *Provider) Authenticate(ctx context.Context, login, password string) (*providers.Identity, error) {
	// Neither check depends on whether the account exists, so refusing
	// early tells nothing, and it keeps huge input away from argon2.
	if len(password) > MaxPasswordBytes || len(login) > maxLoginBytes {
		return nil, errInvalid
	}
	email := NormalizeEmail(login)

	var userID, encoded string
	err := ErrNoAccount
	if email != "" {
		userID, encoded, err = p.accounts.LookupPassword(ctx, email)
	}
	known := false
	switch {
	case err == nil && userID != "":
		known = true
	case err == nil:
		return nil, fmt.Errorf("local: look up account: %w: empty user id", providers.ErrUnavailable)
	case errors.Is(err, ErrNoAccount):
	case ctx.Err() != nil:
		return nil, fmt.Errorf("local: look up account: %w", err)
	default:
		return nil, fmt.Errorf("local: look up account: %w: %w", providers.ErrUnavailable, err)
	}

	var h *phcHash
	if known {
		if h, err = decodeHash(encoded); err != nil {
			return nil, fmt.Errorf("local: stored hash of user %q: %w", userID, err)
		}
		p.census.set(userID, h.params)
		if need := int64(h.memory); need > p.limit.budget {
			// Start-up refuses such a budget, so the hash was stored
			// since. The account cannot sign in, and it must answer as
			// an unknown email does: same error, same cost.
			p.log.Error("stored password hash needs more memory than the hashing budget; the account cannot sign in until its password is reset or max_in_flight * memory_kib is raised",
				"provider", p.id, "user_id", userID, "memory_kib", need, "budget_kib", p.limit.budget)
			known, h = false, nil
		}
	}
	if h == nil {
		h = p.dummyFor(email)
	}
	// Errors here (busy, ctx) must not depend on whether the account
	// exists, so they carry no user id.
	ok, err := p.verify(ctx, h, password)
	if err != nil {
		return nil, err
	}
	if !ok || !known {
		return nil, errInvalid
	}
	if _, updates := p.accounts.(HashUpdater); updates && p.NeedsRehash(encoded) {
		p.verified.Store(userID, verifiedHash{encoded: encoded, mac: p.passwordMAC(userID, password)})
	}
	return &providers.Identity{
		ProviderID: p.id,
		Subject:    userID,
		Email:      email,
		AMR:        []string{"pwd"},
	}, nil
}

// verify checks password against h under the memory budget, which h
// must fit.
func (p *Provider) verify(ctx context.Context, h *phcHash, password string) (bool, error) {
	need := int64(h.memory)
	if err := p.limit.acquire(ctx, need); err != nil {
		return false, err
	}
	defer p.limit.release(need)
	return h.matches(password), nil
}

// Hash returns the PHC-encoded argon2id hash of password with the
// provider's current parameters and a fresh salt, under the same memory
// budget and queue as Authenticate (so it may fail with providers.ErrBusy
// or ctx.Err()). It does not check the Policy.
func (p *Provider) Hash(ctx context.Context, password string) (string, error) {
	if password == "" {
		return "", errors.New("local: empty password")
	}
	if len(password) > MaxPasswordBytes {
		return "", fmt.Errorf("local: password longer than %d bytes", MaxPasswordBytes)
	}
	need := int64(p.params.memory)
	if err := p.limit.acquire(ctx, need); err != nil {
		return "", err
	}
	defer p.limit.release(need)
	return newHash(password, p.params)
}

// Rehash replaces the stored hash of the account id just signed in to
// (with this password, through Authenticate) by a hash with the current
// parameters, when the stored one has others. It returns the costs of the
// old and new hash, or empty strings when there was nothing to do: the
// hash is current, Accounts is no HashUpdater, or the password changed
// meanwhile. Like Hash it may fail with providers.ErrBusy or ctx.Err();
// the old hash then stays, and the next sign-in tries again.
func (p *Provider) Rehash(ctx context.Context, id *providers.Identity, password string) (from, to string, err error) {
	updater, ok := p.accounts.(HashUpdater)
	if !ok || id == nil || id.ProviderID != p.id {
		return "", "", nil
	}
	v, ok := p.verified.LoadAndDelete(id.Subject)
	if !ok {
		return "", "", nil
	}
	vh := v.(verifiedHash)
	if !hmac.Equal(vh.mac, p.passwordMAC(id.Subject, password)) {
		return "", "", fmt.Errorf("local: rehash user %q: not the password just verified", id.Subject)
	}
	old := vh.encoded
	oldHash, err := decodeHash(old)
	if err != nil {
		return "", "", fmt.Errorf("local: rehash user %q: %w", id.Subject, err)
	}
	encoded, err := p.Hash(ctx, password)
	if err != nil {
		return "", "", fmt.Errorf("local: rehash user %q: %w", id.Subject, err)
	}
	// Only if the stored hash is still the one the password was just
	// verified against: otherwise this would undo a password change.
	if err := updater.UpdatePasswordHash(ctx, id.Subject, old, encoded); errors.Is(err, ErrHashChanged) {
		return "", "", nil
	} else if err != nil {
		return "", "", fmt.Errorf("local: rehash user %q: %w", id.Subject, err)
	}
	p.census.set(id.Subject, p.params)
	return oldHash.params.cost().String(), p.params.cost().String(), nil
}

// NeedsRehash reports whether encoded was made with parameters or sizes
// other than the provider's current ones, or cannot be decoded. After a
// successful Authenticate the gateway may then store Hash(password), so
// that cost changes reach every account as people sign in.
func (p *Provider) NeedsRehash(encoded string) bool {
	h, err := decodeHash(encoded)
	if err != nil {
		return true
	}
	return h.params != p.params || len(h.salt) != saltLen || len(h.key) != keyLen
}
