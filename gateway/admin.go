package gateway

import (
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/ssogate/ssogate/store"
)

// adminReauthAfter is how old an administrator's sign-in may be for a
// console page: older, and the console asks for the sign-in again (and
// the second step when enrolled), as the console changes other people's
// accounts.
const adminReauthAfter = 15 * time.Minute

// adminPrefix is where the console lives.
const adminPrefix = "/admin"

// adminHandler is a console page's handler, called only for a signed-in
// administrator whose sign-in is fresh; POSTs have had their CSRF token
// checked and their form parsed.
type adminHandler func(w http.ResponseWriter, r *http.Request, sess *store.Session, admin *store.User)

// adminRoute registers pattern (a method and a path under /admin) on mux
// behind the console's guard, and records it, so that the test that every
// console route refuses a non-administrator walks them all: a console
// route cannot be added any other way.
func (g *Gateway) adminRoute(mux *http.ServeMux, pattern string, h adminHandler) {
	g.adminPatterns = append(g.adminPatterns, pattern)
	mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		sess, user, ok := g.requireAdmin(w, r)
		if !ok {
			return
		}
		h(w, r, sess, user)
	})
}

// AdminPatterns returns the patterns registered with adminRoute, in
// order (for tests).
func (g *Gateway) AdminPatterns() []string { return slices.Clone(g.adminPatterns) }

// requireAdmin lets a console request through, or answers it: to the
// sign-in when there is no session, 403 when the person is not an
// administrator, to the sign-in again (reauth=1) when the sign-in is
// older than adminReauthAfter, through the second step (step-up, which
// a remembered browser does not skip) when the administrator has a
// second factor the session was not signed in with; for a POST, 403 on a
// bad CSRF token (the form is parsed here).
func (g *Gateway) requireAdmin(w http.ResponseWriter, r *http.Request) (*store.Session, *store.User, bool) {
	sess, user, ok := g.requireSession(w, r)
	if !ok {
		return nil, nil, false
	}
	if user.Role != store.RoleAdmin {
		g.fail(w, r, http.StatusForbidden, "error.forbidden", nil)
		return nil, nil, false
	}
	target := adminPrefix
	if r.Method == http.MethodGet {
		if t, ok := g.redirects.Safe(r.URL.RequestURI()); ok {
			target = t
		}
	}
	if g.now().Sub(sess.AuthTime) > adminReauthAfter {
		http.Redirect(w, r, "/login?reauth=1&return_to="+url.QueryEscape(target), http.StatusSeeOther)
		return nil, nil, false
	}
	if !hasSecondFactor(sess.AMR) && g.account.TwoStepOn() {
		st, err := g.account.Status(r.Context(), user.ID)
		if err != nil {
			g.fail(w, r, http.StatusInternalServerError, "error.internal", err)
			return nil, nil, false
		}
		if len(st.Factors) > 0 {
			http.Redirect(w, r, "/login/2fa/step-up?return_to="+url.QueryEscape(target), http.StatusSeeOther)
			return nil, nil, false
		}
	}
	if r.Method == http.MethodPost && !g.parseForm(w, r, sess.ID) {
		return nil, nil, false
	}
	return sess, user, true
}
