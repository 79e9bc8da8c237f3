package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ssogate/ssogate/notify"
	"github.com/ssogate/ssogate/store"
)

// TestAdminSendsChangeLinks: from a user's console page an administrator
// mails the person a login-method-change link and an email-change link
// (どこでもBOX 2.2). The person finishes the email change from the mail
// without signing in: a new address typed twice, a confirmation link to
// it, and then signs in with it. The link works once; a typo changes
// nothing and keeps it usable.
func TestAdminSendsChangeLinks(t *testing.T) {
	h := newHarness(t)
	ab := h.browser()
	admin := h.signInAdmin(ab, "admin@example.co.jp")
	carol := h.addUser("carol@example.co.jp", "Carol", alicePW, "staff")
	userPage := "/admin/users/" + carol.ID

	p := ab.get(userPage)
	if !strings.Contains(p.body, `value="send_method_link"`) || !strings.Contains(p.body, `value="send_email_link"`) {
		t.Fatalf("no link buttons on the user page:\n%s", snippet(p.body))
	}
	expectRedirect(t, ab.post(userPage, url.Values{"action": {"send_method_link"}}), userPage+"?done=send_method_link")
	if link := h.lastLink(notify.TemplateMethodChange, carol.Email); !strings.HasPrefix(link, "/login-method?ticket=") {
		t.Fatalf("login-method link = %q", link)
	}
	expectRedirect(t, ab.post(userPage, url.Values{"action": {"send_email_link"}}), userPage+"?done=send_email_link")
	link := h.lastLink(notify.TemplateEmailChangeLink, carol.Email)
	if !strings.HasPrefix(link, "/email/change?ticket=") {
		t.Fatalf("email-change link = %q", link)
	}
	evs, _ := h.app.store.ListAudit(t.Context(), store.AuditFilter{Action: "email_change_link"})
	if len(evs) != 1 || evs[0].Actor != "admin:"+admin.Email || evs[0].UserID != carol.ID {
		t.Fatalf("audit = %+v", evs)
	}

	b := h.browser()
	p = b.get(link)
	if p.StatusCode != http.StatusOK || !strings.Contains(p.body, carol.Email) || !strings.Contains(p.body, `id="email-form"`) {
		t.Fatalf("link page %d:\n%s", p.StatusCode, snippet(p.body))
	}
	// A typo: refused, nothing changes, the link still works.
	p = b.post(link, url.Values{"email": {"carol.new@example.co.jp"}, "email_confirm": {"carol.neu@example.co.jp"}})
	if p.StatusCode != http.StatusBadRequest || !strings.Contains(p.body, `id="error"`) {
		t.Fatalf("mismatch: %d\n%s", p.StatusCode, snippet(p.body))
	}
	if ms, _ := h.outbox(notify.TemplateEmailChangeConfirm); len(ms) != 0 {
		t.Fatalf("%d confirmation mails after a typo", len(ms))
	}
	p = b.post(link, url.Values{"email": {"carol.new@example.co.jp"}, "email_confirm": {"carol.new@example.co.jp"}})
	if p.StatusCode != http.StatusSeeOther || !strings.HasPrefix(p.Header.Get("Location"), "/email/change?sent=1") {
		t.Fatalf("submit: %d %q", p.StatusCode, p.Header.Get("Location"))
	}
	if p = b.get(p.Header.Get("Location")); !strings.Contains(p.body, `id="email-sent"`) || strings.Contains(p.body, `id="email-form"`) {
		t.Fatalf("sent page:\n%s", snippet(p.body))
	}
	// Used once: a second submit is refused.
	if p = b.post(link, url.Values{"email": {"carol.x@example.co.jp"}, "email_confirm": {"carol.x@example.co.jp"}}); p.StatusCode != http.StatusGone {
		t.Fatalf("second use: %d", p.StatusCode)
	}
	confirm := h.lastLink(notify.TemplateEmailChangeConfirm, "carol.new@example.co.jp")
	if ms, _ := h.outbox(notify.TemplateEmailChangeNotice); len(ms) != 1 || ms[0].To != carol.Email {
		t.Fatalf("notice to the old address: %+v", ms)
	}
	expectStatus(t, b.get(confirm), http.StatusOK)
	expectStatus(t, b.post(confirm, url.Values{}), http.StatusOK)
	if u, err := h.app.store.GetUser(t.Context(), carol.ID); err != nil || u.Email != "carol.new@example.co.jp" {
		t.Fatalf("user after confirmation = %+v, %v", u, err)
	}
	expectRedirect(t, h.browser().login("carol.new@example.co.jp", alicePW, ""), "/")

	// A non-administrator cannot send them.
	nb := h.browser()
	expectRedirect(t, nb.login("carol.new@example.co.jp", alicePW, ""), "/")
	expectStatus(t, nb.post(userPage, url.Values{"action": {"send_email_link"}}), http.StatusForbidden)
}

// TestAdminConsoleAsksSecondStep: an administrator with an authenticator
// app whose session was made without it (a remembered browser skipped the
// step) is sent through the step before any console page; the step is
// not skipped by the remembered browser there, and afterwards the
// console opens. An administrator without a second factor is not asked.
func TestAdminConsoleAsksSecondStep(t *testing.T) {
	h := newHarness(t, withTwoStep("    required: true\n"))
	admin, secret, _ := h.enrolledUser()
	admin.Role = store.RoleAdmin
	if err := h.app.store.UpdateUser(t.Context(), admin); err != nil {
		t.Fatal(err)
	}
	b := h.browser()
	expectRedirect(t, b.login(admin.Email, alicePW, "/me"), "/login/2fa")
	expectRedirect(t, b.post("/login/2fa", url.Values{"code": {h.totpCode(secret, 0)}, "remember": {"1"}}), "/me")
	expectStatus(t, b.get("/admin/users"), http.StatusOK)

	// Signed in again later from the remembered browser: no second step
	// at sign-in, so the console asks for it.
	h.clock.Advance(10 * time.Minute)
	b.get("/logout")
	expectRedirect(t, b.post("/logout", url.Values{}), "/login?logged_out=1")
	expectRedirect(t, b.login(admin.Email, alicePW, "/"), "/")
	expectRedirect(t, b.get("/admin/users"), "/login/2fa/step-up?return_to=%2Fadmin%2Fusers")
	expectRedirect(t, b.get("/login/2fa/step-up?return_to=%2Fadmin%2Fusers"), "/login/2fa")
	expectRedirect(t, b.post("/login/2fa", url.Values{"code": {h.totpCode(secret, 0)}}), "/admin/users")
	expectStatus(t, b.get("/admin/users"), http.StatusOK)
}
