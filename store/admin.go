package store

import (
	"context"
	"time"
)

// Ticket purposes of the administrator's flows (issue 10).
const (
	// PurposeInvitation: an invitation link; the ticket's UserID is the
	// invited user (status invited), Data the flow's sealed details.
	PurposeInvitation = "invitation"
	// PurposeMethodChange: a link an administrator sends so that the
	// person chooses a new login method themselves.
	PurposeMethodChange = "method_change"
	// PurposeEmailChangeLink: a link an administrator sends so that the
	// person enters a new email address themselves.
	PurposeEmailChangeLink = "email_change_link"
	// PurposePIN: a PIN identity check in progress (sealed state: the
	// PIN's hash, tries, the chosen target).
	PurposePIN = "pin"
	// PurposeDeviceApproval: a new browser waiting for an administrator's
	// approval; PurposeDeviceToken: the one-time token mailed to the
	// person once approved.
	PurposeDeviceApproval = "device_approval"
	PurposeDeviceToken    = "device_token"
)

// Organisation settings the admin console changes at runtime; the YAML
// gives their defaults.
const (
	// SettingTwoFactorRequired: "true" or "false" (policy.two_factor.required).
	SettingTwoFactorRequired = "two_factor.required"
	// SettingAccessRoute: "line_and_internet" or "line_only" (policy.access_route).
	SettingAccessRoute = "access_route"
	// SettingDeviceApproval: "true" or "false" (policy.device_approval).
	SettingDeviceApproval = "device_approval"
)

// ChangeSettings on the change feed: an organisation setting changed;
// every process re-reads the settings.
const ChangeSettings ChangeKind = "settings"

// UserSort orders a user listing.
type UserSort string

// User listing orders.
const (
	// SortEmail: by email, ascending (the default).
	SortEmail UserSort = "email"
	// SortLastLogin: most recent sign-in first; never signed in last.
	SortLastLogin UserSort = "last_login"
)

// UserQuery selects a page of users for the admin console; zero fields
// do not filter.
type UserQuery struct {
	// Text matches, case-insensitively, a part of the email, display
	// name or department, or a whole group name.
	Text string
	// Group keeps users in this group; Status users with this status.
	Group  string
	Status Status
	// Role keeps users with this role (the administrators a device
	// approval is mailed to).
	Role Role
	Sort UserSort
	// Cursor is the Next of the previous page ("" for the first page).
	Cursor string
	// Limit caps the page; 0 means 50, at most 500.
	Limit int
}

// UserPage is one page of a user listing.
type UserPage struct {
	Users []*User
	// Next is the cursor of the following page; "" on the last page.
	Next string
	// Total counts every user the query matches (all pages).
	Total int
}

// Setting is an organisation setting as stored.
type Setting struct {
	Key, Value string
	// UpdatedBy is the administrator (user id) who set it.
	UpdatedBy string
	UpdatedAt time.Time
}

// ApprovedDevice is a browser an administrator approved for a user
// (device approval): the step is not asked again there while the record
// exists. ID is the SHA-256 (hex) of the token in the browser's cookie.
type ApprovedDevice struct {
	ID         string
	UserID     string
	UserAgent  string
	ClientIP   string
	ApprovedBy string // administrator's user id
	CreatedAt  time.Time
	LastUsedAt time.Time
}

// Admin is the store's side of the administrator's work: paged user
// search, deleting users, organisation settings, the tickets of pending
// invitations, and approved devices. Every backend implements it and
// store/storetest checks it.
type Admin interface {
	// SearchUsers returns the page of users q selects. It stays fast
	// (indexed, no full scan per page beyond the filter) with 100,000
	// users.
	SearchUsers(ctx context.Context, q UserQuery) (*UserPage, error)
	// UsersByIDPrefix returns the users whose id starts with prefix, at
	// most two (the PIN identity check needs to know one, or that the
	// short id is ambiguous), through the primary key's index, so that
	// its cost does not grow with the number of users. An empty prefix
	// finds none.
	UsersByIDPrefix(ctx context.Context, prefix string) ([]*User, error)
	// DeleteUser removes the user and everything that is theirs
	// (sessions, identity links, password, factors, recovery codes,
	// remembered and approved browsers, tickets, failure counts),
	// publishing ChangeUser; audit events stay. ErrNotFound if absent.
	DeleteUser(ctx context.Context, id string) error

	// Settings returns every stored organisation setting.
	Settings(ctx context.Context) ([]*Setting, error)
	// SetSetting stores s (UpdatedAt when zero is now) and publishes
	// ChangeSettings.
	SetSetting(ctx context.Context, s *Setting) error

	// ListTickets returns the unexpired tickets of purpose at now, newest
	// first (pending invitations).
	ListTickets(ctx context.Context, purpose string, now time.Time) ([]*Ticket, error)
	// DeleteTickets removes the tickets of purpose whose UserID is userID
	// (a revoked invitation) and returns how many.
	DeleteTickets(ctx context.Context, purpose, userID string) (int, error)

	// AddDevice stores d. ErrConflict if d.ID exists; ErrNotFound if the
	// user does not.
	AddDevice(ctx context.Context, d *ApprovedDevice) error
	// UseDevice reports that device id of userID was used at `at`;
	// ErrNotFound when it is not that user's approved device.
	UseDevice(ctx context.Context, id, userID string, at time.Time) error
	// ListDevices returns the user's approved devices, most recently used
	// first.
	ListDevices(ctx context.Context, userID string) ([]*ApprovedDevice, error)
	// DeleteDevice removes the user's approved device id. ErrNotFound if
	// the user has no such device.
	DeleteDevice(ctx context.Context, userID, id string) error
}
