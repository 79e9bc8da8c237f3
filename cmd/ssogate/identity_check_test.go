package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ssogate/ssogate/account"
	"github.com/ssogate/ssogate/internal/testpeers"
	"github.com/ssogate/ssogate/notify"
	"github.com/ssogate/ssogate/store"
)

// setPhones registers u's phone and mobile numbers.
func (h *harness) setPhones(u *store.User, phone, mobile string) {
	h.t.Helper()
	u.Phone, u.Mobile = phone, mobile
	if err := h.app.store.UpdateUser(context.Background(), u); err != nil {
		h.t.Fatal(err)
	}
}

// checkDetails opens the identity check and posts its first step.
func checkDetails(b *browser, id, phone string) *page {
	if b.csrf == "" {
		b.get("/identity-check")
	}
	return b.post("/identity-check", url.Values{"login_id": {id}, "phone": {phone}})
}

// csrfField is the part of a page that differs between any two requests.
var csrfField = regexp.MustCompile(`name="csrf_token" value="[^"]*"`)

// auditDetails are the details of every audit event, joined.
func (h *harness) auditDetails() string {
	h.t.Helper()
	evs, err := h.app.store.ListAudit(context.Background(), store.AuditFilter{})
	if err != nil {
		h.t.Fatal(err)
	}
	var b strings.Builder
	for _, ev := range evs {
		fmt.Fprintf(&b, "%s %s %s %s\n", ev.Action, ev.Outcome, ev.Actor, ev.Detail)
	}
	return b.String()
}

// TestIdentityCheckThroughTwilio: the PIN identity check by SMS to the
// mobile (full-width digits, the id typed in lower case without hyphens)
// then a new password and a sign-in with it; by voice to the fixed phone,
// where max_tries wrong PINs end it; a PIN past pin_ttl by the moved
// clock; nothing logged of a PIN.
func TestIdentityCheckThroughTwilio(t *testing.T) {
	tw := testpeers.StartTwilio(t)
	h := newHarness(t, withTwilio(t, tw), withTrustedLoopback)
	alice := h.addUser("alice@example.co.jp", "Alice Example", alicePW, "staff")
	h.setPhones(alice, "03-1234-5678", "090-1234-5678")
	short := account.ShortID(alice.ID)

	// The login page and /password/forgot lead here.
	for _, path := range []string{"/login", "/password/forgot"} {
		if p := h.browser().get(path); !strings.Contains(p.body, `href="/identity-check" id="identity-check"`) {
			t.Fatalf("%s has no link to the identity check:\n%s", path, snippet(p.body))
		}
	}

	b := h.browser()
	b.xff = "198.51.100.1"
	p := b.get("/identity-check")
	expectStatus(t, p, http.StatusOK)
	if !strings.Contains(p.body, `name="login_id"`) || !strings.Contains(p.body, `name="phone"`) {
		t.Fatalf("no details form:\n%s", snippet(p.body))
	}
	// Bad shapes are refused for their shape.
	p = checkDetails(b, "not-an-id", "090-1234-5678")
	expectStatus(t, p, http.StatusBadRequest)
	if !strings.Contains(p.body, "ユーザーIDは英数字12文字") {
		t.Fatalf("bad id not explained:\n%s", snippet(p.body))
	}
	p = checkDetails(b, short, "12")
	expectStatus(t, p, http.StatusBadRequest)
	if !strings.Contains(p.body, "電話番号が正しくありません") {
		t.Fatalf("bad number not explained:\n%s", snippet(p.body))
	}
	// Without the CSRF token: refused.
	expectStatus(t, b.postRaw("/identity-check", url.Values{"login_id": {short}, "phone": {"090-1234-5678"}}, h.url), http.StatusForbidden)

	typedID := strings.ToLower(strings.ReplaceAll(short, "-", ""))
	expectRedirect(t, checkDetails(b, typedID, "０９０－１２３４－５６７８"), "/identity-check")
	p = b.get("/identity-check")
	for _, want := range []string{`id="channel-sms"`, `id="channel-voice"`, `id="channel-mail"`, "***-****-*678"} {
		if !strings.Contains(p.body, want) {
			t.Fatalf("channel page lacks %s:\n%s", want, snippet(p.body))
		}
	}
	if strings.Contains(p.body, "alice") {
		t.Fatal("the channel page shows the account's address")
	}
	expectRedirect(t, b.post("/identity-check", url.Values{"channel": {"sms"}}), "/identity-check")
	sms := tw.Next(t, 10*time.Second)
	if sms.Kind != "sms" || sms.To != "+819012345678" || len(sms.Code) != 6 || !strings.Contains(sms.Body, "本人確認PIN") {
		t.Fatalf("SMS %+v", sms)
	}
	p = b.get("/identity-check")
	if !strings.Contains(p.body, `id="pin-form"`) || !strings.Contains(p.body, "15分間") {
		t.Fatalf("PIN page:\n%s", snippet(p.body))
	}
	p = b.post("/identity-check", url.Values{"pin": {wrongCode(sms.Code)}})
	expectStatus(t, p, http.StatusBadRequest)
	if !strings.Contains(p.body, "PINが正しくありません") || !strings.Contains(p.body, "あと4回") {
		t.Fatalf("wrong PIN:\n%s", snippet(p.body))
	}
	expectRedirect(t, b.post("/identity-check", url.Values{"pin": {sms.Code}}), "/identity-check")
	p = b.get("/identity-check")
	if !strings.Contains(p.body, `id="password-form"`) || !strings.Contains(p.body, `id="email-form"`) || !strings.Contains(p.body, alice.Email) {
		t.Fatalf("reset page:\n%s", snippet(p.body))
	}
	p = b.post("/identity-check", url.Values{"action": {"password"}, "password": {"short"}, "password_confirm": {"short"}})
	expectStatus(t, p, http.StatusBadRequest)
	signedInElsewhere := h.browser()
	expectRedirect(t, signedInElsewhere.login(alice.Email, alicePW, ""), "/")
	// A locked account is unlocked by the reset, as by a reset link.
	locked, _ := h.app.store.GetUser(context.Background(), alice.ID)
	locked.Status = store.StatusLocked
	if err := h.app.store.UpdateUser(context.Background(), locked); err != nil {
		t.Fatal(err)
	}
	const newPW = "Kaizen-Sakura-2026!"
	expectRedirect(t, b.post("/identity-check", url.Values{"action": {"password"}, "password": {newPW}, "password_confirm": {newPW}}),
		"/identity-check?done=password")
	if p := b.get("/identity-check?done=password"); !strings.Contains(p.body, "パスワードを再設定しました") {
		t.Fatalf("done page:\n%s", snippet(p.body))
	}
	if signedIn(signedInElsewhere) {
		t.Fatal("a session survived the reset")
	}
	expectStatus(t, h.browser().login(alice.Email, alicePW, ""), http.StatusUnauthorized)
	expectRedirect(t, h.browser().login(alice.Email, newPW, ""), "/")
	// The used check is gone.
	expectStatus(t, b.post("/identity-check", url.Values{"action": {"password"}, "password": {newPW + "x"}, "password_confirm": {newPW + "x"}}),
		http.StatusBadRequest)

	// By voice to the fixed phone: five wrong PINs end the check, and
	// the right one does nothing after.
	b2 := h.browser()
	b2.xff = "198.51.100.2"
	expectRedirect(t, checkDetails(b2, short, "03-1234-5678"), "/identity-check")
	// SMS to the fixed phone goes as a call; the PIN page sends again.
	expectRedirect(t, b2.post("/identity-check", url.Values{"channel": {"sms"}}), "/identity-check")
	first := tw.Next(t, 10*time.Second)
	if first.Kind != "voice" || first.To != "+81312345678" {
		t.Fatalf("SMS to the fixed phone: %+v", first)
	}
	if p := b2.get("/identity-check"); !strings.Contains(p.body, `id="pin-form"`) || !strings.Contains(p.body, `id="channel-form"`) {
		t.Fatalf("PIN page without a way to send again:\n%s", snippet(p.body))
	}
	expectRedirect(t, b2.post("/identity-check", url.Values{"channel": {"voice"}}), "/identity-check")
	call := tw.Next(t, 10*time.Second)
	if call.Kind != "voice" || call.To != "+81312345678" || len(call.Code) != 6 || call.CodeTimes != 2 {
		t.Fatalf("call %+v", call)
	}
	for range 4 {
		expectStatus(t, b2.post("/identity-check", url.Values{"pin": {wrongCode(call.Code)}}), http.StatusBadRequest)
	}
	p = b2.post("/identity-check", url.Values{"pin": {wrongCode(call.Code)}})
	if !strings.Contains(p.body, "PINを続けて間違えたため") || !strings.Contains(p.body, `name="login_id"`) {
		t.Fatalf("fifth wrong PIN:\n%s", snippet(p.body))
	}
	p = b2.post("/identity-check", url.Values{"pin": {call.Code}})
	if !strings.Contains(p.body, "最初からやり直してください") || strings.Contains(p.body, `id="password-form"`) {
		t.Fatalf("the right PIN after the check ended:\n%s", snippet(p.body))
	}

	// A PIN past pin_ttl (15m) ends the check.
	b3 := h.browser()
	b3.xff = "198.51.100.3"
	expectRedirect(t, checkDetails(b3, short, "090-1234-5678"), "/identity-check")
	expectRedirect(t, b3.post("/identity-check", url.Values{"channel": {"voice"}}), "/identity-check")
	late := tw.Next(t, 10*time.Second)
	h.clock.Advance(15*time.Minute + time.Second)
	p = b3.post("/identity-check", url.Values{"pin": {late.Code}})
	if !strings.Contains(p.body, "PINの有効期限が切れた") || strings.Contains(p.body, `id="password-form"`) {
		t.Fatalf("expired PIN:\n%s", snippet(p.body))
	}

	// Every step is audited; no PIN is.
	audit := h.auditDetails()
	for _, want := range []string{"identity_check_start success", "identity_check_pin_sent success", "identity_check_pin failure",
		"identity_check_pin success", "password_reset success alice@example.co.jp identity_check unlocked", "too_many_tries", "pin_expired"} {
		if !strings.Contains(audit, want) {
			t.Errorf("audit lacks %q:\n%s", want, audit)
		}
	}
	for _, pin := range []string{sms.Code, call.Code, late.Code} {
		if strings.Contains(audit, pin) || strings.Contains(h.logs.String(), pin) {
			t.Errorf("PIN %s in the audit or the log", pin)
		}
	}
}

// TestIdentityCheckByMail: the PIN by mail (the SMTP peer), then a new
// login email confirmed by the link mailed to it, then a sign-in with it.
func TestIdentityCheckByMail(t *testing.T) {
	smtp := testpeers.StartSMTP(t, testpeers.SMTPOptions{NoStartTLS: true})
	h := newHarness(t, withMail(smtp))
	alice := h.addUser("alice@example.co.jp", "Alice Example", alicePW, "staff")
	h.setPhones(alice, "", "090-1234-5678")

	b := h.browser()
	expectRedirect(t, checkDetails(b, account.ShortID(alice.ID), "09012345678"), "/identity-check")
	p := b.get("/identity-check")
	if !strings.Contains(p.body, `id="channel-mail"`) || strings.Contains(p.body, `id="channel-sms"`) {
		t.Fatalf("without notify.sms only mail is offered:\n%s", snippet(p.body))
	}
	expectRedirect(t, b.post("/identity-check", url.Values{"channel": {"mail"}}), "/identity-check")
	mails := smtp.WaitMails(t, 1, 30*time.Second)
	m := testpeers.ParseMail(t, mails[0].Raw)
	pin := regexp.MustCompile(`PIN: ([0-9]{6})`).FindStringSubmatch(m.Text)
	if pin == nil || !strings.Contains(m.Subject, "本人確認のPIN") || !strings.Contains(m.To, "alice@example.co.jp") {
		t.Fatalf("PIN mail %q to %s:\n%s", m.Subject, m.To, m.Text)
	}
	p = b.get("/identity-check")
	if !strings.Contains(p.body, "登録済みのメールアドレス宛てにPINを送信しました") {
		t.Fatalf("PIN page:\n%s", snippet(p.body))
	}
	expectRedirect(t, b.post("/identity-check", url.Values{"pin": {pin[1]}}), "/identity-check")
	p = b.post("/identity-check", url.Values{"action": {"email"}, "email": {"alice.new@example.co.jp"}, "email_confirm": {"alice.neu@example.co.jp"}})
	expectStatus(t, p, http.StatusBadRequest)
	if !strings.Contains(p.body, "一致しません") {
		t.Fatalf("mismatch not explained:\n%s", snippet(p.body))
	}
	expectRedirect(t, b.post("/identity-check", url.Values{"action": {"email"}, "email": {"alice.new@example.co.jp"},
		"email_confirm": {"alice.new@example.co.jp"}}), "/identity-check?done=email")
	if got, _ := h.app.store.GetUser(context.Background(), alice.ID); got.Email != "alice@example.co.jp" {
		t.Fatal("the address changed before the link was used")
	}
	// The confirmation (to the new address) and the notice (to the old).
	all := smtp.WaitMails(t, 3, 30*time.Second)
	link := ""
	for _, r := range all[1:] {
		m := testpeers.ParseMail(t, r.Raw)
		if strings.Contains(m.To, "alice.new@example.co.jp") {
			link = regexp.MustCompile(regexp.QuoteMeta(h.url) + `/[^\s"<>]*`).FindString(m.Text)
		}
	}
	if link == "" {
		t.Fatal("no confirmation link mailed to the new address")
	}
	c := h.browser()
	expectStatus(t, c.get(h.linkPath(link)), http.StatusOK)
	p = c.post(h.linkPath(link), url.Values{})
	if !strings.Contains(p.body, `id="email-changed"`) {
		t.Fatalf("confirmation:\n%s", snippet(p.body))
	}
	expectRedirect(t, h.browser().login("alice.new@example.co.jp", alicePW, ""), "/")
	expectStatus(t, h.browser().login("alice@example.co.jp", alicePW, ""), http.StatusUnauthorized)
	if audit := h.auditDetails(); !strings.Contains(audit, "email_change_request success alice@example.co.jp identity_check new_email=alice.new@example.co.jp") {
		t.Errorf("audit:\n%s", audit)
	}
}

// TestIdentityCheckNoEnumeration: an unknown id, a known id with another
// account's number, and a match get the same answers (status, redirect,
// pages but for the CSRF token) up to the PIN step, in the same time;
// only the match sends a PIN. Then the limits: a sixth check of one id in
// an hour, and a 21st check from one address, get 429.
func TestIdentityCheckNoEnumeration(t *testing.T) {
	tw := testpeers.StartTwilio(t)
	h := newHarness(t, withTwilio(t, tw), withTrustedLoopback)
	alice := h.addUser("alice@example.co.jp", "Alice Example", alicePW, "staff")
	h.setPhones(alice, "", "090-1234-5678")
	bob := h.addUser("bob@example.co.jp", "Bob Example", alicePW, "staff")
	h.setPhones(bob, "03-9999-0000", "090-9999-0000")
	unknown := "0000-0000-0000"
	if strings.HasPrefix(alice.ID, "000000000000") || strings.HasPrefix(bob.ID, "000000000000") {
		unknown = "FFFF-FFFF-FFFF"
	}
	cases := []struct{ name, id string }{
		{"match", account.ShortID(alice.ID)},
		{"unknown id", unknown},
		{"wrong phone", account.ShortID(bob.ID)},
	}
	const rounds = 8
	times := make([][]time.Duration, len(cases))
	addr := 0
	for round := range rounds {
		var pages [3][]string
		for k, c := range cases {
			b := h.browser()
			addr++
			b.xff = fmt.Sprintf("198.51.100.%d", addr)
			start := time.Now()
			p := checkDetails(b, c.id, "090-1234-5678")
			times[k] = append(times[k], time.Since(start))
			expectRedirect(t, p, "/identity-check")
			pages[k] = append(pages[k], csrfField.ReplaceAllString(b.get("/identity-check").body, ""))
			start = time.Now()
			p = b.post("/identity-check", url.Values{"channel": {"sms"}})
			times[k][len(times[k])-1] += time.Since(start)
			expectRedirect(t, p, "/identity-check")
			pages[k] = append(pages[k], csrfField.ReplaceAllString(b.get("/identity-check").body, ""))
			p = b.post("/identity-check", url.Values{"pin": {"000000"}})
			expectStatus(t, p, http.StatusBadRequest)
			pages[k] = append(pages[k], csrfField.ReplaceAllString(p.body, ""))
		}
		if round == 0 {
			for k := 1; k < len(cases); k++ {
				for i := range pages[0] {
					if pages[k][i] != pages[0][i] {
						t.Fatalf("step %d: %s and %s differ:\n%s\n---\n%s", i, cases[0].name, cases[k].name,
							snippet(pages[0][i]), snippet(pages[k][i]))
					}
				}
			}
		}
		// A new hour: the per-id limit does not count the rounds.
		h.clock.Advance(61 * time.Minute)
	}
	for k := range cases {
		t.Logf("median answer (details + channel), %s: %v", cases[k].name, median(times[k]))
	}
	m0 := median(times[0])
	for k := 1; k < len(cases); k++ {
		if mk := median(times[k]); (mk - m0).Abs() > max(mk, m0)/10 {
			t.Errorf("median answer for a match %v, for %s %v", m0, cases[k].name, mk)
		}
	}
	// Only the matches queued a PIN, and it went to alice's mobile.
	ms, err := h.app.store.(store.Outbox).ListMessages(context.Background(),
		store.MessageFilter{Template: notify.TemplateIdentityPIN, Limit: 1000})
	if err != nil || len(ms) != rounds {
		t.Fatalf("%d PINs queued (%v), want %d (the matches only)", len(ms), err, rounds)
	}
	for range rounds {
		if m := tw.Next(t, 10*time.Second); m.To != "+819012345678" {
			t.Fatalf("a PIN went to %s", m.To)
		}
	}

	// Limits: five checks of one id an hour, whoever asks.
	for i := range 5 {
		b := h.browser()
		b.xff = fmt.Sprintf("203.0.113.%d", i+1)
		expectRedirect(t, checkDetails(b, unknown, "090-1234-5678"), "/identity-check")
	}
	b := h.browser()
	b.xff = "203.0.113.99"
	p := checkDetails(b, unknown, "090-1234-5678")
	expectStatus(t, p, http.StatusTooManyRequests)
	if !strings.Contains(p.body, "しばらくしてから") {
		t.Fatalf("429 page:\n%s", snippet(p.body))
	}
	// Twenty checks from one address an hour, whatever the ids.
	b = h.browser()
	b.xff = "192.0.2.7"
	for i := range 20 {
		expectRedirect(t, checkDetails(b, fmt.Sprintf("1234-5678-%04X", i), "090-1234-5678"), "/identity-check")
	}
	expectStatus(t, checkDetails(b, "1234-5678-ABCD", "090-1234-5678"), http.StatusTooManyRequests)
	if audit := h.auditDetails(); !strings.Contains(audit, "identity_check_start failure") || !strings.Contains(audit, "rate_limited") ||
		!strings.Contains(audit, "unknown_id") || !strings.Contains(audit, "phone_mismatch") {
		t.Errorf("audit:\n%s", audit)
	}
}
