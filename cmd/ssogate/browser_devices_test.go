package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserDeviceApproval walks device approval in headless Chromium:
// the sign-in stops at the waiting page, which explains itself; typing
// the token before approval says it is not approved yet; an
// administrator approves from the mailed link; the token typed as the
// mail shows it (with a hyphen) lands on the launcher.
func TestBrowserDeviceApproval(t *testing.T) {
	h := newHarness(t, withPolicy("  device_approval: true\n"))
	alice := h.addUser("alice@example.co.jp", "Alice Example", alicePW, "staff")
	root := h.deviceAdmin("root@example.co.jp", "管理者", "Root-Passw0rd!")
	ctx := newChromium(t)

	if err := chromedp.Do(ctx,
		chromedp.Navigate(h.url+"/login"),
		chromedp.WaitVisible(chromedp.ID("login-form")),
		chromedp.SendKeys(chromedp.ID("email"), alice.Email),
		chromedp.SendKeys(chromedp.ID("password"), alicePW),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("device-form")),
	); err != nil {
		t.Fatal(err)
	}
	if msg := text(t, ctx, "#device-waiting"); !strings.Contains(msg, "administrator must approve") {
		t.Errorf("waiting page says %q", msg)
	}
	screenshot(t, ctx, "device-1-waiting")
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("token"), "12345678"),
		chromedp.Click(chromedp.ID("device-submit")),
		chromedp.WaitVisible(chromedp.ID("error")),
	); err != nil {
		t.Fatal(err)
	}
	if msg := text(t, ctx, "#error"); !strings.Contains(msg, "has not approved this browser yet") {
		t.Errorf("token before approval: %q", msg)
	}

	admin := issuedBrowser(t, h, root, "pwd")
	expectStatus(t, decide(t, admin, h.approvalLinks()[root.Email][0], "approve"), http.StatusOK)
	token := h.lastDeviceToken(alice.Email)
	if err := chromedp.Do(ctx,
		chromedp.Evaluate[chromedp.Void](`document.getElementById("error")?.remove()`),
		clearInput("token"),
		chromedp.SendKeys(chromedp.ID("token"), token[:4]+"-"+token[4:]),
		chromedp.Click(chromedp.ID("device-submit")),
		chromedp.WaitVisible(chromedp.ID("tiles")),
	); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "device-2-signed-in")
}
