package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ssogate/ssogate/config"
	"github.com/ssogate/ssogate/store"
)

// PhoneSender is a Sender of SMS or voice messages over an HTTP API: a
// generic webhook (Webhook) or Twilio (Twilio).
type PhoneSender interface {
	Sender
	// Deliver sends o and reports how the API answered.
	Deliver(ctx context.Context, o *Outgoing) (*PhoneReport, error)
}

// PhoneReport is how one API request went, for `ssogate sms test`. It
// never holds the token or the code.
type PhoneReport struct {
	// Endpoint is the URL posted to.
	Endpoint string
	// Status is the HTTP status (0 when no answer came).
	Status int
	// ID and State are the API's id of the message or call and its state
	// ("queued"), when it says them.
	ID    string
	State string
}

// NewPhone returns the sender of channel ch (store.ChannelSMS or
// store.ChannelVoice) that p (notify.sms or notify.voice) configures, or
// nil when p.Type is empty (the channel is off).
func NewPhone(ch store.Channel, p config.Phone) (PhoneSender, error) {
	if ch != store.ChannelSMS && ch != store.ChannelVoice {
		return nil, fmt.Errorf("notify: %q is not a phone channel", ch)
	}
	if p.Type == "" {
		return nil, nil
	}
	u, err := url.Parse(p.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return nil, fmt.Errorf("notify: %s url %q: use https://host/path", ch, p.URL)
	}
	client, err := phoneClient(p)
	if err != nil {
		return nil, fmt.Errorf("notify: %s: %w", ch, err)
	}
	switch p.Type {
	case config.PhoneWebhook:
		return &Webhook{ch: ch, url: p.URL, token: p.Token, client: client}, nil
	case config.PhoneTwilio:
		if p.AccountSID == "" || p.AuthToken == "" || p.From == "" {
			return nil, fmt.Errorf("notify: %s: twilio needs account_sid, auth_token_file and from", ch)
		}
		return &Twilio{ch: ch, base: strings.TrimRight(p.URL, "/"), sid: p.AccountSID, token: p.AuthToken,
			from: p.From, client: client}, nil
	}
	return nil, fmt.Errorf("notify: %s type %q: use webhook or twilio", ch, p.Type)
}

// phoneClient is the HTTP client of one phone sender: p's timeout for a
// whole request, p's CA file (when set) as the only trusted roots, and no
// redirects (a redirect is a wrong url, and following it would send the
// code elsewhere).
func phoneClient(p config.Phone) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if p.CAFile != "" {
		pemData, err := os.ReadFile(p.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemData) {
			return nil, fmt.Errorf("ca_file %s holds no PEM certificate", p.CAFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	timeout := p.Timeout.D()
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	return &http.Client{Transport: tr, Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}, nil
}

var e164Pattern = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// checkNumber refuses a recipient that is not E.164 for good: no retry
// makes it one.
func checkNumber(ch store.Channel, to string) error {
	if !e164Pattern.MatchString(to) {
		return &PermanentError{Err: fmt.Errorf("notify: %s: recipient %q is not an E.164 number", ch, to)}
	}
	return nil
}

// phoneCAHint adds what to do to a certificate the system does not trust.
func phoneCAHint(ch store.Channel, err error) error {
	var unknown x509.UnknownAuthorityError
	if errors.As(err, &unknown) {
		return fmt.Errorf("%w (set notify.%s.ca_file to the CA certificate that issued the server's)", err, ch)
	}
	return err
}

// maxAnswer bounds how much of an API's answer is read.
const maxAnswer = 64 << 10

// post sends one request and returns the answer's status and body (at
// most maxAnswer bytes). A request that got no answer is an error to
// retry.
func post(ctx context.Context, client *http.Client, req *http.Request) (int, []byte, error) {
	resp, err := client.Do(req.WithContext(ctx))
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("read the answer: %w", err)
	}
	return resp.StatusCode, body, nil
}

// refused turns an answer that is not 2xx into the Sender's error: 5xx,
// 408 and 429 are worth another try (the service is down or busy); any
// other status will answer the same again, so it is a *PermanentError.
func refused(status int, err error) error {
	if status >= 500 || status == http.StatusRequestTimeout || status == http.StatusTooManyRequests {
		return err
	}
	return &PermanentError{Err: err}
}

// scrub makes an API's text fit for the log: each secret replaced, the
// text on one line and at most 200 bytes.
func scrub(s string, secrets map[string]string) string {
	for secret, label := range secrets {
		if secret != "" {
			s = strings.ReplaceAll(s, secret, label)
		}
	}
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		cut := 200
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// Webhook sends each message as a JSON POST to an HTTP endpoint of the
// operator's (an SMS gateway, a call service):
//
//	POST <url>
//	Authorization: Bearer <token>
//	Idempotency-Key: <outbox message id>
//	Content-Type: application/json
//
//	{"channel": "sms", "to": "+819012345678", "text": "【…】確認コード: 123456…",
//	 "code": "123456", "language": "ja"}
//
// channel is "sms" or "voice" (text is then the script to read, its
// paragraphs separated by a blank line). Any 2xx answer means sent; 5xx,
// 408 and 429 are tried again later; any other answer gives the message
// up. The Idempotency-Key is the same for every try of one message, so
// the endpoint can drop a resend after a crash mid-send.
type Webhook struct {
	ch     store.Channel
	url    string
	token  string
	client *http.Client
}

var _ PhoneSender = (*Webhook)(nil)

// WebhookRequest is the JSON body a Webhook posts.
type WebhookRequest struct {
	Channel  string `json:"channel"`
	To       string `json:"to"`
	Text     string `json:"text"`
	Code     string `json:"code"`
	Language string `json:"language"`
}

// Channel is the channel the Webhook was made for.
func (w *Webhook) Channel() store.Channel { return w.ch }

// Send delivers o.
func (w *Webhook) Send(ctx context.Context, o *Outgoing) error {
	_, err := w.Deliver(ctx, o)
	return err
}

// Deliver posts o and reports the answer.
func (w *Webhook) Deliver(ctx context.Context, o *Outgoing) (*PhoneReport, error) {
	rep := &PhoneReport{Endpoint: w.url}
	if err := checkNumber(w.ch, o.To); err != nil {
		return rep, err
	}
	body, err := json.Marshal(WebhookRequest{Channel: string(w.ch), To: o.To, Text: o.Text, Code: o.Code, Language: o.Language})
	if err != nil {
		return rep, fmt.Errorf("notify: %s webhook: %w", w.ch, err)
	}
	req, err := http.NewRequest(http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return rep, &PermanentError{Err: fmt.Errorf("notify: %s webhook: %w", w.ch, err)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "ssogate")
	req.Header.Set("Idempotency-Key", o.ID)
	if w.token != "" {
		req.Header.Set("Authorization", "Bearer "+w.token)
	}
	status, answer, err := post(ctx, w.client, req)
	rep.Status = status
	if err != nil {
		return rep, fmt.Errorf("notify: %s webhook: %w", w.ch, phoneCAHint(w.ch, err))
	}
	if status >= 200 && status < 300 {
		return rep, nil
	}
	text := scrub(string(answer), map[string]string{o.Code: "[code]", w.token: "[token]"})
	return rep, refused(status, fmt.Errorf("notify: %s webhook: answered HTTP %d: %s", w.ch, status, text))
}
