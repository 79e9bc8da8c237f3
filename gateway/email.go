package gateway

import (
	"errors"
	"net/http"
	"strings"

	"github.com/ssogate/ssogate/account"
	"github.com/ssogate/ssogate/portal"
	"github.com/ssogate/ssogate/store"
)

// emailErrorKeys are the messages of a refused email change.
var emailErrorKeys = map[error]string{
	account.ErrEmailInvalid:    "email.error.invalid",
	account.ErrEmailMismatch:   "email.error.mismatch",
	account.ErrEmailSame:       "email.error.same",
	account.ErrWrongPassword:   "email.error.password",
	account.ErrTooManyAttempts: "account.error.too_many",
}

// emailView is the email-change page for user, or false after answering
// a store failure.
func (g *Gateway) emailView(w http.ResponseWriter, r *http.Request, sess *store.Session, user *store.User) (portal.EmailChangePage, bool) {
	page := portal.EmailChangePage{Base: g.base(w, r, sess, user), CurrentEmail: user.Email}
	has, err := g.account.HasPassword(r.Context(), user.ID)
	if err != nil {
		g.fail(w, r, http.StatusInternalServerError, "error.internal", err)
		return page, false
	}
	page.NeedPassword = has
	return page, true
}

func (g *Gateway) emailPage(w http.ResponseWriter, r *http.Request) {
	sess, user, ok := g.requireSession(w, r)
	if !ok {
		return
	}
	page, ok := g.emailView(w, r, sess, user)
	if !ok {
		return
	}
	page.Sent = r.URL.Query().Get("sent") == "1"
	g.renderPage(w, r, http.StatusOK, portal.PageEmailChange, page)
}

// emailSubmit asks for an email change: the address changes only when
// the link mailed to the new address is used.
func (g *Gateway) emailSubmit(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	sess, user, ok := g.requireSessionForm(w, r)
	if !ok {
		return
	}
	page, ok := g.emailView(w, r, sess, user)
	if !ok {
		return
	}
	typed := truncate(strings.TrimSpace(r.PostFormValue("email")), maxEmailInput)
	again := truncate(strings.TrimSpace(r.PostFormValue("email_confirm")), maxEmailInput)
	err := g.account.RequestEmailChange(ctx, user, typed, again, r.PostFormValue("password"), g.flowOrigin(r))
	if err != nil {
		for e, key := range emailErrorKeys {
			if errors.Is(err, e) {
				page.Email, page.EmailConfirm, page.ErrorKey = typed, again, key
				status := http.StatusBadRequest
				if e == account.ErrTooManyAttempts {
					status = http.StatusTooManyRequests
					w.Header().Set("Retry-After", "900")
				}
				g.renderPage(w, r, status, portal.PageEmailChange, page)
				return
			}
		}
		g.fail(w, r, http.StatusInternalServerError, "error.internal", err)
		return
	}
	http.Redirect(w, r, "/account/email?sent=1", http.StatusSeeOther)
}

func (g *Gateway) emailConfirmPage(w http.ResponseWriter, r *http.Request) {
	ticket := r.URL.Query().Get("ticket")
	sess, user, _ := g.sessionIDs(r)
	page := portal.EmailConfirmPage{Base: g.base(w, r, sess, user), Ticket: ticket}
	err := g.account.CheckEmailLink(r.Context(), ticket)
	if err != nil {
		page.Ticket, page.LinkErrorKey = "", emailLinkErrorKey(err)
	}
	if g.linkFailure(w, r, portal.PageEmailConfirm, page, err) {
		return
	}
	g.renderPage(w, r, http.StatusOK, portal.PageEmailConfirm, page)
}

// emailLinkErrorKey is the message of an email-change link error.
func emailLinkErrorKey(err error) string {
	if errors.Is(err, account.ErrLinkExpired) {
		return "email.link.expired"
	}
	return "email.link.used"
}

// emailConfirmSubmit changes the address. A browser signed in as the user
// stays signed in; every other session of the user ends.
func (g *Gateway) emailConfirmSubmit(w http.ResponseWriter, r *http.Request) {
	sess, user, sids := g.sessionIDs(r)
	if !g.parseForm(w, r, sids...) {
		return
	}
	ticket := r.URL.Query().Get("ticket")
	u, err := g.account.ConfirmEmailChange(r.Context(), ticket, sess, g.flowOrigin(r))
	page := portal.EmailConfirmPage{Base: g.base(w, r, sess, user), Ticket: ticket}
	if errors.Is(err, account.ErrEmailTaken) {
		page.ErrorKey = "email.error.taken"
		g.renderPage(w, r, http.StatusConflict, portal.PageEmailConfirm, page)
		return
	}
	if err != nil {
		page.Ticket, page.LinkErrorKey = "", emailLinkErrorKey(err)
	}
	if g.linkFailure(w, r, portal.PageEmailConfirm, page, err) {
		return
	}
	g.sessions.forgetUser(u.ID)
	page.Ticket, page.Done, page.NewEmail = "", true, u.Email
	if sess != nil && sess.UserID == u.ID {
		// The header shows the new address.
		page.Base = g.base(w, r, sess, u)
	}
	g.renderPage(w, r, http.StatusOK, portal.PageEmailConfirm, page)
}
