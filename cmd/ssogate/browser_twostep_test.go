package main

import (
	"bytes"
	"image/png"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/makiuchi-d/gozxing"
	zxqr "github.com/makiuchi-d/gozxing/qrcode"
)

// decodeQRPNG reads the text of the QR code in a PNG image (a screenshot
// of what the page shows).
func decodeQRPNG(t *testing.T, b []byte) string {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatalf("bitmap: %v", err)
	}
	res, err := zxqr.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		t.Fatalf("decode the QR code the page shows: %v", err)
	}
	return res.GetText()
}

// TestBrowserTwoStepEnrolByQRCode walks the first sign-in with 2-step
// verification required in Chromium: password, the authenticator app's
// enrolment from the QR code as rendered on the page (decoded here as a
// phone's camera would), the code computed from the decoded otpauth URI,
// the recovery codes with the "I saved them" checkbox, the completion
// page, and the launcher.
func TestBrowserTwoStepEnrolByQRCode(t *testing.T) {
	h := newHarness(t, withTwoStep("    required: true\n"))
	h.addUser("alice@example.co.jp", "Alice Example", alicePW, "staff")
	ctx := newChromium(t)

	if err := chromedp.Do(ctx,
		chromedp.Navigate(h.url+"/login"),
		chromedp.WaitVisible(chromedp.ID("login-form")),
		chromedp.SendKeys(chromedp.ID("email"), "alice@example.co.jp"),
		chromedp.SendKeys(chromedp.ID("password"), alicePW),
		chromedp.Click(chromedp.ID("login-submit")),
	); err != nil {
		t.Fatal(err)
	}
	waitLocation(t, ctx, h.url+"/login/2fa/setup")
	if got := text(t, ctx, "h1"); got != "Set up 2-step verification" {
		t.Errorf("setup heading = %q", got)
	}
	// SMS is not wired here: the authenticator app is the one method.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("choose-method-totp"))); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("totp-qr"))); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "twostep-setup")
	shot, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.ID("totp-qr")))
	if err != nil {
		t.Fatal(err)
	}
	uri := decodeQRPNG(t, shot)
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "otpauth" || u.Host != "totp" {
		t.Fatalf("QR code holds %q, want an otpauth://totp URI", uri)
	}
	q := u.Query()
	if q.Get("issuer") != "テスト社ポータル" || !strings.Contains(u.Path, "alice@example.co.jp") {
		t.Errorf("otpauth URI %q: issuer or account wrong", uri)
	}
	secret := q.Get("secret")
	// The key typed by hand is the same key.
	if shown := strings.ReplaceAll(text(t, ctx, "#totp-secret"), " ", ""); shown != secret {
		t.Errorf("key shown %q, key in the QR code %q", shown, secret)
	}

	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("code"), h.totpCode(secret, 0)),
		chromedp.Click(chromedp.ID("enrol-submit")),
	); err != nil {
		t.Fatal(err)
	}
	waitLocation(t, ctx, h.url+"/login/2fa/codes")
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#recovery-codes li").length`))
	if err != nil || n != 10 {
		t.Fatalf("%d recovery codes shown (%v), want 10", n, err)
	}
	if href := text(t, ctx, "#codes-download"); href == "" {
		t.Error("no download link")
	}
	screenshot(t, ctx, "twostep-codes")
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("saved")),
		chromedp.Click(chromedp.ID("codes-submit")),
		chromedp.WaitVisible(chromedp.ID("done-continue")),
	); err != nil {
		t.Fatal(err)
	}
	if got := text(t, ctx, "h1"); got != "2-step verification is set up" {
		t.Errorf("completion heading = %q", got)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("done-continue"))); err != nil {
		t.Fatal(err)
	}
	waitLocation(t, ctx, h.url+"/")
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`#tiles [data-service="wiki"]`))); err != nil {
		t.Fatal(err)
	}
}
