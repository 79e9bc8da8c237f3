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
	}
}
