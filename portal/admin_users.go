package portal

import (
	"reflect"
	"time"
)

// Pages of the admin console's users part.
const (
	// PageAdminHome is /admin: links to the console's parts.
	PageAdminHome = "admin_home"
	// PageAdminUsers is /admin/users: the searched, paged user list.
	PageAdminUsers = "admin_users"
	// PageAdminUser is /admin/users/{id}: one user, every action on it.
	PageAdminUser = "admin_user"
)

func init() {
	pageTypes[PageAdminHome] = reflect.TypeFor[AdminHomePage]()
	pageTypes[PageAdminUsers] = reflect.TypeFor[AdminUsersPage]()
	pageTypes[PageAdminUser] = reflect.TypeFor[AdminUserPage]()
}

// AdminLink is one entry of the console's landing page.
type AdminLink struct {
	ID, URL           string
	TitleKey, TextKey string
}

// AdminHomePage is the console's landing page.
type AdminHomePage struct {
	Base
	Links []AdminLink
}

// AdminUserRow is one user in the console's list.
type AdminUserRow struct {
	ID, ShortID, Email, Name string
	Department               string
	Groups                   []string
	Role, Status             string
	LastLogin                time.Time
}

// AdminUsersPage is the user list: a search form that GETs q, group,
// status and sort to /admin/users, a page of rows, and the link to the
// next page (NextURL, "" on the last page).
type AdminUsersPage struct {
	Base
	Q, Group, Status, Sort string
	// Statuses are the status filter's choices (Label a message key).
	Statuses          []AdminOption
	Users             []AdminUserRow
	Total             int
	NextURL, FirstURL string
	ErrorKey          string
}

// AdminOption is a choice of a select or a checkbox list.
type AdminOption struct {
	Value, Label string
	Selected     bool
}

// AdminIdentity is a linked identity on the user page, with an unlink
// form that posts provider and subject.
type AdminIdentity struct {
	ProviderID, Label, Subject, Email string
	CreatedAt, LastUsedAt             time.Time
}

// AdminAuditRow is one recent audit event of the user.
type AdminAuditRow struct {
	Time                             time.Time
	Action, Actor, Outcome, ClientIP string
	Detail                           string
}

// AdminFact is a label (message key) and a value, for an extra section.
type AdminFact struct {
	LabelKey, Value string
}

// AdminButton is a form that posts action = Action and value = Value
// to the user page, labelled by LabelKey.
type AdminButton struct {
	Action, Value, LabelKey string
	// Danger styles the button as a destructive action.
	Danger bool
}

// AdminSectionRow is one item of an extra section: facts and an optional
// button.
type AdminSectionRow struct {
	Facts  []AdminFact
	Button *AdminButton
}

// AdminSection is a part of the user page another flow adds (approved
// devices, the login-method-change link …): a heading, an explanation,
// rows and buttons, all posting to the user page with their action.
type AdminSection struct {
	ID                   string
	TitleKey, ExplainKey string
	Rows                 []AdminSectionRow
	EmptyKey             string
	Buttons              []AdminButton
}

// AdminUserPage is one user's console page. Every form posts csrf_token
// and action (profile, unlink, unlock, reset_2fa, revoke_session,
// revoke_all, forget_browser, forget_browsers, send_reset, disable,
// enable, delete, or an extra section's) to /admin/users/{ID}.
type AdminUserPage struct {
	Base
	ID, ShortID, Email string
	Role, Status       string
	CreatedAt          time.Time
	LastLogin          time.Time
	// Self is the administrator's own account: role, disable and delete
	// are not offered.
	Self bool

	Form ProfileForm
	// Groups is the groups, comma-separated, as the form shows them.
	Groups string
	// Methods are the configured providers, checked when allowed;
	// AnyMethod when the user has no restriction.
	Methods   []AdminOption
	AnyMethod bool
	// Errors maps a form field to a message key; Managed a field a
	// linked provider owns to its label (read-only).
	Errors  map[string]string
	Managed map[string]string

	Identities []AdminIdentity
	TwoStepOn  bool
	Factors    []string
	Recovery   int
	Sessions   []SessionItem
	Browsers   []RememberedBrowserItem
	Audit      []AdminAuditRow
	// Sections are the parts other flows add, after the built-in ones.
	Sections []AdminSection
	ErrorKey string
}

// AdminField is one personal-info input of the user page's form.
type AdminField struct {
	Name, Type, Value string
	// Managed is the label of the provider that owns the field; "" when
	// the administrator may edit it.
	Managed string
}

// ProfileFields are the personal-info inputs, in the order of /me.
func (p AdminUserPage) ProfileFields() []AdminField {
	values := []string{p.Form.DisplayName, p.Form.Phone, p.Form.Mobile, p.Form.Organization, p.Form.Department}
	out := make([]AdminField, len(profileFields))
	for i, name := range profileFields {
		typ := "text"
		if name == "phone" || name == "mobile" {
			typ = "tel"
		}
		out[i] = AdminField{Name: name, Type: typ, Value: values[i], Managed: p.Managed[name]}
	}
	return out
}
