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

	"github.com/oauth2-proxy/mockoidc"

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

// enrolledUser adds alice, enrols her authenticator app through the
// pages in a browser of its own, and returns her, the key and her
// recovery codes. The clock then moves one step on, so the next code is
// a fresh one.
func (h *harness) enrolledUser() (*store.User, string, []string) {
	h.t.Helper()
	u := h.addUser("alice@example.co.jp", "Alice", alicePW, "staff")
	b := h.browser()
	expectRedirect(h.t, b.login("alice@example.co.jp", alicePW, ""), "/login/2fa/setup")
	secret, codes := h.enrolTOTP(b)
	h.clock.Advance(30 * time.Second)
	return u, secret, codes
}

// auditCount is how many audit events of action the user has.
func (h *harness) auditCount(u *store.User, action string) int {
	h.t.Helper()
	evs, err := h.app.store.ListAudit(context.Background(), store.AuditFilter{UserID: u.ID, Action: action, Limit: 1000})
	if err != nil {
		h.t.Fatal(err)
	}
	return len(evs)
}

func TestTwoStepWindowEdges(t *testing.T) {
	h := newHarness(t, withTwoStep("    required: true\n"))
	_, secret, _ := h.enrolledUser()
	h.clock.Advance(5 * 30 * time.Second)

	// Two steps away on either side is refused; one step early is taken.
	b := h.browser()
	expectRedirect(t, b.login("alice@example.co.jp", alicePW, "/me"), "/login/2fa")
	for _, off := range []int64{-2, 2} {
		p := b.post("/login/2fa", url.Values{"code": {h.totpCode(secret, off)}})
		expectStatus(t, p, http.StatusBadRequest)
		if !strings.Contains(p.body, "確認コードが正しくありません") {
			t.Fatalf("code %+d steps away: no wrong-code message:\n%s", off, snippet(p.body))
		}
	}
	expectRedirect(t, b.post("/login/2fa", url.Values{"code": {h.totpCode(secret, -1)}}), "/me")

	// One step late is taken too, in another browser.
	b2 := h.browser()
	expectRedirect(t, b2.login("alice@example.co.jp", alicePW, "/me"), "/login/2fa")
	expectRedirect(t, b2.post("/login/2fa", url.Values{"code": {h.totpCode(secret, 1)}}), "/me")

	// The current step's code now comes before a step already used: an
	// older code never passes after a newer one did.
	b3 := h.browser()
	b3.lang = "en"
	expectRedirect(t, b3.login("alice@example.co.jp", alicePW, "/me"), "/login/2fa")
	p := b3.post("/login/2fa", url.Values{"code": {h.totpCode(secret, 0)}})
	expectStatus(t, p, http.StatusBadRequest)
	if !strings.Contains(p.body, "This verification code was used already") {
		t.Fatalf("older code after a newer one: no 'used already' message:\n%s", snippet(p.body))
	}
	h.clock.Advance(2 * 30 * time.Second)
	expectRedirect(t, b3.post("/login/2fa", url.Values{"code": {h.totpCode(secret, 0)}}), "/me")
}

func TestTwoStepWrongCodesAndMaxTries(t *testing.T) {
	h := newHarness(t, withTwoStep("    required: true\n    max_tries: 3\n"))
	alice, secret, _ := h.enrolledUser()

	b := h.browser()
	b.lang = "en"
	expectRedirect(t, b.login("alice@example.co.jp", alicePW, "/me"), "/login/2fa")
	before := b.cookie("ssogate_2fa").Value
	p := b.post("/login/2fa", url.Values{"code": {"000000"}})
	expectStatus(t, p, http.StatusBadRequest)
	if !strings.Contains(p.body, "The verification code is not correct") || !strings.Contains(p.body, `id="code-form"`) {
		t.Fatalf("wrong code: no message or no form:\n%s", snippet(p.body))
	}
	if h.hasSession(b) {
		t.Fatal("session after a wrong code")
	}
	// The pending sign-in was rewritten under a new secret: the old
	// cookie's is used up.
	after := b.cookie("ssogate_2fa").Value
	if after == before {
		t.Fatal("the pending sign-in kept its secret after a wrong code")
	}
	old := h.browser()
	old.jar.SetCookies(b.jarURL(), []*http.Cookie{{Name: "ssogate_2fa", Value: before, Path: "/"}})
	old.get("/login")
	expectStatus(t, old.post("/login/2fa", url.Values{"code": {h.totpCode(secret, 0)}}), http.StatusBadRequest)
	if h.hasSession(old) {
		t.Fatal("a used pending secret passed")
	}

	// Two more wrong codes (three in all): the sign-in ends, and even the
	// right code no longer passes it.
	expectStatus(t, b.post("/login/2fa", url.Values{"code": {"111111"}}), http.StatusBadRequest)
	p = b.post("/login/2fa", url.Values{"code": {"222222"}})
	expectStatus(t, p, http.StatusBadRequest)
	if !strings.Contains(p.body, "Too many wrong codes: the sign-in was stopped") || !strings.Contains(p.body, `id="login-form"`) {
		t.Fatalf("after max_tries: not sent back to sign in:\n%s", snippet(p.body))
	}
	p = b.post("/login/2fa", url.Values{"code": {h.totpCode(secret, 0)}})
	if h.hasSession(b) || !strings.Contains(p.body, `id="login-form"`) {
		t.Fatalf("the right code passed after max_tries:\n%s", snippet(p.body))
	}
	if n := h.auditCount(alice, "mfa_failed"); n != 3 {
		t.Errorf("mfa_failed events = %d, want 3", n)
	}
	for _, l := range strings.Split(h.logs.String(), "\n") {
		for _, code := range []string{"000000", "111111", "222222", h.totpCode(secret, 0)} {
			if strings.Contains(l, code) {
				t.Fatalf("a code is in the log: %s", l)
			}
		}
	}

	// A fresh sign-in with the password starts again and passes.
	b2 := h.browser()
	expectRedirect(t, b2.login("alice@example.co.jp", alicePW, "/me"), "/login/2fa")
	expectRedirect(t, b2.post("/login/2fa", url.Values{"code": {h.totpCode(secret, 0)}}), "/me")
}

func TestTwoStepRecoveryCodeOnceThenRenewed(t *testing.T) {
	h := newHarness(t, withTwoStep("    required: true\n"))
	alice, _, codes := h.enrolledUser()

	b := h.browser()
	expectRedirect(t, b.login("alice@example.co.jp", alicePW, "/me"), "/login/2fa")
	p := b.get("/login/2fa")
	if !strings.Contains(p.body, `href="/login/2fa/recovery"`) {
		t.Fatalf("no link to the recovery code:\n%s", snippet(p.body))
	}
	expectStatus(t, b.get("/login/2fa/recovery"), http.StatusOK)
	// As pasted: upper case, spaces around, the dash turned into a space.
	pasted := "  " + strings.ToUpper(strings.Replace(codes[3], "-", " ", 1)) + " "
	expectRedirect(t, b.post("/login/2fa/recovery", url.Values{"recovery_code": {pasted}}), "/login/2fa/codes")
	if h.hasSession(b) {
		t.Fatal("session before the new codes were acknowledged")
	}
	page := b.get("/login/2fa/codes")
	fresh := recoveryCodes(t, page)
	if !strings.Contains(page.body, `id="codes-renewed"`) {
		t.Fatalf("renewed codes not explained:\n%s", snippet(page.body))
	}
	txt := b.get("/login/2fa/codes.txt")
	if txt.Header.Get("Content-Type") != "text/plain; charset=utf-8" || !strings.Contains(txt.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("codes.txt headers %v", txt.Header)
	}
	for _, c := range fresh {
		if !strings.Contains(txt.body, c) {
			t.Fatalf("codes.txt lacks %s:\n%s", c, txt.body)
		}
	}
	// The checkbox must be ticked.
	expectStatus(t, b.post("/login/2fa/codes", url.Values{}), http.StatusBadRequest)
	expectRedirect(t, b.post("/login/2fa/codes", url.Values{"saved": {"1"}}), "/me")
	if !h.hasSession(b) {
		t.Fatal("no session after the recovery code")
	}

	// The used code, and every other code of the old set, is refused;
	// a code of the new set passes.
	for _, old := range []string{codes[3], codes[5]} {
		b2 := h.browser()
		expectRedirect(t, b2.login("alice@example.co.jp", alicePW, "/me"), "/login/2fa")
		p := b2.post("/login/2fa/recovery", url.Values{"recovery_code": {old}})
		expectStatus(t, p, http.StatusBadRequest)
		if !strings.Contains(p.body, "確認コードが正しくありません") || h.hasSession(b2) {
			t.Fatalf("old recovery code %s: not refused:\n%s", old, snippet(p.body))
		}
	}
	b3 := h.browser()
	expectRedirect(t, b3.login("alice@example.co.jp", alicePW, "/me"), "/login/2fa")
	expectRedirect(t, b3.post("/login/2fa/recovery", url.Values{"recovery_code": {fresh[0]}}), "/login/2fa/codes")
	if n := h.auditCount(alice, "recovery_used"); n != 2 {
		t.Errorf("recovery_used events = %d, want 2", n)
	}
	if n := h.auditCount(alice, "recovery_failed"); n != 2 {
		t.Errorf("recovery_failed events = %d, want 2", n)
	}
}

func TestTwoStepRememberedBrowser(t *testing.T) {
	h := newHarness(t, withTwoStep("    required: true\n"))
	alice, secret, _ := h.enrolledUser()
	day := 24 * time.Hour

	b := h.browser()
	expectRedirect(t, b.login("alice@example.co.jp", alicePW, "/me"), "/login/2fa")
	if p := b.get("/login/2fa"); !strings.Contains(p.body, "このブラウザを記憶する（30日間") {
		t.Fatalf("no remember checkbox:\n%s", snippet(p.body))
	}
	expectRedirect(t, b.post("/login/2fa", url.Values{"code": {h.totpCode(secret, 0)}, "remember": {"1"}}), "/me")
	rb := b.cookie("ssogate_rb")
	if rb == nil {
		t.Fatal("no remembered-browser cookie")
	}
	logout := func() {
		b.get("/logout")
		expectRedirect(t, b.post("/logout", url.Values{}), "/login?logged_out=1")
	}

	// 29 days later the step is skipped; each use slides the 30 days on.
	for i := range 2 {
		logout()
		h.clock.Advance(29 * day)
		expectRedirect(t, b.login("alice@example.co.jp", alicePW, "/me"), "/me")
		if !h.hasSession(b) {
			t.Fatalf("use %d: no session from the remembered browser", i)
		}
	}
	// The sessions page lists it, marked as this browser.
	p := b.get("/account/sessions")
	if !strings.Contains(p.body, `id="browser-list"`) || !strings.Contains(p.body, "記憶しているブラウザ") {
		t.Fatalf("remembered browser not listed:\n%s", snippet(p.body))
	}

	// Another browser is asked.
	other := h.browser()
	expectRedirect(t, other.login("alice@example.co.jp", alicePW, "/me"), "/login/2fa")

	// More than 30 days unused: asked again.
	logout()
	h.clock.Advance(30*day + time.Minute)
	expectRedirect(t, b.login("alice@example.co.jp", alicePW, "/me"), "/login/2fa")
	if n := h.auditCount(alice, "mfa_skipped"); n != 2 {
		t.Errorf("mfa_skipped events = %d, want 2", n)
	}
}

func TestTwoStepForgetRememberedBrowser(t *testing.T) {
	h := newHarness(t, withTwoStep("    required: true\n"))
	_, secret, _ := h.enrolledUser()
	b := h.browser()
	expectRedirect(t, b.login("alice@example.co.jp", alicePW, "/"), "/login/2fa")
	expectRedirect(t, b.post("/login/2fa", url.Values{"code": {h.totpCode(secret, 0)}, "remember": {"1"}}), "/")
	p := b.get("/account/sessions")
	m := regexp.MustCompile(`name="id" value="(browser:[0-9a-f]+)"`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no forget form:\n%s", snippet(p.body))
	}
	expectRedirect(t, b.post("/account/sessions", url.Values{"id": {m[1]}}), "/account/sessions?ended=browser")
	expectStatus(t, b.post("/account/sessions", url.Values{"id": {m[1]}}), http.StatusNotFound)
	b.get("/logout")
	b.post("/logout", url.Values{})
	expectRedirect(t, b.login("alice@example.co.jp", alicePW, "/"), "/login/2fa")
}

func TestTwoStepSkippedFromRegisteredLine(t *testing.T) {
	h := newHarness(t, lineConfig("", true), withTwoStep("    required: true\n"))
	alice, _, _ := h.enrolledUser()
	office := h.browser().from("203.0.113.20")
	expectRedirect(t, office.login("alice@example.co.jp", alicePW, "/me"), "/me")
	sessions, _ := h.app.store.ListUserSessions(context.Background(), alice.ID)
	found := false
	for _, s := range sessions {
		if strings.Join(s.AMR, ",") == "pwd,net" {
			found = true
		}
	}
	if !found {
		t.Fatalf("no session with amr pwd,net from the line: %+v", sessions)
	}
	// Off the line, asked.
	home := h.browser().from("198.51.100.7")
	expectRedirect(t, home.login("alice@example.co.jp", alicePW, "/me"), "/login/2fa")
}

func TestTwoStepPendingBrowserReachesNothing(t *testing.T) {
	h := newHarness(t, withTwoStep("    required: true\n"))
	h.enrolledUser()
	b := h.browser()
	expectRedirect(t, b.login("alice@example.co.jp", alicePW, "/me"), "/login/2fa")
	if h.hasSession(b) {
		t.Fatal("session cookie while pending")
	}
	c := b.cookie("ssogate_2fa")
	if c == nil {
		t.Fatal("no pending cookie")
	}
	if p := b.get("/auth"); p.StatusCode == http.StatusOK {
		t.Fatalf("/auth let a pending browser through: %d", p.StatusCode)
	}
	expectRedirect(t, b.get("/me"), "/login?return_to=%2Fme")
	// The pending sign-in ends with its lifetime (pending_ttl, 10m).
	h.clock.Advance(11 * time.Minute)
	p := b.get("/login/2fa")
	expectStatus(t, p, http.StatusBadRequest)
	if !strings.Contains(p.body, "ログインの有効期限が切れました") {
		t.Fatalf("expired pending sign-in not explained:\n%s", snippet(p.body))
	}
}

func TestTwoStepPendingCookieAttributes(t *testing.T) {
	h := newTLSHarness(t, withTwoStep("    required: true\n"))
	h.addUser("alice@example.co.jp", "Alice", alicePW)
	b := h.browser()
	b.get("/login")
	p := b.post("/login", url.Values{"email": {"alice@example.co.jp"}, "password": {alicePW}})
	expectRedirect(t, p, "/login/2fa/setup")
	var set string
	for _, v := range p.Header.Values("Set-Cookie") {
		if strings.HasPrefix(v, "__Host-ssogate_2fa=") {
			set = v
		}
	}
	for _, want := range []string{"Path=/", "HttpOnly", "Secure", "SameSite=Lax", "Max-Age=600"} {
		if !strings.Contains(set, want) {
			t.Errorf("pending cookie %q lacks %s", set, want)
		}
	}
}

func TestTwoStepResetByPasswordResetAndCLI(t *testing.T) {
	h := newHarness(t, withTwoStep("    required: true\n"))
	alice, secret, _ := h.enrolledUser()
	ctx := context.Background()
	b := h.browser()
	expectRedirect(t, b.login("alice@example.co.jp", alicePW, "/"), "/login/2fa")
	expectRedirect(t, b.post("/login/2fa", url.Values{"code": {h.totpCode(secret, 0)}, "remember": {"1"}}), "/")
	registered := func() (int, int, int) {
		fs, _ := h.app.store.ListFactors(ctx, alice.ID)
		n, _ := h.app.store.RecoveryCodesLeft(ctx, alice.ID)
		bs, _ := h.app.store.ListRememberedBrowsers(ctx, alice.ID, h.clock.Now())
		return len(fs), n, len(bs)
	}
	if f, c, r := registered(); f != 1 || c != 10 || r != 1 {
		t.Fatalf("before: factors %d, codes %d, browsers %d", f, c, r)
	}

	// The CLI resets it.
	out, errOut, err := runCLI(t, "", "--config", h.configPath, "user", "reset-2fa", "--email", "alice@example.co.jp")
	if err != nil || !strings.Contains(out, "2-step verification reset") {
		t.Fatalf("reset-2fa: %v %q %q", err, out, errOut)
	}
	if f, c, r := registered(); f != 0 || c != 0 || r != 0 {
		t.Fatalf("after reset-2fa: factors %d, codes %d, browsers %d", f, c, r)
	}
	// The remembered browser is asked again: to set up, as required.
	b.get("/logout")
	b.post("/logout", url.Values{})
	expectRedirect(t, b.login("alice@example.co.jp", alicePW, "/"), "/login/2fa/setup")
	secret, _ = h.enrolTOTP(b)
	h.clock.Advance(30 * time.Second)
	b.get("/logout")
	b.post("/logout", url.Values{})
	expectRedirect(t, b.login("alice@example.co.jp", alicePW, "/"), "/login/2fa")
	expectRedirect(t, b.post("/login/2fa", url.Values{"code": {h.totpCode(secret, 0)}, "remember": {"1"}}), "/")
	if f, c, r := registered(); f != 1 || c != 10 || r != 1 {
		t.Fatalf("enrolled again: factors %d, codes %d, browsers %d", f, c, r)
	}

	// A password reset resets it too.
	rb := h.browser()
	rb.get("/password/forgot")
	expectRedirect(t, rb.post("/password/forgot", url.Values{"email": {"alice@example.co.jp"}}), "/password/forgot?sent=1")
	_, data := h.outbox("password_reset")
	link := h.linkPath(data[len(data)-1].Link)
	rb.get(link)
	const newPW = "Neue-Passw0rt!9"
	expectRedirect(t, rb.post(link, url.Values{"password": {newPW}, "password_confirm": {newPW}}), "/login?password_reset=1")
	if f, c, r := registered(); f != 0 || c != 0 || r != 0 {
		t.Fatalf("after the password reset: factors %d, codes %d, browsers %d", f, c, r)
	}
	expectRedirect(t, h.browser().login("alice@example.co.jp", newPW, "/"), "/login/2fa/setup")
	if n := h.auditCount(alice, "mfa_reset"); n != 2 {
		t.Errorf("mfa_reset events = %d, want 2", n)
	}
}

// jarURL is the gateway's URL as the cookie jar keys it.
func (b *browser) jarURL() *url.URL {
	u, _ := url.Parse(b.h.url)
	return u
}

func TestTwoStepAccountPage(t *testing.T) {
	h := newHarness(t) // 2-step not required: people enrol of their own accord
	alice := h.addUser("alice@example.co.jp", "Alice", alicePW, "staff")
	b := h.browser()
	expectRedirect(t, b.login("alice@example.co.jp", alicePW, "/"), "/")
	if p := b.get("/account"); !strings.Contains(p.body, `id="account-twostep" href`) && !strings.Contains(p.body, `href="/account/2fa" id="account-twostep"`) {
		t.Fatalf("account menu lacks 2-step verification:\n%s", snippet(p.body))
	}
	p := b.get("/account/2fa")
	if !strings.Contains(p.body, `id="no-factors"`) || !strings.Contains(p.body, `id="add-totp"`) || strings.Contains(p.body, `id="add-sms"`) {
		t.Fatalf("/account/2fa before enrolment (no SMS sender: no SMS):\n%s", snippet(p.body))
	}

	// Add the authenticator app: QR and key shown, the code finishes it,
	// and the first set of recovery codes is shown.
	p = b.post("/account/2fa", url.Values{"add": {"totp"}})
	expectStatus(t, p, http.StatusOK)
	secret := totpSecret(t, p)
	em := enrolmentRe.FindStringSubmatch(p.body)
	if em == nil || !totpQRRe.MatchString(p.body) {
		t.Fatalf("no enrolment form or QR:\n%s", snippet(p.body))
	}
	wrong := b.post("/account/2fa", url.Values{"enrolment": {em[1]}, "code": {wrongCode(h.totpCode(secret, 0))}})
	expectStatus(t, wrong, http.StatusBadRequest)
	if !strings.Contains(wrong.body, "確認コードが正しくありません") || !strings.Contains(wrong.body, `id="totp-secret"`) {
		t.Fatalf("wrong code: not shown again with a message:\n%s", snippet(wrong.body))
	}
	em = enrolmentRe.FindStringSubmatch(wrong.body)
	p = b.post("/account/2fa", url.Values{"enrolment": {em[1]}, "code": {h.totpCode(secret, 0)}, "name": {"iPhone"}})
	expectStatus(t, p, http.StatusOK)
	codes := recoveryCodes(t, p)
	if n := h.auditCount(alice, "mfa_enrolled"); n != 1 {
		t.Fatalf("mfa_enrolled = %d", n)
	}

	// Enrolled of her own accord: the next sign-in asks.
	h.clock.Advance(30 * time.Second)
	b2 := h.browser()
	expectRedirect(t, b2.login("alice@example.co.jp", alicePW, "/"), "/login/2fa")
	expectRedirect(t, b2.post("/login/2fa/recovery", url.Values{"recovery_code": {codes[0]}}), "/login/2fa/codes")

	// New recovery codes need the password.
	p = b.post("/account/2fa", url.Values{"renew": {"1"}, "password": {"wrong-Passw0rd"}})
	expectStatus(t, p, http.StatusBadRequest)
	if !strings.Contains(p.body, "パスワードが正しくありません") {
		t.Fatalf("renew, wrong password:\n%s", snippet(p.body))
	}
	p = b.post("/account/2fa", url.Values{"renew": {"1"}, "password": {alicePW}})
	expectStatus(t, p, http.StatusOK)
	renewed := recoveryCodes(t, p)
	if renewed[0] == codes[0] {
		t.Fatal("the same codes again")
	}

	// Removing the only method (not required) ends 2-step for her.
	fs, _ := h.app.store.ListFactors(context.Background(), alice.ID)
	expectRedirect(t, b.post("/account/2fa", url.Values{"remove": {fs[0].ID}}), "/account/2fa?done=removed")
	expectRedirect(t, h.browser().login("alice@example.co.jp", alicePW, "/"), "/")
}

func TestTwoStepKeepsLastMethodWhileRequired(t *testing.T) {
	h := newHarness(t, withTwoStep("    required: true\n"))
	alice, secret, _ := h.enrolledUser()
	b := h.browser()
	b.lang = "en"
	expectRedirect(t, b.login("alice@example.co.jp", alicePW, "/"), "/login/2fa")
	expectRedirect(t, b.post("/login/2fa", url.Values{"code": {h.totpCode(secret, 0)}}), "/")
	fs, _ := h.app.store.ListFactors(context.Background(), alice.ID)
	b.get("/account/2fa")
	p := b.post("/account/2fa", url.Values{"remove": {fs[0].ID}})
	expectStatus(t, p, http.StatusBadRequest)
	if !strings.Contains(p.body, "the last method cannot be removed") {
		t.Fatalf("last method removed while required:\n%s", snippet(p.body))
	}
	// An id that is not one of hers is refused as unknown.
	expectStatus(t, b.post("/account/2fa", url.Values{"remove": {"not-hers"}}), http.StatusBadRequest)
	if fs, _ := h.app.store.ListFactors(context.Background(), alice.ID); len(fs) != 1 {
		t.Fatalf("factors = %d", len(fs))
	}
}

func TestTwoStepFederatedOnlyWhenAppliesTo(t *testing.T) {
	for _, tt := range []struct {
		name, policy, want string
	}{
		{"relies on the IdP", "    required: true\n", "/me"},
		{"applies_to", "    required: true\n    applies_to: [mock]\n", "/login/2fa"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := newMockOIDC(t)
			h := newHarness(t, oidcProvider(m, "    link_domains: [example.co.jp]\n"), withTwoStep(tt.policy))
			_, secret, _ := h.enrolledUser()
			b := h.browser()
			m.QueueUser(&mockoidc.MockUser{Subject: "sub-alice", Email: "alice@example.co.jp", EmailVerified: true})
			expectRedirect(t, b.federatedLogin("mock", "/me"), tt.want)
			if tt.want == "/login/2fa" {
				if h.hasSession(b) {
					t.Fatal("session before the second step")
				}
				expectStatus(t, b.get("/login/2fa"), http.StatusOK)
				expectRedirect(t, b.post("/login/2fa", url.Values{"code": {h.totpCode(secret, 0)}}), "/me")
			}
		})
	}
}
