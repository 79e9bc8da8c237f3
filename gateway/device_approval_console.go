package gateway

import (
	"errors"
	"net/http"

	"github.com/ssogate/ssogate/account"
	"github.com/ssogate/ssogate/portal"
	"github.com/ssogate/ssogate/store"
)

// The console's user page lists the user's approved devices (device
// approval), each with a button that revokes it: a section and an action
// added through the page's extensions.
func init() {
	adminUserExtensions = append(adminUserExtensions, adminUserExtension{
		Section: devicesAdminSection,
		Actions: map[string]adminUserAction{"revoke_device": {NoticeKey: "devices.notice.revoked", Run: revokeDeviceAction}},
	})
}

// devicesAdminSection is the user page's list of u's approved devices;
// none while device approval applies nowhere and u has none.
func devicesAdminSection(g *Gateway, r *http.Request, u *store.User) (*portal.AdminSection, error) {
	ds, err := g.account.Devices(r.Context(), u.ID)
	if err != nil {
		return nil, err
	}
	if len(ds) == 0 && !g.deviceApprovalOn() && len(g.deviceServices()) == 0 {
		return nil, nil
	}
	lang := g.lang(r)
	sec := &portal.AdminSection{ID: "devices", TitleKey: "devices.title", ExplainKey: "devices.explain", EmptyKey: "devices.none"}
	for _, d := range ds {
		facts := []portal.AdminFact{
			{LabelKey: "devices.approved_at", Value: g.render.FormatTime(lang, d.CreatedAt)},
			{LabelKey: "sessions.last_seen", Value: g.render.FormatTime(lang, d.LastUsedAt)},
		}
		if d.ApprovedBy != "" {
			by := d.ApprovedBy
			if a, err := g.store.GetUser(r.Context(), d.ApprovedBy); err == nil {
				by = a.Email
			}
			facts = append(facts, portal.AdminFact{LabelKey: "devices.approved_by", Value: by})
		}
		facts = append(facts, portal.AdminFact{LabelKey: "sessions.ip", Value: d.ClientIP},
			portal.AdminFact{LabelKey: "sessions.browser", Value: truncate(d.UserAgent, maxBrowserBytes)})
		sec.Rows = append(sec.Rows, portal.AdminSectionRow{Facts: facts,
			Button: &portal.AdminButton{Action: "revoke_device", Value: d.ID, LabelKey: "devices.revoke", Danger: true}})
	}
	return sec, nil
}

// revokeDeviceAction is the user page's action revoke_device: value is
// the device to revoke.
func revokeDeviceAction(g *Gateway, r *http.Request, a account.Admin, u *store.User) (string, error) {
	err := g.revokeDevice(r, u, a.User, r.PostFormValue("value"))
	if errors.Is(err, store.ErrNotFound) {
		return "devices.error.gone", nil
	}
	return "", err
}
