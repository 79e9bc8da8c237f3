package gateway

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/ssogate/ssogate/account"
	"github.com/ssogate/ssogate/portal"
)

// twoStepRoutes adds the pages of 2-step verification.
func (g *Gateway) twoStepRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+twoStepPath, g.twoStepPage)
	mux.HandleFunc("POST "+twoStepPath, g.twoStepSubmit)
	mux.HandleFunc("GET /login/2fa/recovery", g.recoveryPage)
	mux.HandleFunc("POST /login/2fa/recovery", g.recoverySubmit)
	mux.HandleFunc("GET "+twoStepSetupPath, g.setupPage)
	mux.HandleFunc("POST "+twoStepSetupPath, g.setupSubmit)
	mux.HandleFunc("GET "+twoStepCodesPath, g.codesPage)
	mux.HandleFunc("POST "+twoStepCodesPath, g.codesSubmit)
	mux.HandleFunc("GET /login/2fa/codes.txt", g.codesText)
	mux.HandleFunc("GET /account/2fa", g.twoStepAccountPage)
	mux.HandleFunc("POST /account/2fa", g.twoStepAccountSubmit)
}

// twoStepErrorKeys are the messages of the second step's refusals.
var twoStepErrorKeys = map[error]string{
	account.ErrWrongCode:         "twostep.error.wrong_code",
	account.ErrCodeUsed:          "twostep.error.code_used",
	account.ErrTooManyTries:      "twostep.error.too_many",
	account.ErrCodeExpired:       "twostep.error.code_expired",
	account.ErrResendTooSoon:     "twostep.error.resend_soon",
	account.ErrRateLimited:       "twostep.error.rate_limited",
	account.ErrMethodUnavailable: "twostep.error.method",
	account.ErrInvalidPhone:      "twostep.error.phone",
	account.ErrNoSuchFactor:      "twostep.error.no_factor",
	account.ErrLastFactor:        "twostep.error.last_factor",
	account.ErrWrongPassword:     "twostep.error.password",
	account.ErrNoSuchBrowser:     "twostep.error.no_browser",
}

// twoStepErrorKey is the message key of a refusal err, or "" when err is
// a failure of the gateway (the caller answers it as such).
func twoStepErrorKey(err error) string {
	for e, key := range twoStepErrorKeys {
		if errors.Is(err, e) {
			return key
		}
	}
	return ""
}

// twoStepStatus is the status of a page that shows refusal err again.
func twoStepStatus(err error) int {
	if errors.Is(err, account.ErrRateLimited) || errors.Is(err, account.ErrResendTooSoon) {
		return http.StatusTooManyRequests
	}
	return http.StatusBadRequest
}

// pendingGone answers a request whose pending sign-in is over (expired,
// used, never begun): the login page says to sign in again.
func (g *Gateway) pendingGone(w http.ResponseWriter, r *http.Request, key string) {
	g.clearPending(w)
	page := g.loginView(w, r, "")
	page.ErrorKey = key
	g.renderPage(w, r, http.StatusBadRequest, portal.PageLogin, page)
}

// pendingView reads the browser's pending sign-in for a page of stage;
// at another stage it sends the browser to that stage's page. It
// answers and returns nil when the page cannot be shown.
func (g *Gateway) pendingView(w http.ResponseWriter, r *http.Request, stage string) *account.PendingView {
	v, err := g.account.Pending(r.Context(), g.pendingToken(r))
	switch {
	case errors.Is(err, account.ErrPendingGone):
		g.pendingGone(w, r, "twostep.error.gone")
		return nil
	case err != nil:
		code, key := storeFailure(w, err)
		g.fail(w, r, code, key, err)
		return nil
	case v.Stage != stage:
		http.Redirect(w, r, stagePath(v.Stage), http.StatusSeeOther)
		return nil
	}
	return v
}

// stagePath is the page of a pending sign-in's stage.
func stagePath(stage string) string {
	switch stage {
	case account.StageSetup:
		return twoStepSetupPath
	case account.StageCodes:
		return twoStepCodesPath
	}
	return twoStepPath
}

// pendingForm parses a pending sign-in's POST: its bounded body and the
// CSRF token, bound to the browser (and to its session for a step-up).
func (g *Gateway) pendingForm(w http.ResponseWriter, r *http.Request) bool {
	_, _, sids := g.sessionIDs(r)
	return g.parseForm(w, r, sids...)
}

// pendingBase is the Base of a pending sign-in's page: no one is signed
// in yet (a step-up shows the session's person).
func (g *Gateway) pendingBase(w http.ResponseWriter, r *http.Request) portal.Base {
	sess, user, _ := g.sessionIDs(r)
	return g.base(w, r, sess, user)
}

// rememberDays is remember_browser in whole days, for the checkbox.
func (g *Gateway) rememberDays() int {
	return int((g.cfg.Policy.TwoFactor.RememberBrowser.D() + 12*time.Hour) / (24 * time.Hour))
}

// factorItems describes factors for a page.
func factorItems(cs []account.FactorChoice) []portal.TwoStepFactor {
	out := make([]portal.TwoStepFactor, 0, len(cs))
	for _, c := range cs {
		out = append(out, factorItem(c))
	}
	return out
}

func factorItem(c account.FactorChoice) portal.TwoStepFactor {
	return portal.TwoStepFactor{ID: c.ID, Kind: c.Kind, Name: c.Name, Target: c.Target, CreatedAt: c.CreatedAt, LastUsed: c.LastUsed}
}

// twoStepView is the page of the second step for v.
func (g *Gateway) twoStepView(w http.ResponseWriter, r *http.Request, v *account.PendingView) portal.TwoStepPage {
	return portal.TwoStepPage{Base: g.pendingBase(w, r), Factors: factorItems(v.Factors), Chosen: factorItem(v.Chosen),
		Sends: v.Sends, Sent: v.Sent, Remember: v.Remember, RememberDays: g.rememberDays(), TriesLeft: v.TriesLeft,
		RecoveryLeft: v.RecoveryLeft, StepUp: v.StepUp, Options: string(v.Options)}
}

// twoStepPage is GET /login/2fa.
func (g *Gateway) twoStepPage(w http.ResponseWriter, r *http.Request) {
	v := g.pendingView(w, r, account.StageVerify)
	if v == nil {
		return
	}
	page := g.twoStepView(w, r, v)
	if r.URL.Query().Get("sent") == "1" && v.Sent {
		page.NoticeKey = "twostep.notice.sent"
	}
	g.renderPage(w, r, http.StatusOK, portal.PageTwoStep, page)
}

// twoStepSubmit is POST /login/2fa: factor (ask another factor), send
// (send the chosen factor's code), or code (and remember).
func (g *Gateway) twoStepSubmit(w http.ResponseWriter, r *http.Request) {
	if !g.pendingForm(w, r) {
		return
	}
	ctx := r.Context()
	token, o := g.pendingToken(r), g.twoStepOrigin(r)
	switch {
	case r.PostForm.Has("factor"):
		next, err := g.account.ChooseFactor(ctx, token, r.PostFormValue("factor"), o)
		g.pendingNext(w, r, next, err, twoStepPath)
	case r.PostForm.Has("send"):
		next, err := g.account.SendCode(ctx, token, o)
		g.pendingNext(w, r, next, err, twoStepPath+"?sent=1")
	default:
		st, err := g.account.VerifyCode(ctx, token, r.PostFormValue("code"), r.PostFormValue("remember") == "1", o)
		g.pendingStep(w, r, st, err)
	}
}

// pendingNext answers a step that moved the pending sign-in on (token
// next) by sending the browser to path, or shows the refusal err on the
// page of the sign-in's stage.
func (g *Gateway) pendingNext(w http.ResponseWriter, r *http.Request, next string, err error, path string) {
	if err != nil {
		g.pendingStep(w, r, &account.Step{Token: g.pendingToken(r)}, err)
		return
	}
	g.setPending(w, next)
	http.Redirect(w, r, path, http.StatusSeeOther)
}

// pendingStep answers the outcome of a code (or recovery code) entered
// at a pending sign-in: the session when it passed, the next page when it
// moved on, or the page again with the refusal.
func (g *Gateway) pendingStep(w http.ResponseWriter, r *http.Request, st *account.Step, err error) {
	ctx := r.Context()
	if st == nil {
		st = &account.Step{Token: g.pendingToken(r)}
	}
	key := twoStepErrorKey(err)
	switch {
	case errors.Is(err, account.ErrPendingGone):
		g.pendingGone(w, r, "twostep.error.gone")
	case errors.Is(err, account.ErrWrongStage):
		v, verr := g.account.Pending(ctx, g.pendingToken(r))
		if verr != nil {
			g.pendingGone(w, r, "twostep.error.gone")
			return
		}
		http.Redirect(w, r, stagePath(v.Stage), http.StatusSeeOther)
	case err != nil && key == "":
		code, k := storeFailure(w, err)
		g.fail(w, r, code, k, err)
	case errors.Is(err, account.ErrTooManyTries) && st.Token == "":
		// The sign-in is over (too many wrong codes of a factor that
		// sends nothing): it starts again with the password.
		g.pendingGone(w, r, "twostep.error.too_many_restart")
	case err != nil:
		if st.Token != g.pendingToken(r) {
			g.setPending(w, st.Token)
		}
		g.pendingAgain(w, r, st.Token, twoStepStatus(err), key)
	case st.Passed == nil:
		g.setPending(w, st.Token)
		v, verr := g.account.Pending(ctx, st.Token)
		if verr != nil {
			g.pendingGone(w, r, "twostep.error.gone")
			return
		}
		http.Redirect(w, r, stagePath(v.Stage), http.StatusSeeOther)
	default:
		g.passed(w, r, st.Passed)
	}
}

// pendingAgain shows the page of the pending sign-in of token again,
// with the refusal key.
func (g *Gateway) pendingAgain(w http.ResponseWriter, r *http.Request, token string, status int, key string) {
	v, err := g.account.Pending(r.Context(), token)
	if err != nil {
		g.pendingGone(w, r, "twostep.error.gone")
		return
	}
	switch v.Stage {
	case account.StageSetup:
		page := g.setupView(w, r, v)
		page.ErrorKey = key
		if key == "twostep.error.too_many" {
			page.ErrorKey = "twostep.error.too_many_enrol"
		}
		g.renderPage(w, r, status, portal.PageTwoStepSetup, page)
	case account.StageCodes:
		page := g.codesView(w, r, v)
		page.ErrorKey = key
		g.renderPage(w, r, status, portal.PageTwoStepCodes, page)
	default:
		if strings.HasPrefix(r.URL.Path, "/login/2fa/recovery") {
			page := portal.TwoStepRecoveryPage{Base: g.pendingBase(w, r), Remember: v.Remember, RememberDays: g.rememberDays(), ErrorKey: key}
			g.renderPage(w, r, status, portal.PageTwoStepRecovery, page)
			return
		}
		page := g.twoStepView(w, r, v)
		page.ErrorKey = key
		g.renderPage(w, r, status, portal.PageTwoStep, page)
	}
}

// passed makes the session of a sign-in that passed its second step and
// sends the browser on: to the completion page after a first
// enrolment, else to where it was going.
func (g *Gateway) passed(w http.ResponseWriter, r *http.Request, p *account.Passed) {
	ctx := r.Context()
	if p.StepUp == "" && g.deviceApprovalOn() {
		// The second step is passed; a new browser now waits for its
		// approval (deviceStep), remembered for the second step already.
		g.clearPending(w)
		if p.RememberToken != "" {
			g.setRemembered(w, p.RememberToken)
		}
		if waits, status, key := g.deviceStep(w, r, p.Provider, p.User, p.AMR, p.Line, p.ReturnTo); waits {
			if key != "" {
				g.fail(w, r, status, key, nil)
			}
			return
		}
	}
	sess, err := g.completeSignIn(w, r, p)
	if errors.Is(err, errStepUpGone) {
		g.pendingGone(w, r, "twostep.error.session_ended")
		return
	}
	if err != nil {
		g.log.Error("create session failed", "request_id", requestID(ctx), "err", err)
		code, key := storeFailure(w, err)
		g.fail(w, r, code, key, err)
		return
	}
	next := orDefault(p.ReturnTo, "/")
	if p.Enrolled {
		page := portal.TwoStepDonePage{Base: g.base(w, r, sess, p.User), Continue: next}
		g.renderPage(w, r, http.StatusOK, portal.PageTwoStepDone, page)
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// recoveryPage is GET /login/2fa/recovery.
func (g *Gateway) recoveryPage(w http.ResponseWriter, r *http.Request) {
	v := g.pendingView(w, r, account.StageVerify)
	if v == nil {
		return
	}
	page := portal.TwoStepRecoveryPage{Base: g.pendingBase(w, r), Remember: v.Remember, RememberDays: g.rememberDays()}
	g.renderPage(w, r, http.StatusOK, portal.PageTwoStepRecovery, page)
}

// recoverySubmit is POST /login/2fa/recovery: recovery_code, remember.
func (g *Gateway) recoverySubmit(w http.ResponseWriter, r *http.Request) {
	if !g.pendingForm(w, r) {
		return
	}
	st, err := g.account.UseRecoveryCode(r.Context(), g.pendingToken(r), r.PostFormValue("recovery_code"),
		r.PostFormValue("remember") == "1", g.twoStepOrigin(r))
	g.pendingStep(w, r, st, err)
}

// setupView is the enrolment page for v.
func (g *Gateway) setupView(w http.ResponseWriter, r *http.Request, v *account.PendingView) portal.TwoStepSetupPage {
	page := portal.TwoStepSetupPage{Base: g.pendingBase(w, r), Methods: v.Methods, Phone: v.Phone,
		Remember: v.Remember, RememberDays: g.rememberDays(), StepUp: v.StepUp}
	if v.EnrolKind != "" {
		page.Enrol = &portal.TwoStepEnrolment{Kind: v.EnrolKind, URI: v.EnrolURI, Secret: v.EnrolSecret, QRPNG: v.EnrolQR,
			Target: v.EnrolTarget, TriesLeft: v.TriesLeft, Options: string(v.EnrolOptions)}
	}
	return page
}

// setupPage is GET /login/2fa/setup.
func (g *Gateway) setupPage(w http.ResponseWriter, r *http.Request) {
	v := g.pendingView(w, r, account.StageSetup)
	if v == nil {
		return
	}
	g.renderPage(w, r, http.StatusOK, portal.PageTwoStepSetup, g.setupView(w, r, v))
}

// setupSubmit is POST /login/2fa/setup: method (and phone) begins an
// enrolment; code (and remember) finishes it.
func (g *Gateway) setupSubmit(w http.ResponseWriter, r *http.Request) {
	if !g.pendingForm(w, r) {
		return
	}
	ctx := r.Context()
	token, o := g.pendingToken(r), g.twoStepOrigin(r)
	if r.PostForm.Has("method") {
		next, err := g.account.BeginSetup(ctx, token, r.PostFormValue("method"), r.PostFormValue("phone"), o)
		g.pendingNext(w, r, next, err, twoStepSetupPath)
		return
	}
	st, err := g.account.FinishSetupNamed(ctx, token, r.PostFormValue("code"), r.PostFormValue("name"),
		r.PostFormValue("remember") == "1", o)
	g.pendingStep(w, r, st, err)
}

// codesView is the recovery codes page of a pending sign-in.
func (g *Gateway) codesView(w http.ResponseWriter, r *http.Request, v *account.PendingView) portal.TwoStepCodesPage {
	return portal.TwoStepCodesPage{Base: g.pendingBase(w, r), Codes: v.Codes, Action: twoStepCodesPath,
		Download: "/login/2fa/codes.txt", Renewed: !v.Enrolled}
}

// codesPage is GET /login/2fa/codes: the recovery codes, once.
func (g *Gateway) codesPage(w http.ResponseWriter, r *http.Request) {
	v := g.pendingView(w, r, account.StageCodes)
	if v == nil {
		return
	}
	g.renderPage(w, r, http.StatusOK, portal.PageTwoStepCodes, g.codesView(w, r, v))
}

// codesSubmit is POST /login/2fa/codes: saved = "1" (the checkbox).
func (g *Gateway) codesSubmit(w http.ResponseWriter, r *http.Request) {
	if !g.pendingForm(w, r) {
		return
	}
	if r.PostFormValue("saved") != "1" {
		g.pendingAgain(w, r, g.pendingToken(r), http.StatusBadRequest, "twostep.codes.error.not_saved")
		return
	}
	p, err := g.account.CodesSaved(r.Context(), g.pendingToken(r), g.twoStepOrigin(r))
	if err != nil {
		g.pendingStep(w, r, nil, err)
		return
	}
	g.passed(w, r, p)
}

// codesText is GET /login/2fa/codes.txt: the recovery codes being shown,
// as a text file to keep.
func (g *Gateway) codesText(w http.ResponseWriter, r *http.Request) {
	v := g.pendingView(w, r, account.StageCodes)
	if v == nil {
		return
	}
	writeCodesText(w, g.cfg.Portal.Title.In(g.lang(r)), v.User.Email, v.Codes, g.lang(r))
}

// writeCodesText writes codes as the downloadable recovery-codes.txt.
func writeCodesText(w http.ResponseWriter, title, email string, codes []string, lang string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="recovery-codes.txt"`)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write([]byte(portal.CodesText(lang, title, email, codes)))
}
