package portal

import "reflect"

// Pages of lockout and its unlock link.
const (
	// PageUnlock is /unlock: the button that unlocks, and its outcome.
	PageUnlock = "unlock"
	// PageThrottled answers a client that failed to sign in too often
	// (429).
	PageThrottled = "throttled"
)

func init() {
	pageTypes[PageUnlock] = reflect.TypeFor[UnlockPage]()
	pageTypes[PageThrottled] = reflect.TypeFor[ThrottledPage]()
}

// Unlock page states.
const (
	// UnlockConfirm shows one button that posts ticket and csrf_token to
	// /unlock: a mail scanner that follows the link unlocks nothing.
	UnlockConfirm = "confirm"
	// UnlockDone says the account is unlocked and links to /login.
	UnlockDone = "done"
	// UnlockInvalid says the link is invalid, used or expired, and that
	// a password reset (/password/forgot) unlocks the account too.
	UnlockInvalid = "invalid"
)

// UnlockPage is /unlock?ticket=T in one of its states.
type UnlockPage struct {
	Base
	// State is UnlockConfirm, UnlockDone or UnlockInvalid.
	State string
	// Ticket is the link's ticket, posted back by the confirm form.
	Ticket string
}

// ThrottledPage says that sign-ins from this address are paused after
// too many failures, and for about how long.
type ThrottledPage struct {
	Base
	// Minutes until sign-ins are checked again, at least 1.
	Minutes int
}
