package notify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ssogate/ssogate/internal/testclock"
	"github.com/ssogate/ssogate/internal/testpeers"
	"github.com/ssogate/ssogate/store"
	"github.com/ssogate/ssogate/store/sqlite"
)

// enqueueCode writes the code's message on ch, as the sign-in's second
// step does, created at `at`.
func enqueueCode(t *testing.T, st store.Outbox, c *Composer, ch store.Channel, lang, code string, at time.Time) *store.Message {
	t.Helper()
	m, err := c.Message(ch, testNumber, lang, TemplateSecondFactorCode, "user-1",
		Data{Code: code, Expires: CodeValidity(5*time.Minute, lang)})
	if err != nil {
		t.Fatal(err)
	}
	m.CreatedAt = at
	if err := st.EnqueueMessage(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	return m
}

// allAudit is every audit event's text, for looking for a code in it.
func allAudit(t *testing.T, st *sqlite.Store) string {
	t.Helper()
	es, err := st.ListAudit(context.Background(), store.AuditFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range es {
		fmt.Fprintf(&b, "%+v\n", *e)
	}
	return b.String()
}

// outboxText is every outbox row's error text.
func outboxText(t *testing.T, st store.Outbox) string {
	t.Helper()
	ms, err := st.ListMessages(context.Background(), store.MessageFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, m := range ms {
		b.WriteString(m.LastError + "\n")
	}
	return b.String()
}

// TestPhoneThroughOutbox: a code's SMS (ja) and call (en), written to the
// outbox of a real SQLite store as the second step writes them, reach the
// Twilio-shaped server with the code; each is marked sent with an
// sms_sent / voice_sent audit event naming the number; the code is in no
// audit event and no log line.
func TestPhoneThroughOutbox(t *testing.T) {
	tw := testpeers.StartTwilio(t)
	st := openStore(t, filepath.Join(t.TempDir(), "s.db"))
	comp := testComposer(t)
	var logs syncBuffer
	w := NewWorker(WorkerOptions{Store: st, Composer: comp, Log: slogTo(&logs), Setup: Setup{
		Senders:            []Sender{phoneSender(t, store.ChannelSMS, twilioConfig(tw)), phoneSender(t, store.ChannelVoice, twilioConfig(tw))},
		Renderer:           NewRenderer(testTitle, "ja"),
		ChannelGiveUpAfter: map[store.Channel]time.Duration{store.ChannelSMS: 5 * time.Minute, store.ChannelVoice: 5 * time.Minute},
	}})
	sms := enqueueCode(t, st, comp, store.ChannelSMS, "ja", "602214", time.Time{})
	call := enqueueCode(t, st, comp, store.ChannelVoice, "en", "917253", time.Time{})
	if n, err := w.RunOnce(context.Background()); n != 2 || err != nil {
		t.Fatalf("claimed %d: %v", n, err)
	}
	got := map[string]testpeers.TwilioMessage{}
	for range 2 {
		m := tw.Next(t, 5*time.Second)
		got[m.Kind] = m
	}
	if m := got["sms"]; m.To != testNumber || m.Code != "602214" || !strings.HasPrefix(m.Body, "【サンプル社 ポータル】確認コード: 602214（5分間有効）") {
		t.Errorf("SMS %+v", m)
	}
	if m := got["voice"]; m.To != testNumber || m.Code != "917253" || m.CodeTimes != 2 || m.Language != "en-US" {
		t.Errorf("call %+v", m)
	}
	for _, id := range []string{sms.ID, call.ID} {
		if m := message(t, st, id); m.SentAt.IsZero() || m.Attempts != 0 || m.LastError != "" {
			t.Errorf("outbox row %+v", m)
		}
	}
	for _, action := range []string{AuditSMSSent, AuditVoiceSent} {
		if ev := auditActions(t, st, action); len(ev) != 1 || ev[0].Actor != testNumber || ev[0].UserID != "user-1" ||
			ev[0].Detail != TemplateSecondFactorCode {
			t.Errorf("%s events %+v", action, ev)
		}
	}
	if ev := auditActions(t, st, AuditMailSent); len(ev) != 0 {
		t.Errorf("mail_sent events for SMS and voice: %+v", ev)
	}
	for where, text := range map[string]string{"log": logs.String(), "audit": allAudit(t, st)} {
		for _, code := range []string{"602214", "917253"} {
			if strings.Contains(text, code) {
				t.Errorf("the %s holds the code %s:\n%s", where, code, text)
			}
		}
	}
	if !strings.Contains(logs.String(), "sms sent") || !strings.Contains(logs.String(), "voice sent") {
		t.Errorf("log:\n%s", logs.String())
	}
}

// TestPhoneGivenUpAtCodeExpiry: an SMS the API refuses with 500 is tried
// again (after 22.5s, 45s, 90s with the jitter at its middle), and given
// up unsent when its code expires (5 minutes after it was written), not
// three days later; a mail in the same outbox keeps its three days. An
// SMS claimed only after its code expired is given up unsent although
// the API is up again.
func TestPhoneGivenUpAtCodeExpiry(t *testing.T) {
	tw := testpeers.StartTwilio(t)
	tw.Fail(http.StatusInternalServerError, 4)
	st := openStore(t, filepath.Join(t.TempDir(), "s.db"))
	t0 := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	clk := testclock.New(t0)
	comp := testComposer(t)
	var logs syncBuffer
	w := NewWorker(WorkerOptions{Store: st, Composer: comp, Now: clk.Now, Jitter: func() float64 { return 0.5 }, Log: slogTo(&logs),
		Setup: Setup{
			// No mail server: the mail waits, and shows the three days still hold for it.
			Senders:            []Sender{phoneSender(t, store.ChannelSMS, twilioConfig(tw))},
			Renderer:           NewRenderer(testTitle, "ja"),
			ChannelGiveUpAfter: map[store.Channel]time.Duration{store.ChannelSMS: 5 * time.Minute},
		}})
	ctx := context.Background()
	sms := enqueueCode(t, st, comp, store.ChannelSMS, "ja", "880123", t0)
	mail := enqueue(t, st, comp, "taro@example.co.jp", "ja", t0)

	var tries []time.Duration
	for range 10 {
		if _, err := w.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		m := message(t, st, sms.ID)
		tries = append(tries, clk.Now().Sub(t0))
		if !m.GaveUpAt.IsZero() {
			break
		}
		clk.Set(m.NextAttemptAt)
	}
	want := []time.Duration{0, 22500 * time.Millisecond, 67500 * time.Millisecond, 157500 * time.Millisecond, 5 * time.Minute}
	if fmt.Sprint(tries) != fmt.Sprint(want) {
		t.Errorf("tried at %v, want %v", tries, want)
	}
	m := message(t, st, sms.ID)
	if !m.GaveUpAt.Equal(t0.Add(5*time.Minute)) || m.Attempts != 5 || !m.SentAt.IsZero() || !strings.Contains(m.LastError, "expired") {
		t.Errorf("SMS row %+v", m)
	}
	if ev := auditActions(t, st, AuditSMSGivenUp); len(ev) != 1 || ev[0].Actor != testNumber {
		t.Errorf("sms_given_up events %+v", ev)
	}
	if got := len(auditActions(t, st, AuditSMSFailed)); got != 5 {
		t.Errorf("%d sms_failed events, want 5", got)
	}
	if mm := message(t, st, mail.ID); !mm.GaveUpAt.IsZero() {
		t.Errorf("the mail was given up with the SMS: %+v", mm)
	}

	late := enqueueCode(t, st, comp, store.ChannelSMS, "en", "880124", clk.Now())
	clk.Advance(5*time.Minute + time.Second)
	if _, err := w.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if m := message(t, st, late.ID); m.GaveUpAt.IsZero() || !strings.Contains(m.LastError, "expired") {
		t.Errorf("SMS claimed after its code expired: %+v", m)
	}
	if n := len(tw.Messages()); n != 0 {
		t.Errorf("%d messages reached Twilio", n)
	}
	for where, text := range map[string]string{"log": logs.String(), "audit": allAudit(t, st), "outbox": outboxText(t, st)} {
		if strings.Contains(text, "880123") || strings.Contains(text, "880124") || strings.Contains(text, tw.Token) {
			t.Errorf("the %s holds a code or the token:\n%s", where, text)
		}
	}
}

// TestPhoneRefusalGivenUpAtOnce: Twilio refusing the credentials (401)
// gives the SMS up at its first try; a 500 leaves it due again.
func TestPhoneRefusalGivenUpAtOnce(t *testing.T) {
	tw := testpeers.StartTwilio(t)
	st := openStore(t, filepath.Join(t.TempDir(), "s.db"))
	clk := testclock.New(time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC))
	comp := testComposer(t)
	bad := twilioConfig(tw)
	bad.AuthToken = "not-the-token"
	setup := Setup{Senders: []Sender{phoneSender(t, store.ChannelSMS, bad)}, Renderer: NewRenderer(testTitle, "ja"),
		ChannelGiveUpAfter: map[store.Channel]time.Duration{store.ChannelSMS: 5 * time.Minute}}
	w := NewWorker(WorkerOptions{Store: st, Composer: comp, Now: clk.Now, Setup: setup})
	refused := enqueueCode(t, st, comp, store.ChannelSMS, "ja", "330011", clk.Now())
	if _, err := w.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if m := message(t, st, refused.ID); m.GaveUpAt.IsZero() || m.Attempts != 1 || !strings.Contains(m.LastError, "20003") {
		t.Errorf("refused SMS not given up at once: %+v", m)
	}

	setup.Senders = []Sender{phoneSender(t, store.ChannelSMS, twilioConfig(tw))}
	w.Update(setup)
	tw.Fail(http.StatusInternalServerError, 1)
	down := enqueueCode(t, st, comp, store.ChannelSMS, "ja", "330012", clk.Now())
	if _, err := w.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	m := message(t, st, down.ID)
	if !m.GaveUpAt.IsZero() || m.Attempts != 1 || !m.NextAttemptAt.After(clk.Now()) {
		t.Errorf("SMS after a 500: %+v", m)
	}
	clk.Set(m.NextAttemptAt)
	if _, err := w.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := tw.Next(t, 5*time.Second); got.Code != "330012" {
		t.Errorf("retried SMS %+v", got)
	}
}

// TestPhoneNoSender: an SMS when notify.sms is not set waits (and says
// which setting is missing), and is given up at its code's expiry.
func TestPhoneNoSender(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "s.db"))
	clk := testclock.New(time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC))
	comp := testComposer(t)
	w := NewWorker(WorkerOptions{Store: st, Composer: comp, Now: clk.Now, Setup: Setup{Renderer: NewRenderer(testTitle, "ja"),
		ChannelGiveUpAfter: map[store.Channel]time.Duration{store.ChannelSMS: 5 * time.Minute}}})
	m := enqueueCode(t, st, comp, store.ChannelSMS, "ja", "101010", clk.Now())
	if _, err := w.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := message(t, st, m.ID); !got.GaveUpAt.IsZero() || !strings.Contains(got.LastError, "notify.sms") {
		t.Errorf("row %+v", got)
	}
	clk.Advance(5 * time.Minute)
	if _, err := w.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := message(t, st, m.ID); got.GaveUpAt.IsZero() {
		t.Errorf("not given up at the code's expiry: %+v", got)
	}
}

// TestSafeReasonHidesCode: a code quoted in an error is replaced.
func TestSafeReasonHidesCode(t *testing.T) {
	got := safeReason(errors.New("rejected body: 確認コード: 424242。"), Data{Code: "424242"})
	if strings.Contains(got, "424242") || !strings.Contains(got, "[code]") {
		t.Errorf("safeReason = %q", got)
	}
}
