package store

import "time"

// Dump is everything a store holds, rows as stored, for copying one
// backend into another (`ssogate migrate --from sqlite:… --to
// postgres:…`): a backend that can be copied from exports one, a backend
// that can be copied into imports one, ids and times unchanged.
type Dump struct {
	Users     []*User
	Passwords []PasswordHash
	Links     []*IdentityLink
	Keys      []*SigningKey
	Secrets   []Secret
	Tickets   []*Ticket
	Sessions  []*Session
	Audit     []*AuditEvent
	// Messages are the outbox messages still to send (neither sent nor
	// given up), without their lease: the new store's workers claim them
	// afresh. Sent and given-up ones are not copied; the audit trail
	// records them.
	Messages []*Message
	// Failures are the consecutive-failure counts of lockout. Throttle
	// windows (Accounts.Hit) are not copied: they end within minutes.
	Failures []FailureCount
	// Factors, RecoveryCodes and Browsers are 2-step verification's
	// registered factors (Secret as sealed), unused recovery codes and
	// remembered browsers, expired ones included.
	Factors       []*Factor
	RecoveryCodes []RecoveryCode
	Browsers      []*RememberedBrowser
	// Settings are the organisation settings set in the admin console;
	// Devices the browsers administrators approved.
	Settings []*Setting
	Devices  []*ApprovedDevice
	// OAuthTokens are the tokens the OpenID Provider issued, used and
	// expired ones included (a used refresh token still detects a
	// replay); SessionClients the apps each session signed in to.
	OAuthTokens    []*OAuthToken
	SessionClients []*SessionClient
}

// RecoveryCode is one unused recovery code of a user as stored: the
// SHA-256 (hex) of the normalised code.
type RecoveryCode struct {
	UserID string
	Hash   string
}

// FailureCount is the consecutive wrong passwords of a (user, device) as
// stored.
type FailureCount struct {
	UserID string
	Device string
	Count  int
	LastAt time.Time
}

// PasswordHash is a user's encoded password hash as stored.
type PasswordHash struct {
	UserID    string
	Hash      string
	UpdatedAt time.Time
}

// Secret is a named gateway secret (cookie keys) as stored.
type Secret struct {
	Name      string
	Value     []byte
	CreatedAt time.Time
}

// TableCount is how many rows of a kind a store holds.
type TableCount struct {
	Table string
	Rows  int
}

// Counts returns the rows of each kind in d, in a fixed order, named as
// the backends' tables are.
func (d *Dump) Counts() []TableCount {
	return []TableCount{
		{"users", len(d.Users)},
		{"passwords", len(d.Passwords)},
		{"identity_links", len(d.Links)},
		{"signing_keys", len(d.Keys)},
		{"secrets", len(d.Secrets)},
		{"tickets", len(d.Tickets)},
		{"sessions", len(d.Sessions)},
		{"audit_events", len(d.Audit)},
		{"outbox", len(d.Messages)},
		{"failure_counts", len(d.Failures)},
		{"factors", len(d.Factors)},
		{"recovery_codes", len(d.RecoveryCodes)},
		{"remembered_browsers", len(d.Browsers)},
		{"settings", len(d.Settings)},
		{"approved_devices", len(d.Devices)},
		{"oauth_tokens", len(d.OAuthTokens)},
		{"session_clients", len(d.SessionClients)},
	}
}
