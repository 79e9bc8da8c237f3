package gateway

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ssogate/ssogate/portal"
	"github.com/ssogate/ssogate/store"
)

// A personal-info edit sent after the session ended is not lost: the
// gateway keeps what was typed as a draft — a one-time ticket in the
// store, keyed by the SHA-256 of a random token held in a cookie of this
// browser, owned by the user the form was shown to — and after the person
// signs in again, /me shows the form filled with it. The draft is shown
// only to its owner, once, within draftTTL; anyone else who signs in on
// that browser finds it deleted, unseen. Nothing is saved until the person
// presses Save again, on a form with a fresh CSRF token.
const (
	draftPurpose = "profile_draft"
	draftTTL     = 15 * time.Minute
	// draftOwnerField carries, in the personal-info form, the id of the
	// user it was shown to, signed for this browser: once the session has
	// ended it is the only word on whose edit this is.
	draftOwnerField = "draft_owner"
	// maxDraftValue bounds each kept field; the form's own limits are far
	// lower, so only a tampered form is cut.
	maxDraftValue = 1024
)

// draftCookie is the cookie that carries a draft's token.
func (g *Gateway) draftCookie(value string, maxAge int) *http.Cookie {
	c := &http.Cookie{Name: "ssogate_draft", Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true, SameSite: http.SameSiteLaxMode}
	if g.secure {
		c.Name, c.Secure = "__Host-ssogate_draft", true
	}
	return c
}

// draftOwnerMAC signs userID for the browser whose CSRF cookie is browser.
func (g *Gateway) draftOwnerMAC(browser, userID string) string {
	h := hmac.New(sha256.New, g.csrf.key)
	h.Write([]byte("profile draft owner\x00"))
	h.Write([]byte(browser))
	h.Write([]byte{0})
	h.Write([]byte(userID))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// draftOwner is the value of the draft_owner field for user in this
// browser.
func (g *Gateway) draftOwner(w http.ResponseWriter, r *http.Request, userID string) string {
	return userID + "." + g.draftOwnerMAC(g.csrf.browserID(w, r), userID)
}

// verifiedDraftOwner returns the user id a submitted draft_owner names,
// if it was signed for this browser.
func (g *Gateway) verifiedDraftOwner(r *http.Request) (string, bool) {
	ck, err := r.Cookie(g.csrf.cookie)
	if err != nil || len(ck.Value) < 32 {
		return "", false
	}
	userID, mac, ok := strings.Cut(r.PostFormValue(draftOwnerField), ".")
	if !ok || userID == "" || !hmac.Equal([]byte(mac), []byte(g.draftOwnerMAC(ck.Value, userID))) {
		return "", false
	}
	return userID, true
}

// profileSessionEnded answers a personal-info form sent after its session
// ended: it keeps the edit as a draft when the form is this browser's own
// (its CSRF token matches the ended session, its owner field this
// browser), and sends the person to sign in, saying why, and back to the
// form afterwards.
func (g *Gateway) profileSessionEnded(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	kept := false
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if tok := g.sessions.token(r); tok != "" && r.ParseForm() == nil && g.csrf.valid(r, sessionID(tok)) {
		if owner, ok := g.verifiedDraftOwner(r); ok {
			if err := g.keepDraft(w, r, tok, owner); err != nil {
				g.log.Error("keep profile draft failed", "request_id", requestID(ctx), "err", err)
			} else {
				kept = true
			}
		}
	}
	// The ended session's cookie is of no more use.
	g.sessions.clearCookie(w)
	notice := "lost"
	if kept {
		notice = "kept"
	}
	http.Redirect(w, r, "/login?"+url.Values{"return_to": {"/me"}, "session_ended": {notice}}.Encode(), http.StatusSeeOther)
}

// keepDraft stores the submitted personal-info fields as owner's draft and
// gives this browser its cookie. The draft's token is derived from the
// ended session's secret token, so an ended session has at most one
// draft, the last edit sent: replaying the form cannot fill the store.
func (g *Gateway) keepDraft(w http.ResponseWriter, r *http.Request, sessionToken, owner string) error {
	d := map[string]string{}
	for _, f := range []string{"display_name", "phone", "mobile", "organization", "department"} {
		d[f] = truncate(r.PostFormValue(f), maxDraftValue)
	}
	data, err := json.Marshal(d)
	if err != nil {
		return err
	}
	h := hmac.New(sha256.New, g.csrf.key)
	h.Write([]byte("profile draft token\x00"))
	h.Write([]byte(sessionToken))
	token := base64.RawURLEncoding.EncodeToString(h.Sum(nil))
	ctx, now := r.Context(), g.now()
	t := &store.Ticket{ID: ticketID(token), Purpose: draftPurpose, UserID: owner, Data: data, CreatedAt: now, ExpiresAt: now.Add(draftTTL)}
	err = g.store.CreateTicket(ctx, t)
	if errors.Is(err, store.ErrConflict) {
		// A second edit after the same session ended replaces the first.
		if _, err := g.store.ConsumeTicket(ctx, draftPurpose, t.ID, now); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		err = g.store.CreateTicket(ctx, t)
	}
	if err != nil {
		return err
	}
	http.SetCookie(w, g.draftCookie(token, int(draftTTL/time.Second)))
	return nil
}

// takeDraft returns the draft this browser holds for user, if any, and
// deletes it whoever it belongs to: a draft is seen once, by its owner.
func (g *Gateway) takeDraft(w http.ResponseWriter, r *http.Request, user *store.User) (portal.ProfileForm, bool) {
	c, err := r.Cookie(g.draftCookie("", 0).Name)
	if err != nil || c.Value == "" {
		return portal.ProfileForm{}, false
	}
	http.SetCookie(w, g.draftCookie("", -1))
	ctx := r.Context()
	t, err := g.store.ConsumeTicket(ctx, draftPurpose, ticketID(c.Value), g.now())
	switch {
	case errors.Is(err, store.ErrNotFound):
		return portal.ProfileForm{}, false
	case err != nil:
		g.log.Error("profile draft lookup failed", "request_id", requestID(ctx), "err", err)
		return portal.ProfileForm{}, false
	case t.UserID != user.ID:
		// Someone else signed in on this browser: the draft is not theirs.
		g.log.Info("profile draft of another user discarded", "request_id", requestID(ctx))
		return portal.ProfileForm{}, false
	}
	var d map[string]string
	if err := json.Unmarshal(t.Data, &d); err != nil {
		g.log.Error("profile draft unreadable", "request_id", requestID(ctx), "err", err)
		return portal.ProfileForm{}, false
	}
	return portal.ProfileForm{DisplayName: d["display_name"], Phone: d["phone"], Mobile: d["mobile"],
		Organization: d["organization"], Department: d["department"]}, true
}
