package testpeers

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestTwilioChecksRequests: the Twilio-shaped server accepts a well-made
// SMS and call (and finds their codes), and refuses, as Twilio does, a
// wrong account in the path, bad credentials, JSON instead of a form, a
// missing or non-E.164 number, a missing body, and TwiML that is not XML
// or holds other verbs or languages.
func TestTwilioChecksRequests(t *testing.T) {
	tw := StartTwilio(t)
	send := func(sid, user, pass, contentType, resource string, form url.Values) (int, map[string]any) {
		t.Helper()
		body := form.Encode()
		if contentType == "application/json" {
			b, _ := json.Marshal(form)
			body = string(b)
		}
		req, err := http.NewRequest(http.MethodPost, tw.URL+"/2010-04-01/Accounts/"+sid+"/"+resource, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.SetBasicAuth(user, pass)
		req.Header.Set("Content-Type", contentType)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var answer map[string]any
		var buf bytes.Buffer
		_, _ = buf.ReadFrom(resp.Body)
		if err := json.Unmarshal(buf.Bytes(), &answer); err != nil {
			t.Fatalf("answer %q is not JSON: %v", buf.String(), err)
		}
		return resp.StatusCode, answer
	}
	const form = "application/x-www-form-urlencoded"
	sms := url.Values{"To": {"+819012345678"}, "From": {tw.From}, "Body": {"【ポータル】確認コード: 123456（5分間有効）"}}
	twiml := `<?xml version="1.0" encoding="UTF-8"?><Response><Say language="ja-JP">確認コードは、6、5、4、3、2、1、です。</Say>` +
		`<Pause length="1"/><Say language="ja-JP">繰り返します。6、5、4、3、2、1、です。</Say></Response>`
	call := url.Values{"To": {"+819012345678"}, "From": {tw.From}, "Twiml": {twiml}}

	if status, a := send(tw.SID, tw.SID, tw.Token, form, "Messages.json", sms); status != http.StatusCreated || a["status"] != "queued" {
		t.Fatalf("SMS: %d %v", status, a)
	}
	if m := tw.Next(t, time.Second); m.Code != "123456" || m.Segments != 1 {
		t.Errorf("SMS recorded as %+v", m)
	}
	if status, a := send(tw.SID, tw.SID, tw.Token, form, "Calls.json", call); status != http.StatusCreated || !strings.HasPrefix(a["sid"].(string), "CA") {
		t.Fatalf("call: %d %v", status, a)
	}
	if m := tw.Next(t, time.Second); m.Code != "654321" || m.CodeTimes != 2 || m.Language != "ja-JP" {
		t.Errorf("call recorded as %+v", m)
	}

	with := func(v url.Values, key, value string) url.Values {
		c := url.Values{}
		for k, vs := range v {
			c[k] = vs
		}
		if value == "" {
			c.Del(key)
		} else {
			c.Set(key, value)
		}
		return c
	}
	for _, tc := range []struct {
		name                 string
		sid, user, pass, ct  string
		resource             string
		form                 url.Values
		wantStatus, wantCode int
	}{
		{"another account", "AC0000", "AC0000", tw.Token, form, "Messages.json", sms, 404, 20404},
		{"wrong token", tw.SID, tw.SID, "nope", form, "Messages.json", sms, 401, 20003},
		{"JSON body", tw.SID, tw.SID, tw.Token, "application/json", "Messages.json", sms, 415, 20415},
		{"no To", tw.SID, tw.SID, tw.Token, form, "Messages.json", with(sms, "To", ""), 400, 21604},
		{"To not E.164", tw.SID, tw.SID, tw.Token, form, "Messages.json", with(sms, "To", "090-1234-5678"), 400, 21211},
		{"no From", tw.SID, tw.SID, tw.Token, form, "Messages.json", with(sms, "From", ""), 400, 21603},
		{"no Body", tw.SID, tw.SID, tw.Token, form, "Messages.json", with(sms, "Body", ""), 400, 21602},
		{"no Twiml", tw.SID, tw.SID, tw.Token, form, "Calls.json", with(call, "Twiml", ""), 400, 21205},
		{"TwiML not XML", tw.SID, tw.SID, tw.Token, form, "Calls.json", with(call, "Twiml", "<Response><Say>a & b</Say></Response>"), 400, 12100},
		{"TwiML Play", tw.SID, tw.SID, tw.Token, form, "Calls.json", with(call, "Twiml", `<Response><Play>https://x/a.mp3</Play></Response>`), 400, 12100},
		{"Say without language", tw.SID, tw.SID, tw.Token, form, "Calls.json", with(call, "Twiml", `<Response><Say>1, 2, 3, 4</Say></Response>`), 400, 12100},
	} {
		status, a := send(tc.sid, tc.user, tc.pass, tc.ct, tc.resource, tc.form)
		if status != tc.wantStatus || a["code"] != float64(tc.wantCode) || a["status"] != float64(tc.wantStatus) || a["message"] == "" {
			t.Errorf("%s: %d %v, want %d code %d", tc.name, status, a, tc.wantStatus, tc.wantCode)
		}
	}
	if n := len(tw.Messages()); n != 2 {
		t.Errorf("%d messages recorded, want 2", n)
	}
	if n := len(tw.Rejected()); n != 11 {
		t.Errorf("%d refusals recorded, want 11", n)
	}
}

// TestPhoneWebhookChecksRequests: the webhook recorder accepts the JSON
// shape with the bearer token, and refuses a wrong token, an unknown or
// missing field, and a number that is not E.164.
func TestPhoneWebhookChecksRequests(t *testing.T) {
	hook := StartPhoneWebhook(t)
	send := func(token, body string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, hook.URL, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", "m1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	good := `{"channel":"sms","to":"+819012345678","text":"code 123456","code":"123456","language":"ja"}`
	if s := send(hook.Token, good); s != http.StatusOK {
		t.Fatalf("good request: %d (%q)", s, hook.Rejected())
	}
	if c := hook.Next(t, time.Second); c.Code != "123456" || c.IdempotencyKey != "m1" || c.Channel != "sms" {
		t.Errorf("recorded %+v", c)
	}
	for name, tc := range map[string]struct {
		token, body string
		want        int
	}{
		"wrong token":   {"nope", good, 401},
		"unknown field": {hook.Token, strings.Replace(good, `"language"`, `"lang":"ja","language"`, 1), 400},
		"no code":       {hook.Token, strings.Replace(good, `"code":"123456",`, "", 1), 400},
		"not E.164":     {hook.Token, strings.Replace(good, "+819012345678", "09012345678", 1), 400},
		"fax":           {hook.Token, strings.Replace(good, `"sms"`, `"fax"`, 1), 400},
	} {
		if s := send(tc.token, tc.body); s != tc.want {
			t.Errorf("%s: %d, want %d", name, s, tc.want)
		}
	}
	if n := len(hook.Calls()); n != 1 {
		t.Errorf("%d calls recorded, want 1", n)
	}
}
