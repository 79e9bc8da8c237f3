package main

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/ssogate/ssogate/internal/testpeers"
	"github.com/ssogate/ssogate/store"
)

// TestBrowserLockoutUnlock walks what a person meets: ten wrong passwords
// lock the account (the page says only "incorrect", and that repeated
// failures lock); the right password is then refused too; the mail,
// delivered by the outbox worker to a real SMTP server and read as a mail
// client reads it, has a link that shows one button; pressing it unlocks;
// the person signs in.
func TestBrowserLockoutUnlock(t *testing.T) {
	smtp := testpeers.StartSMTP(t, testpeers.SMTPOptions{NoStartTLS: true})
	h := newHarness(t, withMail(smtp))
	u := h.addUser("alice@example.co.jp", "Alice Example", alicePW, "staff")
	ctx := newChromium(t)

	if err := chromedp.Do(ctx,
		chromedp.Navigate(h.url+"/login"),
		chromedp.WaitVisible(chromedp.ID("login-form")),
	); err != nil {
		t.Fatal(err)
	}
	if note := text(t, ctx, "#lockout-note"); !strings.Contains(note, "Repeated wrong passwords lock the account") {
		t.Errorf("login page note = %q", note)
	}
	submit := func(password string) string {
		t.Helper()
		if err := chromedp.Do(ctx,
			// The page before has an #error too: drop it, so that the one
			// waited for is the answer's.
			chromedp.Evaluate[chromedp.Void](`document.getElementById("error")?.remove()`),
			clearInput("email"),
			chromedp.SendKeys(chromedp.ID("email"), u.Email),
			chromedp.SendKeys(chromedp.ID("password"), password),
			chromedp.Click(chromedp.ID("login-submit")),
			chromedp.WaitVisible(chromedp.ID("error")),
		); err != nil {
			t.Fatal(err)
		}
		return text(t, ctx, "#error")
	}
	for i := range 10 {
		if msg := submit("wrong-Passw0rd"); msg != "The email address or password is incorrect." {
			t.Fatalf("failure %d: error %q", i+1, msg)
		}
	}
	if s := h.status(u); s != store.StatusLocked {
		t.Fatalf("status after 10 failures: %s", s)
	}
	screenshot(t, ctx, "lockout-1-locked")
	// Locked: the right password from this browser reads as a wrong one.
	if msg := submit(alicePW); msg != "The email address or password is incorrect." {
		t.Fatalf("locked account's right password: error %q", msg)
	}

	subject, link := h.mailLink(smtp, 1)
	if !strings.Contains(subject, "ロック") && !strings.Contains(subject, "locked") {
		t.Errorf("lock mail subject = %q", subject)
	}
	if err := chromedp.Do(ctx,
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.ID("unlock-submit")),
	); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "lockout-2-unlock-button")
	if s := h.status(u); s != store.StatusLocked {
		t.Fatalf("opening the link changed the status to %s", s)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("unlock-submit")),
		chromedp.WaitVisible(chromedp.ID("unlock-done")),
	); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "lockout-3-unlocked")
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("unlock-login")),
		chromedp.WaitVisible(chromedp.ID("login-form")),
		chromedp.SendKeys(chromedp.ID("email"), u.Email),
		chromedp.SendKeys(chromedp.ID("password"), alicePW),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.CSS(`a.tile[data-service="wiki"]`)),
	); err != nil {
		t.Fatal(err)
	}
	if got := text(t, ctx, "#user-id"); got != u.Email {
		t.Errorf("signed in as %q", got)
	}

	// The link was used: opening it again explains that a reset unlocks too.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(link),
		chromedp.Click(chromedp.ID("unlock-submit")),
		chromedp.WaitVisible(chromedp.ID("unlock-invalid")),
	); err != nil {
		t.Fatal(err)
	}
	if got := text(t, ctx, "#unlock-reset"); got != "Reset your password" {
		t.Errorf("reset link text = %q", got)
	}
}
