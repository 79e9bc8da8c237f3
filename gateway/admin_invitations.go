package gateway

import (
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/ssogate/ssogate/account"
	"github.com/ssogate/ssogate/portal"
	"github.com/ssogate/ssogate/store"
)

// inviteRowKeys are the messages of a CSV row's problems.
var inviteRowKeys = map[string]string{
	account.RowBadEmail:   "admin_invite.error.email",
	account.RowNoName:     "admin_invite.error.name",
	account.RowDuplicate:  "admin_invite.error.duplicate",
	account.RowRegistered: "admin_invite.error.registered",
	account.RowColumns:    "admin_invite.error.columns",
}

// adminInvitationsView is the console's invitations page with the
// pending invitations listed.
func (g *Gateway) adminInvitationsView(w http.ResponseWriter, r *http.Request, sess *store.Session, admin *store.User) (portal.AdminInvitationsPage, error) {
	page := portal.AdminInvitationsPage{Base: g.base(w, r, sess, admin)}
	pending, err := g.account.PendingInvitations(r.Context())
	if err != nil {
		return page, err
	}
	for _, p := range pending {
		page.Pending = append(page.Pending, portal.PendingInvitation{UserID: p.User.ID, Email: p.User.Email,
			Name: p.User.DisplayName, Groups: p.User.Groups, Inviter: p.Inviter, Sent: p.CreatedAt, Expires: p.ExpiresAt})
	}
	return page, nil
}

// adminInvitations is GET /admin/invitations.
func (g *Gateway) adminInvitations(w http.ResponseWriter, r *http.Request, sess *store.Session, admin *store.User) {
	page, err := g.adminInvitationsView(w, r, sess, admin)
	if err != nil {
		g.fail(w, r, http.StatusInternalServerError, "error.internal", err)
		return
	}
	switch r.URL.Query().Get("done") {
	case "resend":
		page.NoticeKey = "admin_invite.resent"
	case "revoke":
		page.NoticeKey = "admin_invite.revoked"
	}
	g.renderPage(w, r, http.StatusOK, portal.PageAdminInvitations, page)
}

// adminInvitationsSubmit is every form of the page, by its action:
// invite one, upload a CSV file (preview), confirm a preview, resend,
// revoke. A change answers with a redirect; an error or a preview with
// the page.
func (g *Gateway) adminInvitationsSubmit(w http.ResponseWriter, r *http.Request, sess *store.Session, admin *store.User) {
	ctx := r.Context()
	o := g.flowOrigin(r)
	show := func(status int, edit func(*portal.AdminInvitationsPage)) {
		page, err := g.adminInvitationsView(w, r, sess, admin)
		if err != nil {
			g.fail(w, r, http.StatusInternalServerError, "error.internal", err)
			return
		}
		edit(&page)
		g.renderPage(w, r, status, portal.PageAdminInvitations, page)
	}
	switch r.PostFormValue("action") {
	case "invite":
		in := account.Invitee{Email: r.PostFormValue("email"), DisplayName: r.PostFormValue("name"),
			Groups: strings.Split(r.PostFormValue("groups"), ",")}
		_, err := g.account.Invite(ctx, admin, in, o)
		key := ""
		switch {
		case errors.Is(err, account.ErrEmailInvalid):
			key = "admin_invite.error.email"
		case errors.Is(err, account.ErrNameRequired):
			key = "admin_invite.error.name"
		case errors.Is(err, account.ErrAlreadyRegistered):
			key = "admin_invite.error.registered"
		case err != nil:
			g.fail(w, r, http.StatusInternalServerError, "error.internal", err)
			return
		}
		if key != "" {
			show(http.StatusBadRequest, func(p *portal.AdminInvitationsPage) {
				p.ErrorKey, p.Email, p.Name, p.Groups = key, in.Email, in.DisplayName, r.PostFormValue("groups")
			})
			return
		}
		show(http.StatusOK, func(p *portal.AdminInvitationsPage) { p.Sent = 1 })
	case "csv":
		g.adminInvitationsCSV(w, r, admin, show)
	case "csv_confirm":
		n, failed, err := g.account.InviteKept(ctx, admin, r.PostFormValue("batch"), r.PostFormValue("skip_bad") == "1", o)
		switch {
		case errors.Is(err, account.ErrBadRows):
			show(http.StatusBadRequest, func(p *portal.AdminInvitationsPage) { p.ErrorKey = "admin_invite.error.bad_rows" })
			return
		case errors.Is(err, account.ErrBatchExpired):
			show(http.StatusGone, func(p *portal.AdminInvitationsPage) { p.ErrorKey = "admin_invite.error.batch" })
			return
		case err != nil:
			g.fail(w, r, http.StatusInternalServerError, "error.internal", err)
			return
		}
		show(http.StatusOK, func(p *portal.AdminInvitationsPage) {
			p.Sent = n
			if len(failed) > 0 {
				p.Preview = previewOf("", failed)
			}
		})
	case "resend", "revoke":
		id := r.PostFormValue("user_id")
		var err error
		if r.PostFormValue("action") == "resend" {
			err = g.account.ResendInvitation(ctx, admin, id, o)
		} else {
			err = g.account.RevokeInvitation(ctx, admin, id, o)
		}
		switch {
		case errors.Is(err, account.ErrNotInvited):
			show(http.StatusConflict, func(p *portal.AdminInvitationsPage) { p.ErrorKey = "admin_invite.error.not_invited" })
			return
		case err != nil:
			g.fail(w, r, http.StatusInternalServerError, "error.internal", err)
			return
		}
		g.sessions.forgetUser(id)
		http.Redirect(w, r, "/admin/invitations?done="+r.PostFormValue("action"), http.StatusSeeOther)
	default:
		g.fail(w, r, http.StatusBadRequest, "error.bad_request", nil)
	}
}

// adminInvitationsCSV reads an uploaded file into a preview kept
// server-side; nothing is created yet.
func (g *Gateway) adminInvitationsCSV(w http.ResponseWriter, r *http.Request, admin *store.User, show func(int, func(*portal.AdminInvitationsPage))) {
	bad := func() {
		show(http.StatusBadRequest, func(p *portal.AdminInvitationsPage) { p.ErrorKey = "admin_invite.error.csv" })
	}
	f, _, err := r.FormFile("csv")
	if err != nil {
		bad()
		return
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		bad()
		return
	}
	rows, err := g.account.ParseInviteCSV(r.Context(), b)
	if errors.Is(err, account.ErrCSV) {
		bad()
		return
	}
	if err != nil {
		g.fail(w, r, http.StatusInternalServerError, "error.internal", err)
		return
	}
	token, err := g.account.KeepInviteRows(r.Context(), admin, rows)
	if err != nil {
		g.fail(w, r, http.StatusInternalServerError, "error.internal", err)
		return
	}
	show(http.StatusOK, func(p *portal.AdminInvitationsPage) { p.Preview = previewOf(token, rows) })
}

// previewOf is the preview of rows kept under batch.
func previewOf(batch string, rows []account.InviteRow) *portal.InvitePreview {
	pv := &portal.InvitePreview{Batch: batch}
	for _, r := range rows {
		row := portal.InviteRow{Line: r.Line, Email: r.Invitee.Email, Name: r.Invitee.DisplayName,
			Groups: r.Invitee.Groups, ErrorKey: inviteRowKeys[r.Problem]}
		if row.ErrorKey != "" {
			pv.Bad++
		} else {
			pv.Good++
		}
		pv.Rows = append(pv.Rows, row)
	}
	if batch == "" {
		pv.Good = 0 // rows that failed on confirmation: shown, not offered again
	}
	return pv
}
