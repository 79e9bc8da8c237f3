package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserAppsOutsideTheGateway drives the demo's two apps outside the
// gateway in headless Chromium: a go-oidc relying party
// (examples/oidcapp) and a crewjam/saml service provider
// (examples/samlapp). From the launcher tiles the person lands in each
// app signed in (the SAML answer posted by the page's own script); the
// gateway's sign-out passes through the SAML app (single logout) and ends
// the OIDC app's session (back-channel logout); a person outside the apps'
// allowed_groups is refused by both.
func TestBrowserAppsOutsideTheGateway(t *testing.T) {
	ctx := newChromium(t)
	oidcAddr, samlAddr := freeLoopbackAddr(t), freeLoopbackAddr(t)
	oidcApp, samlApp := "http://"+oidcAddr, "http://"+samlAddr
	h := newHarness(t, func(s string) string {
		return strings.Replace(s, "services:\n", `services:
  - id: oidcapp
    name: OIDC app
    url: `+oidcApp+`/
    allowed_groups: [staff]
    oidc:
      public: true
      redirect_uris: [`+oidcApp+`/callback]
      post_logout_redirect_uris: [`+oidcApp+`/]
      backchannel_logout_uri: `+oidcApp+`/backchannel-logout
      initiate_login_uri: `+oidcApp+`/initiate
  - id: samlapp
    name: SAML app
    url: `+samlApp+`/
    allowed_groups: [staff]
    saml:
      metadata_url: `+samlApp+`/saml/metadata
      attributes: {mail: email, displayName: display_name, department: department}
`, 1)
	})
	// The apps check tokens and assertions by the wall clock.
	h.clock.Set(time.Now())
	startExampleApp(t, "oidcapp", oidcAddr, "-issuer", h.url, "-client-id", "oidcapp")
	startExampleApp(t, "samlapp", samlAddr, "-idp-metadata", h.url+"/idp/saml/metadata", "-data", filepath.Join(t.TempDir(), "sp"))
	h.addUser("alice@example.co.jp", "山田 花子", alicePW, "staff")
	h.addUser("bob@example.co.jp", "Bob Example", alicePW, "sales")

	if err := chromedp.Do(ctx, chromedp.Navigate(h.url+"/")); err != nil {
		t.Fatal(err)
	}
	browserSignIn(t, ctx, "alice@example.co.jp", alicePW)
	waitLocation(t, ctx, h.url+"/")
	clickTile := func(id string) {
		t.Helper()
		sel := `a.tile[data-service="` + id + `"]`
		if err := chromedp.Do(ctx, chromedp.Navigate(h.url+"/"), chromedp.WaitVisible(sel), chromedp.Click(sel)); err != nil {
			t.Fatal(err)
		}
	}
	clickTile("oidcapp")
	waitPage(t, ctx, oidcApp+"/", "signed in as 山田 花子")
	screenshot(t, ctx, "apps-1-oidcapp")
	clickTile("samlapp")
	body := waitPage(t, ctx, samlApp+"/", "signed in as alice@example.co.jp")
	if !strings.Contains(body, "山田 花子") {
		t.Fatalf("the SAML app shows no displayName 山田 花子:\n%s", body)
	}
	screenshot(t, ctx, "apps-2-samlapp")

	// The gateway's sign-out: through the SAML app and back.
	if err := chromedp.Do(ctx, chromedp.Navigate(h.url+"/logout"), chromedp.Click(chromedp.ID("logout-submit"))); err != nil {
		t.Fatal(err)
	}
	waitLocation(t, ctx, h.url+"/login?logged_out=1")
	// Each app now sends the browser to the gateway to sign in again.
	for _, app := range []string{oidcApp + "/", samlApp + "/"} {
		if err := chromedp.Do(ctx, chromedp.Navigate(app)); err != nil {
			t.Fatal(err)
		}
		waitPage(t, ctx, h.url+"/login?", "")
	}

	// Bob is not in the apps' group: both refuse him.
	if err := chromedp.Do(ctx, chromedp.Navigate(h.url+"/login")); err != nil {
		t.Fatal(err)
	}
	browserSignIn(t, ctx, "bob@example.co.jp", alicePW)
	waitLocation(t, ctx, h.url+"/")
	tiles, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('a.tile[data-service$="app"]').length`))
	if err != nil {
		t.Fatal(err)
	}
	if tiles != 0 {
		t.Fatalf("bob's launcher shows %d tiles of the apps he may not use", tiles)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(oidcApp+"/login")); err != nil {
		t.Fatal(err)
	}
	waitPage(t, ctx, oidcApp+"/callback", "access_denied")
	if err := chromedp.Do(ctx, chromedp.Navigate(h.url+"/idp/saml/init/samlapp")); err != nil {
		t.Fatal(err)
	}
	body = waitPage(t, ctx, h.url+"/idp/saml/init/samlapp", "")
	if !strings.Contains(body, "このページを表示する権限がありません") && !strings.Contains(body, "You do not have permission") {
		t.Fatalf("bob at the SAML app's tile: %s; want the refusal page", body)
	}
	screenshot(t, ctx, "apps-3-refused")
}
