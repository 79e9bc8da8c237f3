package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/ssogate/ssogate/gateway"
	"github.com/ssogate/ssogate/internal/testpeers"
)

// TestBrowserSAMLIdPMellon: Apache with mod_auth_mellon (Debian's) is a
// SAML app of the gateway, reading the IdP metadata from a file. In
// headless Chromium a person signs in to the gateway and clicks the
// app's tile: the gateway posts a signed Response (the page's own script
// submits it) and the browser lands in mellon's /secret/ signed in, with
// the NameID and attributes the service maps, Japanese intact. Signing
// out of the gateway ends mellon's session (single logout through the
// browser); a person outside allowed_groups is refused (RequestDenied);
// after a key rotation, with mellon's metadata file rewritten and httpd
// gracefully restarted before the new key signs, no sign-in fails;
// mellon's own sign-out ends the gateway session.
func TestBrowserSAMLIdPMellon(t *testing.T) {
	ctx := newChromium(t)
	port := testpeers.FreePort(t)
	mellonURL := fmt.Sprintf("http://127.0.0.1:%d", port)
	h := newHarness(t, withServices(strings.NewReplacer("%M%", mellonURL).Replace(`
  - id: mellon
    name: {ja: 経費アプリ (mellon), en: Expenses app (mellon)}
    icon: money
    url: %M%/secret/
    allowed_groups: [staff]
    saml:
      metadata_url: %M%/mellon/metadata
      name_id_format: email
      attributes:
        mail: email
        displayName: display_name
        groups: groups
        department: department
      relay_state: %M%/secret/
`)))
	// mellon checks the assertion's times against the real clock.
	h.clock.Set(time.Now())
	addSAMLUsers(t, h)
	m := testpeers.Mellon(t, testpeers.MellonConfig{
		IdPMetadata:   idpMetadata(t, h),
		Port:          port,
		NameIDFormats: []string{testpeers.NameIDEmail},
	})

	signIn := func(email, pw string) {
		t.Helper()
		if err := chromedp.Do(ctx,
			chromedp.Navigate(h.url+"/login"),
			chromedp.WaitVisible(chromedp.ID("login-form")),
			chromedp.SendKeys(chromedp.ID("email"), email),
			chromedp.SendKeys(chromedp.ID("password"), pw),
			chromedp.Click(chromedp.ID("login-submit")),
		); err != nil {
			t.Fatal(err)
		}
		waitLocation(t, ctx, h.url+"/")
	}
	tile := `a.tile[data-service="mellon"]`
	clickTile := func(what string) testpeers.MellonEnv {
		t.Helper()
		start := time.Now()
		if err := chromedp.Do(ctx, chromedp.Navigate(h.url+"/"), chromedp.Click(chromedp.CSS(tile))); err != nil {
			t.Fatal(err)
		}
		waitLocation(t, ctx, mellonURL+"/secret/")
		rt := time.Since(start)
		body := text(t, ctx, "body")
		env, err := testpeers.ParseMellonEnv(strings.NewReader(body))
		if err != nil || env["MELLON_NAME_ID"] == "" {
			t.Fatalf("%s: mellon's /secret/ shows no session (%v):\n%s\n%s", what, err, body, m.ErrorLog())
		}
		t.Logf("%s: tile click to the app signed in: %s", what, rt)
		return env
	}
	mellonSession := func() string {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Navigate(mellonURL+"/whoami")); err != nil {
			t.Fatal(err)
		}
		env, err := testpeers.ParseMellonEnv(strings.NewReader(text(t, ctx, "body")))
		if err != nil {
			t.Fatal(err)
		}
		return env["MELLON_NAME_ID"]
	}
	signOut := func() {
		t.Helper()
		if err := chromedp.Do(ctx,
			chromedp.Navigate(h.url+"/logout"),
			chromedp.Click(chromedp.ID("logout-submit")),
		); err != nil {
			t.Fatal(err)
		}
		waitLocation(t, ctx, h.url+"/login?logged_out=1")
	}

	signIn(samlAlice, alicePW)
	env := clickTile("first sign-in")
	for k, want := range map[string]string{
		"MELLON_NAME_ID": samlAlice, "MELLON_mail": samlAlice, "MELLON_displayName": "山田 太郎", "MELLON_department": "経理部",
	} {
		if env[k] != want {
			t.Errorf("mellon got %s = %q, want %q", k, env[k], want)
		}
	}
	if g := env.Values("MELLON_groups"); !slices.Equal(g, []string{"staff", "経理"}) {
		t.Errorf("mellon got groups %q, want [staff 経理]", g)
	}

	// Sign-out at the gateway reaches mellon.
	signOut()
	if id := mellonSession(); id != "" {
		t.Fatalf("mellon session of %s survived the gateway's sign-out\n%s", id, m.ErrorLog())
	}

	// Someone outside allowed_groups: mellon gets RequestDenied and
	// makes no session.
	signIn(samlBob, bobPW)
	if err := chromedp.Do(ctx, chromedp.Navigate(m.SecretURL(""))); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // the post page submits itself
	if body := text(t, ctx, "body"); strings.Contains(body, "MELLON_NAME_ID") {
		t.Fatalf("mellon let bob in:\n%s", body)
	}
	if id := mellonSession(); id != "" {
		t.Fatalf("mellon made a session for %s", id)
	}
	if !strings.Contains(m.ErrorLog(), "RequestDenied") {
		t.Errorf("mellon's log does not show the RequestDenied status:\n%s", m.ErrorLog())
	}
	signOut()

	// Key rotation: the new key is published, mellon's metadata file is
	// rewritten and httpd restarted gracefully before it signs; sign-ins
	// before and after its activation all succeed.
	signIn(samlAlice, alicePW)
	clickTile("before the rotation")
	bg := context.Background()
	if _, err := gateway.RotateSigningKey(bg, h.app.cfg, h.app.store, h.clock.Now(), 3*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := h.app.gateway.ReloadKeys(bg); err != nil {
		t.Fatal(err)
	}
	md := idpMetadata(t, h)
	if n := strings.Count(string(md), "</X509Certificate>"); n != 2 {
		t.Fatalf("metadata has %d certificates after the rotation, want 2:\n%s", n, md)
	}
	m.SetIdPMetadata(t, md)
	forget := func() {
		if _, err := chromedp.Call(ctx, network.DeleteCookies, network.DeleteCookiesParams{Name: fmt.Sprintf("mellon-p%d", port), URL: mellonURL}); err != nil {
			t.Fatal(err)
		}
	}
	forget()
	clickTile("rotated, new key not yet signing")
	h.clock.Advance(4 * time.Second)
	forget()
	clickTile("new key signing")

	// The app's own sign-out (mellon's SP-initiated single logout, a
	// signed LogoutRequest) ends the gateway session too, and the
	// browser returns to the app with the IdP's LogoutResponse.
	if err := chromedp.Do(ctx, chromedp.Navigate(m.LogoutURL())); err != nil {
		t.Fatal(err)
	}
	waitLocation(t, ctx, mellonURL+"/loggedout")
	if id := mellonSession(); id != "" {
		t.Errorf("mellon session of %s survived its own sign-out", id)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(h.url+"/"), chromedp.WaitVisible(chromedp.ID("login-form"))); err != nil {
		t.Fatalf("the gateway session survived the app's sign-out: %v", err)
	}
	if logs := h.logs.String(); strings.Contains(logs, "SAMLResponse") || strings.Contains(logs, "SAMLRequest") {
		t.Error("the gateway's log holds a SAML message")
	}
}

// idpMetadata is the gateway's IdP metadata, as an app downloads it.
func idpMetadata(t *testing.T, h *harness) []byte {
	t.Helper()
	resp, err := http.Get(h.url + "/idp/saml/metadata")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("IdP metadata: %d %v", resp.StatusCode, err)
	}
	return b
}
