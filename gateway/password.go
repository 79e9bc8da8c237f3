package gateway

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/ssogate/ssogate/account"
	"github.com/ssogate/ssogate/credentials"
	"github.com/ssogate/ssogate/portal"
	"github.com/ssogate/ssogate/store"
)

// forgotFloor is the least time /password/forgot takes to answer a
// request: the work behind a registered address (a ticket, a sealed
// mail, more rows in one transaction) costs more than behind an unknown
// one (medians 0.98 ms and 0.64 ms on SQLite), and the answer must not
// tell them apart by its timing. 150 ms is far above that work even on
// a loaded machine, and unnoticed by a person.
const forgotFloor = 150 * time.Millisecond

// maxEmailInput bounds the address typed into a form.
const maxEmailInput = 320

// flowOrigin describes r to the account flows: client address, request
// id, page language.
func (g *Gateway) flowOrigin(r *http.Request) account.Origin {
	ctx := r.Context()
	o := account.Origin{RequestID: requestID(ctx), Lang: g.lang(r)}
	if ip := clientIP(ctx); ip.IsValid() {
		o.ClientIP = ip.String()
	}
	return o
}

// passwordsEnabled reports whether the local password pages exist: a
// local provider holds passwords.
func (g *Gateway) passwordsEnabled() bool {
	lp, _ := g.localProvider("")
	return lp != nil
}

// passwordRule is the local rule as the pages state it.
func (g *Gateway) passwordRule() portal.PasswordRule {
	p := g.localRule()
	return portal.PasswordRule{MinLength: orInt(p.MinLength, credentials.DefaultMinLength),
		MinClasses: orInt(p.MinClasses, credentials.DefaultMinClasses)}
}

// localRule is the first local provider's rule for new passwords.
func (g *Gateway) localRule() credentials.PasswordRule {
	lp, _ := g.localProvider("")
	if rp, ok := lp.(interface {
		Policy() credentials.PasswordRule
	}); ok {
		return rp.Policy()
	}
	return credentials.PasswordRule{}
}

func orInt(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// reasonKeys turns the reasons of a refused password into message keys.
func reasonKeys(err error) []string {
	var we *account.WeakPasswordError
	if !errors.As(err, &we) {
		return nil
	}
	keys := make([]string, 0, len(we.Reasons))
	for _, r := range we.Reasons {
		keys = append(keys, "password.reason."+r)
	}
	return keys
}

// sessionIDs are the session ids a form of a signed-out page may be
// bound to: none, or the browser's current session.
func (g *Gateway) sessionIDs(r *http.Request) (*store.Session, *store.User, []string) {
	sess, user, _ := g.sessions.Resolve(r.Context(), r)
	if sess == nil {
		return nil, nil, []string{""}
	}
	return sess, user, []string{"", sess.ID}
}

func (g *Gateway) forgotPage(w http.ResponseWriter, r *http.Request) {
	if !g.passwordsEnabled() {
		g.fail(w, r, http.StatusNotFound, "error.not_found", nil)
		return
	}
	sess, user, _ := g.sessionIDs(r)
	page := portal.ForgotPage{Base: g.base(w, r, sess, user), Sent: r.URL.Query().Get("sent") == "1"}
	g.renderPage(w, r, http.StatusOK, portal.PageForgot, page)
}

// forgotSubmit asks for a reset link. Whatever the address, the answer
// is the same redirect to the same page, after at least forgotFloor: the
// account flow enqueues a mail or not, and says nothing either way.
func (g *Gateway) forgotSubmit(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if !g.passwordsEnabled() {
		g.fail(w, r, http.StatusNotFound, "error.not_found", nil)
		return
	}
	sess, user, sids := g.sessionIDs(r)
	if !g.parseForm(w, r, sids...) {
		return
	}
	typed := strings.TrimSpace(r.PostFormValue("email"))
	if _, err := account.NormalizeNewEmail(typed); err != nil || len(typed) > maxEmailInput {
		// The shape of what was typed, not whether it is registered.
		page := portal.ForgotPage{Base: g.base(w, r, sess, user), Email: truncate(typed, maxEmailInput),
			ErrorKey: "password.forgot.error.email"}
		g.renderPage(w, r, http.StatusBadRequest, portal.PageForgot, page)
		return
	}
	err := g.account.RequestReset(r.Context(), typed, g.flowOrigin(r))
	waitUntil(r.Context(), start.Add(forgotFloor))
	if err != nil {
		g.fail(w, r, http.StatusInternalServerError, "error.internal", err)
		return
	}
	http.Redirect(w, r, "/password/forgot?sent=1", http.StatusSeeOther)
}

// waitUntil sleeps until t or until ctx ends.
func waitUntil(ctx context.Context, t time.Time) {
	d := time.Until(t)
	if d <= 0 {
		return
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
	}
}

// linkFailure renders the page of a mailed link that no longer works.
func (g *Gateway) linkFailure(w http.ResponseWriter, r *http.Request, page string, data any, err error) bool {
	switch {
	case errors.Is(err, account.ErrLinkExpired), errors.Is(err, account.ErrLinkUsed):
		g.renderPage(w, r, http.StatusGone, page, data)
		return true
	case err != nil:
		g.fail(w, r, http.StatusInternalServerError, "error.internal", err)
		return true
	}
	return false
}

// linkErrorKey is the message of a link error.
func linkErrorKey(err error) string {
	if errors.Is(err, account.ErrLinkExpired) {
		return "password.link.expired"
	}
	return "password.link.used"
}

func (g *Gateway) resetPage(w http.ResponseWriter, r *http.Request) {
	if !g.passwordsEnabled() {
		g.fail(w, r, http.StatusNotFound, "error.not_found", nil)
		return
	}
	ticket := r.URL.Query().Get("ticket")
	sess, user, _ := g.sessionIDs(r)
	page := portal.ResetPage{Base: g.base(w, r, sess, user), Ticket: ticket, Rule: g.passwordRule()}
	err := g.account.CheckResetLink(r.Context(), ticket)
	if err != nil {
		page.Ticket, page.LinkErrorKey = "", linkErrorKey(err)
	}
	if g.linkFailure(w, r, portal.PageReset, page, err) {
		return
	}
	g.renderPage(w, r, http.StatusOK, portal.PageReset, page)
}

// resetSubmit sets the new password from a mailed link. Every session of
// the user ends, this browser's too if it was the user's: the person
// signs in again with the new password.
func (g *Gateway) resetSubmit(w http.ResponseWriter, r *http.Request) {
	if !g.passwordsEnabled() {
		g.fail(w, r, http.StatusNotFound, "error.not_found", nil)
		return
	}
	sess, user, sids := g.sessionIDs(r)
	if !g.parseForm(w, r, sids...) {
		return
	}
	ticket := r.URL.Query().Get("ticket")
	u, err := g.account.ResetPassword(r.Context(), ticket, r.PostFormValue("password"),
		r.PostFormValue("password_confirm"), g.flowOrigin(r))
	page := portal.ResetPage{Base: g.base(w, r, sess, user), Ticket: ticket, Rule: g.passwordRule()}
	if keys := reasonKeys(err); keys != nil {
		page.ErrorKeys = keys
		g.renderPage(w, r, http.StatusBadRequest, portal.PageReset, page)
		return
	}
	if err != nil {
		page.Ticket, page.LinkErrorKey = "", linkErrorKey(err)
	}
	if g.linkFailure(w, r, portal.PageReset, page, err) {
		return
	}
	g.sessions.forgetUser(u.ID)
	if sess != nil && sess.UserID == u.ID {
		g.sessions.clearCookie(w)
	}
	http.Redirect(w, r, "/login?password_reset=1", http.StatusSeeOther)
}

func (g *Gateway) changePasswordPage(w http.ResponseWriter, r *http.Request) {
	sess, user, ok := g.requireSession(w, r)
	if !ok {
		return
	}
	page, ok := g.changePasswordView(w, r, sess, user)
	if !ok {
		return
	}
	status := http.StatusOK
	if page.NoPassword {
		status = http.StatusNotFound
	}
	g.renderPage(w, r, status, portal.PagePasswordChange, page)
}

// changePasswordView is the password-change page for user, or false after
// answering a store failure.
func (g *Gateway) changePasswordView(w http.ResponseWriter, r *http.Request, sess *store.Session, user *store.User) (portal.PasswordChangePage, bool) {
	page := portal.PasswordChangePage{Base: g.base(w, r, sess, user), Rule: g.passwordRule(),
		MustChange: user.MustChangePassword}
	if !g.passwordsEnabled() {
		page.NoPassword = true
		return page, true
	}
	has, err := g.account.HasPassword(r.Context(), user.ID)
	if err != nil {
		g.fail(w, r, http.StatusInternalServerError, "error.internal", err)
		return page, false
	}
	page.NoPassword = !has
	return page, true
}

// changePasswordSubmit changes the password of the signed-in person.
// Every session of the user ends; this browser gets a new one (a new id,
// the same sign-in methods), so it stays signed in and a session id
// known before the change is worth nothing after it.
func (g *Gateway) changePasswordSubmit(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	sess, user, ok := g.requireSessionForm(w, r)
	if !ok {
		return
	}
	page, ok := g.changePasswordView(w, r, sess, user)
	if !ok {
		return
	}
	if page.NoPassword {
		g.renderPage(w, r, http.StatusNotFound, portal.PagePasswordChange, page)
		return
	}
	err := g.account.ChangePassword(ctx, user, r.PostFormValue("current_password"), r.PostFormValue("password"),
		r.PostFormValue("password_confirm"), g.flowOrigin(r))
	if keys := reasonKeys(err); keys != nil {
		page.ErrorKeys = keys
		g.renderPage(w, r, http.StatusBadRequest, portal.PagePasswordChange, page)
		return
	}
	switch {
	case errors.Is(err, account.ErrWrongPassword):
		page.ErrorKeys = []string{"password.change.error.current"}
		g.renderPage(w, r, http.StatusBadRequest, portal.PagePasswordChange, page)
		return
	case errors.Is(err, account.ErrTooManyAttempts):
		w.Header().Set("Retry-After", "900")
		page.ErrorKeys = []string{"account.error.too_many"}
		g.renderPage(w, r, http.StatusTooManyRequests, portal.PagePasswordChange, page)
		return
	case errors.Is(err, account.ErrNoPassword):
		page.NoPassword = true
		g.renderPage(w, r, http.StatusNotFound, portal.PagePasswordChange, page)
		return
	case err != nil:
		g.fail(w, r, http.StatusInternalServerError, "error.internal", err)
		return
	}
	// The store ended every session, this one included; the caches learn
	// it here (and other processes from the change feed).
	g.sessions.forgetUser(user.ID)
	g.sessions.forget(sess.ID)
	if _, err := g.sessions.Create(ctx, w, r, user, sess.AMR, sess.ClientIP, sess.Line); err != nil {
		g.log.Error("new session after a password change failed", "request_id", requestID(ctx), "err", err)
		g.sessions.clearCookie(w)
		http.Redirect(w, r, "/login?password_reset=1", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/account?changed=password", http.StatusSeeOther)
}

// mustChangeExempt reports the paths a person who must change their
// password still reaches: the change itself, sign-out, the language
// switch, the signed-out password pages, static files and probes.
func mustChangeExempt(path string) bool {
	switch path {
	case "/account/password", "/logout", "/lang", "/password/forgot", "/password/reset",
		"/healthz", "/readyz", "/.well-known/jwks.json":
		return true
	}
	return strings.HasPrefix(path, "/static/")
}

// mustChange reports whether user may reach nothing but the
// password change (and the paths of mustChangeExempt): an initial
// password handed over by an administrator is still the one in use.
func mustChange(user *store.User) bool {
	return user != nil && user.MustChangePassword
}

// mustChangeURL is where such a person is sent.
const mustChangeURL = "/account/password"

// mustChangeGate sends a person who must change their password from
// every gateway page to the password change. Services are held the same
// way by authorize (verdictMustChange), for /auth and the proxy alike.
func (g *Gateway) mustChangeGate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if mustChangeExempt(r.URL.Path) || cookieValue(r, g.sessions.name) == "" {
			next.ServeHTTP(w, r)
			return
		}
		if _, user, err := g.sessions.Resolve(r.Context(), r); err == nil && mustChange(user) {
			http.Redirect(w, r, mustChangeURL, http.StatusSeeOther)
			return
		}
		next.ServeHTTP(w, r)
	})
}
