// Package store defines ssogate's persistent state: the domain types (users,
// sessions, audit events, secrets) and the Store interface that every backend
// implements. store/sqlite is the embedded default; every backend passes the
// conformance suite in store/storetest.
package store

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors returned by every backend.
var (
	// ErrNotFound means no record matched.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict means a unique value (an email) is already taken.
	ErrConflict = errors.New("store: conflict")
	// ErrUnavailable means the backend cannot serve the call right now:
	// its disk is full, it is read-only, overloaded past its lock timeout,
	// or unreachable. The error wraps the backend's cause as well, and
	// the same call may succeed later, once an operator has acted.
	ErrUnavailable = errors.New("store: unavailable")
)

// Role is what a user may administer.
type Role string

// Roles.
const (
	RoleUser  Role = "user"
	RoleAdmin Role = "admin"
)

// Status is where a user account stands.
type Status string

// Account statuses. Only StatusActive may sign in.
const (
	StatusInvited  Status = "invited"
	StatusActive   Status = "active"
	StatusLocked   Status = "locked"
	StatusDisabled Status = "disabled"
)

// User is a person who may sign in. Email is the login id and is unique,
// compared case-insensitively (backends store it lower-cased).
type User struct {
	ID           string
	Email        string
	DisplayName  string
	Phone        string
	Mobile       string
	Organization string
	Department   string
	Groups       []string
	Role         Role
	Status       Status
	// LoginMethods lists the provider ids that may sign this user in; empty
	// means any configured provider linked to the user.
	LoginMethods []string
	// Language is the person's portal language ("ja" or "en"; "" until
	// they choose one): the language of the mails sent to them.
	Language string
	// MustChangePassword sends the person to /account/password, and
	// nowhere else, until they change the password they were given.
	MustChangePassword bool
	CreatedAt          time.Time
	UpdatedAt          time.Time
	// LastLoginAt is the most recent successful sign-in; PreviousLoginAt the
	// one before it (what the personal-info page shows as "last login").
	LastLoginAt     time.Time
	PreviousLoginAt time.Time
}

// Session is a server-side sign-in. ID is the SHA-256 (hex) of the token in
// the browser's cookie, so a copy of the database holds no usable session.
type Session struct {
	ID        string
	UserID    string
	AMR       []string
	AuthTime  time.Time
	ClientIP  string
	UserAgent string
	// Line is the registered network the session came through, if any.
	Line       string
	CreatedAt  time.Time
	LastSeenAt time.Time
	// IdleExpiresAt moves forward with activity; AbsoluteExpiresAt never does.
	IdleExpiresAt     time.Time
	AbsoluteExpiresAt time.Time
}

// SessionTouch is one session's activity for TouchSessions.
type SessionTouch struct {
	ID         string
	Seen, Idle time.Time
}

// Expired reports whether s is no longer valid at now.
func (s *Session) Expired(now time.Time) bool {
	return !now.Before(s.IdleExpiresAt) || !now.Before(s.AbsoluteExpiresAt)
}

// Outcome is the result recorded in an audit event.
type Outcome string

// Audit outcomes.
const (
	OutcomeSuccess Outcome = "success"
	OutcomeFailure Outcome = "failure"
)

// AuditEvent is one append-only record of something security-relevant.
type AuditEvent struct {
	ID       int64
	Time     time.Time
	Action   string // "login", "logout", "profile_update", "user_add" ...
	UserID   string // may be empty (failed login for an unknown email)
	Actor    string // login id as typed or as known; never a secret
	ClientIP string
	Outcome  Outcome
	Detail   string // short, non-secret reason ("invalid_credentials")
	// RequestID links the event to the request's log lines.
	RequestID string
}

// AuditFilter selects audit events; zero fields do not filter.
type AuditFilter struct {
	UserID string
	Action string
	Since  time.Time
	// Until keeps events before it; Outcome and ClientIP those with that
	// outcome or client address (the admin console's filters).
	Until    time.Time
	Outcome  Outcome
	ClientIP string
	// Before keeps events with an ID below it: the next page of a
	// listing is Before = the last event's ID.
	Before int64
	// Limit caps the number of events (newest first); 0 means 100.
	Limit int
}

// SigningKey is a key that signs identity assertions (X-Ssogate-Assertion).
// The store keeps it opaque: Private is sealed (encrypted) by the gateway
// before it reaches the store.
type SigningKey struct {
	// ID is the key id ("kid") published in the JWKS.
	ID string
	// Algorithm is the JWS algorithm, "ES256".
	Algorithm string
	// Private is the sealed private key; Public the PKIX DER public key.
	Private []byte
	Public  []byte
	// CreatedAt is when the key was made; ActiveAt is when it starts to
	// sign (a rotated-in key is published before it signs, so verifiers
	// that cache the JWKS already know it).
	CreatedAt time.Time
	ActiveAt  time.Time
	// RetiredAt is when the key stopped signing; zero while it may sign.
	// A retired key stays published until its last token has expired.
	RetiredAt time.Time
}

// IdentityLink ties an identity at a provider to a user: (ProviderID,
// Subject) is unique; a user may have several links.
type IdentityLink struct {
	ProviderID string
	Subject    string
	UserID     string
	Email      string // as the provider asserted it when linked, for display
	CreatedAt  time.Time
	LastUsedAt time.Time
}

// Ticket is a one-time secret with a purpose and an expiry: a login flow's
// state, a password-reset or invitation link, a PIN, a SAML assertion id
// remembered against replay. ID is the SHA-256 (hex) of the secret, never
// the secret itself.
type Ticket struct {
	ID        string
	Purpose   string
	UserID    string // may be empty
	Data      []byte // opaque to the store
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Store is the persistent state of the gateway. All methods are safe for
// concurrent use. Times are stored with at least millisecond precision and
// returned in UTC. A call that fails because the backend cannot write or
// cannot be reached (see ErrUnavailable) returns an error wrapping
// ErrUnavailable, and changes nothing.
type Store interface {
	// CreateUser inserts u, assigning u.ID when empty and CreatedAt/UpdatedAt
	// when zero. It returns ErrConflict if the email is taken.
	CreateUser(ctx context.Context, u *User) error
	// GetUser returns the user with the given id, or ErrNotFound.
	GetUser(ctx context.Context, id string) (*User, error)
	// GetUserByEmail returns the user whose email equals email
	// case-insensitively, or ErrNotFound.
	GetUserByEmail(ctx context.Context, email string) (*User, error)
	// ListUsers returns all users ordered by email.
	ListUsers(ctx context.Context) ([]*User, error)
	// UpdateUser replaces the mutable fields of the user with u.ID (email,
	// display name, phone, mobile, organisation, department, groups, role,
	// status, login methods, language, must-change-password) and sets
	// UpdatedAt. ErrNotFound if absent,
	// ErrConflict if the new email is taken.
	UpdateUser(ctx context.Context, u *User) error
	// RecordLogin moves LastLoginAt to PreviousLoginAt and sets LastLoginAt.
	RecordLogin(ctx context.Context, userID string, at time.Time) error

	// SetPasswordHash stores an encoded password hash for the user.
	SetPasswordHash(ctx context.Context, userID, encoded string) error
	// PasswordHash returns the user's encoded password hash, or ErrNotFound
	// when the user has none.
	PasswordHash(ctx context.Context, userID string) (string, error)

	// CreateSession inserts s. It returns ErrConflict if s.ID exists.
	CreateSession(ctx context.Context, s *Session) error
	// GetSession returns the session with the given id, or ErrNotFound. It
	// returns expired sessions too; callers check Expired.
	GetSession(ctx context.Context, id string) (*Session, error)
	// TouchSession records activity: LastSeenAt = seen, IdleExpiresAt = idle.
	TouchSession(ctx context.Context, id string, seen, idle time.Time) error
	// TouchSessions records the activity of many sessions in one
	// transaction, as TouchSession does for each, and returns the ids of
	// those not found (deleted meanwhile). On error nothing is written.
	TouchSessions(ctx context.Context, touches []SessionTouch) (missing []string, err error)
	// DeleteSession removes a session; deleting a missing one is not an error.
	DeleteSession(ctx context.Context, id string) error
	// ListUserSessions returns the user's sessions, newest first.
	ListUserSessions(ctx context.Context, userID string) ([]*Session, error)
	// DeleteUserSessions removes every session of the user and returns how many.
	DeleteUserSessions(ctx context.Context, userID string) (int, error)
	// DeleteExpiredSessions removes sessions expired at now and returns how many.
	DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error)

	// AppendAudit appends e, assigning e.ID.
	AppendAudit(ctx context.Context, e *AuditEvent) error
	// ListAudit returns events matching f, newest first.
	ListAudit(ctx context.Context, f AuditFilter) ([]*AuditEvent, error)

	// Secret returns the named gateway secret (cookie keys), creating it with
	// generate() on first use. Concurrent callers all get the same value.
	Secret(ctx context.Context, name string, generate func() ([]byte, error)) ([]byte, error)

	// AddSigningKey stores k. It returns ErrConflict if k.ID exists.
	AddSigningKey(ctx context.Context, k *SigningKey) error
	// ListSigningKeys returns every key, oldest ActiveAt first.
	ListSigningKeys(ctx context.Context) ([]*SigningKey, error)
	// RetireSigningKey sets RetiredAt of key id to at, unless it is already
	// retired earlier. ErrNotFound if absent.
	RetireSigningKey(ctx context.Context, id string, at time.Time) error
	// DeleteSigningKey removes key id; deleting a missing key is not an error.
	DeleteSigningKey(ctx context.Context, id string) error

	// LinkIdentity stores l. ErrConflict if (ProviderID, Subject) is linked
	// already; ErrNotFound if the user does not exist.
	LinkIdentity(ctx context.Context, l *IdentityLink) error
	// UserByIdentity returns the user linked to (providerID, subject), or
	// ErrNotFound.
	UserByIdentity(ctx context.Context, providerID, subject string) (*User, error)
	// TouchIdentity sets LastUsedAt of the link. ErrNotFound if absent.
	TouchIdentity(ctx context.Context, providerID, subject string, at time.Time) error
	// ListUserIdentities returns the user's links, oldest first.
	ListUserIdentities(ctx context.Context, userID string) ([]*IdentityLink, error)
	// UnlinkIdentity removes a link; removing a missing one is not an error.
	UnlinkIdentity(ctx context.Context, providerID, subject string) error

	// CreateTicket stores t. ErrConflict if t.ID exists (and has not
	// expired: an expired ticket with the same id is replaced).
	CreateTicket(ctx context.Context, t *Ticket) error
	// ConsumeTicket deletes and returns the ticket with id and purpose if it
	// has not expired at now; otherwise ErrNotFound (an expired one is
	// deleted too). Exactly one of any number of concurrent callers gets it.
	ConsumeTicket(ctx context.Context, purpose, id string, now time.Time) (*Ticket, error)
	// DeleteExpiredTickets removes tickets expired at now and returns how many.
	DeleteExpiredTickets(ctx context.Context, now time.Time) (int, error)

	// Accounts holds the account flows' atomic steps, failure counts and
	// throttle windows; Outbox the messages they send (see account.go).
	Accounts
	Outbox
	// TwoStep holds 2-step verification: registered factors, recovery
	// codes and remembered browsers (see twostep.go).
	TwoStep
	// Admin holds the administrator's work: paged user search, deleting
	// users, organisation settings, pending tickets and approved devices
	// (see admin.go).
	Admin
	// Federation holds the identity-provider side: tokens issued to apps
	// and the apps each session signed in to (see federation.go).
	Federation

	// Ping reports whether the backend is reachable and can write: it
	// commits a tiny write of its own, so a full disk or a read-only
	// database fails it with an error wrapping ErrUnavailable. The answer
	// may be reused for up to about two seconds, so that frequent
	// readiness probes cost the backend little; a cancelled ctx always
	// fails.
	Ping(ctx context.Context) error
	// Close releases the backend's resources.
	Close() error
}

// ChangeKind says what a Change is about.
type ChangeKind string

// The kinds of Change a ChangeFeed reports.
const (
	// ChangeSession: the session with ID (the stored id, the SHA-256 of
	// the cookie's token) was deleted or revoked.
	ChangeSession ChangeKind = "session"
	// ChangeUser: the user with ID changed (disabled, password or email
	// changed, groups edited, sessions revoked): every cached session and
	// hand-off of that user must be re-read.
	ChangeUser ChangeKind = "user"
	// ChangeKeys: the signing keys changed (added, retired, deleted).
	ChangeKeys ChangeKind = "keys"
)

// Change is one committed change that other processes sharing the store
// must not serve stale.
type Change struct {
	Kind ChangeKind
	ID   string // session or user id; empty for ChangeKeys
}

// ChangeFeed is implemented by a store that several gateway processes
// share (PostgreSQL): it tells each of them, within milliseconds, about
// revocations committed by any of them, so their caches need not wait for
// their TTL. A store without it (SQLite, one process) leaves the caches to
// their TTL for changes made by other processes.
//
// The store itself publishes a Change, in the same transaction, from every
// method that revokes or alters what a cache holds: DeleteSession,
// DeleteUserSessions, UpdateUser, SetPasswordHash, AddSigningKey,
// RetireSigningKey, DeleteSigningKey, Accounts.Apply (for its User,
// Password and EndSessions), Admin.DeleteUser (the user and each of their
// sessions) and Admin.SetSetting (ChangeSettings).
type ChangeFeed interface {
	// WatchChanges calls changed for every Change committed by any process
	// on the store, this one included, until ctx ends; then it returns
	// ctx.Err(). live(false) is called when the feed is down (changes may
	// be missed: callers fall back to their TTL) and live(true) when it is
	// up again (callers must then drop what they cached, since changes
	// made meanwhile were missed). The first call is live(true) once the
	// feed is listening. Callbacks run on one goroutine, in order.
	WatchChanges(ctx context.Context, changed func(Change), live func(bool)) error
}
