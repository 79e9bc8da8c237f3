package main

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/ssogate/ssogate/internal/testpeers"
)

// TestBrowserForgotResetSignIn walks a forgotten password as a person
// does: the login page's link, the address, the "if registered" answer,
// the link from the mail (delivered by the outbox worker to a real SMTP
// server and read as a mail client reads it), the rule above the fields, a
// refused common password, the new password, then signing in with it.
func TestBrowserForgotResetSignIn(t *testing.T) {
	smtp := testpeers.StartSMTP(t, testpeers.SMTPOptions{NoStartTLS: true})
	h := newHarness(t, withMail(smtp))
	h.addUser("alice@example.co.jp", "Alice Example", alicePW, "staff")
	ctx := newChromium(t)

	if err := chromedp.Do(ctx,
		chromedp.Navigate(h.url+"/login"),
		chromedp.WaitVisible(chromedp.ID("login-form")),
		chromedp.Click(chromedp.ID("forgot-password")),
		chromedp.WaitVisible(chromedp.ID("forgot-form")),
		chromedp.SendKeys(chromedp.ID("email"), "alice@example.co.jp"),
		chromedp.Click(chromedp.ID("forgot-submit")),
		chromedp.WaitVisible(chromedp.ID("forgot-sent")),
	); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "reset-1-sent")
	if got := text(t, ctx, "#forgot-sent"); !strings.HasPrefix(got, "If the address you entered is registered") {
		t.Errorf("sent notice = %q", got)
	}
	subject, link := h.mailLink(smtp, 1)
	if !strings.Contains(subject, "パスワードリセット") && !strings.Contains(subject, "Password reset") {
		t.Errorf("reset mail subject = %q", subject)
	}

	if err := chromedp.Do(ctx,
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.ID("reset-form")),
	); err != nil {
		t.Fatal(err)
	}
	if got := text(t, ctx, "#password-rule"); !strings.Contains(got, "at least 8 characters") {
		t.Errorf("rule = %q", got)
	}
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("password"), "Password1!"),
		chromedp.SendKeys(chromedp.ID("password_confirm"), "Password1!"),
		chromedp.Click(chromedp.ID("reset-submit")),
		chromedp.WaitVisible(chromedp.ID("error")),
	); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "reset-2-refused")
	if got := text(t, ctx, "#error"); !strings.Contains(got, "commonly used password") {
		t.Errorf("refusal = %q", got)
	}
	const newPW = "Neue-Passw0rt!9"
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("password"), newPW),
		chromedp.SendKeys(chromedp.ID("password_confirm"), newPW),
		chromedp.Click(chromedp.ID("reset-submit")),
		chromedp.WaitVisible(chromedp.ID("notice")),
	); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "reset-3-done")
	if got := text(t, ctx, "#notice"); got != "Your new password is set. Sign in with it." {
		t.Errorf("notice = %q", got)
	}
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("email"), "alice@example.co.jp"),
		chromedp.SendKeys(chromedp.ID("password"), newPW),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.CSS(`a.tile[data-service="wiki"]`)),
	); err != nil {
		t.Fatal(err)
	}
	if got := text(t, ctx, "#user-id"); got != "alice@example.co.jp" {
		t.Errorf("signed in as %q", got)
	}
	// The account settings are one click away in the header menu.
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("#user-menu summary")),
		chromedp.Click(chromedp.ID("menu-account")),
		chromedp.WaitVisible(chromedp.ID("account-menu")),
	); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "reset-4-account-menu")
	if got := text(t, ctx, "#account-password"); got != "Change password" {
		t.Errorf("menu item = %q", got)
	}
}
