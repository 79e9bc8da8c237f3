package gateway

import (
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/ssogate/ssogate/account"
	"github.com/ssogate/ssogate/config"
	"github.com/ssogate/ssogate/providers"
	"github.com/ssogate/ssogate/store"
)

// twoStepKeys seal 2-step verification's state in the store: pending
// sign-ins and enrolments, and the factors' secrets (TOTP keys). Each has
// its own HKDF label, so neither opens the other's nor any cookie's.
type twoStepKeys struct {
	pending []byte
	factor  []byte
}

func deriveTwoStepKeys(master []byte) (twoStepKeys, error) {
	pending, err := hkdf.Key(sha256.New, master, nil, "ssogate 2-step pending sign-in", 32)
	if err != nil {
		return twoStepKeys{}, fmt.Errorf("gateway: 2-step key: %w", err)
	}
	factor, err := hkdf.Key(sha256.New, master, nil, "ssogate 2-step factor secret", 32)
	if err != nil {
		return twoStepKeys{}, fmt.Errorf("gateway: 2-step key: %w", err)
	}
	return twoStepKeys{pending: pending, factor: factor}, nil
}

// twoStepPolicy is policy.two_factor (and the access route) as the
// account flows apply it.
func (g *Gateway) twoStepPolicy(cfg *config.Config) account.TwoStepPolicy {
	t := cfg.Policy.TwoFactor
	return account.TwoStepPolicy{
		Required: t.Required, AppliesTo: t.AppliesTo, Methods: t.Methods,
		RememberBrowser: t.RememberBrowser.D(), CodeTTL: t.CodeTTL.D(), MaxTries: t.MaxTries,
		ResendAfter: t.ResendAfter.D(), PendingTTL: t.PendingTTL.D(),
		LineOnly: cfg.Policy.AccessRoute == config.AccessLineOnly,
		PhoneRegions: map[string]string{config.MethodSMS: cfg.Notify.SMS.DefaultRegion,
			config.MethodVoice: cfg.Notify.Voice.DefaultRegion},
	}
}

// Paths of the second step.
const (
	twoStepPath      = "/login/2fa"
	twoStepSetupPath = "/login/2fa/setup"
	twoStepCodesPath = "/login/2fa/codes"
)

// pendingCookie carries a pending sign-in's token: HttpOnly, Secure and
// __Host- on https, SameSite=Lax (the step's pages are same-site forms),
// for the pending sign-in's lifetime.
func (g *Gateway) pendingCookie(value string, maxAge int) *http.Cookie {
	c := &http.Cookie{Name: "ssogate_2fa", Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true, SameSite: http.SameSiteLaxMode}
	if g.secure {
		c.Name, c.Secure = "__Host-ssogate_2fa", true
	}
	return c
}

// setPending hands the browser a pending sign-in's token (the old one is
// used up).
func (g *Gateway) setPending(w http.ResponseWriter, token string) {
	http.SetCookie(w, g.pendingCookie(token, int(g.cfg.Policy.TwoFactor.PendingTTL.D()/time.Second)))
}

// clearPending removes the pending sign-in's cookie.
func (g *Gateway) clearPending(w http.ResponseWriter) {
	http.SetCookie(w, g.pendingCookie("", -1))
}

// pendingToken is the browser's pending sign-in token, or "".
func (g *Gateway) pendingToken(r *http.Request) string {
	return cookieValue(r, g.pendingCookie("", 0).Name)
}

// rememberCookie carries a remembered browser's token for as long as it
// is remembered since its last use; each skipped step renews it.
func (g *Gateway) rememberCookie(value string, maxAge int) *http.Cookie {
	c := &http.Cookie{Name: "ssogate_rb", Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true, SameSite: http.SameSiteLaxMode}
	if g.secure {
		c.Name, c.Secure = "__Host-ssogate_rb", true
	}
	return c
}

// setRemembered writes the remembered-browser cookie holding token.
func (g *Gateway) setRemembered(w http.ResponseWriter, token string) {
	http.SetCookie(w, g.rememberCookie(token, int(g.cfg.Policy.TwoFactor.RememberBrowser.D()/time.Second)))
}

// rememberedToken is the browser's remembered-browser token, or "".
func (g *Gateway) rememberedToken(r *http.Request) string {
	return cookieValue(r, g.rememberCookie("", 0).Name)
}

// secondStep is the sign-in pipeline's step after the account checks:
// when the policy asks this sign-in for a second factor, it writes the
// pending sign-in, hands the browser its cookie, sends it to /login/2fa
// (or /login/2fa/setup to enrol first) and returns true; no session
// exists until the step is passed. It returns false when the sign-in
// goes on to its session (renewing the remembered-browser cookie when
// that skipped the step), and a status and message key when it failed.
func (g *Gateway) secondStep(w http.ResponseWriter, r *http.Request, p providers.Provider, user *store.User,
	amr []string, line, returnTo string) (bool, int, string) {
	if !g.account.TwoStepOn() {
		return false, 0, ""
	}
	ctx := r.Context()
	_, password := p.(providers.PasswordAuthenticator)
	browser := g.rememberedToken(r)
	b, err := g.account.BeginSignIn(ctx, account.SignIn{User: user, Provider: p.ID(), Password: password, AMR: amr,
		Line: line, ClientIP: clientIP(ctx).String(), ReturnTo: returnTo, Browser: browser}, g.flowOrigin(r))
	if err != nil {
		g.log.Error("second step failed", "request_id", requestID(ctx), "err", err)
		status, key := storeFailure(w, err)
		return true, status, key
	}
	if b.Remembered {
		g.setRemembered(w, browser)
	}
	if b.Token == "" {
		return false, 0, ""
	}
	g.setPending(w, b.Token)
	next := twoStepPath
	if b.Stage == account.StageSetup {
		next = twoStepSetupPath
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
	return true, 0, ""
}

// stepUp starts the second step for the signed-in session sess of user,
// whose amr lacks a second factor, because a service asks for one
// (services[].require_2fa): the person passes a factor (or enrols one
// first), and the session is then replaced by a new one (a new id) whose
// amr adds the factor's value and "mfa"; the browser goes on to
// returnTo (validated by the caller, g.redirects). A remembered browser
// does not skip this step: the service wants a factor in the session.
func (g *Gateway) stepUp(w http.ResponseWriter, r *http.Request, sess *store.Session, user *store.User, returnTo string) {
	ctx := r.Context()
	if !g.account.TwoStepOn() {
		g.fail(w, r, http.StatusForbidden, "twostep.error.off", nil)
		return
	}
	b, err := g.account.BeginSignIn(ctx, account.SignIn{User: user, AMR: sess.AMR, Line: sess.Line,
		ClientIP: clientIP(ctx).String(), ReturnTo: returnTo, StepUp: sess.ID}, g.flowOrigin(r))
	if err != nil {
		code, key := storeFailure(w, err)
		g.fail(w, r, code, key, err)
		return
	}
	g.setPending(w, b.Token)
	next := twoStepPath
	if b.Stage == account.StageSetup {
		next = twoStepSetupPath
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// errStepUpGone means the session a step-up was for ended meanwhile
// (signed out, revoked): passing the step must not bring it back.
var errStepUpGone = errors.New("gateway: the session being stepped up has ended")

// completeSignIn turns a passed second step into the session: it ends
// the browser's current session (for a step-up, the session stepped up,
// which must still be live and the person's), starts one with the amr of
// both factors, remembers the browser when asked, records the sign-in
// and audits it.
func (g *Gateway) completeSignIn(w http.ResponseWriter, r *http.Request, p *account.Passed) (*store.Session, error) {
	ctx := r.Context()
	g.clearPending(w)
	var end *store.Session
	if p.StepUp != "" {
		old, err := g.store.GetSession(ctx, p.StepUp)
		if errors.Is(err, store.ErrNotFound) || (err == nil && (old.UserID != p.User.ID || old.Expired(g.now()))) {
			return nil, errStepUpGone
		}
		if err != nil {
			return nil, err
		}
		end = old
	} else if current, _, err := g.sessions.Resolve(ctx, r); err == nil {
		end = current
	}
	if end != nil {
		if err := g.store.DeleteSession(ctx, end.ID); err != nil {
			return nil, fmt.Errorf("end previous session: %w", err)
		}
		g.sessions.forget(end.ID)
		g.handoffs.forget(end.ID)
	}
	sess, err := g.sessions.Create(ctx, w, r, p.User, p.AMR, p.ClientIP, p.Line)
	if err != nil {
		return nil, err
	}
	if end != nil {
		g.handOverApps(ctx, end, sess)
	}
	if p.RememberToken != "" {
		g.setRemembered(w, p.RememberToken)
	}
	if p.StepUp == "" {
		if err := g.store.RecordLogin(ctx, p.User.ID, g.now()); err != nil {
			g.log.Error("record login failed", "request_id", requestID(ctx), "err", err)
		}
		g.auditSuccess(ctx, store.AuditEvent{Action: "login", UserID: p.User.ID, Actor: p.User.Email, Detail: "provider=" + p.Provider})
	} else {
		g.auditSuccess(ctx, store.AuditEvent{Action: "step_up", UserID: p.User.ID, Actor: p.User.Email, Detail: "factor=" + p.Factor})
	}
	return sess, nil
}

// twoStepOrigin is r as the account flows see it, with its user agent
// (kept with a remembered browser).
func (g *Gateway) twoStepOrigin(r *http.Request) account.Origin {
	o := g.flowOrigin(r)
	o.UserAgent = truncate(r.UserAgent(), 512)
	return o
}
