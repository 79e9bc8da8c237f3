package main

import (
	"context"
	"testing"

	"github.com/chromedp/chromedp"
)

// browserSignIn fills and sends the login form the browser is on.
func browserSignIn(t *testing.T, ctx context.Context, email, password string) {
	t.Helper()
	if err := chromedp.Do(ctx,
		chromedp.WaitVisible(chromedp.ID("login-form")),
		clearInput("email"),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.ID("login-submit")),
	); err != nil {
		t.Fatal(err)
	}
}

// activeElementID is the id of the element that has the focus.
func activeElementID(t *testing.T, ctx context.Context) string {
	t.Helper()
	id, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement ? document.activeElement.id : ""`))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestBrowserFailedSaveFocusesErrorSummary checks, in a real browser with
// the portal's script-free CSP, that a failed save of the personal-info
// form puts the focus on the error summary, whose links lead to the
// fields.
func TestBrowserFailedSaveFocusesErrorSummary(t *testing.T) {
	h := newHarness(t)
	h.addUser("alice@example.co.jp", "Alice Example", alicePW, "staff")
	ctx := newChromium(t)

	if err := chromedp.Do(ctx, chromedp.Navigate(h.url+"/me")); err != nil {
		t.Fatal(err)
	}
	browserSignIn(t, ctx, "alice@example.co.jp", alicePW)
	waitLocation(t, ctx, h.url+"/me")
	if err := chromedp.Do(ctx,
		chromedp.WaitVisible(chromedp.ID("profile-form")),
		// Mistakes only the server finds (the browser itself would stop
		// an empty required field before sending).
		clearInput("phone"),
		chromedp.SendKeys(chromedp.ID("phone"), "call me"),
		clearInput("mobile"),
		chromedp.SendKeys(chromedp.ID("mobile"), "12"),
		chromedp.Click(chromedp.ID("profile-submit")),
		chromedp.WaitVisible(chromedp.ID("form-errors")),
	); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "profile-error-summary")
	if got := activeElementID(t, ctx); got != "form-errors" {
		t.Fatalf("after a failed save the focus is on %q, want the error summary", got)
	}
	links, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll("#form-errors a")).map(a => a.getAttribute("href"))`))
	if err != nil {
		t.Fatal(err)
	}
	if len(links) != 2 || links[0] != "#phone" || links[1] != "#mobile" {
		t.Fatalf("summary links = %v, want #phone, #mobile", links)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#form-errors a[href="#mobile"]`))); err != nil {
		t.Fatal(err)
	}
	if got := activeElementID(t, ctx); got != "mobile" {
		t.Errorf("the summary's link moved the focus to %q, want the mobile field", got)
	}
}

// TestBrowserBackAfterSignOut is Back after signing out, then signing in:
// the browser lands on the launcher, not on "sign out?".
func TestBrowserBackAfterSignOut(t *testing.T) {
	h := newHarness(t)
	h.addUser("alice@example.co.jp", "Alice Example", alicePW, "staff")
	ctx := newChromium(t)

	if err := chromedp.Do(ctx, chromedp.Navigate(h.url+"/")); err != nil {
		t.Fatal(err)
	}
	browserSignIn(t, ctx, "alice@example.co.jp", alicePW)
	waitLocation(t, ctx, h.url+"/")
	if err := chromedp.Do(ctx,
		chromedp.Navigate(h.url+"/logout"),
		chromedp.Click(chromedp.ID("logout-submit")),
	); err != nil {
		t.Fatal(err)
	}
	waitLocation(t, ctx, h.url+"/login?logged_out=1")
	if err := chromedp.Do(ctx, chromedp.NavigateBack()); err != nil {
		t.Fatal(err)
	}
	browserSignIn(t, ctx, "alice@example.co.jp", alicePW)
	waitLocation(t, ctx, h.url+"/")
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("tiles"))); err != nil {
		t.Fatal(err)
	}
}
