package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ssogate/ssogate/account"
	"github.com/ssogate/ssogate/internal/testpeers"
)

// TestBrowserAcceptInvitation walks an invitation as the invited person
// does: the link from the mail (sent by the outbox worker to a real SMTP
// server), the rule above the fields, the password, the confirmation
// screen with the address and the method, the completion page, signing
// in; the inviter's mail arrives too.
func TestBrowserAcceptInvitation(t *testing.T) {
	smtp := testpeers.StartSMTP(t, testpeers.SMTPOptions{NoStartTLS: true})
	h := newHarness(t, withMail(smtp))
	admin := h.addAdmin("kanri@example.co.jp", "管理 花子", alicePW)
	if _, err := h.app.gateway.Account().Invite(context.Background(), admin,
		account.Invitee{Email: "newhire@example.co.jp", DisplayName: "新人 太郎", Groups: []string{"staff"}}, account.Origin{Lang: "en"}); err != nil {
		t.Fatal(err)
	}
	subject, link := h.mailLink(smtp, 1)
	if !strings.Contains(subject, "invited") && !strings.Contains(subject, "招待") {
		t.Errorf("invitation subject = %q", subject)
	}
	ctx := newChromium(t)
	const pw = "Haru-no-Hi#2026"
	if err := chromedp.Do(ctx,
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.ID("invite-password-form")),
	); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "invite-1-choose")
	if got := text(t, ctx, "#password-rule"); !strings.Contains(got, "at least 8 characters") {
		t.Errorf("rule = %q", got)
	}
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("password"), pw),
		chromedp.SendKeys(chromedp.ID("password_confirm"), pw),
		chromedp.Click(chromedp.ID("invite-password-submit")),
		chromedp.WaitVisible(chromedp.ID("invite-confirm")),
	); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "invite-2-confirm")
	if got := text(t, ctx, "#invite-email"); got != "newhire@example.co.jp" {
		t.Errorf("confirmation address = %q", got)
	}
	if got := text(t, ctx, "#invite-method"); got != "Password" {
		t.Errorf("confirmation method = %q", got)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("invite-confirm")),
		chromedp.WaitVisible(chromedp.ID("invite-done")),
		chromedp.Click(chromedp.ID("invite-login")),
		chromedp.WaitVisible(chromedp.ID("login-form")),
		chromedp.SendKeys(chromedp.ID("email"), "newhire@example.co.jp"),
		chromedp.SendKeys(chromedp.ID("password"), pw),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("user-id")),
	); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "invite-3-signed-in")
	if got := text(t, ctx, "#user-id"); got != "newhire@example.co.jp" {
		t.Errorf("signed in as %q", got)
	}
	mails := smtp.WaitMails(t, 2, 30*time.Second)
	m := testpeers.ParseMail(t, mails[1].Raw)
	if !strings.Contains(m.Text, "newhire@example.co.jp") || !strings.Contains(m.Subject, "招待が承諾されました") {
		t.Errorf("inviter mail %q:\n%s", m.Subject, m.Text)
	}
}
