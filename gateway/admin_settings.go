package gateway

import (
	"fmt"
	"net/http"
	"slices"

	"github.com/ssogate/ssogate/config"
	"github.com/ssogate/ssogate/portal"
	"github.com/ssogate/ssogate/store"
)

// settingsPath is the organisation settings page.
const settingsPath = "/admin/settings"

// adminSettingsPage is GET /admin/settings: each organisation setting in
// effect and where it came from, and a form per setting.
func (g *Gateway) adminSettingsPage(w http.ResponseWriter, r *http.Request, sess *store.Session, admin *store.User) {
	saved := r.URL.Query().Get("saved")
	if !slices.Contains(orgSettingKeys, saved) {
		saved = ""
	}
	g.renderSettings(w, r, sess, admin, http.StatusOK, "", saved)
}

// renderSettings renders the settings page with an error (a message key)
// or the key of the setting just saved.
func (g *Gateway) renderSettings(w http.ResponseWriter, r *http.Request, sess *store.Session, admin *store.User,
	status int, errKey, saved string) {
	ctx := r.Context()
	// Read now rather than from the snapshot: the page should show what
	// the store holds even if a change notice is still on its way.
	stored, err := g.store.Settings(ctx)
	if err != nil {
		code, key := storeFailure(w, err)
		g.fail(w, r, code, key, err)
		return
	}
	vs := EffectiveSettings(g.cfg, stored)
	eff := orgSettingsOf(vs)
	ip := clientIP(ctx)
	page := portal.AdminSettingsPage{Base: g.base(w, r, sess, admin), ErrorKey: errKey, Saved: saved,
		TwoFactorRequired: eff.TwoFactorRequired, AccessRoute: eff.AccessRoute, DeviceApproval: eff.DeviceApproval,
		ClientIP: ip.String(), ClientLine: g.lineFor(ctx, ip), HasLines: hasNetworkProvider(g.cfg)}
	emails := userEmails{g: g}
	for _, v := range vs {
		row := portal.SettingRow{Key: v.Key, Value: v.Value, Ignored: v.IgnoredValue}
		if s := v.Stored; s != nil {
			row.FromConsole, row.SetAt = true, s.UpdatedAt
			if row.SetBy = emails.of(ctx, s.UpdatedBy); row.SetBy == "" {
				row.SetBy = s.UpdatedBy // the administrator was deleted since
			}
		}
		page.Settings = append(page.Settings, row)
	}
	g.renderPage(w, r, status, portal.PageAdminSettings, page)
}

// adminSettingsSubmit is POST /admin/settings: key and value change one
// organisation setting. Switching 2-step verification needs confirm=1
// (the manual's "I have read the above"); line_only is refused unless the
// administrator's own address is on a registered line, so that nobody
// locks themselves out. The change is stored (every process rereads it
// on the change notice), applied here at once, and audited naming the
// administrator.
func (g *Gateway) adminSettingsSubmit(w http.ResponseWriter, r *http.Request, sess *store.Session, admin *store.User) {
	ctx := r.Context()
	key, value := r.PostFormValue("key"), r.PostFormValue("value")
	if !slices.Contains(settingChoices[key], value) {
		g.refuseSetting(w, r, sess, admin, key, value, "admin.settings.error.value", "bad_value")
		return
	}
	switch {
	case key == store.SettingTwoFactorRequired && r.PostFormValue("confirm") != "1":
		g.refuseSetting(w, r, sess, admin, key, value, "admin.settings.error.confirm", "not_confirmed")
		return
	case key == store.SettingAccessRoute && value == config.AccessLineOnly && !hasNetworkProvider(g.cfg):
		g.refuseSetting(w, r, sess, admin, key, value, "admin.settings.error.no_lines", "no_line")
		return
	case key == store.SettingAccessRoute && value == config.AccessLineOnly && g.lineFor(ctx, clientIP(ctx)) == "":
		g.refuseSetting(w, r, sess, admin, key, value, "admin.settings.error.off_line", "admin_off_line")
		return
	}
	before := g.orgValue(key)
	if err := g.store.SetSetting(ctx, &store.Setting{Key: key, Value: value, UpdatedBy: admin.ID, UpdatedAt: g.now()}); err != nil {
		code, errKey := storeFailure(w, err)
		g.fail(w, r, code, errKey, err)
		return
	}
	// This process applies it at once; the others on the change notice.
	g.shared.orgSettingsChanged(ctx)
	g.audit(ctx, store.AuditEvent{Action: "admin_setting_change", UserID: admin.ID, Actor: admin.Email,
		Outcome: store.OutcomeSuccess, Detail: fmt.Sprintf("%s=%s was=%s", key, value, before)})
	http.Redirect(w, r, settingsPath+"?saved="+key, http.StatusSeeOther)
}

// refuseSetting answers a refused change: audited (naming the
// administrator), the page again with the reason, nothing stored.
func (g *Gateway) refuseSetting(w http.ResponseWriter, r *http.Request, sess *store.Session, admin *store.User,
	key, value, errKey, reason string) {
	g.audit(r.Context(), store.AuditEvent{Action: "admin_setting_change", UserID: admin.ID, Actor: admin.Email,
		Outcome: store.OutcomeFailure, Detail: fmt.Sprintf("%s %.64s=%.64s", reason, key, value)})
	g.renderSettings(w, r, sess, admin, http.StatusBadRequest, errKey, "")
}

// orgValue is the value of setting key in effect now.
func (g *Gateway) orgValue(key string) string {
	for _, v := range g.orgNow().values {
		if v.Key == key {
			return v.Value
		}
	}
	return ""
}

// settingChoices are the values the settings page offers, by key.
var settingChoices = map[string][]string{
	store.SettingTwoFactorRequired: {"true", "false"},
	store.SettingAccessRoute:       {config.AccessLineAndInternet, config.AccessLineOnly},
	store.SettingDeviceApproval:    {"true", "false"},
}
