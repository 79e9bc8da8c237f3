package main

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ssogate/ssogate/mfa/totp"
	"github.com/ssogate/ssogate/store"
)

// withTwoStep sets policy.two_factor (YAML lines under it, indented by
// four spaces) on the test configuration.
func withTwoStep(lines string) harnessOption {
	return withPolicy("  two_factor:\n" + lines)
}

var (
	totpSecretRe = regexp.MustCompile(`id="totp-secret">([A-Z2-7 ]+)</code>`)
	codesRe      = regexp.MustCompile(`<li><code>([0-9a-z-]+)</code></li>`)
	totpQRRe     = regexp.MustCompile(`<img src="data:image/png;base64,([^"]+)"`)
)

// totpSecret reads the TOTP key a setup page shows for typing by hand.
func totpSecret(t *testing.T, p *page) string {
	t.Helper()
	m := totpSecretRe.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("%s: no TOTP key on the page:\n%s", p.Request.URL, snippet(p.body))
	}
	return strings.ReplaceAll(m[1], " ", "")
}

// totpCode is the code an authenticator app holding secret shows at
// offset steps from the harness clock's step.
func (h *harness) totpCode(secret string, offset int64) string {
	h.t.Helper()
	c, err := totp.Code(secret, totp.Step(h.clock.Now())+offset)
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}

// recoveryCodes reads the recovery codes a page shows.
func recoveryCodes(t *testing.T, p *page) []string {
	t.Helper()
	var out []string
	for _, m := range codesRe.FindAllStringSubmatch(p.body, -1) {
		out = append(out, html.UnescapeString(m[1]))
	}
	if len(out) != 10 {
		t.Fatalf("%s: %d recovery codes on the page, want 10:\n%s", p.Request.URL, len(out), snippet(p.body))
	}
	return out
}

// enrolTOTP takes a browser that signed in and waits at
// /login/2fa/setup through the authenticator-app enrolment: it returns
// the key the page showed and the recovery codes, and leaves the browser
// on the completion page, signed in.
func (h *harness) enrolTOTP(b *browser) (string, []string) {
	t := h.t
	t.Helper()
	expectStatus(t, b.get("/login/2fa/setup"), http.StatusOK)
	expectRedirect(t, b.post("/login/2fa/setup", url.Values{"method": {"totp"}}), "/login/2fa/setup")
	setup := b.get("/login/2fa/setup")
	expectStatus(t, setup, http.StatusOK)
	secret := totpSecret(t, setup)
	if !totpQRRe.MatchString(setup.body) {
		t.Fatalf("setup page shows no inline QR image:\n%s", snippet(setup.body))
	}
	expectRedirect(t, b.post("/login/2fa/setup", url.Values{"code": {h.totpCode(secret, 0)}}), "/login/2fa/codes")
	codesPage := b.get("/login/2fa/codes")
	expectStatus(t, codesPage, http.StatusOK)
	codes := recoveryCodes(t, codesPage)
	done := b.post("/login/2fa/codes", url.Values{"saved": {"1"}})
	expectStatus(t, done, http.StatusOK)
	if !strings.Contains(done.body, `id="done-continue"`) {
		t.Fatalf("no completion page after the codes:\n%s", snippet(done.body))
	}
	return secret, codes
}

func (h *harness) hasSession(b *browser) bool {
	return b.cookie(h.app.cfg.Session.CookieName) != nil
}

func TestTwoStepTOTPEnrolAtFirstSignIn(t *testing.T) {
	h := newHarness(t, withTwoStep("    required: true\n"))
	alice := h.addUser("alice@example.co.jp", "Alice", alicePW, "staff")
	b := h.browser()

	// Password right: no session yet, the browser waits at the setup.
	expectRedirect(t, b.login("alice@example.co.jp", alicePW, "/me"), "/login/2fa/setup")
	if h.hasSession(b) {
		t.Fatal("a session cookie was set before the second step")
	}
	if sessions, _ := h.app.store.ListUserSessions(context.Background(), alice.ID); len(sessions) != 0 {
		t.Fatalf("%d sessions before the second step", len(sessions))
	}
	expectRedirect(t, b.get("/"), "/login?return_to=%2F")

	secret, codes := h.enrolTOTP(b)
	if !h.hasSession(b) {
		t.Fatal("no session after enrolment")
	}
	if p := b.get("/me"); p.StatusCode != http.StatusOK {
		t.Fatalf("/me after enrolment: %d", p.StatusCode)
	}
	sessions, _ := h.app.store.ListUserSessions(context.Background(), alice.ID)
	if len(sessions) != 1 || strings.Join(sessions[0].AMR, ",") != "pwd,otp,mfa" {
		t.Fatalf("sessions = %+v, want one with amr pwd,otp,mfa", sessions)
	}
	if len(codes) != 10 {
		t.Fatalf("codes = %v", codes)
	}

	// Next sign-in, a new browser: the code is asked. The code of the
	// step the enrolment used is refused (used once only); the next
	// step's works.
	b2 := h.browser()
	expectRedirect(t, b2.login("alice@example.co.jp", alicePW, "/me"), "/login/2fa")
	replay := b2.post("/login/2fa", url.Values{"code": {h.totpCode(secret, 0)}})
	expectStatus(t, replay, http.StatusBadRequest)
	if !strings.Contains(replay.body, "この確認コードはすでに使われています") {
		t.Fatalf("replayed code: no 'used already' message:\n%s", snippet(replay.body))
	}
	if h.hasSession(b2) {
		t.Fatal("session after a replayed code")
	}
	h.clock.Advance(30 * time.Second)
	expectRedirect(t, b2.post("/login/2fa", url.Values{"code": {h.totpCode(secret, 0)}}), "/me")
	if !h.hasSession(b2) {
		t.Fatal("no session after the right code")
	}
	evs, _ := h.app.store.ListAudit(context.Background(), store.AuditFilter{UserID: alice.ID, Action: "mfa_failed"})
	if len(evs) != 1 || !strings.Contains(evs[0].Detail, "code_replayed") {
		t.Fatalf("mfa_failed events = %+v", evs)
	}
}
