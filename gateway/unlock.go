package gateway

import (
	"errors"
	"net/http"

	"github.com/ssogate/ssogate/account"
	"github.com/ssogate/ssogate/portal"
)

// unlockPage is GET /unlock?ticket=T, the mailed link: one button that
// posts the ticket. It never unlocks, so a mail scanner that fetches the
// link changes nothing.
func (g *Gateway) unlockPage(w http.ResponseWriter, r *http.Request) {
	page := portal.UnlockPage{Base: g.base(w, r, nil, nil), State: portal.UnlockConfirm, Ticket: r.URL.Query().Get("ticket")}
	status := http.StatusOK
	if page.Ticket == "" || g.account == nil {
		page.State, page.Ticket, status = portal.UnlockInvalid, "", http.StatusGone
	}
	g.renderPage(w, r, status, portal.PageUnlock, page)
}

// unlockSubmit is the button's POST: it uses the ticket, once.
func (g *Gateway) unlockSubmit(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	current, _, _ := g.sessions.Resolve(ctx, r)
	sids := []string{""}
	if current != nil {
		sids = append(sids, current.ID)
	}
	if !g.parseForm(w, r, sids...) {
		return
	}
	page := portal.UnlockPage{Base: g.base(w, r, nil, nil), State: portal.UnlockDone}
	status := http.StatusOK
	var err error
	if g.account == nil {
		err = account.ErrInvalidLink
	} else {
		_, err = g.account.Unlock(ctx, r.PostFormValue("ticket"), clientIP(ctx).String())
	}
	switch {
	case errors.Is(err, account.ErrInvalidLink):
		page.State, status = portal.UnlockInvalid, http.StatusGone
	case err != nil:
		g.log.Error("unlock failed", "request_id", requestID(ctx), "err", err)
		status, key := storeFailure(w, err)
		g.fail(w, r, status, key, nil)
		return
	}
	g.renderPage(w, r, status, portal.PageUnlock, page)
}

// Account returns the account flows of this configuration (for the CLI),
// or nil when the store keeps no account state.
func (g *Gateway) Account() *account.Service { return g.account }
