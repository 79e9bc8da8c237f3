package main

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ssogate/ssogate/notify"
	"github.com/ssogate/ssogate/store"
)

// deviceAdmin creates an active local administrator.
func (h *harness) deviceAdmin(email, name, password string) *store.User {
	h.t.Helper()
	u := h.addUser(email, name, password)
	u.Role = store.RoleAdmin
	if err := h.app.store.UpdateUser(context.Background(), u); err != nil {
		h.t.Fatal(err)
	}
	return u
}

// deviceCookieName is the approved-device cookie on plain http.
const deviceCookieName = "ssogate_dev"

// approvalLinks returns the approval links mailed so far, by recipient.
func (h *harness) approvalLinks() map[string][]string {
	h.t.Helper()
	ms, ds := h.outbox(notify.TemplateDeviceApproval)
	out := map[string][]string{}
	for i, m := range ms {
		out[m.To] = append(out[m.To], h.linkPath(ds[i].Link))
	}
	return out
}

// lastDeviceToken returns the last one-time token mailed to email.
func (h *harness) lastDeviceToken(email string) string {
	h.t.Helper()
	ms, ds := h.outbox(notify.TemplateDeviceToken)
	for i := len(ms) - 1; i >= 0; i-- {
		if ms[i].To == email {
			return ds[i].Code
		}
	}
	h.t.Fatalf("no device token mailed to %s", email)
	return ""
}

// decide has the administrator's browser answer the request behind the
// approval link.
func decide(t *testing.T, admin *browser, link, decision string) *page {
	t.Helper()
	p := admin.get(link)
	expectStatus(t, p, http.StatusOK)
	u, _ := url.Parse(link)
	return admin.post(u.Path, url.Values{"ticket": {u.Query().Get("ticket")}, "decision": {decision}})
}

// waitsForApproval signs b in as email and checks that the sign-in stops
// at the waiting page without a session.
func waitsForApproval(t *testing.T, h *harness, b *browser, email, password string) {
	t.Helper()
	expectRedirect(t, b.login(email, password, ""), "/login/device")
	if h.hasSession(b) {
		t.Fatal("a browser waiting for approval has a session")
	}
	p := b.get("/login/device")
	expectStatus(t, p, http.StatusOK)
	if !strings.Contains(p.body, `id="device-form"`) {
		t.Fatalf("the waiting page has no token form:\n%s", snippet(p.body))
	}
}

// TestDeviceApprovalSignIn walks device approval end to end: a sign-in
// from a new browser waits (no session, /auth 401); every administrator
// is mailed the link; a person who is not an administrator gets 403 on
// it; an administrator approves; the person's mailed token, entered in
// that browser, makes the session and the approved-device cookie; the
// next sign-in there does not wait, another browser's does; revoking the
// device makes its browser wait again.
func TestDeviceApprovalSignIn(t *testing.T) {
	h := newHarness(t, withPolicy("  device_approval: true\n"))
	alice := h.addUser("alice@example.co.jp", "山田 太郎", alicePW, "staff")
	bob := h.addUser("bob@example.co.jp", "Bob", "Bob-Passw0rd!", "staff")
	root := h.deviceAdmin("root@example.co.jp", "管理者", "Root-Passw0rd!")
	h.deviceAdmin("second@example.co.jp", "副管理者", "Second-Passw0rd!")
	admin := issuedBrowser(t, h, root, "pwd")

	b1 := h.browser()
	waitsForApproval(t, h, b1, alice.Email, alicePW)
	expectStatus(t, authAsk(b1, "http://127.0.0.1:9001/page", "", true), http.StatusUnauthorized)

	// Entering anything before an administrator answers changes nothing.
	p := b1.post("/login/device", url.Values{"token": {"12345678"}})
	expectStatus(t, p, http.StatusConflict)

	// Signing in again from the waiting browser keeps its request: the
	// administrators are not mailed twice.
	expectRedirect(t, b1.login(alice.Email, alicePW, ""), "/login/device")

	links := h.approvalLinks()
	if len(links) != 2 || len(links[root.Email]) != 1 || len(links["second@example.co.jp"]) != 1 {
		t.Fatalf("approval mails by recipient: %v; want one to each administrator", links)
	}
	_, ds := h.outbox(notify.TemplateDeviceApproval)
	if d := ds[0]; d.Email != alice.Email || d.UserAgent == "" || d.ClientIP != "127.0.0.1" || d.Time == "" {
		t.Fatalf("approval mail data %+v: the person, browser, address and time are not all there", d)
	}
	link := links[root.Email][0]
	if !strings.HasPrefix(link, "/admin/devices/approve?ticket=") {
		t.Fatalf("approval link %q", link)
	}

	// Someone who is not an administrator cannot open it, nor approve.
	other := issuedBrowser(t, h, bob, "pwd")
	expectStatus(t, other.get(link), http.StatusForbidden)
	u, _ := url.Parse(link)
	other.get("/")
	expectStatus(t, other.post(u.Path, url.Values{"ticket": {u.Query().Get("ticket")}, "decision": {"approve"}}), http.StatusForbidden)
	if ms, _ := h.outbox(notify.TemplateDeviceToken); len(ms) != 0 {
		t.Fatal("a non-administrator's approval mailed a token")
	}

	p = decide(t, admin, link, "approve")
	expectStatus(t, p, http.StatusOK)
	if !strings.Contains(p.body, `id="approve-done"`) {
		t.Fatalf("approval page after approving:\n%s", snippet(p.body))
	}
	// The link is used: opening it again says so.
	expectStatus(t, admin.get(link), http.StatusGone)

	token := h.lastDeviceToken(alice.Email)
	if len(token) != 8 {
		t.Fatalf("device token %q", token)
	}
	// Another browser cannot use the token: it has no waiting request.
	thief := h.browser()
	thief.get("/login")
	expectStatus(t, thief.post("/login/device", url.Values{"token": {token}}), http.StatusGone)

	b1.get("/login/device")
	expectStatus(t, b1.post("/login/device", url.Values{"token": {"00000000"}}), http.StatusBadRequest)
	expectRedirect(t, b1.post("/login/device", url.Values{"token": {token[:4] + "-" + token[4:]}}), "/")
	if !h.hasSession(b1) || b1.cookie(deviceCookieName) == nil {
		t.Fatal("an approved browser has no session or no approved-device cookie")
	}
	expectStatus(t, authAsk(b1, "http://127.0.0.1:9001/page", "", true), http.StatusOK)
	devs, err := h.app.store.ListDevices(context.Background(), alice.ID)
	if err != nil || len(devs) != 1 || devs[0].ApprovedBy != root.ID {
		t.Fatalf("approved devices %v, %v: want one, approved by %s", devs, err, root.ID)
	}

	// The next sign-in from that browser goes straight in.
	b1.get("/logout")
	b1.post("/logout", url.Values{})
	expectRedirect(t, b1.login(alice.Email, alicePW, ""), "/")
	if n := len(h.approvalLinks()[root.Email]); n != 1 {
		t.Fatalf("an approved browser's sign-in mailed the administrators (%d mails)", n)
	}

	// Another new browser waits again.
	b2 := h.browser()
	waitsForApproval(t, h, b2, alice.Email, alicePW)

	// The approved devices are listed at /account/sessions; revoking one
	// makes its browser wait at its next sign-in.
	p = b1.get("/account/sessions")
	expectStatus(t, p, http.StatusOK)
	if !strings.Contains(p.body, `data-device="`+devs[0].ID+`"`) {
		t.Fatalf("/account/sessions does not list the approved device:\n%s", p.body)
	}
	expectRedirect(t, b1.post("/account/sessions", url.Values{"device": {devs[0].ID}}), "/account/sessions?ended=device")
	b1.get("/logout")
	b1.post("/logout", url.Values{})
	waitsForApproval(t, h, b1, alice.Email, alicePW)

	for _, action := range []string{"device_approval_request", "device_approval_decide", "device_token", "device_revoke"} {
		if h.auditCount(alice, action) == 0 {
			t.Errorf("no audit event %s", action)
		}
	}
}

// TestDeviceApprovalEnds: a denied request and an expired one (the
// request, or the mailed token) end with a clear page, and the next
// sign-in asks again.
func TestDeviceApprovalEnds(t *testing.T) {
	h := newHarness(t, withPolicy("  device_approval: true\n"))
	alice := h.addUser("alice@example.co.jp", "山田 太郎", alicePW, "staff")
	root := h.deviceAdmin("root@example.co.jp", "管理者", "Root-Passw0rd!")

	t.Run("denied", func(t *testing.T) {
		admin := issuedBrowser(t, h, root, "pwd")
		b := h.browser()
		waitsForApproval(t, h, b, alice.Email, alicePW)
		links := h.approvalLinks()[root.Email]
		p := decide(t, admin, links[len(links)-1], "deny")
		expectStatus(t, p, http.StatusOK)
		if !strings.Contains(p.body, `id="approve-denied"`) {
			t.Fatalf("approval page after denying:\n%s", snippet(p.body))
		}
		p = b.get("/login/device")
		expectStatus(t, p, http.StatusForbidden)
		if !strings.Contains(p.body, `id="device-denied"`) || b.cookie("ssogate_dw") != nil || h.hasSession(b) {
			t.Fatalf("a denied browser: page, waiting cookie or session wrong:\n%s", snippet(p.body))
		}
		if ms, _ := h.outbox(notify.TemplateDeviceToken); len(ms) != 0 {
			t.Fatal("a denial mailed a token")
		}
		waitsForApproval(t, h, b, alice.Email, alicePW)
	})

	t.Run("request expired", func(t *testing.T) {
		admin := issuedBrowser(t, h, root, "pwd")
		b := h.browser()
		waitsForApproval(t, h, b, alice.Email, alicePW)
		links := h.approvalLinks()[root.Email]
		h.clock.Advance(25 * time.Hour)
		p := b.get("/login/device")
		expectStatus(t, p, http.StatusGone)
		if !strings.Contains(p.body, `id="device-gone"`) || h.hasSession(b) {
			t.Fatalf("an expired request:\n%s", snippet(p.body))
		}
		admin = issuedBrowser(t, h, root, "pwd")
		expectStatus(t, admin.get(links[len(links)-1]), http.StatusGone)
	})

	t.Run("token expired", func(t *testing.T) {
		admin := issuedBrowser(t, h, root, "pwd")
		b := h.browser()
		waitsForApproval(t, h, b, alice.Email, alicePW)
		links := h.approvalLinks()[root.Email]
		expectStatus(t, decide(t, admin, links[len(links)-1], "approve"), http.StatusOK)
		token := h.lastDeviceToken(alice.Email)
		h.clock.Advance(61 * time.Minute)
		b.get("/login/device")
		p := b.post("/login/device", url.Values{"token": {token}})
		expectStatus(t, p, http.StatusGone)
		if h.hasSession(b) || b.cookie(deviceCookieName) != nil {
			t.Fatal("an expired token made a session or approved the browser")
		}
	})

	t.Run("too many wrong tokens", func(t *testing.T) {
		admin := issuedBrowser(t, h, root, "pwd")
		b := h.browser()
		waitsForApproval(t, h, b, alice.Email, alicePW)
		links := h.approvalLinks()[root.Email]
		expectStatus(t, decide(t, admin, links[len(links)-1], "approve"), http.StatusOK)
		token := h.lastDeviceToken(alice.Email)
		wrong := "00000000"
		if token == wrong {
			wrong = "11111111"
		}
		for i := 0; i < 4; i++ {
			expectStatus(t, b.post("/login/device", url.Values{"token": {wrong}}), http.StatusBadRequest)
		}
		expectStatus(t, b.post("/login/device", url.Values{"token": {wrong}}), http.StatusGone)
		b.get("/login")
		expectStatus(t, b.post("/login/device", url.Values{"token": {token}}), http.StatusGone)
	})
}

// deviceServices are a proxied and a forward-auth service with their
// own device approval, and a proxied one without.
func deviceServices(up string) harnessOption {
	return func(s string) string {
		public := s[strings.Index(s, "public_url: ")+len("public_url: "):]
		public = public[:strings.Index(public, "\n")]
		return s + strings.NewReplacer("%PUBLIC%", public, "%UP%", up).Replace(`
  - id: payroll
    name: 給与明細
    url: %PUBLIC%/payroll/
    upstream: %UP%
    device_approval: true
  - id: app
    name: App
    url: %PUBLIC%/app/
    upstream: %UP%
  - id: vault
    name: Vault
    url: http://vault.example.test:8081/
    device_approval: true
`)
	}
}

// TestDeviceApprovalService: with policy.device_approval off, a service
// with device_approval sends a session whose browser is not approved
// through the approval (proxy and /auth), and lets it through once the
// browser is; other services never ask. An administrator revoking the
// device on the console's user page closes the service again.
func TestDeviceApprovalService(t *testing.T) {
	up := newUpstream(t)
	h := newHarness(t, deviceServices(up.URL))
	alice := h.addUser("alice@example.co.jp", "山田 太郎", alicePW, "staff")
	root := h.deviceAdmin("root@example.co.jp", "管理者", "Root-Passw0rd!")
	const htmlAccept = "text/html,application/xhtml+xml"

	b := h.browser()
	expectRedirect(t, b.login(alice.Email, alicePW, ""), "/")
	target := h.url + "/payroll/slip?m=11"
	start := h.url + "/login/device/start?return_to=" + url.QueryEscape(target)
	hits := up.hits.Load()
	expectRedirect(t, b.getWith("/payroll/slip?m=11", map[string][]string{"Accept": {htmlAccept}}), start)
	if up.hits.Load() != hits {
		t.Fatal("a browser without approval reached the device_approval upstream")
	}
	p := authAsk(b, "http://vault.example.test:8081/x", "", true)
	expectStatus(t, p, http.StatusUnauthorized)
	if loc := p.Header.Get("Location"); !strings.HasPrefix(loc, h.url+"/login/device/start?return_to=") {
		t.Fatalf("/auth Location %q", loc)
	}
	expectStatus(t, b.getWith("/app/x", map[string][]string{"Accept": {htmlAccept}}), http.StatusOK)

	p = b.get(strings.TrimPrefix(start, h.url))
	expectStatus(t, p, http.StatusOK)
	if len(h.approvalLinks()) != 0 {
		t.Fatal("opening the start page mailed the administrators (a GET must not)")
	}
	expectRedirect(t, b.post("/login/device/start", url.Values{"return_to": {target}}), "/login/device")
	b.get(strings.TrimPrefix(start, h.url))
	expectRedirect(t, b.post("/login/device/start", url.Values{"return_to": {target}}), "/login/device")
	if n := len(h.approvalLinks()[root.Email]); n != 1 {
		t.Fatalf("asking twice mailed the administrators %d times", n)
	}
	b.get("/login/device")

	admin := issuedBrowser(t, h, root, "pwd")
	expectStatus(t, decide(t, admin, h.approvalLinks()[root.Email][0], "approve"), http.StatusOK)
	expectRedirect(t, b.post("/login/device", url.Values{"token": {h.lastDeviceToken(alice.Email)}}), target)
	hits = up.hits.Load()
	expectStatus(t, b.getWith("/payroll/slip?m=11", map[string][]string{"Accept": {htmlAccept}}), http.StatusOK)
	if up.hits.Load() != hits+1 {
		t.Fatal("the approved browser did not reach the upstream")
	}
	if c := up.lastRequest().Header.Get("Cookie"); strings.Contains(c, deviceCookieName) {
		t.Fatalf("the upstream received the approved-device cookie: %q", c)
	}
	expectStatus(t, authAsk(b, "http://vault.example.test:8081/x", "", true), http.StatusOK)

	// The console's revoke form closes the service to that browser.
	devs, err := h.app.store.ListDevices(context.Background(), alice.ID)
	if err != nil || len(devs) != 1 {
		t.Fatalf("approved devices %v, %v", devs, err)
	}
	p = admin.get("/admin/users/" + alice.ID)
	expectStatus(t, p, http.StatusOK)
	if !strings.Contains(p.body, `id="extra-devices"`) || !strings.Contains(p.body, `value="`+devs[0].ID+`"`) {
		t.Fatalf("the console's user page does not list the approved device:\n%s", p.body)
	}
	p = admin.post("/admin/users/"+alice.ID, url.Values{"action": {"revoke_device"}, "value": {devs[0].ID}})
	expectRedirect(t, p, "/admin/users/"+alice.ID+"?done=revoke_device")
	expectRedirect(t, b.getWith("/payroll/slip?m=11", map[string][]string{"Accept": {htmlAccept}}), start)
	if devs, _ := h.app.store.ListDevices(context.Background(), alice.ID); len(devs) != 0 {
		t.Fatal("the revoked device is still stored")
	}
	if h.auditCount(alice, "device_revoke") != 1 {
		t.Fatal("no audit event of the revocation")
	}
}

// TestDeviceApprovalAfterSecondStep: with 2-step verification required,
// device approval comes after the second step: the enrolment finishes,
// the browser waits without a session, and the session made once it is
// approved carries both factors.
func TestDeviceApprovalAfterSecondStep(t *testing.T) {
	h := newHarness(t, withTwoStep("    required: true\n"), func(s string) string { return s + "  device_approval: true\n" })
	alice := h.addUser("alice@example.co.jp", "Alice", alicePW, "staff")
	root := h.deviceAdmin("root@example.co.jp", "管理者", "Root-Passw0rd!")
	b := h.browser()
	expectRedirect(t, b.login(alice.Email, alicePW, ""), "/login/2fa/setup")
	if len(h.approvalLinks()) != 0 {
		t.Fatal("the administrators were mailed before the second step was passed")
	}
	b.get("/login/2fa/setup")
	expectRedirect(t, b.post("/login/2fa/setup", url.Values{"method": {"totp"}}), "/login/2fa/setup")
	secret := totpSecret(t, b.get("/login/2fa/setup"))
	expectRedirect(t, b.post("/login/2fa/setup", url.Values{"code": {h.totpCode(secret, 0)}}), "/login/2fa/codes")
	b.get("/login/2fa/codes")
	expectRedirect(t, b.post("/login/2fa/codes", url.Values{"saved": {"1"}}), "/login/device")
	if h.hasSession(b) {
		t.Fatal("a browser waiting for approval after its second step has a session")
	}
	admin := issuedBrowser(t, h, root, "pwd")
	expectStatus(t, decide(t, admin, h.approvalLinks()[root.Email][0], "approve"), http.StatusOK)
	b.get("/login/device")
	expectRedirect(t, b.post("/login/device", url.Values{"token": {h.lastDeviceToken(alice.Email)}}), "/")
	if amr := h.sessionAMR(alice); !strings.Contains(amr, "otp") || !strings.Contains(amr, "mfa") {
		t.Fatalf("the approved session's amr %q lacks the second factor", amr)
	}
}

// TestDeviceApprovalRuntimeSetting: device approval switched on in the
// console's organisation settings (the YAML leaves it off) stops the
// next sign-in from a new browser; switched off, it stops none.
func TestDeviceApprovalRuntimeSetting(t *testing.T) {
	h := newHarness(t)
	alice := h.addUser("alice@example.co.jp", "山田 太郎", alicePW, "staff")
	root := h.deviceAdmin("root@example.co.jp", "管理者", "Root-Passw0rd!")
	admin := issuedBrowser(t, h, root, "pwd")
	expectRedirect(t, h.browser().login(alice.Email, alicePW, ""), "/")

	expectRedirect(t, settingChange(admin, store.SettingDeviceApproval, "true", false), "/admin/settings?saved=device_approval")
	waitsForApproval(t, h, h.browser(), alice.Email, alicePW)

	expectRedirect(t, settingChange(admin, store.SettingDeviceApproval, "false", false), "/admin/settings?saved=device_approval")
	expectRedirect(t, h.browser().login(alice.Email, alicePW, ""), "/")
}

// TestDeviceApprovalSignedInBrowser: a browser that carries a live
// session of the person already (an administrator re-authenticating for
// the console, or device approval switched on while signed in) is not a
// new browser: its sign-in goes through and it is approved as it is;
// another person's session in it does not count.
func TestDeviceApprovalSignedInBrowser(t *testing.T) {
	h := newHarness(t, withPolicy("  device_approval: true\n"))
	alice := h.addUser("alice@example.co.jp", "山田 太郎", alicePW, "staff")
	root := h.deviceAdmin("root@example.co.jp", "管理者", "Root-Passw0rd!")
	admin := issuedBrowser(t, h, root, "pwd")
	h.clock.Advance(20 * time.Minute)
	expectRedirect(t, admin.get("/admin/users"), "/login?reauth=1&return_to=%2Fadmin%2Fusers")
	expectStatus(t, admin.get("/login?reauth=1&return_to=%2Fadmin%2Fusers"), http.StatusOK)
	p := admin.post("/login", url.Values{"email": {root.Email}, "password": {"Root-Passw0rd!"}, "return_to": {"/admin/users"}})
	expectRedirect(t, p, "/admin/users")
	expectStatus(t, admin.get("/admin/users"), http.StatusOK)
	if admin.cookie(deviceCookieName) == nil || h.auditCount(root, "device_adopt") != 1 {
		t.Fatal("the signed-in browser was not approved as it is")
	}
	if len(h.approvalLinks()) != 0 {
		t.Fatal("a re-authentication mailed the administrators")
	}
	// Alice signing in where root's session is: a new browser for her.
	admin.get("/login?reauth=1")
	p = admin.post("/login", url.Values{"email": {alice.Email}, "password": {alicePW}})
	expectRedirect(t, p, "/login/device")
	if len(h.approvalLinks()[root.Email]) != 1 {
		t.Fatal("another person's sign-in in a signed-in browser did not ask for approval")
	}
}
