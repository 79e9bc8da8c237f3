package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/ssogate/ssogate/notify"
	"github.com/ssogate/ssogate/store"
)

// withTrustedLoopback believes X-Forwarded-For from the test's own
// address, so each request can come from a client address of its own.
func withTrustedLoopback(yaml string) string {
	return strings.Replace(yaml, "  public_url: ", "  trusted_proxies: [127.0.0.1/32]\n  public_url: ", 1)
}

// outbox returns the queued messages of template, oldest first, opened.
func (h *harness) outbox(template string) ([]*store.Message, []notify.Data) {
	h.t.Helper()
	ob, ok := h.app.store.(store.Outbox)
	if !ok {
		h.t.Fatal("the store keeps no outbox")
	}
	ms, err := ob.ListMessages(context.Background(), store.MessageFilter{Template: template, Limit: 1000})
	if err != nil {
		h.t.Fatal(err)
	}
	comp := h.app.gateway.Shared().Composer()
	var out []*store.Message
	var data []notify.Data
	for i := len(ms) - 1; i >= 0; i-- {
		d, err := comp.Open(ms[i])
		if err != nil {
			h.t.Fatal(err)
		}
		out, data = append(out, ms[i]), append(data, d)
	}
	return out, data
}

// linkPath returns the path and query of a mailed link on the gateway.
func (h *harness) linkPath(link string) string {
	h.t.Helper()
	if !strings.HasPrefix(link, h.url+"/") {
		h.t.Fatalf("link %q is not on %s", link, h.url)
	}
	return strings.TrimPrefix(link, h.url)
}

// signedIn reports whether b's session reaches the launcher.
func signedIn(b *browser) bool {
	return b.get("/").StatusCode == http.StatusOK
}

var dynamicParts = regexp.MustCompile(`name="csrf_token" value="[^"]*"|[0-9a-f]{16}`)

func TestForgotPasswordSameAnswer(t *testing.T) {
	h := newHarness(t, withTrustedLoopback)
	const n = 30
	for i := range n {
		h.addUser(fmt.Sprintf("known%d@example.co.jp", i), "Known", alicePW)
	}
	b := h.browser()
	expectStatus(t, b.get("/password/forgot"), http.StatusOK)

	var known, unknown []time.Duration
	var bodies [2]string
	for i := range n {
		for k, email := range []string{fmt.Sprintf("known%d@example.co.jp", i), fmt.Sprintf("unknown%d@example.co.jp", i)} {
			b.xff = fmt.Sprintf("198.51.100.%d", 2*i+k+1) // under the per-client limit
			start := time.Now()
			p := b.post("/password/forgot", url.Values{"email": {email}})
			d := time.Since(start)
			expectRedirect(t, p, "/password/forgot?sent=1")
			if k == 0 {
				known = append(known, d)
			} else {
				unknown = append(unknown, d)
			}
			if i == 0 {
				page := b.get("/password/forgot?sent=1")
				expectStatus(t, page, http.StatusOK)
				bodies[k] = dynamicParts.ReplaceAllString(page.body, "")
			}
		}
	}
	if bodies[0] != bodies[1] || !strings.Contains(bodies[0], `id="forgot-sent"`) {
		t.Fatalf("the pages after a known and an unknown address differ:\n%s\n---\n%s", snippet(bodies[0]), snippet(bodies[1]))
	}
	mk, mu := median(known), median(unknown)
	t.Logf("median answer: known %v, unknown %v", mk, mu)
	// Without the answer's floor the medians differ by half (0.98 ms and
	// 0.64 ms); with it, by noise.
	if diff := (mk - mu).Abs(); diff > max(mk, mu)/10 {
		t.Errorf("median answer for a known address %v, for an unknown one %v: they differ by %v", mk, mu, diff)
	}
	ms, _ := h.outbox(notify.TemplatePasswordReset)
	if len(ms) != n {
		t.Fatalf("%d reset mails, want %d (one per known address)", len(ms), n)
	}
	for _, m := range ms {
		if !strings.HasPrefix(m.To, "known") {
			t.Fatalf("a mail went to %s", m.To)
		}
	}

	// Over the per-address limit the answer stays the same, and nothing
	// more is queued.
	for i := range 6 {
		b.xff = fmt.Sprintf("203.0.113.%d", i+1)
		expectRedirect(t, b.post("/password/forgot", url.Values{"email": {"known0@example.co.jp"}}), "/password/forgot?sent=1")
	}
	ms, _ = h.outbox(notify.TemplatePasswordReset)
	if len(ms) != n+4 {
		t.Fatalf("%d reset mails after asking 7 times for one address, want %d (5 an hour)", len(ms), n+4)
	}

	// A malformed address is refused for its shape, and nothing is queued.
	p := b.post("/password/forgot", url.Values{"email": {"not an address"}})
	expectStatus(t, p, http.StatusBadRequest)
	if !strings.Contains(p.body, "メールアドレスの形式で入力してください") {
		t.Fatalf("no shape error:\n%s", snippet(p.body))
	}
	// Without the CSRF token: refused.
	expectStatus(t, b.postRaw("/password/forgot", url.Values{"email": {"known0@example.co.jp"}}, h.url), http.StatusForbidden)
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func TestPasswordResetEndToEnd(t *testing.T) {
	h := newHarness(t)
	alice := h.addUser("alice@example.co.jp", "Alice Example", alicePW, "staff")
	other1, other2 := h.browser(), h.browser()
	expectRedirect(t, other1.login("alice@example.co.jp", alicePW, ""), "/")
	expectRedirect(t, other2.login("alice@example.co.jp", alicePW, ""), "/")

	b := h.browser()
	p := b.get("/login")
	if !strings.Contains(p.body, `href="/password/forgot"`) || !strings.Contains(p.body, "パスワード変更、その他の設定はこちら") {
		t.Fatalf("login page lacks the forgot and settings links:\n%s", snippet(p.body))
	}
	b.get("/password/forgot")
	expectRedirect(t, b.post("/password/forgot", url.Values{"email": {"Alice@Example.co.jp"}}), "/password/forgot?sent=1")
	_, data := h.outbox(notify.TemplatePasswordReset)
	if len(data) != 1 {
		t.Fatalf("%d reset mails", len(data))
	}
	link := h.linkPath(data[0].Link)
	ticket, _ := url.QueryUnescape(strings.TrimPrefix(link, "/password/reset?ticket="))

	p = b.get(link)
	expectStatus(t, p, http.StatusOK)
	if !strings.Contains(p.body, `id="password-rule"`) || !strings.Contains(p.body, "8文字以上") {
		t.Fatalf("reset page shows no rule:\n%s", snippet(p.body))
	}
	// A weak password is refused with the reason; the link still works.
	p = b.post(link, url.Values{"password": {"Password1"}, "password_confirm": {"Password1"}})
	expectStatus(t, p, http.StatusBadRequest)
	if !strings.Contains(p.body, "よく使われているパスワード") {
		t.Fatalf("no reason shown:\n%s", snippet(p.body))
	}
	p = b.post(link, url.Values{"password": {"Neue-Passw0rt!9"}, "password_confirm": {"Neue-Passw0rt!8"}})
	expectStatus(t, p, http.StatusBadRequest)
	if !strings.Contains(p.body, "一致しません") {
		t.Fatalf("no mismatch shown:\n%s", snippet(p.body))
	}
	const newPW = "Neue-Passw0rt!9"
	expectRedirect(t, b.post(link, url.Values{"password": {newPW}, "password_confirm": {newPW}}), "/login?password_reset=1")
	if p := b.get("/login?password_reset=1"); !strings.Contains(p.body, "新しいパスワードでログインしてください") {
		t.Error("no notice after the reset")
	}

	// Every earlier session ended; the new password signs in, the old does not.
	if signedIn(other1) || signedIn(other2) {
		t.Fatal("a session survived the reset")
	}
	expectStatus(t, h.browser().login("alice@example.co.jp", alicePW, ""), http.StatusUnauthorized)
	expectRedirect(t, h.browser().login("alice@example.co.jp", newPW, ""), "/")
	// One use.
	p = b.get(link)
	expectStatus(t, p, http.StatusOK) // the link's form shows until sent (scanners only GET)
	p = b.post(link, url.Values{"password": {"Another-Passw0rd!"}, "password_confirm": {"Another-Passw0rd!"}})
	expectStatus(t, p, http.StatusGone)
	if !strings.Contains(p.body, "すでに使われた") {
		t.Fatalf("used link not explained:\n%s", snippet(p.body))
	}
	// The 14-day lifetime, by the clock.
	b.get("/password/forgot")
	b.post("/password/forgot", url.Values{"email": {"alice@example.co.jp"}})
	_, data = h.outbox(notify.TemplatePasswordReset)
	late := h.linkPath(data[len(data)-1].Link)
	h.clock.Advance(14*24*time.Hour + time.Second)
	p = b.get(late)
	expectStatus(t, p, http.StatusGone)
	if !strings.Contains(p.body, "有効期限が切れています") {
		t.Fatalf("expired link not explained:\n%s", snippet(p.body))
	}
	if ms, _ := h.outbox(notify.TemplatePasswordChanged); len(ms) != 1 || ms[0].To != alice.Email {
		t.Fatalf("password-changed mails = %+v", ms)
	}
	evs, _ := h.app.store.ListAudit(context.Background(), store.AuditFilter{UserID: alice.ID, Limit: 100})
	actions := map[string]bool{}
	for _, ev := range evs {
		actions[ev.Action+"/"+string(ev.Outcome)] = true
	}
	for _, want := range []string{"password_reset_request/success", "password_reset/success", "password_reset/failure"} {
		if !actions[want] {
			t.Errorf("no audit event %s (have %v)", want, actions)
		}
	}
	// No ticket, link or password in any log line.
	logs := h.logs.String()
	for _, secret := range []string{ticket, url.QueryEscape(ticket), data[0].Link, newPW} {
		if strings.Contains(logs, secret) {
			t.Fatalf("the log holds a secret %q", secret)
		}
	}
}

func TestPasswordChangeKeepsSessionUnderNewID(t *testing.T) {
	h := newHarness(t)
	h.addUser("alice@example.co.jp", "Alice Example", alicePW, "staff")
	b, other := h.browser(), h.browser()
	expectRedirect(t, b.login("alice@example.co.jp", alicePW, ""), "/")
	expectRedirect(t, other.login("alice@example.co.jp", alicePW, ""), "/")
	name := h.app.cfg.Session.CookieName
	before := b.cookie(name).Value

	p := b.get("/account")
	expectStatus(t, p, http.StatusOK)
	for _, want := range []string{`href="/account/password"`, `href="/account/email"`, `href="/me"`, `href="/logout"`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("account menu lacks %s", want)
		}
	}
	if !strings.Contains(b.get("/").body, `href="/account"`) {
		t.Error("the header menu does not link /account")
	}

	b.get("/account/password")
	p = b.post("/account/password", url.Values{"current_password": {"Wrong-Passw0rd!"}, "password": {"Neue-Passw0rt!9"},
		"password_confirm": {"Neue-Passw0rt!9"}})
	expectStatus(t, p, http.StatusBadRequest)
	if !strings.Contains(p.body, "現在のパスワードが正しくありません") {
		t.Fatalf("wrong current password not explained:\n%s", snippet(p.body))
	}
	p = b.post("/account/password", url.Values{"current_password": {alicePW}, "password": {"Neue-Passw0rt!9"},
		"password_confirm": {"Neue-Passw0rt!9"}})
	expectRedirect(t, p, "/account?changed=password")
	after := b.cookie(name).Value
	if after == before {
		t.Fatal("the session cookie did not change")
	}
	p = b.get("/account?changed=password")
	expectStatus(t, p, http.StatusOK)
	if !strings.Contains(p.body, "パスワードを変更しました") {
		t.Error("no notice after the change")
	}
	if signedIn(other) {
		t.Fatal("another session survived the change")
	}
	replay := h.browser()
	u, _ := url.Parse(h.url)
	replay.jar.SetCookies(u, []*http.Cookie{{Name: name, Value: before, Path: "/"}})
	if signedIn(replay) {
		t.Fatal("the session id from before the change still works")
	}
	expectRedirect(t, h.browser().login("alice@example.co.jp", "Neue-Passw0rt!9", ""), "/")
}

func TestMustChangePasswordGate(t *testing.T) {
	h := newHarness(t)
	cfg := []string{"--config", h.configPath}
	out, errOut, err := runCLI(t, "Initial-Passw0rd!\n", append(cfg, "user", "add", "--email", "new@example.co.jp",
		"--name", "New Hire", "--password-stdin", "--must-change-password")...)
	if err != nil {
		t.Fatalf("user add: %v %q %q", err, out, errOut)
	}
	if _, _, err := runCLI(t, "", append(cfg, "user", "add", "--email", "x@example.co.jp", "--name", "x", "--must-change-password")...); err == nil {
		t.Fatal("--must-change-password without a password was accepted")
	}
	b := h.browser()
	expectRedirect(t, b.login("new@example.co.jp", "Initial-Passw0rd!", "/me"), "/me")
	for _, path := range []string{"/", "/me", "/account", "/account/email", "/login"} {
		expectRedirect(t, b.get(path), "/account/password")
	}
	expectRedirect(t, b.post("/me", url.Values{"display_name": {"Changed"}}), "/account/password")
	// A service, through /auth and through the proxy, is held too.
	req, _ := http.NewRequest("GET", h.url+"/auth", nil)
	req.Header.Set("X-Forwarded-Host", "127.0.0.1:9001")
	req.Header.Set("X-Forwarded-Uri", "/")
	req.Header.Set("Accept", "text/html")
	p := b.do(req)
	if p.StatusCode != http.StatusFound || p.Header.Get("Location") != h.url+"/account/password" {
		t.Fatalf("/auth for a must-change session: %d %s", p.StatusCode, p.Header.Get("Location"))
	}
	req, _ = http.NewRequest("GET", h.url+"/auth", nil)
	req.Header.Set("X-Original-URL", "http://127.0.0.1:9001/")
	p = b.do(req)
	if p.StatusCode != http.StatusUnauthorized {
		t.Fatalf("/auth (nginx) for a must-change session: %d", p.StatusCode)
	}

	p = b.get("/account/password")
	expectStatus(t, p, http.StatusOK)
	if !strings.Contains(p.body, `id="must-change"`) {
		t.Fatal("no must-change explanation")
	}
	expectStatus(t, b.get("/logout"), http.StatusOK)
	p = b.post("/account/password", url.Values{"current_password": {"Initial-Passw0rd!"}, "password": {"Own-Passw0rd!42"},
		"password_confirm": {"Own-Passw0rd!42"}})
	expectRedirect(t, p, "/account?changed=password")
	expectStatus(t, b.get("/me"), http.StatusOK)
	req, _ = http.NewRequest("GET", h.url+"/auth", nil)
	req.Header.Set("X-Forwarded-Host", "127.0.0.1:9001")
	req.Header.Set("X-Forwarded-Uri", "/")
	if p := b.do(req); p.StatusCode != http.StatusOK {
		t.Fatalf("/auth after the change: %d", p.StatusCode)
	}
}

func TestEmailChangeEndToEnd(t *testing.T) {
	h := newHarness(t)
	alice := h.addUser("alice@example.co.jp", "Alice Example", alicePW, "staff")
	b, other := h.browser(), h.browser()
	expectRedirect(t, b.login("alice@example.co.jp", alicePW, ""), "/")
	expectRedirect(t, other.login("alice@example.co.jp", alicePW, ""), "/")

	p := b.get("/account/email")
	expectStatus(t, p, http.StatusOK)
	if !strings.Contains(p.body, `name="password"`) {
		t.Fatal("a password account is not asked for its password")
	}
	p = b.post("/account/email", url.Values{"email": {"alice.new@example.co.jp"}, "email_confirm": {"alice.neu@example.co.jp"},
		"password": {alicePW}})
	expectStatus(t, p, http.StatusBadRequest)
	if !strings.Contains(p.body, "一致しません") {
		t.Fatalf("mismatch not explained:\n%s", snippet(p.body))
	}
	expectRedirect(t, b.post("/account/email", url.Values{"email": {"alice.new@example.co.jp"},
		"email_confirm": {"alice.new@example.co.jp"}, "password": {alicePW}}), "/account/email?sent=1")
	ms, data := h.outbox(notify.TemplateEmailChangeConfirm)
	if len(ms) != 1 || ms[0].To != "alice.new@example.co.jp" {
		t.Fatalf("confirmation mails = %+v", ms)
	}
	if ms, _ := h.outbox(notify.TemplateEmailChangeNotice); len(ms) != 1 || ms[0].To != "alice@example.co.jp" {
		t.Fatalf("notice mails = %+v", ms)
	}
	link := h.linkPath(data[0].Link)
	p = b.get(link)
	expectStatus(t, p, http.StatusOK)
	if !strings.Contains(p.body, `id="confirm-submit"`) {
		t.Fatal("no confirm button")
	}
	if got, _ := h.app.store.GetUser(context.Background(), alice.ID); got.Email != "alice@example.co.jp" {
		t.Fatal("a GET of the link changed the address")
	}
	p = b.post(link, url.Values{})
	expectStatus(t, p, http.StatusOK)
	if !strings.Contains(p.body, "alice.new@example.co.jp") || !strings.Contains(p.body, `id="email-changed"`) {
		t.Fatalf("no confirmation shown:\n%s", snippet(p.body))
	}
	if !signedIn(b) {
		t.Fatal("the confirming session ended")
	}
	if signedIn(other) {
		t.Fatal("another session survived the email change")
	}
	if ms, _ := h.outbox(notify.TemplateEmailChanged); len(ms) != 1 || ms[0].To != "alice@example.co.jp" {
		t.Fatalf("changed mails = %+v", ms)
	}
	expectStatus(t, b.post(link, url.Values{}), http.StatusGone)
	expectRedirect(t, h.browser().login("alice.new@example.co.jp", alicePW, ""), "/")
	expectStatus(t, h.browser().login("alice@example.co.jp", alicePW, ""), http.StatusUnauthorized)
}

func TestAccountWithoutPassword(t *testing.T) {
	m := newMockOIDC(t)
	h := newHarness(t, oidcProvider(m, "    link_domains: [example.co.jp]\n"))
	ctx := context.Background()
	u := &store.User{Email: "fed@example.co.jp", DisplayName: "Fed", Role: store.RoleUser, Status: store.StatusActive}
	if err := h.app.store.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	b := h.browser()
	m.QueueUser(&mockoidc.MockUser{Subject: "sub-fed", Email: "fed@example.co.jp", EmailVerified: true})
	expectRedirect(t, b.federatedLogin("mock", "/account"), "/account")
	p := b.get("/account")
	expectStatus(t, p, http.StatusOK)
	if strings.Contains(p.body, `href="/account/password"`) || !strings.Contains(p.body, `href="/account/email"`) {
		t.Fatalf("menu of an account without a password:\n%s", snippet(p.body))
	}
	expectStatus(t, b.get("/account/password"), http.StatusNotFound)
	if p := b.get("/account/email"); strings.Contains(p.body, `name="password"`) {
		t.Fatal("an account without a password is asked for one")
	}

	// A forgotten password: the mail says how the person signs in.
	f := h.browser()
	f.get("/password/forgot")
	expectRedirect(t, f.post("/password/forgot", url.Values{"email": {"fed@example.co.jp"}}), "/password/forgot?sent=1")
	ms, data := h.outbox(notify.TemplatePasswordResetNoPassword)
	if len(ms) != 1 || ms[0].To != "fed@example.co.jp" || data[0].Provider != "社内IDでログイン" || data[0].Link != "" {
		t.Fatalf("no-password mails = %+v %+v", ms, data)
	}
	if ms, _ := h.outbox(notify.TemplatePasswordReset); len(ms) != 0 {
		t.Fatalf("an account without a password got a reset link")
	}
}

func TestMustChangePasswordHoldsProxiedService(t *testing.T) {
	h, up := newHandoffHarness(t, nil)
	u := h.addUser("new@example.co.jp", "New Hire", alicePW, "staff")
	u.MustChangePassword = true
	if err := h.app.store.UpdateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	b := h.browser()
	expectRedirect(t, b.login(u.Email, alicePW, ""), "/")
	p := b.getWith("/app/page", map[string][]string{"Accept": {"text/html"}})
	if p.StatusCode != http.StatusFound || p.Header.Get("Location") != h.url+"/account/password" {
		t.Fatalf("proxied page for a must-change session: %d %s", p.StatusCode, p.Header.Get("Location"))
	}
	expectStatus(t, b.get("/app/api"), http.StatusUnauthorized)
	if n := up.hits.Load(); n != 0 {
		t.Fatalf("the upstream was reached %d times", n)
	}
	b.get("/account/password")
	expectRedirect(t, b.post("/account/password", url.Values{"current_password": {alicePW}, "password": {"Own-Passw0rd!42"},
		"password_confirm": {"Own-Passw0rd!42"}}), "/account?changed=password")
	expectStatus(t, b.getWith("/app/page", map[string][]string{"Accept": {"text/html"}}), http.StatusOK)
}
