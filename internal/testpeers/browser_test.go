package testpeers

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// newChromium starts a headless Chromium for one test (see
// Chromium).
func newChromium(t *testing.T) context.Context {
	t.Helper()
	return Chromium(t)
}

// waitBody waits until the page's text contains want, and returns it.
func waitBody(t *testing.T, ctx context.Context, want string) string {
	t.Helper()
	var body string
	for end := time.Now().Add(15 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if body, _ = chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body"))); strings.Contains(body, want) {
			return body
		}
	}
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	t.Fatalf("the page at %s never showed %q:\n%s", loc, want, body)
	return ""
}

// TestBrowserMellon signs in to mellon in Chromium (whose cookie rules
// are stricter than Go's jar: a SameSite=None cookie needs Secure) through
// the test IdP's form and auto-submitting response.
func TestBrowserMellon(t *testing.T) {
	idp := NewSAMLIdP(t)
	m := Mellon(t, MellonConfig{IdPMetadata: idpMetadata(t, idp),
		Settings: []MellonSetting{{"MellonSubjectConfirmationDataAddressCheck", []string{"Off"}}}})
	idp.RegisterSP(t, "mellon", m.SPMetadata)
	idp.PutUser(t, "alice", `{"name":"alice","password":"Alice!Pass123","email":"alice@example.co.jp"}`)
	ctx := newChromium(t)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(m.SecretURL("page")),
		chromedp.WaitVisible(chromedp.ID("idp-user")),
		chromedp.SendKeys(chromedp.ID("idp-user"), "alice"),
		chromedp.SendKeys(chromedp.ID("idp-password"), "Alice!Pass123"),
		chromedp.Click(chromedp.ID("idp-submit")),
	); err != nil {
		t.Fatal(err)
	}
	waitBody(t, ctx, "MELLON_NAME_ID=alice@example.co.jp")
}

// TestBrowserOAuth2Proxy signs in through oauth2-proxy in Chromium.
func TestBrowserOAuth2Proxy(t *testing.T) {
	op := newRecordingOP(t)
	cfg := op.Config()
	p := OAuth2Proxy(t, OAuth2ProxyConfig{IssuerURL: op.Issuer(), ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret,
		CodeChallengeMethod: "S256", VerifyNonce: true})
	ctx := newChromium(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(p.URL+"/app")); err != nil {
		t.Fatal(err)
	}
	waitBody(t, ctx, `"X-Forwarded-Email":["jane.doe@example.com"]`)
}
