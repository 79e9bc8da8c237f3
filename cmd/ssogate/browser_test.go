package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/ssogate/ssogate/internal/testpeers"
)

// newChromium starts a headless Chromium for one test (see
// testpeers.Chromium).
func newChromium(t *testing.T) context.Context {
	t.Helper()
	return testpeers.Chromium(t)
}

// screenshot saves the page when SSOGATE_SCREENSHOTS names a directory,
// so a person can look at what the test saw.
func screenshot(t *testing.T, ctx context.Context, name string) {
	dir := os.Getenv("SSOGATE_SCREENSHOTS")
	if dir == "" {
		return
	}
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	_ = os.MkdirAll(dir, 0o755)
	_ = os.WriteFile(filepath.Join(dir, name+".png"), buf, 0o644)
}

// waitLocation waits until the browser has navigated to want: waiting for
// an element is not enough when the page before has the same one.
func waitLocation(t *testing.T, ctx context.Context, want string) {
	t.Helper()
	var loc string
	for end := time.Now().Add(15 * time.Second); time.Now().Before(end); time.Sleep(25 * time.Millisecond) {
		if loc, _ = chromedp.Run(ctx, chromedp.Location()); loc == want {
			if err := chromedp.Do(ctx, chromedp.WaitReady(chromedp.CSS("body"))); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Fatalf("the browser is at %s, want %s", loc, want)
}

// clearInput empties a form field the way select-all + delete would.
func clearInput(id string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](`document.getElementById(` + strconv.Quote(id) + `).value = ""`)
}

func text(t *testing.T, ctx context.Context, sel chromedp.CSS) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(sel))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

func TestBrowserSignInEditProfileSignOut(t *testing.T) {
	h := newHarness(t)
	h.addUser("alice@example.co.jp", "Alice Example", alicePW, "staff")
	ctx := newChromium(t)

	// Signed out, the launcher leads to the login form.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(h.url+"/"),
		chromedp.WaitVisible(chromedp.ID("login-form")),
	); err != nil {
		t.Fatal(err)
	}
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); !strings.Contains(loc, "/login?return_to=%2F") {
		t.Fatalf("location = %s, want the login page", loc)
	}
	// The browser asks for English; the switch turns the portal Japanese
	// and the choice is remembered from then on.
	if got := text(t, ctx, "h1"); got != "Sign in" {
		t.Errorf("English heading = %q", got)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`#lang-form button[value="ja"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#lang-form button[value="ja"][aria-current="true"]`)),
	); err != nil {
		t.Fatal(err)
	}
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); !strings.Contains(loc, "/login?return_to=%2F") {
		t.Fatalf("language switch went to %s", loc)
	}
	screenshot(t, ctx, "1-login")

	// A wrong password shows the error in Japanese.
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("email"), "alice@example.co.jp"),
		chromedp.SendKeys(chromedp.ID("password"), "wrong-Passw0rd"),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("error")),
	); err != nil {
		t.Fatal(err)
	}
	if msg := text(t, ctx, "#error"); !strings.Contains(msg, "パスワードが正しくありません") {
		t.Fatalf("error = %q", msg)
	}

	// Sign in.
	if err := chromedp.Do(ctx,
		clearInput("email"),
		chromedp.SendKeys(chromedp.ID("email"), "alice@example.co.jp"),
		chromedp.SendKeys(chromedp.ID("password"), alicePW),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.CSS(`a.tile[data-service="wiki"]`)),
	); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "2-launcher")
	if got := text(t, ctx, "#user-id"); got != "alice@example.co.jp" {
		t.Errorf("header id = %q", got)
	}
	if got := text(t, ctx, "#user-name"); got != "Alice Example" {
		t.Errorf("header name = %q", got)
	}
	tiles, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll("a.tile")).map(a => a.dataset.service)`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(tiles, ",") != "wiki,expenses" {
		t.Fatalf("tiles = %v, want wiki,expenses", tiles)
	}

	// Personal info through the header menu; edit it in Japanese.
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("#user-menu summary")),
		chromedp.Click(chromedp.CSS(`#user-menu a[href="/me"]`)),
		chromedp.WaitVisible(chromedp.ID("profile-form")),
		clearInput("display_name"),
		chromedp.SendKeys(chromedp.ID("display_name"), "佐藤 花子"),
		clearInput("phone"),
		chromedp.SendKeys(chromedp.ID("phone"), "０３－１２３４－５６７８"),
		clearInput("department"),
		chromedp.SendKeys(chromedp.ID("department"), "総務部"),
		chromedp.Click(chromedp.ID("profile-submit")),
		chromedp.WaitVisible(chromedp.ID("saved")),
	); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "3-profile-saved")
	if got := text(t, ctx, "#user-name"); got != "佐藤 花子" {
		t.Errorf("header name after edit = %q", got)
	}
	for id, want := range map[string]string{"display_name": "佐藤 花子", "phone": "03-1234-5678", "department": "総務部"} {
		v, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID(id)))
		if err != nil || v != want {
			t.Errorf("%s = %q (%v), want %q", id, v, err, want)
		}
	}

	// Sign out: confirmation, then the login page with a notice.
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("#user-menu summary")),
		chromedp.Click(chromedp.CSS(`#user-menu a[href="/logout"]`)),
		chromedp.WaitVisible(chromedp.ID("logout-submit")),
	); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "4-logout-confirm")
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("logout-submit")),
		chromedp.WaitVisible(chromedp.ID("login-form")),
	); err != nil {
		t.Fatal(err)
	}
	if body := text(t, ctx, "body"); !strings.Contains(body, "ログアウトしました") {
		t.Errorf("no signed-out notice in %q", body)
	}
	// The session is dead: the launcher sends us back to the login form.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(h.url+"/me"),
		chromedp.WaitVisible(chromedp.ID("login-form")),
	); err != nil {
		t.Fatal(err)
	}
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); !strings.Contains(loc, "/login") {
		t.Fatalf("after sign-out /me went to %s", loc)
	}
}

func TestBrowserTileReachesServiceSignedIn(t *testing.T) {
	h, _ := newHandoffHarness(t, nil)
	h.addUser("alice@example.co.jp", "山田 太郎", alicePW, "staff")
	ctx := newChromium(t)

	// Straight to the service, signed out: the login page, then back.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(h.url+"/app/start"),
		chromedp.WaitVisible(chromedp.ID("login-form")),
		chromedp.SendKeys(chromedp.ID("email"), "alice@example.co.jp"),
		chromedp.SendKeys(chromedp.ID("password"), alicePW),
		chromedp.Click(chromedp.ID("login-submit")),
	); err != nil {
		t.Fatal(err)
	}
	waitLocation(t, ctx, h.url+"/app/start")

	// From the launcher, a click on the tile reaches the service signed in.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(h.url+"/"),
		chromedp.WaitVisible(chromedp.CSS(`a.tile[data-service="app"]`)),
	); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "5-launcher-services")
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`a.tile[data-service="app"]`))); err != nil {
		t.Fatal(err)
	}
	waitLocation(t, ctx, h.url+"/app/")
	body := text(t, ctx, "body")
	var got echoed
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("service page is not the upstream's answer: %v\n%s", err, body)
	}
	if u := got.Headers["X-Forwarded-User"]; len(u) != 1 || u[0] != "alice@example.co.jp" {
		t.Fatalf("the service saw X-Forwarded-User %v", u)
	}
	verifyAssertion(t, h, got.Headers["X-Ssogate-Assertion"][0], "app")
}

// browserSignInVia clicks provider id's button on the login page, lets
// act do what the person does at the provider, and checks the browser
// lands on the launcher signed in as wantUser.
func browserSignInVia(t *testing.T, ctx context.Context, h *harness, id string, act func() error, wantUser string) {
	t.Helper()
	if err := chromedp.Do(ctx,
		chromedp.Navigate(h.url+"/login"),
		chromedp.WaitVisible(chromedp.ID("provider-"+id)),
	); err != nil {
		t.Fatalf("%s: %v", id, err)
	}
	screenshot(t, ctx, "login-providers")
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("provider-"+id))); err != nil {
		t.Fatalf("%s: %v", id, err)
	}
	if act != nil {
		if err := act(); err != nil {
			t.Fatalf("%s: at the provider: %v", id, err)
		}
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("user-id"))); err != nil {
		t.Fatalf("%s: not signed in: %v", id, err)
	}
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); loc != h.url+"/" {
		t.Fatalf("%s: landed on %s, want the launcher", id, loc)
	}
	if got := text(t, ctx, "#user-id"); got != wantUser {
		t.Fatalf("%s: signed in as %q, want %q", id, got, wantUser)
	}
	screenshot(t, ctx, "federated-"+id)
	// Sign out for the next provider.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(h.url+"/logout"),
		chromedp.Click(chromedp.ID("logout-submit")),
		chromedp.WaitVisible(chromedp.ID("providers")),
	); err != nil {
		t.Fatalf("%s: sign out: %v", id, err)
	}
}

func TestBrowserFederatedSignIn(t *testing.T) {
	m := newMockOIDC(t)
	idp := newSAMLIdP(t)
	opts := []harnessOption{
		oidcProvider(m, "    link_domains: [example.co.jp]\n"),
		samlProvider(idp, "    provision: true\n    provision_domains: [example.co.jp]\n"),
	}
	opts = append(opts, federatedBrowserExtras(t)...)
	h := newHarness(t, opts...)
	idp.register(t, h, "adfs")
	h.addUser("taro@example.co.jp", "山田 太郎", alicePW, "staff")
	ctx := newChromium(t)

	t.Run("oidc", func(t *testing.T) {
		m.QueueUser(&mockoidc.MockUser{Subject: "sub-taro", Email: "taro@example.co.jp", EmailVerified: true})
		browserSignInVia(t, ctx, h, "mock", nil, "taro@example.co.jp")
	})
	t.Run("saml", func(t *testing.T) {
		browserSignInVia(t, ctx, h, "adfs", func() error {
			// At the IdP's own login page; it posts the response back to
			// the gateway by itself.
			return chromedp.Do(ctx,
				chromedp.WaitVisible(chromedp.ID("idp-login")),
				chromedp.SendKeys(chromedp.ID("idp-user"), "hanako"),
				chromedp.SendKeys(chromedp.ID("idp-password"), "hanako-pw"),
				chromedp.Click(chromedp.ID("idp-submit")),
			)
		}, "hanako@example.co.jp")
	})
	federatedBrowserLegs(t, ctx, h)
}
