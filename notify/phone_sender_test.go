package notify

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ssogate/ssogate/config"
	"github.com/ssogate/ssogate/internal/testpeers"
	"github.com/ssogate/ssogate/store"
)

const testNumber = "+819012345678"

// twilioConfig is notify.sms / notify.voice pointing at tw.
func twilioConfig(tw *testpeers.Twilio) config.Phone {
	return config.Phone{Type: config.PhoneTwilio, URL: tw.URL, AccountSID: tw.SID, AuthToken: tw.Token, From: tw.From,
		CAFile: tw.CAFile, Timeout: config.Duration(5 * time.Second)}
}

// webhookConfig is notify.sms / notify.voice pointing at hook.
func webhookConfig(hook *testpeers.PhoneWebhook) config.Phone {
	return config.Phone{Type: config.PhoneWebhook, URL: hook.URL, Token: hook.Token, Timeout: config.Duration(5 * time.Second)}
}

func phoneSender(t *testing.T, ch store.Channel, p config.Phone) PhoneSender {
	t.Helper()
	s, err := NewPhone(ch, p)
	if err != nil {
		t.Fatal(err)
	}
	if s == nil || s.Channel() != ch {
		t.Fatalf("NewPhone(%s) = %v", ch, s)
	}
	return s
}

// phoneOutgoing renders the code's message on ch in lang for testNumber.
func phoneOutgoing(t *testing.T, ch store.Channel, lang, code string, title config.Text) *Outgoing {
	t.Helper()
	c, err := NewRenderer(title, "ja").Render(&store.Message{Channel: ch, Template: TemplateSecondFactorCode, Language: lang},
		Data{Code: code, Expires: CodeValidity(5*time.Minute, lang)})
	if err != nil {
		t.Fatal(err)
	}
	return &Outgoing{ID: "msg-1", To: testNumber, Content: c, Date: time.Now()}
}

// TestTwilioSMS sends the code's SMS through the Twilio-shaped server:
// Messages.json with the account in the path, basic auth, a form of To,
// From and Body; the body arrives as rendered, in one segment, and the
// report carries Twilio's sid and state.
func TestTwilioSMS(t *testing.T) {
	tw := testpeers.StartTwilio(t)
	s := phoneSender(t, store.ChannelSMS, twilioConfig(tw))
	for _, lang := range []string{"ja", "en"} {
		o := phoneOutgoing(t, store.ChannelSMS, lang, "482913", testTitle)
		rep, err := s.Deliver(context.Background(), o)
		if err != nil {
			t.Fatalf("%s: %v (refused: %q)", lang, err, tw.Rejected())
		}
		if rep.Status != http.StatusCreated || !strings.HasPrefix(rep.ID, "SM") || rep.State != "queued" ||
			rep.Endpoint != tw.URL+"/2010-04-01/Accounts/"+tw.SID+"/Messages.json" {
			t.Errorf("%s report %+v", lang, rep)
		}
		m := tw.Next(t, 5*time.Second)
		if m.Kind != "sms" || m.To != testNumber || m.From != tw.From || m.Body != o.Text || m.Code != "482913" ||
			m.Segments != 1 || m.SID != rep.ID {
			t.Errorf("%s: Twilio got %+v", lang, m)
		}
	}
}

// TestTwilioVoice places the code's call through the Twilio-shaped
// server: Calls.json with a Twiml document of <Say language="ja-JP"> (or
// en-US) read twice with a pause, the code read digit by digit in both;
// a title with XML's special characters arrives intact (escaped on the
// way, parsed strictly by the server).
func TestTwilioVoice(t *testing.T) {
	tw := testpeers.StartTwilio(t)
	s := phoneSender(t, store.ChannelVoice, twilioConfig(tw))
	title := config.Text{"ja": "サンプル社 <ポータル> & \"SSO\"", "en": "Sample & Co. <Portal>"}
	for _, tc := range []struct{ lang, sayLang, title string }{
		{"ja", "ja-JP", "サンプル社 <ポータル> & \"SSO\""},
		{"en", "en-US", "Sample & Co. <Portal>"},
	} {
		o := phoneOutgoing(t, store.ChannelVoice, tc.lang, "093571", title)
		rep, err := s.Deliver(context.Background(), o)
		if err != nil {
			t.Fatalf("%s: %v (refused: %q)", tc.lang, err, tw.Rejected())
		}
		if rep.Status != http.StatusCreated || !strings.HasPrefix(rep.ID, "CA") || rep.State != "queued" ||
			!strings.HasSuffix(rep.Endpoint, "/Accounts/"+tw.SID+"/Calls.json") {
			t.Errorf("%s report %+v", tc.lang, rep)
		}
		m := tw.Next(t, 5*time.Second)
		if m.Kind != "voice" || m.To != testNumber || m.From != tw.From || m.Language != tc.sayLang ||
			m.Code != "093571" || m.CodeTimes != 2 || len(m.Say) != 2 {
			t.Errorf("%s: Twilio got %+v", tc.lang, m)
		}
		if !strings.Contains(m.Say[0], tc.title) {
			t.Errorf("%s: the call does not name the portal %q: %q", tc.lang, tc.title, m.Say[0])
		}
		if !strings.Contains(m.Twiml, `<Pause length="1"/>`) || !strings.HasPrefix(m.Twiml, `<?xml version="1.0" encoding="UTF-8"?><Response><Say language="`+tc.sayLang+`">`) {
			t.Errorf("%s TwiML %s", tc.lang, m.Twiml)
		}
	}
}

// TestTwilioRefusals: a wrong auth token (401, Twilio error 20003) and a
// bad sending number (400, 21212) are permanent; 500 and 429 are worth
// another try; a recipient that is not E.164 is refused before any
// request. No error text holds the token or the code.
func TestTwilioRefusals(t *testing.T) {
	tw := testpeers.StartTwilio(t)
	ctx := context.Background()
	o := phoneOutgoing(t, store.ChannelSMS, "ja", "551234", testTitle)
	check := func(name string, err error, permanent bool, says string) {
		t.Helper()
		var perm *PermanentError
		switch {
		case err == nil:
			t.Errorf("%s: sent", name)
		case errors.As(err, &perm) != permanent:
			t.Errorf("%s: permanent %v, want %v: %v", name, !permanent, permanent, err)
		case !strings.Contains(err.Error(), says):
			t.Errorf("%s: %q does not say %q", name, err, says)
		case strings.Contains(err.Error(), "551234") || strings.Contains(err.Error(), tw.Token):
			t.Errorf("%s: %q holds the code or the token", name, err)
		}
	}
	bad := twilioConfig(tw)
	bad.AuthToken = "wrong-" + tw.Token[:8]
	check("wrong auth token", phoneSender(t, store.ChannelSMS, bad).Send(ctx, o), true, "HTTP 401, Twilio error 20003: Authenticate")

	badFrom := twilioConfig(tw)
	badFrom.From = "09012345678!"
	_, err := phoneSender(t, store.ChannelSMS, badFrom).Deliver(ctx, o)
	check("bad sending number", err, true, "HTTP 400, Twilio error 21212")

	s := phoneSender(t, store.ChannelSMS, twilioConfig(tw))
	tw.Fail(http.StatusInternalServerError, 1)
	check("Twilio down", s.Send(ctx, o), false, "HTTP 500")
	tw.Fail(http.StatusTooManyRequests, 1)
	check("too many requests", s.Send(ctx, o), false, "HTTP 429")

	local := *o
	local.To = "090-1234-5678"
	check("not E.164", s.Send(ctx, &local), true, "not an E.164 number")

	if n := len(tw.Messages()); n != 0 {
		t.Errorf("%d messages accepted, want none", n)
	}
	if err := s.Send(ctx, o); err != nil {
		t.Errorf("after the refusals: %v", err)
	}
}

// TestPhoneAnswerQuotingTheCode: an API whose error answer quotes the
// request (the code, the token) yields an error with both replaced.
func TestPhoneAnswerQuotingTheCode(t *testing.T) {
	const token = "tok-8f3b2a91c4"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		_, pass, _ := r.BasicAuth()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		msg := "Body " + form.Get("Body") + " refused for " + pass + " " + string(body) + r.Header.Get("Authorization")
		_ = json.NewEncoder(w).Encode(map[string]any{"code": 30007, "message": msg, "status": 400})
	}))
	defer srv.Close()
	o := phoneOutgoing(t, store.ChannelSMS, "en", "774411", testTitle)
	s := phoneSender(t, store.ChannelSMS, config.Phone{Type: config.PhoneTwilio, URL: srv.URL, AccountSID: "AC1",
		AuthToken: token, From: "+815012345678", Timeout: config.Duration(5 * time.Second)})
	err := s.Send(context.Background(), o)
	var perm *PermanentError
	if !errors.As(err, &perm) || !strings.Contains(err.Error(), "Twilio error 30007") || !strings.Contains(err.Error(), "[code]") {
		t.Fatalf("error %v", err)
	}
	if strings.Contains(err.Error(), "774411") || strings.Contains(err.Error(), token) {
		t.Errorf("the error holds the code or the token: %q", err)
	}

	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		http.Error(w, "bad request: "+string(body)+" "+r.Header.Get("Authorization"), http.StatusUnprocessableEntity)
	}))
	defer hook.Close()
	ws := phoneSender(t, store.ChannelSMS, config.Phone{Type: config.PhoneWebhook, URL: hook.URL, Token: token,
		Timeout: config.Duration(5 * time.Second)})
	err = ws.Send(context.Background(), o)
	if !errors.As(err, &perm) || !strings.Contains(err.Error(), "HTTP 422") {
		t.Fatalf("webhook error %v", err)
	}
	if strings.Contains(err.Error(), "774411") || strings.Contains(err.Error(), token) {
		t.Errorf("the webhook error holds the code or the token: %q", err)
	}
}

// TestTwilioTLS: over HTTPS with the server's CA as ca_file the call goes
// through; without it, the error says to set notify.voice.ca_file.
func TestTwilioTLS(t *testing.T) {
	tw := testpeers.StartTwilioTLS(t)
	o := phoneOutgoing(t, store.ChannelVoice, "ja", "246810", testTitle)
	if err := phoneSender(t, store.ChannelVoice, twilioConfig(tw)).Send(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if m := tw.Next(t, 5*time.Second); m.Code != "246810" {
		t.Errorf("got %+v", m)
	}
	noCA := twilioConfig(tw)
	noCA.CAFile = ""
	err := phoneSender(t, store.ChannelVoice, noCA).Send(context.Background(), o)
	var perm *PermanentError
	if err == nil || errors.As(err, &perm) || !strings.Contains(err.Error(), "set notify.voice.ca_file") {
		t.Errorf("untrusted certificate: %v", err)
	}
}

// TestPhoneTimeout: an API that does not answer within timeout is an
// error worth another try.
func TestPhoneTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	s := phoneSender(t, store.ChannelSMS, config.Phone{Type: config.PhoneWebhook, URL: srv.URL,
		Timeout: config.Duration(200 * time.Millisecond)})
	start := time.Now()
	err := s.Send(context.Background(), phoneOutgoing(t, store.ChannelSMS, "ja", "135790", testTitle))
	var perm *PermanentError
	if err == nil || errors.As(err, &perm) {
		t.Errorf("no answer: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("gave up after %s, want about 200ms", d)
	}
}

// TestPhoneWebhook sends the code's SMS and call to the webhook recorder:
// a JSON POST of channel, to, text, code and language with the bearer
// token and the message id as Idempotency-Key; a wrong token (401) and a
// 400 are permanent, 500 and 429 worth another try.
func TestPhoneWebhook(t *testing.T) {
	hook := testpeers.StartPhoneWebhook(t)
	ctx := context.Background()
	for _, tc := range []struct {
		ch   store.Channel
		lang string
	}{{store.ChannelSMS, "ja"}, {store.ChannelVoice, "en"}} {
		s := phoneSender(t, tc.ch, webhookConfig(hook))
		o := phoneOutgoing(t, tc.ch, tc.lang, "314159", testTitle)
		rep, err := s.Deliver(ctx, o)
		if err != nil {
			t.Fatalf("%s: %v (refused: %q)", tc.ch, err, hook.Rejected())
		}
		if rep.Status != http.StatusOK || rep.Endpoint != hook.URL {
			t.Errorf("%s report %+v", tc.ch, rep)
		}
		c := hook.Next(t, 5*time.Second)
		want := testpeers.WebhookCall{Channel: string(tc.ch), To: testNumber, Text: o.Text, Code: "314159",
			Language: tc.lang, IdempotencyKey: "msg-1"}
		if c != want {
			t.Errorf("%s: webhook got %+v, want %+v", tc.ch, c, want)
		}
	}

	o := phoneOutgoing(t, store.ChannelSMS, "ja", "314159", testTitle)
	var perm *PermanentError
	bad := webhookConfig(hook)
	bad.Token = "not-the-token"
	if err := phoneSender(t, store.ChannelSMS, bad).Send(ctx, o); !errors.As(err, &perm) || !strings.Contains(err.Error(), "HTTP 401") {
		t.Errorf("wrong token: %v", err)
	}
	s := phoneSender(t, store.ChannelSMS, webhookConfig(hook))
	for _, status := range []int{http.StatusInternalServerError, http.StatusTooManyRequests, http.StatusRequestTimeout, http.StatusBadGateway} {
		hook.Fail(status, 1)
		if err := s.Send(ctx, o); err == nil || errors.As(err, &perm) {
			t.Errorf("HTTP %d: %v, want an error worth another try", status, err)
		}
	}
	hook.Fail(http.StatusBadRequest, 1)
	if err := s.Send(ctx, o); !errors.As(err, &perm) {
		t.Errorf("HTTP 400: %v, want permanent", err)
	}
	if n := len(hook.Calls()); n != 2 {
		t.Errorf("%d calls accepted, want 2", n)
	}
}

// TestNewPhone: an empty type is a channel that is off; a non-phone
// channel, a bad URL, twilio without credentials and an unreadable CA
// file are refused.
func TestNewPhone(t *testing.T) {
	if s, err := NewPhone(store.ChannelSMS, config.Phone{}); s != nil || err != nil {
		t.Errorf("off: %v, %v", s, err)
	}
	for name, tc := range map[string]struct {
		ch store.Channel
		p  config.Phone
	}{
		"mail channel":       {store.ChannelMail, config.Phone{Type: config.PhoneWebhook, URL: "https://sms.example.co.jp/send"}},
		"no URL":             {store.ChannelSMS, config.Phone{Type: config.PhoneWebhook}},
		"credentials in URL": {store.ChannelSMS, config.Phone{Type: config.PhoneWebhook, URL: "https://u:p@sms.example.co.jp/"}},
		"twilio without sid": {store.ChannelSMS, config.Phone{Type: config.PhoneTwilio, URL: config.DefaultTwilioURL, AuthToken: "x", From: "+815012345678"}},
		"unknown type":       {store.ChannelVoice, config.Phone{Type: "carrier-pigeon", URL: "https://sms.example.co.jp/"}},
		"missing CA file":    {store.ChannelVoice, config.Phone{Type: config.PhoneWebhook, URL: "https://sms.example.co.jp/", CAFile: "/nonexistent/ca.pem"}},
	} {
		if s, err := NewPhone(tc.ch, tc.p); err == nil {
			t.Errorf("%s: accepted as %v", name, s)
		}
	}
}
