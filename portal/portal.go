// Package portal renders the pages a person sees — login, launcher, personal
// info, sign-out confirmation, errors — in Japanese and English. It holds no
// flow logic: the gateway decides, the portal renders the view models below.
// Templates and static assets are embedded; nothing is loaded from a CDN.
package portal

import "time"

// Page names accepted by Renderer.Render.
const (
	PageLogin   = "login"
	PageHome    = "home"
	PageProfile = "profile"
	PageLogout  = "logout"
	PageError   = "error"
	PagePost    = "post"
)

// Base is what every page needs. Message keys (fields named *Key and the
// values of Errors maps) are translated by the portal into Lang.
type Base struct {
	// Lang is "ja" or "en".
	Lang string
	// SiteTitle is the configured portal title.
	SiteTitle string
	// CSRFToken goes into every POST form as the hidden field "csrf_token".
	CSRFToken string
	// User is the signed-in person shown in the header; nil when signed out.
	User *UserHeader
	// Path is the current path and query, the return target of the
	// language switch.
	Path string
	// RequestID is shown on error pages so support can find the log line.
	RequestID string
	// Notice is an optional message key shown as a banner.
	NoticeKey string
}

// UserHeader is the header's "who am I": login id and display name.
type UserHeader struct {
	LoginID string
	Name    string
	// ShortID is the person's short user id (account.ShortID), which the
	// identity check asks for.
	ShortID string
}

// LoginPage is the sign-in page: a password form and a button per
// federated provider. The form posts email, password, return_to and
// csrf_token to FormAction.
type LoginPage struct {
	Base
	Email    string
	ReturnTo string
	// ErrorKey is a message key, or "".
	ErrorKey string
	// PasswordLabel is the heading of the password form, or "".
	PasswordLabel string
	// ShowPasswordForm shows the email + password form.
	ShowPasswordForm bool
	// FormAction is where the password form posts; "" means /login.
	FormAction string
	// DirectoryLogin labels the login field "user name or email" and
	// accepts any text (a directory's sAMAccountName, UPN or mail).
	DirectoryLogin bool
	// Providers are the buttons of the other ways to sign in, in
	// configuration order.
	Providers []ProviderButton
	// OtherMethods links back to /login from a provider's own form.
	OtherMethods bool
	// ForgotPassword links to /password/forgot under the password form.
	ForgotPassword bool
	// Passkey shows "sign in with a passkey", leading to /login/passkey.
	Passkey bool
}

// ProviderButton is one "sign in with …" button; it leads to URL.
type ProviderButton struct {
	ID    string
	Label string
	URL   string
	// Unavailable shows the button disabled, "temporarily unavailable".
	Unavailable bool
}

// Tile is one service on the launcher.
type Tile struct {
	ID          string
	Name        string
	Description string
	Icon        string
	URL         string
}

// HomePage is the launcher ("ホーム").
type HomePage struct {
	Base
	Tiles []Tile
}

// ProfileForm holds the editable personal-info fields, as submitted.
type ProfileForm struct {
	DisplayName  string
	Phone        string
	Mobile       string
	Organization string
	Department   string
}

// ProfilePage is the personal-info page: read-only facts and an edit form
// that posts display_name, phone, mobile, organization, department and
// csrf_token to /me.
type ProfilePage struct {
	Base
	Email  string
	Groups []string
	Form   ProfileForm
	// Errors maps a form field name (display_name, phone …) to a message key.
	Errors map[string]string
	// Managed maps a field a sign-in provider owns to that provider's
	// name: shown read-only, with a note.
	Managed map[string]string
	// Saved is true right after a successful update.
	Saved bool
	// PreviousLogin is the sign-in before the current one; zero if none.
	PreviousLogin time.Time
	// SessionIP and SessionLine describe the current session.
	SessionIP   string
	SessionLine string
	// MobileForSMS notes under the mobile number that 2-step
	// verification's SMS codes go there (SMS is offered).
	MobileForSMS bool
	// DraftOwner goes into the form as the hidden field "draft_owner": it
	// names, signed, whose edit this is, so that an edit sent after the
	// session ended can be kept for that person alone.
	DraftOwner string
}

// profileFields are the personal-info fields in the order of the form.
var profileFields = []string{"display_name", "phone", "mobile", "organization", "department"}

// FieldError is one entry of a form's error summary: the field's id, its
// label and the problem, as message keys.
type FieldError struct {
	Field      string
	LabelKey   string
	MessageKey string
}

// ErrorList is Errors in the order of the form, for the error summary that
// takes the focus after a failed save. Keys of Errors that are not fields
// of the form are left out.
func (p ProfilePage) ErrorList() []FieldError {
	var out []FieldError
	for _, f := range profileFields {
		if key := p.Errors[f]; key != "" {
			out = append(out, FieldError{Field: f, LabelKey: "profile." + f, MessageKey: key})
		}
	}
	return out
}

// LogoutPage asks "sign out?" and posts csrf_token to /logout.
type LogoutPage struct {
	Base
}

// PostPage hands the browser to a provider that wants a POST (SAML's
// HTTP-POST binding). The person presses the button; with AutoSubmit the
// page loads static/autopost.js, which submits the form at once (the
// gateway then allows that script on the page), and the button stays for
// a browser without scripts.
type PostPage struct {
	Base
	Action        string
	Fields        map[string][]string
	ProviderLabel string
	// ExplainKey is the message above the button (its argument is
	// ProviderLabel); default "post.explain".
	ExplainKey string
	AutoSubmit bool
}

// ErrorPage explains a failure safely.
type ErrorPage struct {
	Base
	Status     int
	MessageKey string
}
