package gateway

import (
	"net/http"

	"github.com/ssogate/ssogate/portal"
)

// accountNotices are the banners /account shows after a change.
var accountNotices = map[string]string{
	"password": "account.notice.password_changed",
}

// accountMenu is /account: the settings this person may use, and only
// pages that exist. The password change is listed for an account with a
// local password; the email change where the store keeps account state.
func (g *Gateway) accountMenu(w http.ResponseWriter, r *http.Request) {
	sess, user, ok := g.requireSession(w, r)
	if !ok {
		return
	}
	page := portal.AccountPage{Base: g.base(w, r, sess, user)}
	page.NoticeKey = accountNotices[r.URL.Query().Get("changed")]
	page.Items = append(page.Items, portal.AccountItem{ID: "profile", URL: "/me", LabelKey: "account.item.profile",
		DescriptionKey: "account.item.profile_desc"})
	if g.passwordsEnabled() {
		has, err := g.account.HasPassword(r.Context(), user.ID)
		if err != nil {
			g.fail(w, r, http.StatusInternalServerError, "error.internal", err)
			return
		}
		if has {
			page.Items = append(page.Items, portal.AccountItem{ID: "password", URL: "/account/password",
				LabelKey: "account.item.password", DescriptionKey: "account.item.password_desc"})
		}
	}
	page.Items = append(page.Items, portal.AccountItem{ID: "email", URL: "/account/email",
		LabelKey: "account.item.email", DescriptionKey: "account.item.email_desc"})
	if g.account.TwoStepOn() {
		page.Items = append(page.Items, portal.AccountItem{ID: "twostep", URL: "/account/2fa",
			LabelKey: "account.item.twostep", DescriptionKey: "account.item.twostep_desc"})
	}
	page.Items = append(page.Items, portal.AccountItem{ID: "sessions", URL: "/account/sessions",
		LabelKey: "account.item.sessions", DescriptionKey: "account.item.sessions_desc"})
	page.Items = append(page.Items, portal.AccountItem{ID: "logout", URL: "/logout", LabelKey: "account.item.logout",
		DescriptionKey: "account.item.logout_desc"})
	g.renderPage(w, r, http.StatusOK, portal.PageAccount, page)
}
