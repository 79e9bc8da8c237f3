package main

import (
	"context"
	"slices"
	"testing"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
)

// virtualPasskeys gives the browser of ctx Chromium's virtual
// authenticator: a platform authenticator (internal transport, CTAP2)
// that keeps passkeys and verifies the person at once, as a phone's
// fingerprint reader would.
func virtualPasskeys(t *testing.T, ctx context.Context) webauthn.AuthenticatorID {
	t.Helper()
	if _, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		t.Fatalf("WebAuthn.enable: %v", err)
	}
	res, err := chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
		Options: &webauthn.VirtualAuthenticatorOptions{
			Protocol:                    webauthn.AuthenticatorProtocolCtap2,
			Transport:                   webauthn.AuthenticatorTransportInternal,
			HasResidentKey:              true,
			HasUserVerification:         true,
			IsUserVerified:              true,
			AutomaticPresenceSimulation: true,
		}})
	if err != nil {
		t.Fatalf("WebAuthn.addVirtualAuthenticator: %v", err)
	}
	return res.AuthenticatorID
}

// signOutInBrowser signs out through the confirmation page.
func signOutInBrowser(t *testing.T, ctx context.Context, base string) {
	t.Helper()
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/logout"),
		chromedp.Click(chromedp.ID("logout-submit")),
		chromedp.WaitVisible(chromedp.ID("login-form")),
	); err != nil {
		t.Fatal(err)
	}
}

// TestBrowserPasskey enrols a passkey on /account/2fa with the page's
// script and Chromium's virtual authenticator, signs out, signs in with
// "Sign in with a passkey" and no password, and then uses the passkey as
// the second step after a password.
func TestBrowserPasskey(t *testing.T) {
	h := newHarness(t, withPasskeys)
	u := h.addUser("alice@example.co.jp", "Alice Example", alicePW, "staff")
	ctx := newChromium(t)
	base := passkeyOrigin(h) // a passkey needs a host name: localhost
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/login")); err != nil {
		t.Fatal(err)
	}
	auth := virtualPasskeys(t, ctx)

	// Sign in with the password; no factor yet, so no second step.
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("email"), u.Email),
		chromedp.SendKeys(chromedp.ID("password"), alicePW),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.CSS(`a.tile[data-service="wiki"]`)),
	); err != nil {
		t.Fatal(err)
	}

	// Enrol a passkey with a name: the script asks the authenticator and
	// posts its answer; the first factor brings recovery codes.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/account/2fa"),
		chromedp.Click(chromedp.ID("add-webauthn")),
		chromedp.WaitVisible(chromedp.ID("enrol-form")),
		chromedp.SendKeys(chromedp.ID("name"), "Chromium"),
		chromedp.Click(chromedp.ID("enrol-submit")),
		chromedp.WaitVisible(chromedp.ID("recovery-codes")),
	); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "passkey-1-enrolled")
	creds, err := chromedp.Call(ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: auth})
	if err != nil || len(creds.Credentials) != 1 || !creds.Credentials[0].IsResidentCredential {
		t.Fatalf("virtual authenticator holds %v (%v), want one discoverable passkey", creds, err)
	}
	fs, err := h.app.store.ListFactors(context.Background(), u.ID)
	if err != nil || len(fs) != 1 || fs[0].Name != "Chromium" {
		t.Fatalf("stored factors: %v %+v", err, fs)
	}

	// The same authenticator is not registered twice: the page says so.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/account/2fa"),
		chromedp.Click(chromedp.ID("add-webauthn")),
		chromedp.WaitVisible(chromedp.ID("enrol-form")),
		chromedp.Click(chromedp.ID("enrol-submit")),
		chromedp.WaitVisible(chromedp.CSS(`[data-webauthn-message="exists"]`)),
	); err != nil {
		t.Fatal(err)
	}
	if creds, err := chromedp.Call(ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: auth}); err != nil || len(creds.Credentials) != 1 {
		t.Fatalf("after the refused second enrolment the authenticator holds %v (%v)", creds, err)
	}

	// Signed out, "Sign in with a passkey" signs in without a password.
	signOutInBrowser(t, ctx, base)
	screenshot(t, ctx, "passkey-2-login")
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("passkey-login")),
		chromedp.WaitVisible(chromedp.ID("passkey-form")),
	); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "passkey-3-ceremony")
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("passkey-submit")),
		chromedp.WaitVisible(chromedp.CSS(`a.tile[data-service="wiki"]`)),
	); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "passkey-4-signed-in")
	if got := text(t, ctx, "#user-id"); got != u.Email {
		t.Errorf("signed in as %q", got)
	}
	if amr := sessionAMR(t, h, u); !slices.Equal(amr, []string{"hwk", "user", "mfa"}) {
		t.Errorf("amr = %v, want [hwk user mfa]", amr)
	}

	// After a password, the passkey is the second step.
	signOutInBrowser(t, ctx, base)
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("email"), u.Email),
		chromedp.SendKeys(chromedp.ID("password"), alicePW),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("passkey-form")),
	); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "passkey-5-second-step")
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("passkey-submit")),
		chromedp.WaitVisible(chromedp.CSS(`a.tile[data-service="wiki"]`)),
	); err != nil {
		t.Fatal(err)
	}
	if amr := sessionAMR(t, h, u); !slices.Contains(amr, "pwd") || !slices.Contains(amr, "hwk") || !slices.Contains(amr, "mfa") {
		t.Errorf("amr after password and passkey = %v", amr)
	}
}
