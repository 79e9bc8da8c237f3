package portal

import (
	"reflect"
	"time"
)

// Pages of the admin console's audit log and organisation settings.
const (
	// PageAdminAudit is /admin/audit: the audit log, filtered and paged.
	PageAdminAudit = "admin_audit"
	// PageAdminSettings is /admin/settings: the organisation settings.
	PageAdminSettings = "admin_settings"
)

func init() {
	pageTypes[PageAdminAudit] = reflect.TypeFor[AdminAuditPage]()
	pageTypes[PageAdminSettings] = reflect.TypeFor[AdminSettingsPage]()
}

// AuditQuery is the audit log's filter form as submitted (GET): user
// (an email), action, outcome ("success" or "failure"), ip, from and to
// (dates, YYYY-MM-DD, in the portal's time zone, both included).
type AuditQuery struct {
	User, Action, Outcome, IP, From, To string
}

// AuditRow is one audit event as the log lists it.
type AuditRow struct {
	ID   int64
	Time time.Time
	// Action and Outcome are the stored values ("login", "success").
	Action, Outcome string
	// UserEmail is the event's user's current email, "" when the event
	// names no user or the user was deleted.
	UserEmail string
	Actor     string
	ClientIP  string
	Detail    string
	RequestID string
}

// AdminAuditPage is /admin/audit: the filter form, a page of events
// (newest first), a link to the next page and one to the CSV export of
// everything the filter selects.
type AdminAuditPage struct {
	Base
	Query AuditQuery
	// Errors maps a filter field (user, ip, from, to, outcome) to a
	// message key.
	Errors map[string]string
	Events []AuditRow
	// NextURL is the next page's link, "" on the last page; CSVURL the
	// export of the filtered events; FirstURL the first page (shown on
	// later pages).
	NextURL, CSVURL, FirstURL string
	// TimeZone names the zone the dates are in ("Asia/Tokyo").
	TimeZone string
}

// SettingRow is one organisation setting on the settings page.
type SettingRow struct {
	// Key is the store's key ("two_factor.required", "access_route",
	// "device_approval"); Value the value in effect.
	Key, Value string
	// FromConsole says an administrator set it (SetBy, SetAt); otherwise
	// the configuration file's default applies.
	FromConsole bool
	SetBy       string
	SetAt       time.Time
	// Ignored is a stored value that does not apply here (line_only
	// with no line registered, a malformed value), "" when none.
	Ignored string
}

// AdminSettingsPage is /admin/settings. Each setting has its own form
// posting key, value and csrf_token to /admin/settings; the 2-step form
// adds confirm (= "1"), the manual's confirmation checkbox.
type AdminSettingsPage struct {
	Base
	Settings []SettingRow
	// TwoFactor, AccessRoute and DeviceApproval are the rows' values, for
	// the forms' current choices.
	TwoFactorRequired bool
	AccessRoute       string
	DeviceApproval    bool
	// ClientIP is the administrator's own address; ClientLine the
	// registered line it is on, "" when none; HasLines whether any line
	// is registered (line_only is offered only then).
	ClientIP   string
	ClientLine string
	HasLines   bool
	// ErrorKey is a message key; Saved names the setting just changed.
	ErrorKey string
	Saved    string
}
