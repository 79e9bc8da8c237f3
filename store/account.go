package store

import (
	"context"
	"time"
)

// Ticket purposes of the account flows (issue 8 onwards). A ticket's ID is
// the SHA-256 (hex) of the secret in the mailed link.
const (
	PurposeUnlock        = "unlock"
	PurposePasswordReset = "password_reset"
	PurposeEmailChange   = "email_change"
)

// Channel is how an outbox message travels.
type Channel string

// Channels. Only mail exists today; SMS and voice follow with 2-step
// verification.
const (
	ChannelMail Channel = "mail"
)

// Message is one outbox row: a message to send, written in the same
// transaction as the change that causes it (Apply) and sent later by the
// notify worker, so that a process that dies between the two loses
// nothing. Data is sealed (encrypted) by the caller before it reaches the
// store, because it holds one-time links; the store keeps it opaque and
// drops it once the message is sent or given up.
type Message struct {
	// ID is assigned by EnqueueMessage / Apply when empty. It is also the
	// Message-ID's left part, so a resend after a crash mid-send can be
	// recognised by the receiving mail system.
	ID       string
	Channel  Channel
	Template string // "account_locked", "password_reset", ...
	To       string // mail address or E.164 number
	Language string // "ja" or "en"
	UserID   string // may be empty
	Data     []byte // sealed template values

	CreatedAt time.Time
	// NextAttemptAt is when the message is due (CreatedAt at first).
	NextAttemptAt time.Time
	// Attempts counts the tries made; LastError is the last try's error
	// (never holding the link or any secret).
	Attempts  int
	LastError string
	// SentAt is set once sent; GaveUpAt once the worker gave up. A message
	// with either is never claimed again.
	SentAt   time.Time
	GaveUpAt time.Time
}

// MessageFilter selects outbox messages for an operator's view; zero
// fields do not filter.
type MessageFilter struct {
	UserID   string
	Template string
	// Pending selects messages neither sent nor given up.
	Pending bool
	// Limit caps the number of messages (newest first); 0 means 100.
	Limit int
}

// Outbox is the store's side of the transactional outbox.
type Outbox interface {
	// EnqueueMessage stores m on its own (a message without a cause in the
	// store, such as `ssogate mail test`), assigning m.ID when empty and
	// CreatedAt / NextAttemptAt when zero.
	EnqueueMessage(ctx context.Context, m *Message) error
	// ClaimMessages leases to owner, until now+lease, up to limit messages
	// that are due at now (NextAttemptAt <= now), neither sent nor given up,
	// and not leased to anyone at now; and returns them, oldest due first.
	// Any number of processes may claim concurrently: a message is leased
	// to one of them at a time.
	ClaimMessages(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]*Message, error)
	// MessageSent marks message id sent at `at` and drops its Data, if it
	// is still leased to owner; otherwise ErrNotFound (the lease ran out
	// and the message may have gone to another process).
	MessageSent(ctx context.Context, id, owner string, at time.Time) error
	// MessageFailed records a failed try of message id leased to owner:
	// Attempts+1, LastError = reason, the lease released. With giveUp the
	// message is given up at `at` (GaveUpAt set, Data dropped); otherwise it
	// is due again at next. ErrNotFound when not leased to owner.
	MessageFailed(ctx context.Context, id, owner, reason string, at, next time.Time, giveUp bool) error
	// ListMessages returns messages matching f, newest first.
	ListMessages(ctx context.Context, f MessageFilter) ([]*Message, error)
}

// Batch is the writes of one step of an account flow, committed by
// Accounts.Apply in one transaction: all of them or none. Nil and empty
// fields write nothing. The order of effects is the order of the fields.
type Batch struct {
	// Consume, when set, names a ticket that must exist, have Consume's
	// purpose and not have expired at Consume.Now: Apply deletes it and
	// returns it. When it does not, Apply changes nothing and returns
	// ErrNotFound. Exactly one of any number of concurrent Applies that
	// consume the same ticket succeeds.
	Consume *TicketUse
	// User replaces the mutable fields of the user with User.ID, as
	// UpdateUser does (ErrNotFound, ErrConflict on a taken email, and the
	// user's ChangeUser on the change feed).
	User *User
	// Password stores a new password hash, as SetPasswordHash does.
	Password *PasswordWrite
	// EndSessions deletes every session of the user except Keep (a
	// session id, may be empty), publishing each on the change feed.
	EndSessions *SessionsEnd
	// DropTickets deletes the user's unexpired tickets of these purposes
	// (a used reset link invalidates the others sent before it).
	DropTickets *TicketsDrop
	// ClearFailures, a user id, resets every failure count of the user
	// (all devices): an unlock or a password reset starts them afresh.
	ClearFailures string
	// Tickets are created as CreateTicket does.
	Tickets []*Ticket
	// Messages are enqueued as EnqueueMessage does.
	Messages []*Message
	// Audit events are appended as AppendAudit does.
	Audit []*AuditEvent
}

// TicketUse names a ticket to consume in a Batch.
type TicketUse struct {
	Purpose string
	ID      string
	Now     time.Time
}

// PasswordWrite is a password hash to store in a Batch.
type PasswordWrite struct {
	UserID  string
	Encoded string
}

// SessionsEnd ends a user's sessions in a Batch, all but Keep.
type SessionsEnd struct {
	UserID string
	Keep   string
}

// TicketsDrop deletes a user's tickets of some purposes in a Batch.
type TicketsDrop struct {
	UserID   string
	Purposes []string
}

// Accounts is the store's side of the account lifecycle: atomic flow
// steps, consecutive-failure counts for lockout, and counters in time
// windows for throttling.
type Accounts interface {
	// Apply commits b in one transaction and returns the consumed ticket
	// (nil when b.Consume is nil). On any error nothing is written.
	Apply(ctx context.Context, b *Batch) (*Ticket, error)
	// CountFailure adds one wrong password for the user from device (a
	// device cookie's id; "" for every browser without one) at `at` and
	// returns the consecutive count for that (user, device), this one
	// included. Concurrent calls each get a distinct count.
	CountFailure(ctx context.Context, userID, device string, at time.Time) (int, error)
	// Failures returns the consecutive count for (user, device), 0 when
	// none.
	Failures(ctx context.Context, userID, device string) (int, error)
	// ClearFailure resets the count of (user, device) after a correct
	// password from it.
	ClearFailure(ctx context.Context, userID, device string) error
	// Hit counts one event under key (such as "login_ip:203.0.113.9" or a
	// hashed address) in a fixed window of length window that starts at the
	// key's first hit, and returns the count within the current window and
	// when that window ends. A window that has ended starts afresh.
	// Concurrent calls each get a distinct count.
	Hit(ctx context.Context, key string, at time.Time, window time.Duration) (count int, resetAt time.Time, err error)
	// HitCount returns, without counting, the count of key's window that is
	// current at `at` and when it ends; 0 and the zero time when none.
	HitCount(ctx context.Context, key string, at time.Time) (count int, resetAt time.Time, err error)
	// DeleteExpiredHits removes windows ended at now and returns how many.
	DeleteExpiredHits(ctx context.Context, now time.Time) (int, error)
}
