package gateway

import (
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/ssogate/ssogate/account"
	"github.com/ssogate/ssogate/portal"
	"github.com/ssogate/ssogate/store"
)

// reauthWindow is how recent a sign-in must be for an account without a
// local password to make new recovery codes: the sign-in stands in for
// the password it cannot type here.
const reauthWindow = 5 * time.Minute

// twoStepAccountNotices are the banners /account/2fa shows after a change.
var twoStepAccountNotices = map[string]string{
	"added":   "twostep.account.notice.added",
	"removed": "twostep.account.notice.removed",
	"renamed": "twostep.account.notice.renamed",
}

// twoStepAccountView is /account/2fa for user.
func (g *Gateway) twoStepAccountView(w http.ResponseWriter, r *http.Request, sess *store.Session, user *store.User) (portal.TwoStepAccountPage, bool) {
	ctx := r.Context()
	page := portal.TwoStepAccountPage{Base: g.base(w, r, sess, user), Phone: user.Mobile}
	st, err := g.account.Status(ctx, user.ID)
	if err == nil {
		page.NeedPassword, err = g.account.HasPassword(ctx, user.ID)
	}
	if err != nil {
		code, key := storeFailure(w, err)
		g.fail(w, r, code, key, err)
		return page, false
	}
	page.Factors = factorItems(st.Factors)
	page.RecoveryLeft, page.Methods, page.Required = st.RecoveryLeft, st.Methods, st.Required
	if !page.NeedPassword {
		page.ReauthURL = "/login?reauth=1&return_to=" + url.QueryEscape("/account/2fa")
	}
	return page, true
}

// twoStepAccountPage is GET /account/2fa.
func (g *Gateway) twoStepAccountPage(w http.ResponseWriter, r *http.Request) {
	if !g.account.TwoStepOn() {
		g.fail(w, r, http.StatusNotFound, "error.not_found", nil)
		return
	}
	sess, user, ok := g.requireSession(w, r)
	if !ok {
		return
	}
	page, ok := g.twoStepAccountView(w, r, sess, user)
	if !ok {
		return
	}
	page.NoticeKey = twoStepAccountNotices[r.URL.Query().Get("done")]
	g.renderPage(w, r, http.StatusOK, portal.PageTwoStepAccount, page)
}

// twoStepAccountSubmit is POST /account/2fa: add (a kind, and phone)
// begins adding a factor; enrolment, code and name finish it; remove or
// rename (a factor id, and name) change one; renew (and password) makes
// new recovery codes.
func (g *Gateway) twoStepAccountSubmit(w http.ResponseWriter, r *http.Request) {
	if !g.account.TwoStepOn() {
		g.fail(w, r, http.StatusNotFound, "error.not_found", nil)
		return
	}
	sess, user, ok := g.requireSessionForm(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	o := g.twoStepOrigin(r)
	again := func(err error, enrol *account.Enrolment) {
		key := twoStepErrorKey(err)
		if key == "" {
			code, k := storeFailure(w, err)
			g.fail(w, r, code, k, err)
			return
		}
		if errors.Is(err, account.ErrReauthNeeded) {
			key = "twostep.account.error.reauth"
		}
		page, ok := g.twoStepAccountView(w, r, sess, user)
		if !ok {
			return
		}
		page.ErrorKey, page.Enrol = key, enrolItem(enrol)
		g.renderPage(w, r, twoStepStatus(err), portal.PageTwoStepAccount, page)
	}
	f := r.PostForm
	switch {
	case f.Has("add"):
		e, err := g.account.BeginAdd(ctx, user, sess.ID, f.Get("add"), f.Get("phone"), o)
		if err != nil {
			again(err, nil)
			return
		}
		page, ok := g.twoStepAccountView(w, r, sess, user)
		if !ok {
			return
		}
		page.Enrol = enrolItem(e)
		g.renderPage(w, r, http.StatusOK, portal.PageTwoStepAccount, page)
	case f.Has("enrolment"):
		added, e, err := g.account.FinishAdd(ctx, user, sess.ID, f.Get("enrolment"), f.Get("code"), f.Get("name"), o)
		switch {
		case errors.Is(err, account.ErrPendingGone):
			again(account.ErrTooManyTries, nil)
			return
		case err != nil:
			again(err, e)
			return
		case len(added.Codes) == 0:
			http.Redirect(w, r, "/account/2fa?done=added", http.StatusSeeOther)
			return
		}
		page, ok := g.twoStepAccountView(w, r, sess, user)
		if !ok {
			return
		}
		page.Codes, page.NoticeKey = added.Codes, "twostep.account.notice.added"
		g.renderPage(w, r, http.StatusOK, portal.PageTwoStepAccount, page)
	case f.Has("remove"):
		if err := g.account.RemoveFactor(ctx, user, f.Get("remove"), o); err != nil {
			again(err, nil)
			return
		}
		http.Redirect(w, r, "/account/2fa?done=removed", http.StatusSeeOther)
	case f.Has("rename"):
		if err := g.account.RenameFactor(ctx, user, f.Get("rename"), f.Get("name"), o); err != nil {
			again(err, nil)
			return
		}
		http.Redirect(w, r, "/account/2fa?done=renamed", http.StatusSeeOther)
	case f.Has("renew"):
		fresh := g.now().Sub(sess.AuthTime) < reauthWindow
		codes, err := g.account.RenewRecoveryCodes(ctx, user, f.Get("password"), fresh, o)
		if err != nil {
			again(err, nil)
			return
		}
		page, ok := g.twoStepAccountView(w, r, sess, user)
		if !ok {
			return
		}
		page.Codes, page.NoticeKey = codes, "twostep.account.notice.renewed"
		g.renderPage(w, r, http.StatusOK, portal.PageTwoStepAccount, page)
	default:
		g.fail(w, r, http.StatusBadRequest, "error.bad_request", nil)
	}
}

// enrolItem describes an enrolment under way for a page; nil for none.
func enrolItem(e *account.Enrolment) *portal.TwoStepEnrolment {
	if e == nil {
		return nil
	}
	return &portal.TwoStepEnrolment{Kind: e.Kind, URI: e.URI, Secret: e.Secret, QRPNG: e.QR, Target: e.Target,
		TriesLeft: e.TriesLeft, Token: e.Token, Options: string(e.Options)}
}

// browserPrefix marks a remembered browser's id in /account/sessions'
// revoke form, whose ids are otherwise sessions'.
const browserPrefix = "browser:"

// rememberedItems lists user's remembered browsers for /account/sessions,
// marking the one r comes from.
func (g *Gateway) rememberedItems(r *http.Request, user *store.User) ([]portal.RememberedBrowserItem, error) {
	if !g.account.TwoStepOn() {
		return nil, nil
	}
	bs, err := g.account.RememberedBrowsers(r.Context(), user.ID)
	if err != nil {
		return nil, err
	}
	mine := g.rememberedToken(r)
	out := make([]portal.RememberedBrowserItem, 0, len(bs))
	for _, b := range bs {
		out = append(out, portal.RememberedBrowserItem{ID: browserPrefix + b.ID, Current: account.IsRememberedBrowser(mine, b.ID),
			CreatedAt: b.CreatedAt, LastUsedAt: b.LastUsedAt, ExpiresAt: b.ExpiresAt, ClientIP: b.ClientIP,
			Browser: truncate(b.UserAgent, maxBrowserBytes)})
	}
	return out, nil
}
