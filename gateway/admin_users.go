package gateway

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/ssogate/ssogate/account"
	"github.com/ssogate/ssogate/portal"
	"github.com/ssogate/ssogate/store"
)

// adminUsersPageSize is how many users a page of the console's list
// shows: enough to scan on a desk, short enough for a phone.
const adminUsersPageSize = 50

// adminAuditShown is how many of a user's recent audit events the user
// page shows; the audit page has the rest.
const adminAuditShown = 20

// maxAdminQuery bounds the search text and filters.
const maxAdminQuery = 200

// adminUserRoutes registers the console's landing page and its users
// part, behind the console's guard.
func (g *Gateway) adminUserRoutes(mux *http.ServeMux) {
	g.adminRoute(mux, "GET /admin", g.adminHome)
	g.adminRoute(mux, "GET /admin/users", g.adminUsers)
	g.adminRoute(mux, "GET /admin/users/{id}", g.adminUser)
	g.adminRoute(mux, "POST /admin/users/{id}", g.adminUserSubmit)
}

// adminHome is GET /admin: the console's parts.
func (g *Gateway) adminHome(w http.ResponseWriter, r *http.Request, sess *store.Session, admin *store.User) {
	page := portal.AdminHomePage{Base: g.base(w, r, sess, admin), Links: []portal.AdminLink{
		{ID: "users", URL: "/admin/users", TitleKey: "admin.home.users", TextKey: "admin.home.users_text"},
		{ID: "invitations", URL: "/admin/invitations", TitleKey: "admin.home.invitations", TextKey: "admin.home.invitations_text"},
		{ID: "audit", URL: "/admin/audit", TitleKey: "admin.home.audit", TextKey: "admin.home.audit_text"},
		{ID: "settings", URL: "/admin/settings", TitleKey: "admin.home.settings", TextKey: "admin.home.settings_text"},
	}}
	g.renderPage(w, r, http.StatusOK, portal.PageAdminHome, page)
}

// adminUsers is GET /admin/users?q=&group=&status=&sort=&cursor=: a page
// of the users the search selects.
func (g *Gateway) adminUsers(w http.ResponseWriter, r *http.Request, sess *store.Session, admin *store.User) {
	v := r.URL.Query()
	page := portal.AdminUsersPage{Base: g.base(w, r, sess, admin), FirstURL: "/admin/users",
		Q: strings.TrimSpace(v.Get("q")), Group: strings.TrimSpace(v.Get("group")),
		Status: v.Get("status"), Sort: v.Get("sort")}
	for _, st := range []store.Status{store.StatusActive, store.StatusLocked, store.StatusDisabled, store.StatusInvited} {
		page.Statuses = append(page.Statuses, portal.AdminOption{Value: string(st), Label: "admin.status." + string(st),
			Selected: page.Status == string(st)})
	}
	if v.Get("deleted") == "1" {
		page.NoticeKey = "admin.users.deleted"
	}
	q := store.UserQuery{Text: page.Q, Group: page.Group, Status: store.Status(page.Status),
		Sort: store.UserSort(page.Sort), Cursor: v.Get("cursor"), Limit: adminUsersPageSize}
	switch {
	case !adminQueryOK(page.Q) || !adminQueryOK(page.Group) || len(q.Cursor) > maxAdminQuery:
		page.ErrorKey = "admin.users.error.query"
	case !validStatus(q.Status):
		page.ErrorKey = "admin.users.error.status"
	case q.Sort != "" && q.Sort != store.SortEmail && q.Sort != store.SortLastLogin:
		page.ErrorKey = "admin.users.error.sort"
	}
	if page.ErrorKey != "" {
		page.Status, page.Sort = "", ""
		g.renderPage(w, r, http.StatusBadRequest, portal.PageAdminUsers, page)
		return
	}
	res, err := g.store.SearchUsers(r.Context(), q)
	if err != nil {
		if q.Cursor != "" && !errors.Is(err, store.ErrUnavailable) {
			// A cursor edited by hand or from before a change of the
			// listing: the first page is one click away.
			g.log.Warn("user search cursor refused", "request_id", requestID(r.Context()), "err", err)
			page.ErrorKey = "admin.users.error.cursor"
			g.renderPage(w, r, http.StatusBadRequest, portal.PageAdminUsers, page)
			return
		}
		code, key := storeFailure(w, err)
		g.fail(w, r, code, key, err)
		return
	}
	page.Total = res.Total
	for _, u := range res.Users {
		page.Users = append(page.Users, portal.AdminUserRow{ID: u.ID, ShortID: account.ShortID(u.ID), Email: u.Email,
			Name: u.DisplayName, Department: u.Department, Groups: u.Groups, Role: string(u.Role),
			Status: string(u.Status), LastLogin: u.LastLoginAt})
	}
	if res.Next != "" {
		next := url.Values{}
		for _, k := range []string{"q", "group", "status", "sort"} {
			if x := v.Get(k); x != "" {
				next.Set(k, x)
			}
		}
		next.Set("cursor", res.Next)
		page.NextURL = "/admin/users?" + next.Encode()
	}
	g.renderPage(w, r, http.StatusOK, portal.PageAdminUsers, page)
}

// adminQueryOK accepts a search text or filter: valid UTF-8, bounded.
func adminQueryOK(s string) bool {
	return utf8.ValidString(s) && len(s) <= maxAdminQuery && !hasControl(s)
}

// validStatus reports whether s is "" (any) or an account status.
func validStatus(s store.Status) bool {
	switch s {
	case "", store.StatusInvited, store.StatusActive, store.StatusLocked, store.StatusDisabled:
		return true
	}
	return false
}

// adminTarget reads the user the path names, or answers 404.
func (g *Gateway) adminTarget(w http.ResponseWriter, r *http.Request) (*store.User, bool) {
	u, err := g.store.GetUser(r.Context(), r.PathValue("id"))
	switch {
	case errors.Is(err, store.ErrNotFound):
		g.fail(w, r, http.StatusNotFound, "error.not_found", nil)
		return nil, false
	case err != nil:
		code, key := storeFailure(w, err)
		g.fail(w, r, code, key, err)
		return nil, false
	}
	return u, true
}

// adminUserNotices are the banners of the user page after an action
// (?done=action).
var adminUserNotices = map[string]string{
	"profile":         "admin.user.done.profile",
	"unlink":          "admin.user.done.unlink",
	"unlock":          "admin.user.done.unlock",
	"reset_2fa":       "admin.user.done.reset_2fa",
	"revoke_session":  "admin.user.done.revoke_session",
	"revoke_all":      "admin.user.done.revoke_all",
	"forget_browser":  "admin.user.done.forget_browser",
	"forget_browsers": "admin.user.done.forget_browser",
	"send_reset":      "admin.user.done.send_reset",
	"disable":         "admin.user.done.disable",
	"enable":          "admin.user.done.enable",
}

// adminUser is GET /admin/users/{id}.
func (g *Gateway) adminUser(w http.ResponseWriter, r *http.Request, sess *store.Session, admin *store.User) {
	u, ok := g.adminTarget(w, r)
	if !ok {
		return
	}
	page, err := g.adminUserView(w, r, sess, admin, u)
	if err != nil {
		code, key := storeFailure(w, err)
		g.fail(w, r, code, key, err)
		return
	}
	done := r.URL.Query().Get("done")
	page.NoticeKey = adminUserNotices[done]
	for _, ext := range adminUserExtensions {
		if a, ok := ext.Actions[done]; ok {
			page.NoticeKey = a.NoticeKey
		}
	}
	g.renderPage(w, r, http.StatusOK, portal.PageAdminUser, page)
}

// adminUserView is the user page of u as stored, for admin.
func (g *Gateway) adminUserView(w http.ResponseWriter, r *http.Request, sess *store.Session, admin, u *store.User) (portal.AdminUserPage, error) {
	ctx := r.Context()
	lang := g.lang(r)
	page := portal.AdminUserPage{Base: g.base(w, r, sess, admin), ID: u.ID, ShortID: account.ShortID(u.ID),
		Email: u.Email, Role: string(u.Role), Status: string(u.Status), CreatedAt: u.CreatedAt, LastLogin: u.LastLoginAt,
		Self: u.ID == admin.ID, Groups: strings.Join(u.Groups, ", "), AnyMethod: len(u.LoginMethods) == 0,
		Form: portal.ProfileForm{DisplayName: u.DisplayName, Phone: u.Phone, Mobile: u.Mobile,
			Organization: u.Organization, Department: u.Department},
		TwoStepOn: g.account.TwoStepOn()}
	var err error
	if page.Managed, err = g.managedFields(ctx, u.ID, lang); err != nil {
		return page, err
	}
	for _, pc := range g.cfg.Providers {
		page.Methods = append(page.Methods, portal.AdminOption{Value: pc.ID, Label: orID(g.providerLabel(pc.ID, lang), pc.ID),
			Selected: slices.Contains(u.LoginMethods, pc.ID)})
	}
	links, err := g.store.ListUserIdentities(ctx, u.ID)
	if err != nil {
		return page, err
	}
	for _, l := range links {
		page.Identities = append(page.Identities, portal.AdminIdentity{ProviderID: l.ProviderID,
			Label: orID(g.providerLabel(l.ProviderID, lang), l.ProviderID), Subject: l.Subject, Email: l.Email,
			CreatedAt: l.CreatedAt, LastUsedAt: l.LastUsedAt})
	}
	if page.TwoStepOn {
		st, err := g.account.Status(ctx, u.ID)
		if err != nil {
			return page, err
		}
		for _, f := range st.Factors {
			page.Factors = append(page.Factors, strings.TrimSpace(f.Kind+" "+f.Name+" "+f.Target))
		}
		page.Recovery = st.RecoveryLeft
		bs, err := g.account.RememberedBrowsers(ctx, u.ID)
		if err != nil {
			return page, err
		}
		for _, b := range bs {
			page.Browsers = append(page.Browsers, portal.RememberedBrowserItem{ID: b.ID, CreatedAt: b.CreatedAt,
				LastUsedAt: b.LastUsedAt, ExpiresAt: b.ExpiresAt, ClientIP: b.ClientIP,
				Browser: truncate(b.UserAgent, maxBrowserBytes)})
		}
	}
	list, err := g.account.Sessions(ctx, u.ID)
	if err != nil {
		return page, err
	}
	for _, s := range list {
		page.Sessions = append(page.Sessions, portal.SessionItem{ID: s.ID, Current: s.ID == sess.ID,
			CreatedAt: s.CreatedAt, LastSeenAt: s.LastSeenAt, ClientIP: s.ClientIP,
			Browser: truncate(s.UserAgent, maxBrowserBytes), Line: s.Line})
	}
	events, err := g.store.ListAudit(ctx, store.AuditFilter{UserID: u.ID, Limit: adminAuditShown})
	if err != nil {
		return page, err
	}
	for _, e := range events {
		page.Audit = append(page.Audit, portal.AdminAuditRow{Time: e.Time, Action: e.Action, Actor: e.Actor,
			Outcome: string(e.Outcome), ClientIP: e.ClientIP, Detail: e.Detail})
	}
	for _, ext := range adminUserExtensions {
		if ext.Section == nil {
			continue
		}
		sec, err := ext.Section(g, r, u)
		if err != nil {
			return page, err
		}
		if sec != nil {
			page.Sections = append(page.Sections, *sec)
		}
	}
	return page, nil
}

// orID is label, or id when the label is empty (the local provider).
func orID(label, id string) string {
	if label == "" {
		return id
	}
	return label
}

// adminUserAction is an action another flow adds to the user page (a
// button in its AdminSection posting action = its name). Run performs
// it for the administrator a on u; it returns a message key when the
// input is refused (nothing changed; the page shows it with 400), or an
// error when the action failed.
type adminUserAction struct {
	NoticeKey string
	Run       func(g *Gateway, r *http.Request, a account.Admin, u *store.User) (refusedKey string, err error)
}

// adminUserExtension is a part of the user page that another flow adds,
// from an init function in its own file (approved devices, the
// login-method-change link …): a section (nil for none) and the actions
// its buttons post.
type adminUserExtension struct {
	Section func(g *Gateway, r *http.Request, u *store.User) (*portal.AdminSection, error)
	Actions map[string]adminUserAction
}

// adminUserExtensions are the extensions registered so far; see
// adminUserExtension.
var adminUserExtensions []adminUserExtension

// adminUserSubmit is POST /admin/users/{id}: the action the field
// "action" names, on that user, by the signed-in administrator.
func (g *Gateway) adminUserSubmit(w http.ResponseWriter, r *http.Request, sess *store.Session, admin *store.User) {
	u, ok := g.adminTarget(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	a := account.Admin{User: admin, Origin: g.flowOrigin(r)}
	action := r.PostFormValue("action")
	var err error
	switch action {
	case "profile":
		err = g.adminEditProfile(ctx, r, a, u)
	case "unlink":
		err = g.account.Unlink(ctx, a, u.ID, r.PostFormValue("provider"), r.PostFormValue("subject"))
	case "unlock":
		_, err = g.account.AdminUnlock(ctx, a, u.ID)
	case "reset_2fa":
		err = g.account.AdminResetTwoStep(ctx, a, u.ID)
	case "revoke_session":
		id := r.PostFormValue("id")
		if err = g.account.RevokeSession(ctx, a, u.ID, id); err == nil {
			g.sessions.forget(id)
			g.handoffs.forget(id)
		}
	case "revoke_all":
		_, err = g.account.RevokeAllSessions(ctx, a, u.ID)
	case "forget_browser":
		// An empty id would forget them all: that is forget_browsers.
		err = account.ErrNoSuchBrowser
		if id := r.PostFormValue("id"); id != "" {
			err = g.account.AdminForgetBrowser(ctx, a, u.ID, id)
		}
	case "forget_browsers":
		err = g.account.AdminForgetBrowser(ctx, a, u.ID, "")
	case "send_reset":
		err = g.account.SendResetLink(ctx, a, u.ID)
	case "disable":
		_, err = g.account.SetStatus(ctx, a, u.ID, store.StatusDisabled)
	case "enable":
		_, err = g.account.SetStatus(ctx, a, u.ID, store.StatusActive)
	case "delete":
		if _, err = g.account.DeleteUser(ctx, a, u.ID, r.PostFormValue("confirm_email")); err == nil {
			g.sessions.forgetUser(u.ID)
			http.Redirect(w, r, "/admin/users?deleted=1", http.StatusSeeOther)
			return
		}
	default:
		err = g.adminExtensionAction(r, a, u, action)
	}
	if err != nil {
		g.adminUserRefused(w, r, sess, admin, u, err)
		return
	}
	// Every action may change what a cached session of the user holds
	// (status, groups, role, sessions ended): drop them all.
	g.sessions.forgetUser(u.ID)
	http.Redirect(w, r, "/admin/users/"+url.PathEscape(u.ID)+"?done="+url.QueryEscape(action), http.StatusSeeOther)
}

// errUnknownAction is an action no part of the page offers.
var errUnknownAction = errors.New("gateway: unknown console action")

// adminExtensionAction runs an extension's action.
func (g *Gateway) adminExtensionAction(r *http.Request, a account.Admin, u *store.User, action string) error {
	for _, ext := range adminUserExtensions {
		act, ok := ext.Actions[action]
		if !ok {
			continue
		}
		key, err := act.Run(g, r, a, u)
		if err == nil && key != "" {
			err = &adminRefusal{key: key}
		}
		return err
	}
	return errUnknownAction
}

// adminRefusal is an extension's refused input, with its message key.
type adminRefusal struct{ key string }

func (e *adminRefusal) Error() string { return "gateway: console action refused: " + e.key }

// adminEditProfile applies the profile form: the personal fields, groups,
// role and allowed login methods.
func (g *Gateway) adminEditProfile(ctx context.Context, r *http.Request, a account.Admin, u *store.User) error {
	managed, err := g.managedFields(ctx, u.ID, "")
	if err != nil {
		return err
	}
	// Fields a linked provider owns keep their stored value, as on /me.
	for f := range managed {
		r.PostForm.Set(f, profileValue(u, f))
	}
	form, errs := validateProfile(r.PostForm)
	for f := range managed {
		delete(errs, f)
	}
	if len(errs) > 0 {
		return &adminFormError{errs: errs}
	}
	groups := strings.FieldsFunc(r.PostFormValue("groups"), func(c rune) bool { return c == ',' || c == '\n' || c == '、' })
	methods := r.PostForm["methods"]
	if methods == nil {
		methods = []string{}
	}
	var providers []string
	for _, pc := range g.cfg.Providers {
		providers = append(providers, pc.ID)
	}
	e := account.UserEdit{DisplayName: &form.DisplayName, Phone: &form.Phone, Mobile: &form.Mobile,
		Organization: &form.Organization, Department: &form.Department, Groups: &groups,
		LoginMethods: &methods, Managed: managed, Providers: providers}
	if role := store.Role(r.PostFormValue("role")); role != "" {
		e.Role = &role
	}
	_, err = g.account.EditUser(ctx, a, u.ID, e)
	return err
}

// adminFormError carries the profile form's field errors to the page.
type adminFormError struct{ errs map[string]string }

func (e *adminFormError) Error() string { return "gateway: console profile form has errors" }

// adminUserRefused answers an action that changed nothing: the user
// page again with the reason, or an error page when the store failed.
func (g *Gateway) adminUserRefused(w http.ResponseWriter, r *http.Request, sess *store.Session, admin, u *store.User, err error) {
	status, key := http.StatusBadRequest, ""
	var fields map[string]string
	var fe *adminFormError
	var ee *account.AdminEditError
	var ref *adminRefusal
	switch {
	case errors.As(err, &fe):
		fields, key = fe.errs, "admin.user.error.form"
	case errors.As(err, &ee):
		fields, key = map[string]string{ee.Field: "admin.user.error.invalid"}, "admin.user.error.form"
		if errors.Is(err, account.ErrManagedField) {
			fields[ee.Field] = "admin.user.error.managed"
		}
	case errors.As(err, &ref):
		key = ref.key
	case errors.Is(err, account.ErrSelfAction):
		status, key = http.StatusForbidden, "admin.user.error.self"
	case errors.Is(err, account.ErrConfirmMismatch):
		key = "admin.user.error.confirm"
	case errors.Is(err, account.ErrNoSuchLink), errors.Is(err, account.ErrNoSuchSession), errors.Is(err, account.ErrNoSuchBrowser):
		status, key = http.StatusNotFound, "admin.user.error.gone"
	case errors.Is(err, account.ErrNotActive):
		status, key = http.StatusConflict, "admin.user.error.not_active"
	case errors.Is(err, errUnknownAction):
		key = "admin.user.error.action"
	case errors.Is(err, store.ErrNotFound):
		g.fail(w, r, http.StatusNotFound, "error.not_found", nil)
		return
	default:
		code, k := storeFailure(w, err)
		g.fail(w, r, code, k, err)
		return
	}
	fresh, gerr := g.store.GetUser(r.Context(), u.ID)
	if gerr != nil {
		code, k := storeFailure(w, gerr)
		g.fail(w, r, code, k, gerr)
		return
	}
	page, verr := g.adminUserView(w, r, sess, admin, fresh)
	if verr != nil {
		code, k := storeFailure(w, verr)
		g.fail(w, r, code, k, verr)
		return
	}
	page.ErrorKey, page.Errors = key, fields
	if fe != nil {
		// The form shows what was typed, so that the mistake can be
		// corrected rather than typed again.
		page.Form, _ = validateProfile(r.PostForm)
		page.Groups = r.PostFormValue("groups")
	}
	g.renderPage(w, r, status, portal.PageAdminUser, page)
}

// adminTile is the launcher's tile of the console, shown to
// administrators.
func adminTile(lang string) portal.Tile {
	return portal.Tile{ID: "ssogate-admin", Name: portal.T(lang, "admin.tile.name"),
		Description: portal.T(lang, "admin.tile.desc"), Icon: "settings", URL: adminPrefix}
}

// ManagedFields returns the profile fields (display_name, phone …) that
// the user's linked sign-in providers own, each mapped to the provider's
// label: the CLI refuses to edit them, as the console does.
func (g *Gateway) ManagedFields(ctx context.Context, userID string) (map[string]string, error) {
	return g.managedFields(ctx, userID, "")
}
