package portal

import (
	"reflect"
	"time"
)

// Pages of invitations and login-method links, and of the console's
// invitations.
const (
	PageInvite           = "invite"
	PageAdminInvitations = "admin_invitations"
)

func init() {
	pageTypes[PageInvite] = reflect.TypeFor[InvitePage]()
	pageTypes[PageAdminInvitations] = reflect.TypeFor[AdminInvitationsPage]()
}

// InvitePage states.
const (
	// InviteChoose: the password form and a button per provider.
	InviteChoose = "choose"
	// InviteConfirm: 申込確認, the method and the address, and the final
	// button; nothing is stored before it.
	InviteConfirm = "confirm"
	// InviteDirectory: a directory's (AD, LDAP) user name and password,
	// posted with step "directory".
	InviteDirectory = "directory"
	// InviteDone: the account is ready; a link to sign in.
	InviteDone = "done"
	// InviteInvalid: the link is used, replaced, revoked or expired.
	InviteInvalid = "invalid"
)

// InvitePage is /invite?ticket=T (an invitation) or /login-method?ticket=T
// (a login-method change an administrator sent): the person chooses a
// password or a provider, confirms, and is done. Every form posts
// csrf_token and step to Action (with the ticket in its query).
type InvitePage struct {
	Base
	// Action is the page's path and query, where its forms post.
	Action string
	// MethodChange words the page for a login-method change.
	MethodChange bool
	State        string
	Email        string
	Name         string
	// Password offers the password form, stating Rule.
	Password  bool
	Rule      PasswordRule
	ErrorKeys []string
	// Providers are the buttons of the providers the person may link.
	Providers []ProviderButton
	// MethodLabel is the chosen method on the confirmation screen;
	// Provider its id ("" for a password), Token the kept password's.
	MethodLabel string
	Provider    string
	Token       string
	// LinkErrorKey says why an invalid link no longer works.
	LinkErrorKey string
}

// AdminInvitationsPage is /admin/invitations: the invite form, the CSV
// upload and its preview, and the pending invitations.
type AdminInvitationsPage struct {
	Base
	// NoticeText is a result to show (already translated pieces: the
	// count of invitations sent); ErrorKey a message key.
	Sent     int
	ErrorKey string
	// Form values of the single invite, kept on an error.
	Email, Name, Groups string
	// Preview is the parsed CSV, when one was uploaded; Batch the token
	// that keeps it server-side for the confirm form.
	Preview *InvitePreview
	Pending []PendingInvitation
}

// InvitePreview is a parsed CSV before anything is created.
type InvitePreview struct {
	Batch string
	Rows  []InviteRow
	// Bad counts the rows with an error; Good the others.
	Bad, Good int
}

// InviteRow is one CSV row in the preview; ErrorKey is "" for a good
// row.
type InviteRow struct {
	Line     int
	Email    string
	Name     string
	Groups   []string
	ErrorKey string
}

// PendingInvitation is one row of the pending invitations.
type PendingInvitation struct {
	UserID  string
	Email   string
	Name    string
	Groups  []string
	Inviter string
	Sent    time.Time
	Expires time.Time
}
