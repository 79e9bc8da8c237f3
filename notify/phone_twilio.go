package notify

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/ssogate/ssogate/store"
)

// Twilio sends SMS with Twilio's Messages API and places calls with its
// Calls API, the call reading the script with <Say> (TwiML given inline):
//
//	POST {url}/2010-04-01/Accounts/{account_sid}/Messages.json   To, From, Body
//	POST {url}/2010-04-01/Accounts/{account_sid}/Calls.json      To, From, Twiml
//
// signed in with HTTP basic authentication (account SID and auth token).
// Twilio's error answers ({"code": 21211, "message": …, "status": 400})
// become errors naming Twilio's code and message; a 4xx other than 408
// and 429 is a *PermanentError.
type Twilio struct {
	ch     store.Channel
	base   string
	sid    string
	token  string
	from   string
	client *http.Client
}

var _ PhoneSender = (*Twilio)(nil)

// Channel is the channel the Twilio sender was made for.
func (t *Twilio) Channel() store.Channel { return t.ch }

// Send delivers o.
func (t *Twilio) Send(ctx context.Context, o *Outgoing) error {
	_, err := t.Deliver(ctx, o)
	return err
}

// twilioAnswer is what Twilio answers: the created resource, or an error.
type twilioAnswer struct {
	SID    string `json:"sid"`
	Status any    `json:"status"` // a resource's state ("queued"), or an error's HTTP status
	// Code and Message are set in an error answer.
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// Deliver creates the message or call of o and reports Twilio's answer.
func (t *Twilio) Deliver(ctx context.Context, o *Outgoing) (*PhoneReport, error) {
	form := url.Values{"To": {o.To}, "From": {t.from}}
	resource := "Messages.json"
	if t.ch == store.ChannelVoice {
		resource = "Calls.json"
		form.Set("Twiml", TwiML(o.Text, o.Language))
	} else {
		form.Set("Body", o.Text)
	}
	rep := &PhoneReport{Endpoint: t.base + "/2010-04-01/Accounts/" + url.PathEscape(t.sid) + "/" + resource}
	if err := checkNumber(t.ch, o.To); err != nil {
		return rep, err
	}
	req, err := http.NewRequest(http.MethodPost, rep.Endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return rep, &PermanentError{Err: fmt.Errorf("notify: twilio %s: %w", t.ch, err)}
	}
	req.SetBasicAuth(t.sid, t.token)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "ssogate")
	status, body, err := post(ctx, t.client, req)
	rep.Status = status
	if err != nil {
		return rep, fmt.Errorf("notify: twilio %s: %w", t.ch, phoneCAHint(t.ch, err))
	}
	var a twilioAnswer
	jerr := json.Unmarshal(body, &a)
	if status >= 200 && status < 300 {
		if jerr != nil || a.SID == "" {
			// Twilio took the request: trying again would send a second
			// message, so the odd answer is reported and the message kept
			// as sent.
			return rep, nil
		}
		rep.ID = a.SID
		rep.State, _ = a.Status.(string)
		return rep, nil
	}
	secrets := map[string]string{o.Code: "[code]", t.token: "[token]"}
	if jerr != nil || a.Code == 0 {
		return rep, refused(status, fmt.Errorf("notify: twilio %s: answered HTTP %d (%w): %s", t.ch, status, errNoAnswer,
			scrub(string(body), secrets)))
	}
	return rep, refused(status, fmt.Errorf("notify: twilio %s: HTTP %d, Twilio error %d: %s", t.ch, status, a.Code,
		scrub(a.Message, secrets)))
}

// errNoAnswer is wrapped when an error answer is not Twilio's JSON (a
// proxy's page, a wrong url).
var errNoAnswer = errors.New("not Twilio's JSON")

// voiceLanguages are the <Say> languages of the message languages.
var voiceLanguages = map[string]string{"ja": "ja-JP", "en": "en-US"}

// TwiML is the document that reads script in lang ("ja" or "en") on a
// call: each paragraph (separated by a blank line) in its own <Say>,
// with a pause between, every character XML-escaped.
func TwiML(script, lang string) string {
	sayLang, ok := voiceLanguages[lang]
	if !ok {
		sayLang = voiceLanguages["ja"]
	}
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><Response>`)
	first := true
	for _, p := range strings.Split(script, "\n\n") {
		p = strings.Join(strings.Fields(p), " ")
		if p == "" {
			continue
		}
		if !first {
			b.WriteString(`<Pause length="1"/>`)
		}
		first = false
		b.WriteString(`<Say language="`)
		_ = xml.EscapeText(&b, []byte(sayLang)) // a strings.Builder never fails
		b.WriteString(`">`)
		_ = xml.EscapeText(&b, []byte(p))
		b.WriteString(`</Say>`)
	}
	b.WriteString(`</Response>`)
	return b.String()
}
