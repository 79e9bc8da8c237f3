package store

import (
	"context"
	"time"
)

// Ticket purposes of 2-step verification (issue 9).
const (
	// PurposeSignInPending is a sign-in that passed its first factor and
	// waits at the second step (or at enrolment): no session exists yet.
	// The browser holds the ticket's secret in a short-lived cookie; each
	// step consumes the ticket and, when the sign-in must wait further (a
	// wrong code), writes a new one under a new secret.
	PurposeSignInPending = "signin_pending"
)

// Channels of 2-step verification codes.
const (
	ChannelSMS   Channel = "sms"
	ChannelVoice Channel = "voice"
)

// Factor kinds (Factor.Kind), the mfa package's kinds.
const (
	FactorTOTP     = "totp"
	FactorSMS      = "sms"
	FactorVoice    = "voice"
	FactorWebAuthn = "webauthn"
)

// Factor is one second factor a user registered: an authenticator app, a
// phone for SMS or voice codes, a passkey or security key. Recovery codes
// are kept apart (SetRecoveryCodes).
type Factor struct {
	// ID is assigned by AddFactor when empty.
	ID     string
	UserID string
	// Kind is FactorTOTP, FactorSMS, FactorVoice or FactorWebAuthn.
	Kind string
	// Name is what the person calls it ("iPhone", "YubiKey"); may be empty.
	Name string
	// Handle finds the factor without knowing its user: a WebAuthn
	// credential id (base64url), for passwordless sign-in. Empty for the
	// other kinds. (Kind, Handle) is unique when Handle is set.
	Handle string
	// Target is the E.164 phone number of an SMS or voice factor.
	Target string
	// Secret is sealed (encrypted) by the caller before it reaches the
	// store: a TOTP key, a WebAuthn credential record. Opaque to the store.
	Secret []byte
	// Counter is the TOTP time step last accepted (a code is accepted
	// once only), or a WebAuthn authenticator's signature count.
	Counter   int64
	CreatedAt time.Time
	// LastUsedAt is the last successful verification; zero when never.
	LastUsedAt time.Time
}

// RememberedBrowser is a browser in which a person passed the second step
// and asked to be remembered: the step is skipped there while it is used
// at least every remember_browser (sliding). ID is the SHA-256 (hex) of
// the token in the browser's cookie.
type RememberedBrowser struct {
	ID        string
	UserID    string
	UserAgent string
	ClientIP  string
	CreatedAt time.Time
	// LastUsedAt moves with each sign-in the browser skipped the step in;
	// ExpiresAt with it (LastUsedAt + remember_browser).
	LastUsedAt time.Time
	ExpiresAt  time.Time
}

// TwoStep is the store's side of 2-step verification: registered
// factors, recovery codes and remembered browsers. Every backend
// implements it (Store embeds it) and store/storetest checks it.
type TwoStep interface {
	// PeekTicket returns the unexpired ticket with id and purpose at now
	// without consuming it (the page of a pending sign-in reads its state;
	// only its POST consumes it), or ErrNotFound.
	PeekTicket(ctx context.Context, purpose, id string, now time.Time) (*Ticket, error)

	// AddFactor stores f, assigning f.ID when empty and f.CreatedAt when
	// zero. ErrNotFound if the user does not exist; ErrConflict if
	// (f.Kind, f.Handle) is taken (Handle set).
	AddFactor(ctx context.Context, f *Factor) error
	// ListFactors returns the user's factors, oldest first.
	ListFactors(ctx context.Context, userID string) ([]*Factor, error)
	// FactorByHandle returns the factor of kind with handle, or
	// ErrNotFound.
	FactorByHandle(ctx context.Context, kind, handle string) (*Factor, error)
	// UseFactor records a successful verification of factor id at `at`:
	// Counter becomes counter and LastUsedAt at, but only when counter is
	// greater than the stored Counter, or both are 0 (an authenticator
	// that keeps no signature count); otherwise it changes nothing and
	// returns ErrConflict (a TOTP code's step used already; a cloned
	// authenticator). Exactly one of concurrent calls with the same
	// counter succeeds. ErrNotFound if absent.
	UseFactor(ctx context.Context, id string, counter int64, at time.Time) error
	// RenameFactor sets the Name of the user's factor id. ErrNotFound if
	// the user has no such factor.
	RenameFactor(ctx context.Context, userID, id, name string) error
	// DeleteFactor removes the user's factor id. ErrNotFound if the user
	// has no such factor.
	DeleteFactor(ctx context.Context, userID, id string) error

	// SetRecoveryCodes replaces every recovery code of the user with
	// hashes (SHA-256 hex of the normalised codes; empty removes them all).
	SetRecoveryCodes(ctx context.Context, userID string, hashes []string) error
	// UseRecoveryCode deletes the user's recovery code with hash. It
	// returns ErrNotFound when there is none; exactly one of concurrent
	// calls with the same hash succeeds.
	UseRecoveryCode(ctx context.Context, userID, hash string) error
	// RecoveryCodesLeft returns how many unused recovery codes the user has.
	RecoveryCodesLeft(ctx context.Context, userID string) (int, error)

	// RememberBrowser stores b. ErrConflict if b.ID exists; ErrNotFound
	// if the user does not.
	RememberBrowser(ctx context.Context, b *RememberedBrowser) error
	// UseRememberedBrowser reports that the browser id skipped the step
	// for userID at now: when it is that user's and has not expired at
	// now, LastUsedAt becomes now and ExpiresAt now+slide; otherwise
	// ErrNotFound (an expired record is deleted).
	UseRememberedBrowser(ctx context.Context, id, userID string, now time.Time, slide time.Duration) error
	// ListRememberedBrowsers returns the user's unexpired remembered
	// browsers at now, most recently used first.
	ListRememberedBrowsers(ctx context.Context, userID string, now time.Time) ([]*RememberedBrowser, error)
	// ForgetBrowser deletes the user's remembered browser id. ErrNotFound
	// if the user has no such browser.
	ForgetBrowser(ctx context.Context, userID, id string) error
	// DeleteExpiredBrowsers removes remembered browsers expired at now and
	// returns how many.
	DeleteExpiredBrowsers(ctx context.Context, now time.Time) (int, error)

	// ResetTwoStep removes the user's whole 2-step registration in one
	// transaction: every factor, every recovery code and every remembered
	// browser. Resetting a user with none is not an error.
	ResetTwoStep(ctx context.Context, userID string) error
}
