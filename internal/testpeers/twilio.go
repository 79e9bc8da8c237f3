package testpeers

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"encoding/xml"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"
)

// Twilio is a local HTTP server on 127.0.0.1 that speaks the part of
// Twilio's REST API that ssogate uses, as strictly as Twilio does, since
// the real service cannot be reached from tests:
//
//	POST /2010-04-01/Accounts/{SID}/Messages.json   To, From, Body
//	POST /2010-04-01/Accounts/{SID}/Calls.json      To, From, Twiml
//
// It checks the method, the account SID in the path, HTTP basic auth
// (SID and Token), Content-Type application/x-www-form-urlencoded, the
// required fields, E.164 numbers, and for a call that Twiml is an XML
// <Response> of <Say language="ja-JP|en-US"> and <Pause> only. It answers
// as Twilio does: 201 with the resource's JSON (sid, status "queued"), or
// an error JSON {code, message, more_info, status} (401 code 20003 on bad
// credentials, 400 code 21211 on a bad To number, …). Each accepted
// message is recorded, with the code pulled out of its text, for Next.
//
//	tw := testpeers.StartTwilio(t)
//	// notify.sms: {type: twilio, url: tw.URL, account_sid: tw.SID, auth_token: tw.Token, from: tw.From}
//	msg := tw.Next(t, 5*time.Second) // msg.Code == "123456"
type Twilio struct {
	// URL is the API base (http://127.0.0.1:port, or https:// for
	// StartTwilioTLS), for notify.sms.url.
	URL string
	// SID and Token are the only credentials the server accepts; From is
	// a sending number to configure.
	SID, Token, From string
	// CAFile is, for StartTwilioTLS, the PEM file of the certificate the
	// server presents (for notify.sms.ca_file).
	CAFile string

	mu       sync.Mutex
	msgs     []TwilioMessage
	read     int
	rejected []string
	fail     []int
	arrived  chan struct{}
}

// TwilioMessage is one SMS or call the server accepted.
type TwilioMessage struct {
	// Kind is "sms" or "voice"; SID the id the server answered with.
	Kind string
	SID  string
	To   string
	From string
	// Body is an SMS's text; Segments how many SMS it takes (GSM-7 or
	// UCS-2, as carriers count).
	Body     string
	Segments int
	// Twiml is a call's document; Say its <Say> texts in order and
	// Language their language ("ja-JP", "en-US").
	Twiml    string
	Say      []string
	Language string
	// Code is the one-time code found in the text: the first run of 4 to
	// 10 digits of an SMS, or a call's digits read one by one ("1、2、3…").
	// For a call, CodeTimes is how many <Say> texts read it.
	Code      string
	CodeTimes int
}

// StartTwilio starts a Twilio-shaped server over plain HTTP on 127.0.0.1
// for the test; it stops when the test ends.
func StartTwilio(tb testing.TB) *Twilio { return startTwilio(tb, false) }

// StartTwilioTLS is StartTwilio over HTTPS with its own certificate,
// written to CAFile.
func StartTwilioTLS(tb testing.TB) *Twilio { return startTwilio(tb, true) }

func startTwilio(tb testing.TB, useTLS bool) *Twilio {
	tb.Helper()
	p := &Twilio{SID: "AC" + randomHex(16), Token: randomHex(16), From: "+815012345678",
		arrived: make(chan struct{}, 1)}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(p.serve))
	if useTLS {
		srv.StartTLS()
		p.CAFile = filepath.Join(tb.TempDir(), "twilio-ca.pem")
		cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
		if err := os.WriteFile(p.CAFile, cert, 0o600); err != nil {
			tb.Fatal(err)
		}
	} else {
		srv.Start()
	}
	tb.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Fail makes the server answer the next n well-formed requests with
// status (500, 429, …) and a Twilio error body, accepting nothing.
func (p *Twilio) Fail(status, n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for range n {
		p.fail = append(p.fail, status)
	}
}

// Messages returns every message accepted so far.
func (p *Twilio) Messages() []TwilioMessage {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]TwilioMessage(nil), p.msgs...)
}

// Rejected returns why each refused request was refused ("401 20003:
// Authenticate").
func (p *Twilio) Rejected() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.rejected...)
}

// Next returns the next accepted message that Next has not returned yet,
// waiting up to timeout; it fails tb (naming any refused requests) when
// none comes.
func (p *Twilio) Next(tb testing.TB, timeout time.Duration) TwilioMessage {
	tb.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		if p.read < len(p.msgs) {
			m := p.msgs[p.read]
			p.read++
			p.mu.Unlock()
			return m
		}
		rejected := append([]string(nil), p.rejected...)
		p.mu.Unlock()
		select {
		case <-p.arrived:
		case <-deadline.C:
			tb.Fatalf("testpeers: no Twilio message in %s (refused requests: %q)", timeout, rejected)
			return TwilioMessage{}
		}
	}
}

// twilioError answers as Twilio does when it refuses a request.
func (p *Twilio) twilioError(w http.ResponseWriter, status, code int, message string) {
	p.mu.Lock()
	p.rejected = append(p.rejected, fmt.Sprintf("%d %d: %s", status, code, message))
	p.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"code": code, "message": message,
		"more_info": "https://www.twilio.com/docs/errors/" + strconv.Itoa(code), "status": status})
}

var (
	twilioPath   = regexp.MustCompile(`^/2010-04-01/Accounts/([^/]+)/(Messages|Calls)\.json$`)
	e164         = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	alphaSender  = regexp.MustCompile(`^[A-Za-z0-9 ]{1,11}$`)
	smsCode      = regexp.MustCompile(`[0-9]{4,10}`)
	spokenCode   = regexp.MustCompile(`[0-9](?:(?:、|, )[0-9]){3,9}`)
	codeSeparate = strings.NewReplacer("、", "", ", ", "")
)

func (p *Twilio) serve(w http.ResponseWriter, r *http.Request) {
	m := twilioPath.FindStringSubmatch(r.URL.Path)
	if m == nil || m[1] != p.SID {
		p.twilioError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
		return
	}
	if r.Method != http.MethodPost {
		p.twilioError(w, http.StatusMethodNotAllowed, 20004, "Method not allowed")
		return
	}
	user, pass, ok := r.BasicAuth()
	if !ok || subtle.ConstantTimeCompare([]byte(user), []byte(p.SID)) != 1 ||
		subtle.ConstantTimeCompare([]byte(pass), []byte(p.Token)) != 1 {
		w.Header().Set("WWW-Authenticate", `Basic realm="Twilio API"`)
		p.twilioError(w, http.StatusUnauthorized, 20003, "Authenticate")
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		p.twilioError(w, http.StatusUnsupportedMediaType, 20415, "Unsupported Media Type "+strconv.Quote(r.Header.Get("Content-Type")))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		p.twilioError(w, http.StatusBadRequest, 20001, "cannot read the request")
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		p.twilioError(w, http.StatusBadRequest, 20001, "the request is not form-encoded")
		return
	}
	msg := TwilioMessage{To: form.Get("To"), From: form.Get("From")}
	switch {
	case msg.To == "":
		p.twilioError(w, http.StatusBadRequest, 21604, "A 'To' phone number is required.")
		return
	case !e164.MatchString(msg.To):
		p.twilioError(w, http.StatusBadRequest, 21211, "The 'To' number "+msg.To+" is not a valid phone number.")
		return
	case msg.From == "":
		p.twilioError(w, http.StatusBadRequest, 21603, "A 'From' phone number is required.")
		return
	case !e164.MatchString(msg.From) && !alphaSender.MatchString(msg.From):
		p.twilioError(w, http.StatusBadRequest, 21212, "The 'From' number "+msg.From+" is not a valid phone number or alphanumeric sender ID.")
		return
	}
	prefix := "SM"
	if m[2] == "Messages" {
		msg.Kind, msg.Body = "sms", form.Get("Body")
		if msg.Body == "" {
			p.twilioError(w, http.StatusBadRequest, 21602, "Message body is required.")
			return
		}
		if len([]rune(msg.Body)) > 1600 {
			p.twilioError(w, http.StatusBadRequest, 21617, "The concatenated message body exceeds the 1600 character limit.")
			return
		}
		msg.Segments = smsSegments(msg.Body)
		msg.Code = smsCode.FindString(msg.Body)
	} else {
		prefix = "CA"
		msg.Kind, msg.Twiml = "voice", form.Get("Twiml")
		if msg.Twiml == "" || form.Get("Url") != "" {
			p.twilioError(w, http.StatusBadRequest, 21205, "Either Twiml or Url is required (and not both).")
			return
		}
		if len(msg.Twiml) > 4000 {
			p.twilioError(w, http.StatusBadRequest, 21232, "Twiml exceeds 4000 characters.")
			return
		}
		if err := readTwiML(&msg); err != nil {
			p.twilioError(w, http.StatusBadRequest, 12100, "Document parse failure: "+err.Error())
			return
		}
	}
	p.mu.Lock()
	if len(p.fail) > 0 {
		status := p.fail[0]
		p.fail = p.fail[1:]
		p.mu.Unlock()
		p.twilioError(w, status, 20500, http.StatusText(status))
		return
	}
	msg.SID = prefix + randomHex(16)
	p.msgs = append(p.msgs, msg)
	p.mu.Unlock()
	select {
	case p.arrived <- struct{}{}:
	default:
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]any{"sid": msg.SID, "account_sid": p.SID, "to": msg.To, "from": msg.From,
		"status": "queued", "api_version": "2010-04-01", "num_segments": strconv.Itoa(msg.Segments),
		"date_created": time.Now().UTC().Format(time.RFC1123Z),
		"uri":          "/2010-04-01/Accounts/" + p.SID + "/" + m[2] + "/" + msg.SID + ".json"})
}

// twimlDoc is the TwiML ssogate may send: <Say> and <Pause> in a
// <Response>; any other element is refused.
type twimlDoc struct {
	XMLName xml.Name `xml:"Response"`
	Verbs   []struct {
		XMLName  xml.Name
		Language string `xml:"language,attr"`
		Length   string `xml:"length,attr"`
		Text     string `xml:",chardata"`
		Inner    []struct {
			XMLName xml.Name
		} `xml:",any"`
	} `xml:",any"`
}

// readTwiML parses msg.Twiml into Say, Language, Code and CodeTimes.
func readTwiML(msg *TwilioMessage) error {
	var doc twimlDoc
	dec := xml.NewDecoder(strings.NewReader(msg.Twiml))
	dec.Strict = true
	if err := dec.Decode(&doc); err != nil {
		return err
	}
	for _, v := range doc.Verbs {
		if len(v.Inner) > 0 {
			return fmt.Errorf("<%s> holds <%s>", v.XMLName.Local, v.Inner[0].XMLName.Local)
		}
		switch v.XMLName.Local {
		case "Say":
			if v.Language != "ja-JP" && v.Language != "en-US" {
				return fmt.Errorf("<Say language=%q>: want ja-JP or en-US", v.Language)
			}
			if msg.Language != "" && msg.Language != v.Language {
				return fmt.Errorf("<Say> in %s and %s", msg.Language, v.Language)
			}
			if strings.TrimSpace(v.Text) == "" {
				return fmt.Errorf("empty <Say>")
			}
			msg.Language = v.Language
			msg.Say = append(msg.Say, v.Text)
			if c := codeSeparate.Replace(spokenCode.FindString(v.Text)); c != "" {
				if msg.Code != "" && c != msg.Code {
					return fmt.Errorf("two codes read: %s and %s", msg.Code, c)
				}
				msg.Code = c
				msg.CodeTimes++
			}
		case "Pause":
			if n, err := strconv.Atoi(v.Length); v.Length != "" && (err != nil || n < 1) {
				return fmt.Errorf("<Pause length=%q>", v.Length)
			}
		default:
			return fmt.Errorf("unexpected <%s>", v.XMLName.Local)
		}
	}
	if len(msg.Say) == 0 {
		return fmt.Errorf("no <Say>")
	}
	return nil
}

// gsm7 is the GSM 03.38 default alphabet; gsm7Ext its extension table,
// whose characters take two septets.
const (
	gsm7    = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	gsm7Ext = "^{}\\[~]|€\f"
)

// smsSegments is how many SMS body takes: GSM-7 when every character is
// in the GSM alphabet (160 septets, 153 each when concatenated), else
// UCS-2 (70 UTF-16 units, 67 each when concatenated).
func smsSegments(body string) int {
	septets, gsm := 0, true
	for _, r := range body {
		switch {
		case strings.ContainsRune(gsm7, r):
			septets++
		case strings.ContainsRune(gsm7Ext, r):
			septets += 2
		default:
			gsm = false
		}
	}
	if gsm {
		if septets <= 160 {
			return 1
		}
		return (septets + 152) / 153
	}
	units := len(utf16.Encode([]rune(body)))
	if units <= 70 {
		return 1
	}
	return (units + 66) / 67
}

// PhoneWebhook is a local HTTP server on 127.0.0.1 that receives
// notify's generic phone webhook (notify.sms / notify.voice with type
// webhook) and records each request. It accepts only a POST of
// Content-Type application/json carrying exactly the fields channel
// ("sms" or "voice"), to (E.164), text, code and language ("ja" or "en"),
// with "Authorization: Bearer <Token>" and an Idempotency-Key; anything
// else gets 401 (token) or 400 and is listed by Rejected.
type PhoneWebhook struct {
	// URL is the endpoint (for notify.sms.url); Token the bearer token it
	// requires.
	URL, Token string

	mu       sync.Mutex
	calls    []WebhookCall
	read     int
	rejected []string
	fail     []int
	arrived  chan struct{}
}

// WebhookCall is one request a PhoneWebhook accepted.
type WebhookCall struct {
	Channel, To, Text, Code, Language string
	// IdempotencyKey is the request's Idempotency-Key header.
	IdempotencyKey string
}

// StartPhoneWebhook starts a PhoneWebhook for the test; it stops when the
// test ends.
func StartPhoneWebhook(tb testing.TB) *PhoneWebhook {
	tb.Helper()
	p := &PhoneWebhook{Token: randomHex(16), arrived: make(chan struct{}, 1)}
	srv := httptest.NewServer(http.HandlerFunc(p.serve))
	tb.Cleanup(srv.Close)
	p.URL = srv.URL + "/send"
	return p
}

// Fail makes the webhook answer the next n well-formed requests with
// status, accepting nothing.
func (p *PhoneWebhook) Fail(status, n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for range n {
		p.fail = append(p.fail, status)
	}
}

// Calls returns every request accepted so far.
func (p *PhoneWebhook) Calls() []WebhookCall {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]WebhookCall(nil), p.calls...)
}

// Rejected returns why each refused request was refused.
func (p *PhoneWebhook) Rejected() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.rejected...)
}

// Next returns the next accepted request that Next has not returned yet,
// waiting up to timeout; it fails tb when none comes.
func (p *PhoneWebhook) Next(tb testing.TB, timeout time.Duration) WebhookCall {
	tb.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		if p.read < len(p.calls) {
			c := p.calls[p.read]
			p.read++
			p.mu.Unlock()
			return c
		}
		rejected := append([]string(nil), p.rejected...)
		p.mu.Unlock()
		select {
		case <-p.arrived:
		case <-deadline.C:
			tb.Fatalf("testpeers: no webhook request in %s (refused requests: %q)", timeout, rejected)
			return WebhookCall{}
		}
	}
}

func (p *PhoneWebhook) refuse(w http.ResponseWriter, status int, why string) {
	p.mu.Lock()
	p.rejected = append(p.rejected, fmt.Sprintf("%d: %s", status, why))
	p.mu.Unlock()
	http.Error(w, why, status)
}

func (p *PhoneWebhook) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/send" {
		p.refuse(w, http.StatusMethodNotAllowed, r.Method+" "+r.URL.Path)
		return
	}
	auth, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || subtle.ConstantTimeCompare([]byte(auth), []byte(p.Token)) != 1 {
		p.refuse(w, http.StatusUnauthorized, "bad or missing bearer token")
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		p.refuse(w, http.StatusUnsupportedMediaType, "Content-Type "+r.Header.Get("Content-Type"))
		return
	}
	var body struct {
		Channel  *string `json:"channel"`
		To       *string `json:"to"`
		Text     *string `json:"text"`
		Code     *string `json:"code"`
		Language *string `json:"language"`
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		p.refuse(w, http.StatusBadRequest, "JSON: "+err.Error())
		return
	}
	if body.Channel == nil || body.To == nil || body.Text == nil || body.Code == nil || body.Language == nil {
		p.refuse(w, http.StatusBadRequest, "a field of channel, to, text, code, language is missing")
		return
	}
	c := WebhookCall{Channel: *body.Channel, To: *body.To, Text: *body.Text, Code: *body.Code, Language: *body.Language,
		IdempotencyKey: r.Header.Get("Idempotency-Key")}
	switch {
	case c.Channel != "sms" && c.Channel != "voice":
		p.refuse(w, http.StatusBadRequest, "channel "+c.Channel)
		return
	case !e164.MatchString(c.To):
		p.refuse(w, http.StatusBadRequest, "to "+c.To+" is not E.164")
		return
	case c.Text == "" || c.Code == "":
		p.refuse(w, http.StatusBadRequest, "empty text or code")
		return
	case c.Language != "ja" && c.Language != "en":
		p.refuse(w, http.StatusBadRequest, "language "+c.Language)
		return
	case c.IdempotencyKey == "":
		p.refuse(w, http.StatusBadRequest, "no Idempotency-Key")
		return
	}
	p.mu.Lock()
	if len(p.fail) > 0 {
		status := p.fail[0]
		p.fail = p.fail[1:]
		p.mu.Unlock()
		http.Error(w, http.StatusText(status), status)
		return
	}
	p.calls = append(p.calls, c)
	p.mu.Unlock()
	select {
	case p.arrived <- struct{}{}:
	default:
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"status":"accepted"}`)
}
