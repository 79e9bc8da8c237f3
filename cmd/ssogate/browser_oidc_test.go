package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"

	"github.com/ssogate/ssogate/gateway"
	"github.com/ssogate/ssogate/internal/testpeers"
)

// withOIDCApp registers an app at appURL (oauth2-proxy) as a client of
// the OpenID Provider, limited to group staff, with its back-channel
// logout going to backChannel.
func withOIDCApp(appURL, secretFile, backChannel string) harnessOption {
	return func(s string) string {
		return strings.Replace(s, "services:\n", `services:
  - id: proxyapp
    name: OIDC app
    icon: app
    url: `+appURL+`/
    allowed_groups: [staff]
    oidc:
      client_id: proxyapp
      client_secret_file: `+secretFile+`
      redirect_uris: [`+appURL+`/oauth2/callback]
      post_logout_redirect_uris: [`+appURL+`/]
      backchannel_logout_uri: `+backChannel+`
`, 1)
	}
}

// waitPage waits until the browser shows a page under prefix whose text
// contains want, and returns the text.
func waitPage(t *testing.T, ctx context.Context, prefix, want string) string {
	t.Helper()
	var loc, body string
	for end := time.Now().Add(20 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		loc, _ = chromedp.Run(ctx, chromedp.Location())
		if !strings.HasPrefix(loc, prefix) {
			continue
		}
		body, _ = chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
		if strings.Contains(body, want) {
			return body
		}
	}
	t.Fatalf("the browser is at %s showing %q; want a page under %s showing %q", loc, body, prefix, want)
	return ""
}

// TestBrowserOIDCOAuth2Proxy signs in to an app behind oauth2-proxy (the
// real program, an OIDC client of the gateway) from the launcher tile in
// headless Chromium; a user outside allowed_groups is refused by the
// gateway (access_denied); the gateway's sign-out reaches the app's
// back-channel logout receiver and revokes the app's refresh token, so
// oauth2-proxy's next refresh fails and the person must sign in again;
// a key rotation (the rotation `ssogate keys rotate` runs, with
// activation) causes no failed sign-in, and the new key signs after it.
func TestBrowserOIDCOAuth2Proxy(t *testing.T) {
	testpeers.OAuth2ProxyBinary(t)
	ctx := newChromium(t)
	port := testpeers.FreePort(t)
	appURL := fmt.Sprintf("http://127.0.0.1:%d", port)
	dir := t.TempDir()
	secret := "oauth2-proxy-test-secret-0123456789abcdef"
	secretFile := filepath.Join(dir, "proxyapp-secret")
	if err := os.WriteFile(secretFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	logoutTokens := make(chan string, 4)
	bc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.ParseForm() == nil {
			logoutTokens <- r.PostForm.Get("logout_token")
		}
	}))
	t.Cleanup(bc.Close)

	h := newHarness(t, withOIDCApp(appURL, secretFile, bc.URL+"/backchannel"))
	h.addUser("alice@example.co.jp", "Alice Example", alicePW, "staff")
	h.addUser("bob@example.co.jp", "Bob Example", alicePW, "sales")
	proxy := testpeers.OAuth2Proxy(t, testpeers.OAuth2ProxyConfig{IssuerURL: h.url, ClientID: "proxyapp", ClientSecret: secret,
		Port: port, CodeChallengeMethod: "S256", VerifyNonce: true, Scope: "openid email profile groups offline_access",
		CookieRefresh: time.Second, ExtraArgs: []string{"--pass-authorization-header=true"}})
	// idTokenKid is the kid of the ID token oauth2-proxy last passed on.
	idTokenKid := func() string {
		t.Helper()
		got := proxy.Received()
		if len(got) == 0 {
			t.Fatal("the app received nothing")
		}
		raw, _ := strings.CutPrefix(got[len(got)-1].Header.Get("Authorization"), "Bearer ")
		sig, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
		if err != nil {
			t.Fatalf("the app's Authorization is not an RS256 ID token: %v", err)
		}
		return sig.Signatures[0].Header.KeyID
	}

	// Signed in at the gateway, the tile opens the app signed in.
	if err := chromedp.Do(ctx, chromedp.Navigate(h.url+"/")); err != nil {
		t.Fatal(err)
	}
	browserSignIn(t, ctx, "alice@example.co.jp", alicePW)
	waitLocation(t, ctx, h.url+"/")
	if err := chromedp.Do(ctx,
		chromedp.WaitVisible(chromedp.CSS(`a.tile[data-service="proxyapp"]`)),
		chromedp.Click(chromedp.CSS(`a.tile[data-service="proxyapp"]`)),
	); err != nil {
		t.Fatal(err)
	}
	body := waitPage(t, ctx, appURL+"/", "alice@example.co.jp")
	if !strings.Contains(body, "X-Forwarded-Email") {
		t.Fatalf("the app page: %s", body)
	}
	screenshot(t, ctx, "oidc-1-app-signed-in")
	oldKid := idTokenKid()

	// Sign-out at the gateway: the back-channel logout token arrives and
	// verifies, and oauth2-proxy's next refresh is refused, so the app
	// sends the browser back to sign in.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(h.url+"/logout"),
		chromedp.Click(chromedp.ID("logout-submit")),
	); err != nil {
		t.Fatal(err)
	}
	waitLocation(t, ctx, h.url+"/login?logged_out=1")
	select {
	case lt := <-logoutTokens:
		p, err := oidc.NewProvider(context.Background(), h.url)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Verifier(&oidc.Config{ClientID: "proxyapp"}).Verify(context.Background(), lt); err != nil {
			t.Fatalf("logout token: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no back-channel logout token after the gateway's sign-out")
	}
	time.Sleep(2100 * time.Millisecond) // oauth2-proxy refreshes after cookie_refresh (1s, counted in whole seconds)
	if err := chromedp.Do(ctx, chromedp.Navigate(appURL+"/after-logout")); err != nil {
		t.Fatal(err)
	}
	if body := waitPage(t, ctx, h.url+"/login", ""); strings.Contains(body, "X-Forwarded-Email") {
		t.Fatal("the app still served the signed-out person")
	}

	// Bob, outside allowed_groups, signs in on that page and is refused:
	// the gateway answers the app with access_denied, never a code.
	browserSignIn(t, ctx, "bob@example.co.jp", alicePW)
	waitPage(t, ctx, appURL+"/oauth2/callback?error=access_denied&", "403")
	screenshot(t, ctx, "oidc-2-refused")
	for _, r := range proxy.Received() {
		if strings.Contains(r.Header.Get("X-Forwarded-Email"), "bob@") {
			t.Fatal("the app received bob")
		}
	}

	// Key rotation with activation: sign-ins go on with the old key until
	// the new one activates, then with the new one.
	if err := chromedp.Do(ctx, chromedp.Navigate(h.url+"/logout"), chromedp.Click(chromedp.ID("logout-submit"))); err != nil {
		t.Fatal(err)
	}
	waitLocation(t, ctx, h.url+"/login?logged_out=1")
	newKids, err := gateway.RotateSigningKey(context.Background(), h.app.cfg, h.app.store, h.clock.Now(), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.app.gateway.ReloadKeys(context.Background()); err != nil {
		t.Fatal(err)
	}
	signInToApp := func() {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Navigate(appURL+"/oauth2/sign_out")); err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Do(ctx, chromedp.Navigate(appURL+"/")); err != nil {
			t.Fatal(err)
		}
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		if strings.HasPrefix(loc, h.url+"/login") {
			browserSignIn(t, ctx, "alice@example.co.jp", alicePW)
		}
		waitPage(t, ctx, appURL+"/", "alice@example.co.jp")
	}
	signInToApp()
	if kid := idTokenKid(); kid != oldKid {
		t.Fatalf("before activation the ID token is signed by %s, want the old key %s", kid, oldKid)
	}
	h.clock.Advance(time.Minute + time.Second)
	signInToApp()
	if kid := idTokenKid(); kid == oldKid || !slices.Contains(newKids, kid) {
		t.Fatalf("after activation the ID token is signed by %s, want one of the new keys %v", kid, newKids)
	}
	resp, err := http.Get(h.url + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	jwks, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(jwks), oldKid) {
		t.Fatal("the old key left the JWKS while its ID tokens may still be checked")
	}
}
