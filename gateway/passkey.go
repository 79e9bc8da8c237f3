package gateway

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/ssogate/ssogate/account"
	"github.com/ssogate/ssogate/portal"
	"github.com/ssogate/ssogate/providers"
	"github.com/ssogate/ssogate/store"
)

// Passwordless sign-in with a passkey (/login/passkey). The page runs
// portal/static/webauthn.js, the one script the portal has; the ceremony's
// challenge stays server-side in a ticket bound to the browser by a
// short-lived cookie, and the passkey signs the person in through
// finishLogin like any first factor, with amr "hwk", "user", "mfa": the
// ceremony requires user verification (a PIN or fingerprint on the
// device), so the passkey is two factors and no second step follows. An
// answer without it is refused like a wrong one: a passkey alone could
// otherwise pass its own sign-in's second step.

// allowScript gives the response the page policy of the pages that run
// webauthn.js: every other page's, with scripts allowed from the gateway
// itself. renderPage sets it for the views that say they run the script
// (portal.Scripted); every other page keeps script-src 'none'.
func (g *Gateway) allowScript(w http.ResponseWriter) {
	w.Header().Set("Content-Security-Policy", strings.Replace(g.csp, "script-src 'none'", "script-src 'self'", 1))
}

// passkeyProvider is the passkey as finishLogin's first factor: its
// identities are the store's own users (Subject is the user id), as the
// local provider's are.
type passkeyProvider struct{}

// passkeyProviderID names passkey sign-ins in audit events, metrics and a
// user's login_methods.
const passkeyProviderID = "passkey"

func (passkeyProvider) ID() string   { return passkeyProviderID }
func (passkeyProvider) Type() string { return "local" }

var _ providers.Provider = passkeyProvider{}

// passkeyCookie carries the token of a passwordless ceremony to its POST
// only (path /login/passkey).
func (g *Gateway) passkeyCookie(value string, maxAge int) *http.Cookie {
	c := &http.Cookie{Name: "ssogate_passkey", Value: value, Path: "/login/passkey", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteLaxMode}
	if g.secure {
		c.Name, c.Secure = "__Secure-ssogate_passkey", true
	}
	return c
}

// passkeyOn reports whether the login page offers passkeys.
func (g *Gateway) passkeyOn() bool { return g.account != nil && g.account.PasskeyOn() }

// passkeyLoginPage begins a ceremony and shows its page.
func (g *Gateway) passkeyLoginPage(w http.ResponseWriter, r *http.Request) {
	if !g.passkeyOn() {
		g.fail(w, r, http.StatusNotFound, "error.not_found", nil)
		return
	}
	returnTo, _ := g.redirects.Safe(r.URL.Query().Get("return_to"))
	if _, _, err := g.sessions.Resolve(r.Context(), r); err == nil {
		http.Redirect(w, r, orDefault(returnTo, "/"), http.StatusSeeOther)
		return
	}
	g.passkeyCeremony(w, r, http.StatusOK, returnTo, "")
}

// passkeyCeremony begins a new ceremony for returnTo and renders its page
// with status and the message errKey ("" for none).
func (g *Gateway) passkeyCeremony(w http.ResponseWriter, r *http.Request, status int, returnTo, errKey string) {
	c, err := g.account.BeginPasskey(r.Context(), returnTo)
	if err != nil {
		g.fail(w, r, http.StatusInternalServerError, "error.internal", err)
		return
	}
	http.SetCookie(w, g.passkeyCookie(c.Token, int(account.PasskeyTTL/time.Second)))
	g.renderPage(w, r, status, portal.PagePasskeyLogin, portal.PasskeyLoginPage{
		Base: g.base(w, r, nil, nil), Options: string(c.Options), ReturnTo: returnTo, ErrorKey: errKey})
}

// passkeyLoginSubmit checks the browser's answer ("credential") and
// signs the person in. An unknown passkey, a wrong answer and a replayed
// one are answered alike, and counted against the client's throttle as
// a wrong password is.
func (g *Gateway) passkeyLoginSubmit(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if !g.passkeyOn() {
		g.fail(w, r, http.StatusNotFound, "error.not_found", nil)
		return
	}
	current, _, _ := g.sessions.Resolve(ctx, r)
	sids := []string{""}
	if current != nil {
		sids = append(sids, current.ID)
	}
	if !g.parseForm(w, r, sids...) {
		return
	}
	returnTo, _ := g.redirects.Safe(r.PostFormValue("return_to"))
	ev := store.AuditEvent{Action: "login", Detail: "provider=" + passkeyProviderID}
	if g.throttled(w, r, ev) {
		return
	}
	credential := r.PostFormValue("credential")
	if credential == "" {
		// The form was posted without its script: say what to do.
		g.renderPage(w, r, http.StatusBadRequest, portal.PagePasskeyLogin, portal.PasskeyLoginPage{
			Base: g.base(w, r, nil, nil), ReturnTo: returnTo, ErrorKey: "passkey.noscript"})
		return
	}
	var token string
	if c, err := r.Cookie(g.passkeyCookie("", 0).Name); err == nil {
		token = c.Value
	}
	http.SetCookie(w, g.passkeyCookie("", -1))
	res, err := g.account.FinishPasskey(ctx, token, credential, g.flowOrigin(r))
	switch {
	case errors.Is(err, account.ErrPasskeyGone):
		g.observeSignIn(ev, "flow_expired_or_used")
		g.passkeyCeremony(w, r, http.StatusBadRequest, returnTo, "passkey.error.expired")
		return
	case errors.Is(err, account.ErrPasskeyRefused):
		g.observeSignIn(ev, "invalid_credentials")
		if cerr := g.account.CountClientFailure(ctx, g.accountClient(ctx)); cerr != nil {
			g.log.Warn("throttle count failed", "request_id", requestID(ctx), "err", cerr)
		}
		g.passkeyCeremony(w, r, http.StatusUnauthorized, returnTo, "passkey.error.invalid")
		return
	case err != nil:
		g.fail(w, r, http.StatusInternalServerError, "error.internal", err)
		return
	}
	ev.Actor = res.User.Email
	id := &providers.Identity{ProviderID: passkeyProviderID, Subject: res.User.ID, Email: res.User.Email, AMR: res.AMR}
	if status, key := g.finishLogin(w, r, passkeyProvider{}, id, res.ReturnTo, current, ev); key != "" {
		g.renderPage(w, r, status, portal.PagePasskeyLogin, portal.PasskeyLoginPage{
			Base: g.base(w, r, nil, nil), ReturnTo: res.ReturnTo, ErrorKey: key})
	}
}
