package gateway

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/ssogate/ssogate/account"
	"github.com/ssogate/ssogate/portal"
	"github.com/ssogate/ssogate/store"
)

// Device approval (KOM-MICS): with policy.device_approval on, the first
// sign-in from a browser the account has not used before stops, after
// its other steps, at the waiting page (/login/device) until an
// administrator approves it from the mailed link
// (/admin/devices/approve) and the person types the token then mailed to
// them; the browser then carries an approved-device cookie, and the
// session is made. A service with services[].device_approval asks the
// same of a signed-in session's browser before the proxy or /auth lets
// it through (deviceStartPath).
//
// The service check runs on every request to such a service, so it reads
// no store on the allowed path: a browser's cookie, once found to be an
// approved device of the session's person, is remembered in memory for
// deviceCacheTTL. A device revoked here is forgotten at once; on another
// replica, within deviceCacheTTL (a new sign-in there checks the store).

// Paths of device approval.
const (
	deviceWaitPath    = "/login/device"
	deviceStartPath   = "/login/device/start"
	deviceApprovePath = "/admin/devices/approve"
)

// deviceCookieAge is how long a browser keeps its approved-device
// cookie: browsers cap a cookie's life at 400 days; the server-side
// record decides whether it still counts.
const deviceCookieAge = 400 * 24 * time.Hour

// deviceCacheTTL is how long a service's device check trusts an approved
// device it found in the store without asking again.
const deviceCacheTTL = time.Minute

// deviceApprovalOn reports whether device approval applies to every
// sign-in: the organisation setting in effect (the console's, else
// policy.device_approval).
func (g *Gateway) deviceApprovalOn() bool {
	return g.orgSettings().DeviceApproval
}

// deviceCookie carries an approved browser's token: HttpOnly, Secure on
// https, SameSite=Lax (sent on top-level navigations from a service back
// to the gateway). It goes where the session cookie goes: with
// session.cookie_domain, to every host under it (a forward-auth service
// on another host hands its cookies to /auth), named __Secure- on https;
// else to the gateway's host only, named __Host- on https.
func (g *Gateway) deviceCookie(value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: g.deviceCookieName(), Value: value, Path: "/", Domain: g.cfg.Session.CookieDomain,
		MaxAge: maxAge, Secure: g.secure, HttpOnly: true, SameSite: http.SameSiteLaxMode}
}

// deviceCookieName is the approved-device cookie's name (see
// deviceCookie); the proxy strips it from requests to upstreams.
func (g *Gateway) deviceCookieName() string {
	switch {
	case !g.secure:
		return "ssogate_dev"
	case g.cfg.Session.CookieDomain != "":
		return "__Secure-ssogate_dev"
	}
	return "__Host-ssogate_dev"
}

// deviceWaitCookieName is the waiting cookie's name (see
// deviceWaitCookie).
func (g *Gateway) deviceWaitCookieName() string {
	if g.secure {
		return "__Host-ssogate_dw"
	}
	return "ssogate_dw"
}

// deviceWaitCookie carries a waiting browser's request token.
func (g *Gateway) deviceWaitCookie(value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: g.deviceWaitCookieName(), Value: value, Path: "/", MaxAge: maxAge, Secure: g.secure,
		HttpOnly: true, SameSite: http.SameSiteLaxMode}
}

// deviceToken is the browser's approved-device token, or "".
func (g *Gateway) deviceToken(r *http.Request) string {
	return cookieValue(r, g.deviceCookieName())
}

// deviceWaitToken is the browser's waiting request token, or "".
func (g *Gateway) deviceWaitToken(r *http.Request) string {
	return cookieValue(r, g.deviceWaitCookieName())
}

// deviceCache remembers approved browsers of people for the service
// check: (user id, cookie token) → until when.
type deviceCache struct {
	mu sync.RWMutex
	ok map[deviceKey]time.Time
}

type deviceKey struct{ user, token string }

// known reports whether k was found approved less than deviceCacheTTL ago.
func (c *deviceCache) known(k deviceKey, now time.Time) bool {
	c.mu.RLock()
	until, ok := c.ok[k]
	c.mu.RUnlock()
	return ok && now.Before(until)
}

// remember records k as approved now.
func (c *deviceCache) remember(k deviceKey, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ok == nil {
		c.ok = make(map[deviceKey]time.Time)
	}
	// Expired entries go when the map grows: one sweep per doubling.
	if len(c.ok) >= 1024 && len(c.ok)&(len(c.ok)-1) == 0 {
		for key, until := range c.ok {
			if !now.Before(until) {
				delete(c.ok, key)
			}
		}
	}
	c.ok[k] = now.Add(deviceCacheTTL)
}

// forget drops every entry of user whose token hashes to device id.
func (c *deviceCache) forget(user, id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.ok {
		if k.user == user && account.DeviceID(k.token) == id {
			delete(c.ok, k)
		}
	}
}

// deviceKnown reports whether the request's browser is an approved
// device of user: from memory when seen within deviceCacheTTL, else from
// the store (recording the use).
func (g *Gateway) deviceKnown(ctx context.Context, r *http.Request, user *store.User) (bool, error) {
	token := g.deviceToken(r)
	if token == "" {
		return false, nil
	}
	k := deviceKey{user: user.ID, token: token}
	now := g.now()
	if g.devices.known(k, now) {
		return true, nil
	}
	ok, err := g.account.DeviceKnown(ctx, user.ID, token)
	if ok {
		g.devices.remember(k, now)
	}
	return ok, err
}

// needsDevice reports whether a session of an allowed person must still
// have its browser approved to use s.
func (g *Gateway) needsDevice(ctx context.Context, r *http.Request, s *service, user *store.User) (bool, error) {
	if !s.cfg.DeviceApproval {
		return false, nil
	}
	ok, err := g.deviceKnown(ctx, r, user)
	return !ok, err
}

// deviceStartURL is the page that asks for a signed-in browser's
// approval, returning to orig afterwards (when orig is a safe target).
func (g *Gateway) deviceStartURL(orig *url.URL) string {
	u := g.publicURL + deviceStartPath
	if orig != nil {
		if target, ok := g.redirects.Safe(orig.String()); ok {
			u += "?return_to=" + url.QueryEscape(target)
		}
	}
	return u
}

// deviceStep is the sign-in pipeline's last step: with device approval
// on and a browser that is not an approved device of user, it stores the
// waiting request, mails the administrators, sends the browser to the
// waiting page and returns true; no session exists until the browser
// is approved. It returns a status and message key when it failed.
func (g *Gateway) deviceStep(w http.ResponseWriter, r *http.Request, provider string, user *store.User,
	amr []string, line, returnTo string) (bool, int, string) {
	if !g.deviceApprovalOn() {
		return false, 0, ""
	}
	ctx := r.Context()
	known, err := g.deviceKnown(ctx, r, user)
	if err != nil {
		g.log.Error("device check failed", "request_id", requestID(ctx), "err", err)
		status, key := storeFailure(w, err)
		return true, status, key
	}
	if known {
		return false, 0, ""
	}
	// A browser signed in as this person already (a re-authentication,
	// or device approval switched on meanwhile) is not a new browser: it
	// is approved as it is. Without this, an administrator's
	// re-authentication for the console would wait for another one.
	if sess, u, err := g.sessions.Resolve(ctx, r); err == nil && u.ID == user.ID && !sess.Expired(g.now()) {
		token, err := g.account.AdoptDevice(ctx, user, r.UserAgent(), g.flowOrigin(r))
		if err != nil {
			g.log.Error("device approval failed", "request_id", requestID(ctx), "err", err)
			status, key := storeFailure(w, err)
			return true, status, key
		}
		http.SetCookie(w, g.deviceCookie(token, int(deviceCookieAge/time.Second)))
		g.devices.remember(deviceKey{user: user.ID, token: token}, g.now())
		return false, 0, ""
	}
	// A browser that already waits for this person's approval keeps its
	// request: signing in again must not mail the administrators again.
	if g.stillWaiting(r, user, "") {
		g.clearPending(w)
		http.Redirect(w, r, deviceWaitPath, http.StatusSeeOther)
		return true, 0, ""
	}
	if err := g.beginDeviceWait(w, r, user, account.DeviceRequest{Provider: provider, AMR: amr, Line: line, ReturnTo: returnTo}); err != nil {
		g.log.Error("device approval failed", "request_id", requestID(ctx), "err", err)
		status, key := storeFailure(w, err)
		return true, status, key
	}
	return true, 0, ""
}

// stillWaiting reports whether the request's browser waits already for
// the approval of user's sign-in (session "") or of user's session.
func (g *Gateway) stillWaiting(r *http.Request, user *store.User, session string) bool {
	req, err := g.account.DeviceWaiting(r.Context(), g.deviceWaitToken(r))
	return err == nil && req.UserID == user.ID && req.Session == session
}

// beginDeviceWait starts req for the request's browser and sends the
// browser to the waiting page.
func (g *Gateway) beginDeviceWait(w http.ResponseWriter, r *http.Request, user *store.User, req account.DeviceRequest) error {
	ctx := r.Context()
	req.UserAgent, req.ClientIP = r.UserAgent(), clientIP(ctx).String()
	token, err := g.account.BeginDeviceApproval(ctx, user, req, g.flowOrigin(r))
	if err != nil {
		return err
	}
	g.clearPending(w)
	http.SetCookie(w, g.deviceWaitCookie(token, int((account.DeviceApprovalTTL+account.DeviceTokenTTL)/time.Second)))
	http.Redirect(w, r, deviceWaitPath, http.StatusSeeOther)
	return nil
}

// deviceRoutes registers device approval's pages.
func (g *Gateway) deviceRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+deviceWaitPath, g.deviceWaitPage)
	mux.HandleFunc("POST "+deviceWaitPath, g.deviceWaitSubmit)
	mux.HandleFunc("GET "+deviceStartPath, g.deviceStartPage)
	mux.HandleFunc("POST "+deviceStartPath, g.deviceStartSubmit)
	g.adminRoute(mux, "GET "+deviceApprovePath, g.deviceApprovePage)
	g.adminRoute(mux, "POST "+deviceApprovePath, g.deviceApproveSubmit)
}

// deviceEnded shows the end of a request (denied, or gone) and clears
// the waiting cookie.
func (g *Gateway) deviceEnded(w http.ResponseWriter, r *http.Request, denied bool) {
	g.account.CancelDeviceWait(r.Context(), g.deviceWaitToken(r))
	http.SetCookie(w, g.deviceWaitCookie("", -1))
	page := portal.DeviceWaitPage{Base: g.pendingBase(w, r), State: portal.DeviceGone}
	status := http.StatusGone
	if denied {
		page.State, status = portal.DeviceDenied, http.StatusForbidden
	}
	g.renderPage(w, r, status, portal.PageDeviceWait, page)
}

// deviceWaitPage is GET /login/device: the waiting page with the token
// field, or the request's end.
func (g *Gateway) deviceWaitPage(w http.ResponseWriter, r *http.Request) {
	_, err := g.account.DeviceWaiting(r.Context(), g.deviceWaitToken(r))
	switch {
	case errors.Is(err, account.ErrDeviceDenied):
		g.deviceEnded(w, r, true)
	case errors.Is(err, account.ErrDeviceGone):
		g.deviceEnded(w, r, false)
	case err != nil:
		code, key := storeFailure(w, err)
		g.fail(w, r, code, key, err)
	default:
		page := portal.DeviceWaitPage{Base: g.pendingBase(w, r), State: portal.DeviceWaiting}
		g.renderPage(w, r, http.StatusOK, portal.PageDeviceWait, page)
	}
}

// deviceWaitSubmit is POST /login/device: token, the one-time token
// mailed once an administrator approved. Right: the browser gets its
// approved-device cookie and the session is made (or, for a service's
// check, the session goes on to the service).
func (g *Gateway) deviceWaitSubmit(w http.ResponseWriter, r *http.Request) {
	if !g.pendingForm(w, r) {
		return
	}
	ctx := r.Context()
	retry := func(status int, key string) {
		page := portal.DeviceWaitPage{Base: g.pendingBase(w, r), State: portal.DeviceWaiting, ErrorKey: key}
		g.renderPage(w, r, status, portal.PageDeviceWait, page)
	}
	typed := r.PostFormValue("token")
	if typed == "" {
		retry(http.StatusBadRequest, "device.error.empty")
		return
	}
	a, err := g.account.EnterDeviceToken(ctx, g.deviceWaitToken(r), typed, g.flowOrigin(r))
	switch {
	case errors.Is(err, account.ErrDeviceWaiting):
		retry(http.StatusConflict, "device.error.waiting")
		return
	case errors.Is(err, account.ErrDeviceWrongToken):
		retry(http.StatusBadRequest, "device.error.wrong")
		return
	case errors.Is(err, account.ErrDeviceDenied):
		g.deviceEnded(w, r, true)
		return
	case errors.Is(err, account.ErrDeviceGone):
		g.deviceEnded(w, r, false)
		return
	case err != nil:
		code, key := storeFailure(w, err)
		g.fail(w, r, code, key, err)
		return
	}
	http.SetCookie(w, g.deviceWaitCookie("", -1))
	http.SetCookie(w, g.deviceCookie(a.Cookie, int(deviceCookieAge/time.Second)))
	g.devices.remember(deviceKey{user: a.User.ID, token: a.Cookie}, g.now())
	next := orDefault(a.Request.ReturnTo, "/")
	if a.Request.Session != "" {
		// A service's check: the session was made before and goes on,
		// unless it ended meanwhile (then sign in, from an approved
		// browser now).
		if sess, _, err := g.sessions.Resolve(ctx, r); err != nil || sess.ID != a.Request.Session {
			http.Redirect(w, r, g.loginURLFor(a.Request.ReturnTo, false), http.StatusSeeOther)
			return
		}
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	p := &account.Passed{User: a.User, Provider: a.Request.Provider, AMR: a.Request.AMR, Line: a.Request.Line,
		ClientIP: clientIP(ctx).String(), ReturnTo: a.Request.ReturnTo}
	if _, err := g.completeSignIn(w, r, p); err != nil {
		g.log.Error("create session failed", "request_id", requestID(ctx), "err", err)
		code, key := storeFailure(w, err)
		g.fail(w, r, code, key, err)
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// deviceStartPage is GET /login/device/start?return_to=URL, where a
// service with device_approval sends a session whose browser is not
// approved: a button asks for the approval (a POST, since it mails the
// administrators).
func (g *Gateway) deviceStartPage(w http.ResponseWriter, r *http.Request) {
	sess, user, ok := g.requireSession(w, r)
	if !ok {
		return
	}
	target, _ := g.redirects.Safe(r.URL.Query().Get("return_to"))
	known, err := g.deviceKnown(r.Context(), r, user)
	if err != nil {
		code, key := storeFailure(w, err)
		g.fail(w, r, code, key, err)
		return
	}
	if known {
		http.Redirect(w, r, orDefault(target, "/"), http.StatusSeeOther)
		return
	}
	page := portal.DeviceWaitPage{Base: g.base(w, r, sess, user), State: portal.DeviceStart, ReturnTo: target}
	g.renderPage(w, r, http.StatusOK, portal.PageDeviceWait, page)
}

// deviceStartSubmit is POST /login/device/start: return_to. It asks the
// administrators to approve the session's browser.
func (g *Gateway) deviceStartSubmit(w http.ResponseWriter, r *http.Request) {
	sess, user, ok := g.requireSessionForm(w, r)
	if !ok {
		return
	}
	target, _ := g.redirects.Safe(r.PostFormValue("return_to"))
	known, err := g.deviceKnown(r.Context(), r, user)
	if err == nil && known {
		http.Redirect(w, r, orDefault(target, "/"), http.StatusSeeOther)
		return
	}
	if err == nil && g.stillWaiting(r, user, sess.ID) {
		// Asking again mails the administrators once only.
		http.Redirect(w, r, deviceWaitPath, http.StatusSeeOther)
		return
	}
	if err == nil {
		err = g.beginDeviceWait(w, r, user, account.DeviceRequest{Session: sess.ID, ReturnTo: target})
	}
	if err != nil {
		code, key := storeFailure(w, err)
		g.fail(w, r, code, key, err)
	}
}

// deviceApprovePage is GET /admin/devices/approve?ticket=T, the link of
// the administrators' mail: the waiting browser and the buttons.
func (g *Gateway) deviceApprovePage(w http.ResponseWriter, r *http.Request, sess *store.Session, admin *store.User) {
	id := r.URL.Query().Get("ticket")
	page := portal.DeviceApprovePage{Base: g.base(w, r, sess, admin), State: portal.DeviceAsk, Ticket: id}
	v, err := g.account.DeviceRequestFor(r.Context(), id)
	switch {
	case errors.Is(err, account.ErrDeviceGone):
		page.State = portal.DeviceGone
		g.renderPage(w, r, http.StatusGone, portal.PageDeviceApprove, page)
		return
	case err != nil:
		code, key := storeFailure(w, err)
		g.fail(w, r, code, key, err)
		return
	}
	page.Email, page.Name, page.UserAgent, page.ClientIP = v.User.Email, v.User.DisplayName, truncate(v.UserAgent, maxBrowserBytes), v.ClientIP
	page.Time, page.Expires = v.Time, v.Expires
	g.renderPage(w, r, http.StatusOK, portal.PageDeviceApprove, page)
}

// deviceApproveSubmit is POST /admin/devices/approve: ticket, decision
// ("approve" or "deny").
func (g *Gateway) deviceApproveSubmit(w http.ResponseWriter, r *http.Request, sess *store.Session, admin *store.User) {
	id := r.PostFormValue("ticket")
	decision := r.PostFormValue("decision")
	if decision != "approve" && decision != "deny" {
		g.fail(w, r, http.StatusBadRequest, "error.bad_request", nil)
		return
	}
	page := portal.DeviceApprovePage{Base: g.base(w, r, sess, admin), State: portal.DeviceApproved, Ticket: id}
	err := g.account.DecideDevice(r.Context(), admin, id, decision == "approve", g.flowOrigin(r))
	switch {
	case errors.Is(err, account.ErrDeviceGone):
		page.State = portal.DeviceGone
		g.renderPage(w, r, http.StatusGone, portal.PageDeviceApprove, page)
		return
	case err != nil:
		code, key := storeFailure(w, err)
		g.fail(w, r, code, key, err)
		return
	}
	if decision == "deny" {
		page.State = portal.DeviceDenied
	}
	g.renderPage(w, r, http.StatusOK, portal.PageDeviceApprove, page)
}

// devicesSection lists user's approved devices for a page; action is
// where its revoke forms post, viewer's browser is marked current.
func (g *Gateway) devicesSection(w http.ResponseWriter, r *http.Request, sess *store.Session, user *store.User, action string) (portal.DevicesSection, error) {
	sec := portal.DevicesSection{Action: action, On: g.deviceApprovalOn() || len(g.deviceServices()) > 0,
		CSRFToken: g.csrf.token(w, r, sess.ID)}
	ds, err := g.account.Devices(r.Context(), user.ID)
	if err != nil {
		return sec, err
	}
	current := ""
	if t := g.deviceToken(r); t != "" {
		current = account.DeviceID(t)
	}
	by := map[string]string{}
	for _, d := range ds {
		item := portal.DeviceItem{ID: d.ID, Current: d.ID == current, Browser: truncate(d.UserAgent, maxBrowserBytes),
			ClientIP: d.ClientIP, CreatedAt: d.CreatedAt, LastUsedAt: d.LastUsedAt}
		if d.ApprovedBy != "" {
			name, seen := by[d.ApprovedBy]
			if !seen {
				if a, err := g.store.GetUser(r.Context(), d.ApprovedBy); err == nil {
					name = a.Email
				}
				by[d.ApprovedBy] = name
			}
			item.ApprovedBy = name
		}
		sec.Devices = append(sec.Devices, item)
	}
	return sec, nil
}

// deviceServices are the services with their own device approval.
func (g *Gateway) deviceServices() []*service {
	var out []*service
	for _, s := range g.services {
		if s.cfg.DeviceApproval {
			out = append(out, s)
		}
	}
	return out
}

// revokeDevice removes user's approved device id (by is who asked: the
// person, or an administrator on the console's user page) and forgets it
// here at once.
func (g *Gateway) revokeDevice(r *http.Request, user, by *store.User, id string) error {
	if err := g.account.RevokeDevice(r.Context(), user, by, id, g.flowOrigin(r)); err != nil {
		return err
	}
	g.devices.forget(user.ID, id)
	return nil
}

// ownDeviceRevoke is POST /account/sessions with device=ID: the person
// removes one of their approved devices.
func (g *Gateway) ownDeviceRevoke(w http.ResponseWriter, r *http.Request, sess *store.Session, user *store.User, id string) {
	err := g.revokeDevice(r, user, user, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		page, ok := g.sessionsView(w, r, sess, user)
		if !ok {
			return
		}
		page.ErrorKey = "devices.error.gone"
		g.renderPage(w, r, http.StatusNotFound, portal.PageSessions, page)
	case err != nil:
		code, key := storeFailure(w, err)
		g.fail(w, r, code, key, err)
	default:
		http.Redirect(w, r, "/account/sessions?ended=device", http.StatusSeeOther)
	}
}
