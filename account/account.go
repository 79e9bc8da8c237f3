// Package account is the account lifecycle as plain Go, without HTTP:
// lockout and its unlock link, device cookies' own failure budgets, the
// per-address throttle, password reset and change, must-change-password,
// and email change. Each step commits its writes, mail included, in one
// store transaction (store.Accounts.Apply). The gateway's handlers and the
// CLI both call it; neither holds flow logic of its own.
package account

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/ssogate/ssogate/credentials"
	"github.com/ssogate/ssogate/mfa"
	"github.com/ssogate/ssogate/notify"
	"github.com/ssogate/ssogate/store"
)

// Store is what the account flows need of the store: every backend's
// whole Store, since it keeps the accounts' state and the outbox.
type Store = store.Store

// Passwords hashes and checks local passwords; the gateway passes the
// local provider, whose hashing queue bounds memory.
type Passwords interface {
	// Hash returns the encoded hash of password at the current cost.
	Hash(ctx context.Context, password string) (string, error)
	// Check reports nil when password is the local password of the user
	// with this email, and an error wrapping ErrWrongPassword otherwise.
	Check(ctx context.Context, email, password string) error
}

// Options configure a Service. Store, Compose, Passwords and Link are
// required.
type Options struct {
	Store     Store
	Compose   *notify.Composer
	Passwords Passwords
	// Link returns the absolute URL of path (such as "/unlock") on the
	// portal with the ticket secret in its query.
	Link func(path, ticket string) string
	// Policy holds the limits and link lifetimes.
	Policy Policy
	// Location is the time zone expiries are written in, in mails.
	Location *time.Location
	// Now is the clock; time.Now when nil. Tests move it.
	Now func() time.Time
	Log *slog.Logger

	// Rule is the rule new local passwords meet (the local provider's
	// policy); CheckPassword adds the name and common-password checks.
	Rule credentials.PasswordRule
	// ProviderLabel names a sign-in provider to the person, in lang (the
	// label on the login page), for the mail that tells a person without
	// a password how they sign in. Nil uses the provider id.
	ProviderLabel func(providerID, lang string) string
	// ResetSecondFactor is the hook of 2-step verification: it removes
	// the user's 2-step registration (authenticator app, phone, recovery
	// codes, remembered browsers). A password reset calls it, and so does
	// a confirmed email change of an account with a password, once their
	// own writes are committed: both hand the account to whoever holds a
	// mailbox, and the second factor must then be set up again. An error
	// is logged; the reset or change stands. Nil while 2-step
	// verification does not exist.
	ResetSecondFactor func(ctx context.Context, userID string) error
	// Enqueued, when set, is called after a step committed messages to the
	// outbox, so that the sending worker need not wait for its next poll.
	Enqueued func()
	// IdentityCheck is policy.identity_check (the PIN identity check),
	// whose state PendingKey seals too.
	IdentityCheck IdentityCheckPolicy

	// TwoStep is policy.two_factor; Factors the second factors wired (by
	// cmd/ssogate: none leaves 2-step verification off). PendingKey seals
	// pending sign-ins and enrolments in the store, FactorKey the
	// factors' secrets (TOTP keys); both are 32 bytes the gateway derives
	// from the master secret.
	TwoStep    TwoStepPolicy
	Factors    []mfa.Factor
	PendingKey []byte
	FactorKey  []byte
	// Org, when set, gives TwoStep's Required and LineOnly at each use:
	// an administrator switches them at runtime (the organisation
	// settings), and the next sign-in follows.
	Org func() (required, lineOnly bool)
}

// Policy is the account part of the organisation's policy (config
// policy.lockout, policy.password_reset, policy.email_change).
type Policy struct {
	// MaxFailures consecutive wrong passwords lock a local account.
	MaxFailures int
	// UnlockLinkTTL is how long the mailed unlock link works.
	UnlockLinkTTL time.Duration
	// ResetLinkTTL is how long a password-reset link works.
	ResetLinkTTL time.Duration
	// EmailChangeLinkTTL is how long an email-change confirmation works.
	EmailChangeLinkTTL time.Duration
	// InvitationLinkTTL is how long an invitation (and a login-method
	// change link) works (policy.invitation.link_ttl).
	InvitationLinkTTL time.Duration

	// ThrottleMaxFailures failed sign-ins from one client address within
	// ThrottleWindow make the address wait until the window ends;
	// ThrottleLineMaxFailures replaces it for addresses on a registered
	// line (config policy.throttle).
	ThrottleMaxFailures     int
	ThrottleLineMaxFailures int
	ThrottleWindow          time.Duration
	// MailLanguage is the language of mails to a person who has not
	// chosen one (portal.default_language; "ja" when empty).
	MailLanguage string
}

// Service runs the account flows. It is safe for concurrent use.
type Service struct {
	st   Store
	comp *notify.Composer
	pw   Passwords
	link func(path, ticket string) string
	pol  Policy
	loc  *time.Location
	now  func() time.Time
	log  *slog.Logger

	rule     credentials.PasswordRule
	label    func(providerID, lang string) string
	reset2FA func(ctx context.Context, userID string) error
	enqueued func()
	idc      IdentityCheckPolicy
	pinSeal  *sealer

	twoStep     TwoStepPolicy
	org         func() (required, lineOnly bool)
	factors     map[mfa.Kind]mfa.Factor
	pendingSeal *sealer
	factorSeal  *sealer

	// Device approval seals its requests under the pending key (see
	// devices_approval.go), whether or not 2-step verification is on.
	deviceKey  []byte
	deviceOnce sync.Once
	deviceSeal *sealer
	deviceErr  error
}

// New returns a Service.
func New(o Options) *Service {
	s := &Service{st: o.Store, comp: o.Compose, pw: o.Passwords, link: o.Link, pol: o.Policy,
		loc: o.Location, now: o.Now, log: o.Log,
		rule: o.Rule, label: o.ProviderLabel, reset2FA: o.ResetSecondFactor, enqueued: o.Enqueued,
		deviceKey: o.PendingKey}
	if s.now == nil {
		s.now = time.Now
	}
	if s.loc == nil {
		s.loc = time.UTC
	}
	s.idc = o.IdentityCheck
	if ps, err := newSealer(o.PendingKey); err == nil {
		s.pinSeal = ps
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.twoStep, s.org = o.TwoStep, o.Org
	if len(o.Factors) > 0 {
		ps, perr := newSealer(o.PendingKey)
		fs, ferr := newSealer(o.FactorKey)
		if err := errors.Join(perr, ferr); err != nil {
			// The keys come from the gateway's key derivation; without
			// them no factor could be kept, so 2-step verification is off.
			s.log.Error("2-step verification is off", "err", err)
			return s
		}
		s.pendingSeal, s.factorSeal = ps, fs
		s.factors = make(map[mfa.Kind]mfa.Factor, len(o.Factors))
		for _, f := range o.Factors {
			s.factors[f.Kind()] = f
		}
	}
	return s
}

// ErrWrongPassword means a password given to confirm a change (the
// current password) is not the person's.
var ErrWrongPassword = errors.New("account: wrong password")

// apply commits one step and, when it queued messages, wakes the worker
// that sends them.
// Messages are dated by the service's clock, as its tickets are, so that
// they fall due on the same time line as the rest of the flow.
func (s *Service) apply(ctx context.Context, b *store.Batch) (*store.Ticket, error) {
	now := s.now()
	for _, m := range b.Messages {
		if m.CreatedAt.IsZero() {
			m.CreatedAt = now
		}
		if m.NextAttemptAt.IsZero() {
			m.NextAttemptAt = m.CreatedAt
		}
	}
	t, err := s.st.Apply(ctx, b)
	if err == nil && len(b.Messages) > 0 && s.enqueued != nil {
		s.enqueued()
	}
	return t, err
}
