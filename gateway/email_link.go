package gateway

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/ssogate/ssogate/account"
	"github.com/ssogate/ssogate/portal"
	"github.com/ssogate/ssogate/store"
)

// The console's user page sends the person a link to change their login
// method or their email address themselves (どこでもBOX 2.2): two actions
// added through the page's extensions. The email-change link's page is
// /email/change?ticket=T below; the login-method link's is /login-method.
func init() {
	adminUserExtensions = append(adminUserExtensions, adminUserExtension{
		Section: linksAdminSection,
		Actions: map[string]adminUserAction{
			"send_method_link": {NoticeKey: "admin.links.method_sent", Run: func(g *Gateway, r *http.Request, a account.Admin, u *store.User) (string, error) {
				return "", g.account.SendMethodChange(r.Context(), a.User, u.ID, a.Origin)
			}},
			"send_email_link": {NoticeKey: "admin.links.email_sent", Run: func(g *Gateway, r *http.Request, a account.Admin, u *store.User) (string, error) {
				return "", g.account.SendEmailChangeLink(r.Context(), a, u.ID)
			}},
		},
	})
}

// linksAdminSection is the user page's buttons that mail the person a
// login-method-change or email-change link; none for an invited or
// disabled account, which could not use them.
func linksAdminSection(g *Gateway, r *http.Request, u *store.User) (*portal.AdminSection, error) {
	if u.Status == store.StatusInvited || u.Status == store.StatusDisabled {
		return nil, nil
	}
	return &portal.AdminSection{ID: "links", TitleKey: "admin.links.title", ExplainKey: "admin.links.explain",
		Rows: []portal.AdminSectionRow{
			{Button: &portal.AdminButton{Action: "send_method_link", LabelKey: "admin.links.method"}},
			{Button: &portal.AdminButton{Action: "send_email_link", LabelKey: "admin.links.email"}},
		}}, nil
}

// emailLinkPage is GET /email/change?ticket=T: the form for a new
// address, from a link an administrator sent. It does not use the link.
func (g *Gateway) emailLinkPage(w http.ResponseWriter, r *http.Request) {
	ticket := r.URL.Query().Get("ticket")
	sess, user, _ := g.sessionIDs(r)
	page := portal.EmailChangePage{Base: g.base(w, r, sess, user), Ticket: ticket, Sent: r.URL.Query().Get("sent") == "1"}
	if page.Sent {
		g.renderPage(w, r, http.StatusOK, portal.PageEmailChange, page)
		return
	}
	u, err := g.account.CheckEmailChangeLink(r.Context(), ticket)
	if err != nil {
		page.Ticket, page.LinkErrorKey = "", emailLinkErrorKey(err)
	}
	if g.linkFailure(w, r, portal.PageEmailChange, page, err) {
		return
	}
	page.CurrentEmail = u.Email
	g.renderPage(w, r, http.StatusOK, portal.PageEmailChange, page)
}

// emailLinkSubmit is POST /email/change?ticket=T: the link is used and
// the confirmation goes to the new address, as from /account/email.
func (g *Gateway) emailLinkSubmit(w http.ResponseWriter, r *http.Request) {
	sess, user, sids := g.sessionIDs(r)
	if !g.parseForm(w, r, sids...) {
		return
	}
	ticket := r.URL.Query().Get("ticket")
	typed := truncate(strings.TrimSpace(r.PostFormValue("email")), maxEmailInput)
	confirm := truncate(strings.TrimSpace(r.PostFormValue("email_confirm")), maxEmailInput)
	err := g.account.RequestEmailChangeByLink(r.Context(), ticket, typed, confirm, g.flowOrigin(r))
	page := portal.EmailChangePage{Base: g.base(w, r, sess, user), Ticket: ticket, Email: typed, EmailConfirm: confirm}
	for e, key := range emailErrorKeys {
		if errors.Is(err, e) {
			if u, cerr := g.account.CheckEmailChangeLink(r.Context(), ticket); cerr == nil {
				page.CurrentEmail = u.Email
			}
			page.ErrorKey = key
			g.renderPage(w, r, http.StatusBadRequest, portal.PageEmailChange, page)
			return
		}
	}
	if err != nil {
		page.Ticket, page.LinkErrorKey = "", emailLinkErrorKey(err)
	}
	if g.linkFailure(w, r, portal.PageEmailChange, page, err) {
		return
	}
	http.Redirect(w, r, "/email/change?sent=1&ticket="+url.QueryEscape(ticket), http.StatusSeeOther)
}
