package gateway

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/ssogate/ssogate/account"
	"github.com/ssogate/ssogate/notify"
	"github.com/ssogate/ssogate/portal"
)

// identityCheckPath is the PIN identity check's one URL: every step's
// form posts to it, and the browser's cookie says which step it is at.
const identityCheckPath = "/identity-check"

// identityCheckFloor is the least time a step before the PIN takes to
// answer: a check whose details matched does more (a sealed message in
// the outbox) than one whose details did not, and the answers must not
// tell them apart by their timing. As /password/forgot's floor, far above
// that work and unnoticed by a person.
const identityCheckFloor = forgotFloor

// maxShortIDInput bounds the user id typed into the details form.
const maxShortIDInput = 64

// idCheckCookie carries an identity check's token: HttpOnly, Secure and
// __Host- on https, SameSite=Lax, for as long as one step may wait.
func (g *Gateway) idCheckCookie(value string, maxAge int) *http.Cookie {
	c := &http.Cookie{Name: "ssogate_idc", Value: value, Path: identityCheckPath, MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteLaxMode}
	if g.secure {
		c.Name, c.Path, c.Secure = "__Host-ssogate_idc", "/", true
	}
	return c
}

// setIDCheck hands the browser the check's new token (the old one is
// used up).
func (g *Gateway) setIDCheck(w http.ResponseWriter, token string) {
	http.SetCookie(w, g.idCheckCookie(token, int(2*g.cfg.Policy.IdentityCheck.PINTTL.D()/time.Second)))
}

// clearIDCheck removes the check's cookie.
func (g *Gateway) clearIDCheck(w http.ResponseWriter) {
	http.SetCookie(w, g.idCheckCookie("", -1))
}

// idCheckToken is the browser's check token, or "".
func (g *Gateway) idCheckToken(r *http.Request) string {
	return cookieValue(r, g.idCheckCookie("", 0).Name)
}

// idCheckPage starts the page of a step.
func (g *Gateway) idCheckPage(w http.ResponseWriter, r *http.Request, step string) portal.IdentityCheckPage {
	sess, user, _ := g.sessionIDs(r)
	return portal.IdentityCheckPage{Base: g.base(w, r, sess, user), Step: step, Rule: g.passwordRule(),
		Passwords: g.passwordsEnabled()}
}

func (g *Gateway) identityCheckPage(w http.ResponseWriter, r *http.Request) {
	if done := r.URL.Query().Get("done"); done == "password" || done == "email" {
		page := g.idCheckPage(w, r, portal.CheckStepDone)
		page.DoneKey = "idcheck.done." + done
		g.renderPage(w, r, http.StatusOK, portal.PageIdentityCheck, page)
		return
	}
	token := g.idCheckToken(r)
	if token == "" {
		g.renderPage(w, r, http.StatusOK, portal.PageIdentityCheck, g.idCheckPage(w, r, portal.CheckStepDetails))
		return
	}
	g.showCheck(w, r, token, http.StatusOK, "")
}

// showCheck renders the page of the check of token at its stage, with
// errKey (if any), in status.
func (g *Gateway) showCheck(w http.ResponseWriter, r *http.Request, token string, status int, errKey string) {
	v, err := g.account.IdentityCheck(r.Context(), token)
	if errors.Is(err, account.ErrCheckGone) {
		g.clearIDCheck(w)
		page := g.idCheckPage(w, r, portal.CheckStepDetails)
		page.ErrorKey = "idcheck.error.gone"
		g.renderPage(w, r, http.StatusOK, portal.PageIdentityCheck, page)
		return
	}
	if err != nil {
		g.fail(w, r, http.StatusInternalServerError, "error.internal", err)
		return
	}
	page := g.idCheckPage(w, r, portal.CheckStepChannel)
	page.ErrorKey = errKey
	for _, c := range v.Choices {
		page.Choices = append(page.Choices, portal.CheckChoice{Channel: c.Channel, Target: c.Target})
	}
	switch v.Stage {
	case account.PINStagePIN:
		page.Step, page.Channel, page.Target, page.TriesLeft = portal.CheckStepPIN, v.Channel, v.Target, v.TriesLeft
		page.Expires = notify.CodeValidity(g.cfg.Policy.IdentityCheck.PINTTL.D(), page.Lang)
	case account.PINStageVerified:
		page.Step, page.Email, page.Choices = portal.CheckStepReset, v.Email, nil
	}
	g.renderPage(w, r, status, portal.PageIdentityCheck, page)
}

// identityCheckSubmit runs one step of the check; which one is told by
// the form's fields (DESIGN.md: login_id and phone, then channel, then
// pin, then action=password or action=email). Up to the PIN step every
// answer takes at least identityCheckFloor and is the same whether or
// not the details matched.
func (g *Gateway) identityCheckSubmit(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	_, _, sids := g.sessionIDs(r)
	if !g.parseForm(w, r, sids...) {
		return
	}
	ctx, o, token := r.Context(), g.flowOrigin(r), g.idCheckToken(r)
	floor := func() { waitUntil(ctx, start.Add(identityCheckFloor)) }
	switch {
	case r.PostFormValue("restart") != "":
		g.clearIDCheck(w)
		http.Redirect(w, r, identityCheckPath, http.StatusSeeOther)

	case r.PostForm.Has("login_id"):
		id := truncate(strings.TrimSpace(r.PostFormValue("login_id")), maxShortIDInput)
		phone := truncate(strings.TrimSpace(r.PostFormValue("phone")), maxPhoneInput)
		next, err := g.account.StartIdentityCheck(ctx, id, phone, o)
		floor()
		page := g.idCheckPage(w, r, portal.CheckStepDetails)
		page.LoginID, page.Phone = id, phone
		switch {
		case errors.Is(err, account.ErrShortIDInvalid):
			page.ErrorKey = "idcheck.error.login_id"
			g.renderPage(w, r, http.StatusBadRequest, portal.PageIdentityCheck, page)
		case errors.Is(err, account.ErrInvalidPhone):
			page.ErrorKey = "idcheck.error.phone"
			g.renderPage(w, r, http.StatusBadRequest, portal.PageIdentityCheck, page)
		case errors.Is(err, account.ErrRateLimited):
			page.ErrorKey = "idcheck.error.rate_limited"
			g.renderPage(w, r, http.StatusTooManyRequests, portal.PageIdentityCheck, page)
		case err != nil:
			g.fail(w, r, http.StatusInternalServerError, "error.internal", err)
		default:
			g.setIDCheck(w, next)
			http.Redirect(w, r, identityCheckPath, http.StatusSeeOther)
		}

	case r.PostForm.Has("channel"):
		next, err := g.account.SendPIN(ctx, token, r.PostFormValue("channel"), o)
		floor()
		g.checkStepDone(w, r, token, next, err)

	case r.PostForm.Has("pin"):
		next, err := g.account.VerifyPIN(ctx, token, r.PostFormValue("pin"), o)
		floor()
		g.checkStepDone(w, r, token, next, err)

	case r.PostFormValue("action") == "password" && g.passwordsEnabled():
		u, err := g.account.IdentityCheckPassword(ctx, token, r.PostFormValue("password"),
			r.PostFormValue("password_confirm"), o)
		if keys := reasonKeys(err); keys != nil {
			page := g.idCheckPage(w, r, portal.CheckStepReset)
			page.ErrorKeys = keys
			if v, verr := g.account.IdentityCheck(ctx, token); verr == nil {
				page.Email = v.Email
			}
			g.renderPage(w, r, http.StatusBadRequest, portal.PageIdentityCheck, page)
			return
		}
		if err == nil {
			g.sessions.forgetUser(u.ID)
			g.clearIDCheck(w)
			http.Redirect(w, r, identityCheckPath+"?done=password", http.StatusSeeOther)
			return
		}
		g.checkStepDone(w, r, token, "", err)

	case r.PostFormValue("action") == "email":
		typed := truncate(strings.TrimSpace(r.PostFormValue("email")), maxEmailInput)
		err := g.account.IdentityCheckEmail(ctx, token, typed, r.PostFormValue("email_confirm"), o)
		key := map[error]string{account.ErrEmailInvalid: "idcheck.error.email_invalid",
			account.ErrEmailMismatch: "idcheck.error.email_mismatch", account.ErrEmailSame: "idcheck.error.email_same"}
		for e, k := range key {
			if errors.Is(err, e) {
				page := g.idCheckPage(w, r, portal.CheckStepReset)
				page.ErrorKey, page.NewEmail = k, typed
				if v, verr := g.account.IdentityCheck(ctx, token); verr == nil {
					page.Email = v.Email
				}
				g.renderPage(w, r, http.StatusBadRequest, portal.PageIdentityCheck, page)
				return
			}
		}
		if err == nil {
			g.clearIDCheck(w)
			http.Redirect(w, r, identityCheckPath+"?done=email", http.StatusSeeOther)
			return
		}
		g.checkStepDone(w, r, token, "", err)

	default:
		g.fail(w, r, http.StatusBadRequest, "error.bad_request", nil)
	}
}

// checkStepDone answers a step of a check under way: next is the new
// token (the old one is used up) or "" when the check ended; err the
// step's error.
func (g *Gateway) checkStepDone(w http.ResponseWriter, r *http.Request, token, next string, err error) {
	if next != "" {
		g.setIDCheck(w, next)
	}
	ended := func(key string) {
		g.clearIDCheck(w)
		page := g.idCheckPage(w, r, portal.CheckStepDetails)
		page.ErrorKey = key
		g.renderPage(w, r, http.StatusBadRequest, portal.PageIdentityCheck, page)
	}
	switch {
	case err == nil:
		http.Redirect(w, r, identityCheckPath, http.StatusSeeOther)
	case errors.Is(err, account.ErrWrongCode):
		g.showCheck(w, r, next, http.StatusBadRequest, "idcheck.error.wrong_pin")
	case errors.Is(err, account.ErrTooManyTries):
		ended("idcheck.error.too_many")
	case errors.Is(err, account.ErrPINExpired):
		ended("idcheck.error.expired")
	case errors.Is(err, account.ErrCheckGone):
		ended("idcheck.error.gone")
	case errors.Is(err, account.ErrRateLimited):
		g.showCheck(w, r, token, http.StatusTooManyRequests, "idcheck.error.rate_limited")
	case errors.Is(err, account.ErrChannelUnavailable):
		g.showCheck(w, r, token, http.StatusBadRequest, "idcheck.error.channel")
	case errors.Is(err, account.ErrWrongStage):
		http.Redirect(w, r, identityCheckPath, http.StatusSeeOther)
	default:
		g.fail(w, r, http.StatusInternalServerError, "error.internal", err)
	}
}
