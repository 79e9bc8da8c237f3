package portal

import "time"

// Pages of the account settings and the mailed-link flows.
const (
	PageAccount        = "account"
	PageForgot         = "password_forgot"
	PageReset          = "password_reset"
	PagePasswordChange = "password_change"
	PageEmailChange    = "email_change"
	PageEmailConfirm   = "email_confirm"
	PageSessions       = "sessions"
)

// PasswordRule is the local rule for new passwords, stated above the
// fields that set one.
type PasswordRule struct {
	MinLength  int
	MinClasses int
}

// AccountItem is one entry of the account menu: a page this person may
// use, with its label and a line that says what it does (message keys).
type AccountItem struct {
	ID             string
	URL            string
	LabelKey       string
	DescriptionKey string
}

// AccountPage is /account, the account settings menu.
type AccountPage struct {
	Base
	Items []AccountItem
}

// ForgotPage is /password/forgot: it posts email and csrf_token. Sent
// shows the one answer every address gets.
type ForgotPage struct {
	Base
	Email    string
	ErrorKey string
	Sent     bool
}

// ResetPage is /password/reset?ticket=T: it posts password,
// password_confirm and csrf_token to the same URL. LinkErrorKey, when set,
// replaces the form: the link no longer works.
type ResetPage struct {
	Base
	Ticket       string
	Rule         PasswordRule
	ErrorKeys    []string
	LinkErrorKey string
}

// PasswordChangePage is /account/password: it posts current_password,
// password, password_confirm and csrf_token. MustChange explains that the
// password given must be changed before anything else; NoPassword replaces
// the form for an account that signs in without one.
type PasswordChangePage struct {
	Base
	Rule       PasswordRule
	ErrorKeys  []string
	MustChange bool
	NoPassword bool
}

// EmailChangePage is /account/email: it posts email, email_confirm,
// password (when NeedPassword) and csrf_token. Sent shows that the
// confirmation link went to the new address.
type EmailChangePage struct {
	Base
	CurrentEmail string
	Email        string
	EmailConfirm string
	NeedPassword bool
	ErrorKey     string
	Sent         bool
	// Ticket is set on /email/change?ticket=T, the page of a link an
	// administrator sent: the form posts there, and LinkErrorKey
	// replaces it when the link no longer works.
	Ticket       string
	LinkErrorKey string
}

// EmailConfirmPage is /email/confirm?ticket=T: one button that posts
// csrf_token to the same URL (link scanners only GET). Done shows the new
// address; LinkErrorKey replaces the button when the link no longer works.
type EmailConfirmPage struct {
	Base
	Ticket       string
	ErrorKey     string
	LinkErrorKey string
	Done         bool
	NewEmail     string
}

// SessionItem is one of the person's sessions on /account/sessions.
type SessionItem struct {
	// ID is what the revoke form posts as "id" (the stored id, a hash of
	// the cookie's token: it cannot be used as a cookie).
	ID string
	// Current marks the session of the browser looking at the page.
	Current    bool
	CreatedAt  time.Time
	LastSeenAt time.Time
	ClientIP   string
	// Browser is the user agent as the browser sent it, shortened.
	Browser string
	// Line is the office line the session signed in through, if any.
	Line string
}

// SessionsPage is /account/sessions: the person's sessions, each but the
// current one with a form that posts id and csrf_token to end it, and one
// that posts id=others to end every other.
type SessionsPage struct {
	Base
	Sessions []SessionItem
	// Browsers are the remembered browsers (2-step verification), each
	// with a form that posts its ID as id to forget it.
	Browsers []RememberedBrowserItem
	// Devices are the approved browsers (device approval).
	Devices  DevicesSection
	ErrorKey string
}

// RememberedBrowserItem is a browser where the second step is skipped,
// on /account/sessions.
type RememberedBrowserItem struct {
	ID string
	// Current marks the browser looking at the page.
	Current    bool
	CreatedAt  time.Time
	LastUsedAt time.Time
	ExpiresAt  time.Time
	ClientIP   string
	Browser    string
}
