package gateway

import (
	"errors"
	"net/http"
	"strings"

	"github.com/ssogate/ssogate/account"
	"github.com/ssogate/ssogate/portal"
	"github.com/ssogate/ssogate/store"
)

// sessionsNotices are the banners /account/sessions shows after a change.
var sessionsNotices = map[string]string{
	"one":     "sessions.notice.revoked",
	"others":  "sessions.notice.revoked_others",
	"browser": "sessions.notice.browser_forgotten",
	"device":  "devices.notice.revoked",
}

// maxBrowserBytes is how much of a user agent the sessions page shows.
const maxBrowserBytes = 160

// sessionsPage is GET /account/sessions: the person's live sessions.
func (g *Gateway) sessionsPage(w http.ResponseWriter, r *http.Request) {
	sess, user, ok := g.requireSession(w, r)
	if !ok {
		return
	}
	page, ok := g.sessionsView(w, r, sess, user)
	if !ok {
		return
	}
	page.NoticeKey = sessionsNotices[r.URL.Query().Get("ended")]
	g.renderPage(w, r, http.StatusOK, portal.PageSessions, page)
}

// sessionsView lists user's live sessions, the current one first.
func (g *Gateway) sessionsView(w http.ResponseWriter, r *http.Request, sess *store.Session, user *store.User) (portal.SessionsPage, bool) {
	page := portal.SessionsPage{Base: g.base(w, r, sess, user)}
	list, err := g.account.Sessions(r.Context(), user.ID)
	if err != nil {
		code, key := storeFailure(w, err)
		g.fail(w, r, code, key, err)
		return page, false
	}
	if page.Browsers, err = g.rememberedItems(r, user); err != nil {
		code, key := storeFailure(w, err)
		g.fail(w, r, code, key, err)
		return page, false
	}
	if page.Devices, err = g.devicesSection(w, r, sess, user, "/account/sessions"); err != nil {
		code, key := storeFailure(w, err)
		g.fail(w, r, code, key, err)
		return page, false
	}
	for _, s := range list {
		item := portal.SessionItem{ID: s.ID, Current: s.ID == sess.ID, CreatedAt: s.CreatedAt, LastSeenAt: s.LastSeenAt,
			ClientIP: s.ClientIP, Browser: truncate(s.UserAgent, maxBrowserBytes), Line: s.Line}
		if item.Current {
			page.Sessions = append([]portal.SessionItem{item}, page.Sessions...)
		} else {
			page.Sessions = append(page.Sessions, item)
		}
	}
	return page, true
}

// sessionsSubmit is POST /account/sessions: id names one of the person's
// other sessions to end, or "others" for every one but this browser's.
func (g *Gateway) sessionsSubmit(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	sess, user, ok := g.requireSessionForm(w, r)
	if !ok {
		return
	}
	if device := r.PostFormValue("device"); device != "" {
		g.ownDeviceRevoke(w, r, sess, user, device)
		return
	}
	id := r.PostFormValue("id")
	if browser, ok := strings.CutPrefix(id, browserPrefix); ok {
		g.forgetBrowser(w, r, sess, user, browser)
		return
	}
	if id == "others" {
		ended, err := g.account.EndOtherSessions(ctx, user, sess.ID, g.flowOrigin(r))
		if err != nil {
			code, key := storeFailure(w, err)
			g.fail(w, r, code, key, err)
			return
		}
		for _, e := range ended {
			g.sessions.forget(e)
			g.handoffs.forget(e)
		}
		http.Redirect(w, r, "/account/sessions?ended=others", http.StatusSeeOther)
		return
	}
	err := g.account.EndSession(ctx, user, id, sess.ID, g.flowOrigin(r))
	switch {
	case errors.Is(err, account.ErrNoSuchSession):
		page, ok := g.sessionsView(w, r, sess, user)
		if !ok {
			return
		}
		page.ErrorKey = "sessions.error.gone"
		g.renderPage(w, r, http.StatusNotFound, portal.PageSessions, page)
		return
	case err != nil:
		code, key := storeFailure(w, err)
		g.fail(w, r, code, key, err)
		return
	}
	g.sessions.forget(id)
	g.handoffs.forget(id)
	http.Redirect(w, r, "/account/sessions?ended=one", http.StatusSeeOther)
}

// forgetBrowser forgets one of the person's remembered browsers: the
// second step is asked there again at the next sign-in.
func (g *Gateway) forgetBrowser(w http.ResponseWriter, r *http.Request, sess *store.Session, user *store.User, id string) {
	err := g.account.ForgetBrowser(r.Context(), user, id, g.flowOrigin(r))
	switch {
	case errors.Is(err, account.ErrNoSuchBrowser):
		page, ok := g.sessionsView(w, r, sess, user)
		if !ok {
			return
		}
		page.ErrorKey = "sessions.error.browser_gone"
		g.renderPage(w, r, http.StatusNotFound, portal.PageSessions, page)
	case err != nil:
		code, key := storeFailure(w, err)
		g.fail(w, r, code, key, err)
	default:
		http.Redirect(w, r, "/account/sessions?ended=browser", http.StatusSeeOther)
	}
}
