package main

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ssogate/ssogate/internal/testpeers"
	"github.com/ssogate/ssogate/store"
)

// withTwilio sends SMS and voice codes to the Twilio-shaped server tw.
func withTwilio(t *testing.T, tw *testpeers.Twilio) harnessOption {
	return withServices("notify:\n" + twilioYAML(t, "sms", tw) + twilioYAML(t, "voice", tw))
}

// sessionAMR is the amr of u's newest session.
func (h *harness) sessionAMR(u *store.User) string {
	h.t.Helper()
	ss, err := h.app.store.ListUserSessions(context.Background(), u.ID)
	if err != nil || len(ss) == 0 {
		h.t.Fatalf("sessions of %s: %v, %v", u.Email, ss, err)
	}
	return strings.Join(ss[0].AMR, ",")
}

var enrolmentRe = regexp.MustCompile(`name="enrolment" value="([^"]+)"`)

func TestTwoStepSMSAndVoiceThroughTwilio(t *testing.T) {
	tw := testpeers.StartTwilio(t)
	h := newHarness(t, withTwilio(t, tw), withTwoStep("    required: true\n    max_tries: 2\n"))
	alice := h.addUser("alice@example.co.jp", "Alice", alicePW, "staff")
	alice.Mobile = "090-1234-5678"
	if err := h.app.store.UpdateUser(context.Background(), alice); err != nil {
		t.Fatal(err)
	}

	// First sign-in: SMS is offered first, the mobile number prefilled,
	// with the note about the personal-info page.
	b := h.browser()
	expectRedirect(t, b.login("alice@example.co.jp", alicePW, "/me"), "/login/2fa/setup")
	p := b.get("/login/2fa/setup")
	if i, j := strings.Index(p.body, `id="method-sms"`), strings.Index(p.body, `id="method-totp"`); i < 0 || j < 0 || i > j {
		t.Fatalf("SMS not offered before the authenticator app:\n%s", snippet(p.body))
	}
	if !strings.Contains(p.body, `id="phone-sms" name="phone" value="090-1234-5678"`) || !strings.Contains(p.body, "個人情報ページに携帯電話番号を登録") {
		t.Fatalf("mobile not prefilled or no note:\n%s", p.body)
	}
	// A number that cannot receive a code is refused with a clear message.
	p = b.post("/login/2fa/setup", url.Values{"method": {"sms"}, "phone": {"12"}})
	expectStatus(t, p, http.StatusBadRequest)
	if !strings.Contains(p.body, "電話番号が正しくありません") {
		t.Fatalf("bad number: no message:\n%s", snippet(p.body))
	}
	expectRedirect(t, b.post("/login/2fa/setup", url.Values{"method": {"sms"}, "phone": {"090-1234-5678"}}), "/login/2fa/setup")
	if p := b.get("/login/2fa/setup"); !strings.Contains(p.body, "***-****-*678 にSMSで確認コードを送信しました") {
		t.Fatalf("masked number not shown:\n%s", snippet(p.body))
	}
	m := tw.Next(t, 10*time.Second)
	if m.Kind != "sms" || m.To != "+819012345678" || m.From != tw.From || len(m.Code) != 6 || !strings.Contains(m.Body, "確認コード") {
		t.Fatalf("SMS %+v", m)
	}
	expectRedirect(t, b.post("/login/2fa/setup", url.Values{"code": {m.Code}}), "/login/2fa/codes")
	b.get("/login/2fa/codes")
	expectStatus(t, b.post("/login/2fa/codes", url.Values{"saved": {"1"}}), http.StatusOK)
	if got := h.sessionAMR(alice); got != "pwd,sms,mfa" {
		t.Fatalf("amr %s, want pwd,sms,mfa", got)
	}

	// Next sign-in: the code is sent when asked, to the masked number.
	b2 := h.browser()
	expectRedirect(t, b2.login("alice@example.co.jp", alicePW, "/me"), "/login/2fa")
	p = b2.get("/login/2fa")
	if !strings.Contains(p.body, `id="send-code"`) || !strings.Contains(p.body, "***-****-*678") || strings.Contains(p.body, `id="code-form"`) {
		t.Fatalf("SMS step page:\n%s", snippet(p.body))
	}
	// Nothing sent yet: a code typed now is refused.
	p = b2.post("/login/2fa", url.Values{"code": {"123456"}})
	if !strings.Contains(p.body, "まだ送信されていません") {
		t.Fatalf("code before sending:\n%s", snippet(p.body))
	}
	expectRedirect(t, b2.post("/login/2fa", url.Values{"send": {"1"}}), "/login/2fa?sent=1")
	first := tw.Next(t, 10*time.Second)
	// Resend throttled by resend_after (30s).
	expectStatus(t, b2.post("/login/2fa", url.Values{"send": {"1"}}), http.StatusTooManyRequests)
	// Two wrong codes void the sent one: even the right code is refused
	// then, until a new one is sent.
	expectStatus(t, b2.post("/login/2fa", url.Values{"code": {wrongCode(first.Code)}}), http.StatusBadRequest)
	p = b2.post("/login/2fa", url.Values{"code": {wrongCode(first.Code)}})
	if !strings.Contains(p.body, "このコードは無効になりました") {
		t.Fatalf("after max_tries:\n%s", snippet(p.body))
	}
	if p = b2.post("/login/2fa", url.Values{"code": {first.Code}}); h.hasSession(b2) {
		t.Fatal("a voided code passed")
	}
	h.clock.Advance(31 * time.Second)
	expectRedirect(t, b2.post("/login/2fa", url.Values{"send": {"1"}}), "/login/2fa?sent=1")
	second := tw.Next(t, 10*time.Second)
	// A code past code_ttl (5m) is refused.
	h.clock.Advance(5*time.Minute + time.Second)
	p = b2.post("/login/2fa", url.Values{"code": {second.Code}})
	if h.hasSession(b2) || !strings.Contains(p.body, "有効期限が切れたか") {
		t.Fatalf("expired code:\n%s", snippet(p.body))
	}
	h.clock.Advance(31 * time.Second)
	expectRedirect(t, b2.post("/login/2fa", url.Values{"send": {"1"}}), "/login/2fa?sent=1")
	third := tw.Next(t, 10*time.Second)
	expectRedirect(t, b2.post("/login/2fa", url.Values{"code": {third.Code}}), "/me")

	// A voice number added on /account/2fa: the call reads the code.
	p = b2.get("/account/2fa")
	if !strings.Contains(p.body, `id="add-voice"`) {
		t.Fatalf("no voice on /account/2fa:\n%s", snippet(p.body))
	}
	p = b2.post("/account/2fa", url.Values{"add": {"voice"}, "phone": {"03-1234-5678"}})
	expectStatus(t, p, http.StatusOK)
	em := enrolmentRe.FindStringSubmatch(p.body)
	if em == nil {
		t.Fatalf("no enrolment form:\n%s", snippet(p.body))
	}
	call := tw.Next(t, 10*time.Second)
	if call.Kind != "voice" || call.To != "+81312345678" || call.Language != "ja-JP" || len(call.Code) != 6 {
		t.Fatalf("call %+v", call)
	}
	expectRedirect(t, b2.post("/account/2fa", url.Values{"enrolment": {em[1]}, "code": {call.Code}, "name": {"会社の電話"}}), "/account/2fa?done=added")
	p = b2.get("/account/2fa")
	if !strings.Contains(p.body, "会社の電話") || !strings.Contains(p.body, "***-****-*678") {
		t.Fatalf("voice factor not listed:\n%s", snippet(p.body))
	}

	// Signing in by voice: choose it, have it call, enter the code.
	b3 := h.browser()
	expectRedirect(t, b3.login("alice@example.co.jp", alicePW, "/me"), "/login/2fa")
	fs, _ := h.app.store.ListFactors(context.Background(), alice.ID)
	var voiceID string
	for _, f := range fs {
		if f.Kind == store.FactorVoice {
			voiceID = f.ID
		}
	}
	expectRedirect(t, b3.post("/login/2fa", url.Values{"factor": {voiceID}}), "/login/2fa")
	h.clock.Advance(31 * time.Second)
	expectRedirect(t, b3.post("/login/2fa", url.Values{"send": {"1"}}), "/login/2fa?sent=1")
	call = tw.Next(t, 10*time.Second)
	expectRedirect(t, b3.post("/login/2fa", url.Values{"code": {call.Code}}), "/me")
	if got := h.sessionAMR(alice); got != "pwd,tel,mfa" {
		t.Fatalf("amr %s, want pwd,tel,mfa", got)
	}
	for _, l := range strings.Split(h.logs.String(), "\n") {
		for _, c := range []string{m.Code, first.Code, third.Code, call.Code} {
			if strings.Contains(l, c) {
				t.Fatalf("a code is in the log: %s", l)
			}
		}
	}
}

// wrongCode is a 6-digit code other than c.
func wrongCode(c string) string {
	if c == "000000" {
		return "111111"
	}
	return "000000"
}
