package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/ssogate/ssogate/providers"
)

// Config is the provider's `config:` block in ssogate.yaml:
//
//	providers:
//	  - id: kiosk
//	    type: plugin
//	    label: 受付端末でログイン
//	    command: ./plugins/bin/httpjson
//	    sha256: <sha256sum of plugins/bin/httpjson>
//	    config:
//	      url: https://auth.example.co.jp/check
//	      timeout: 5s
//	      ca_file: /etc/ssogate/auth-ca.pem
//	      headers:
//	        Authorization: Bearer change-me
type Config struct {
	// URL is the endpoint: https, or http for a loopback host only
	// (localhost, 127.0.0.0/8, ::1), since the password travels in the body.
	URL string `json:"url"`
	// Timeout bounds one request; default 5s, at most 25s (ssogate gives
	// a plugin's Authenticate 30s).
	Timeout Duration `json:"timeout"`
	// CAFile, when set, is a PEM file of the CA certificates that the
	// endpoint's certificate must chain to, instead of the system's.
	CAFile string `json:"ca_file"`
	// Headers are sent with every request (an API key, a bearer token).
	Headers map[string]string `json:"headers"`
}

const (
	defaultTimeout = 5 * time.Second
	maxTimeout     = 25 * time.Second
	maxAnswer      = 1 << 20
)

// Duration is a time.Duration written "5s" (or a number of seconds).
type Duration time.Duration

// UnmarshalJSON accepts "1500ms", "5s" or 5.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("%q is no duration; write e.g. 5s or 1500ms", s)
		}
		*d = Duration(v)
		return nil
	}
	var secs float64
	if err := json.Unmarshal(b, &secs); err != nil {
		return fmt.Errorf("%s is no duration; write e.g. 5s or 1500ms", b)
	}
	*d = Duration(secs * float64(time.Second))
	return nil
}

// Provider is the httpjson provider, a providers.PasswordAuthenticator.
type Provider struct {
	id      string
	url     string
	headers http.Header
	client  *http.Client
	log     *slog.Logger
}

var _ providers.PasswordAuthenticator = (*Provider)(nil)

// New validates the config block and returns the provider. Errors name
// the key and say what would be valid.
func New(id string, raw json.RawMessage) (*Provider, error) {
	var c Config
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("httpjson: config: %w (valid keys: url, timeout, ca_file, headers)", err)
	}
	u, err := checkURL(c.URL)
	if err != nil {
		return nil, fmt.Errorf("httpjson: config: url: %w", err)
	}
	timeout := time.Duration(c.Timeout)
	switch {
	case timeout == 0:
		timeout = defaultTimeout
	case timeout < 0 || timeout > maxTimeout:
		return nil, fmt.Errorf("httpjson: config: timeout %s: want more than 0s and at most %s", timeout, maxTimeout)
	}
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("httpjson: config: ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("httpjson: config: ca_file %s: no PEM certificate in it", c.CAFile)
		}
		tlsConf.RootCAs = pool
	}
	headers := http.Header{}
	for k, v := range c.Headers {
		if !validHeaderName(k) {
			return nil, fmt.Errorf("httpjson: config: headers: %q is no valid header name", k)
		}
		if strings.ContainsAny(v, "\r\n") {
			return nil, fmt.Errorf("httpjson: config: headers: %s: value has a line break", k)
		}
		switch http.CanonicalHeaderKey(k) {
		case "Content-Type", "Content-Length", "Host":
			return nil, fmt.Errorf("httpjson: config: headers: %s is set by the plugin", k)
		}
		headers.Set(k, v)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tlsConf
	return &Provider{
		id:      id,
		url:     u.String(),
		headers: headers,
		client: &http.Client{
			Transport: tr,
			Timeout:   timeout,
			// A redirect would carry the password elsewhere.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		log: slog.Default().With("provider_id", id),
	}, nil
}

// checkURL accepts https, and http only for a loopback host.
func checkURL(s string) (*url.URL, error) {
	if s == "" {
		return nil, errors.New("missing; set it to the endpoint, e.g. https://auth.example.co.jp/check")
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, err
	}
	if u.Host == "" {
		return nil, fmt.Errorf("%q has no host", s)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			return nil, fmt.Errorf("%q: http only for localhost or a loopback address; use https", s)
		}
	default:
		return nil, fmt.Errorf("%q: want an https URL", s)
	}
	return u, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func validHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for _, r := range k {
		if r > 0x7e || r <= ' ' || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r) {
			return false
		}
	}
	return true
}

// ID returns the provider's id.
func (p *Provider) ID() string { return p.id }

// Type returns "httpjson".
func (p *Provider) Type() string { return "httpjson" }

// answer is the endpoint's JSON answer.
type answer struct {
	OK            *bool    `json:"ok"`
	Error         string   `json:"error"`
	Message       string   `json:"message"`
	Subject       string   `json:"subject"`
	Email         string   `json:"email"`
	EmailVerified bool     `json:"email_verified"`
	Name          string   `json:"name"`
	Groups        []string `json:"groups"`
	Phone         string   `json:"phone"`
	Mobile        string   `json:"mobile"`
	Organization  string   `json:"organization"`
	Department    string   `json:"department"`
}

// accountReasons are the "error" values that mean the password may have
// been right but the account may not sign in.
var accountReasons = map[string]bool{
	providers.ReasonLocked:             true,
	providers.ReasonDisabled:           true,
	providers.ReasonExpired:            true,
	providers.ReasonPasswordExpired:    true,
	providers.ReasonMustChangePassword: true,
}

// Authenticate POSTs {"login","password"} to the endpoint and maps its
// answer: ok:true → Identity, ok:false → ErrInvalidCredentials,
// error:"locked" (or another account reason) → *providers.AccountError,
// 429 → ErrBusy, 5xx, a network error or an answer out of contract →
// ErrUnavailable.
func (p *Provider) Authenticate(ctx context.Context, login, password string) (*providers.Identity, error) {
	if login == "" || password == "" {
		return nil, providers.ErrInvalidCredentials
	}
	body, err := json.Marshal(map[string]string{"login": login, "password": password})
	if err != nil {
		return nil, fmt.Errorf("httpjson: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("httpjson: %w", err)
	}
	for k, v := range p.headers {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")

	resp, err := p.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("httpjson: POST %s: %v: %w", p.url, stripURL(err), providers.ErrUnavailable)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return nil, fmt.Errorf("httpjson: reading answer: %v: %w", err, providers.ErrUnavailable)
	}
	p.log.Debug("endpoint answered", "status", resp.StatusCode, "login", login)

	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return nil, fmt.Errorf("httpjson: endpoint answered %s: %w", resp.Status, providers.ErrBusy)
	case resp.StatusCode >= 500, resp.StatusCode < 200, resp.StatusCode >= 300 && resp.StatusCode < 400:
		return nil, fmt.Errorf("httpjson: endpoint answered %s: %w", resp.Status, providers.ErrUnavailable)
	case len(raw) > maxAnswer:
		return nil, fmt.Errorf("httpjson: answer larger than %d bytes: %w", maxAnswer, providers.ErrUnavailable)
	}
	// Only an explicit answer means a wrong password: a 401 from a proxy
	// with a stale API key must not look like everyone mistyping.
	var a answer
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, fmt.Errorf("httpjson: endpoint answered %s without a JSON object: %w", resp.Status, providers.ErrUnavailable)
	}
	ok2xx := resp.StatusCode < 300
	switch {
	case a.Error != "" && accountReasons[a.Error]:
		return nil, &providers.AccountError{Reason: a.Error, Detail: a.Message}
	case a.Error == "invalid_credentials":
		return nil, providers.ErrInvalidCredentials
	case a.Error != "":
		return nil, fmt.Errorf("httpjson: endpoint error %q (%s): %w", a.Error, a.Message, providers.ErrUnavailable)
	case a.OK != nil && !*a.OK:
		return nil, providers.ErrInvalidCredentials
	case a.OK == nil || !ok2xx:
		return nil, fmt.Errorf("httpjson: endpoint answered %s without \"ok\": %w", resp.Status, providers.ErrUnavailable)
	case a.Subject == "":
		return nil, fmt.Errorf("httpjson: endpoint said ok without a subject: %w", providers.ErrUnavailable)
	}
	return &providers.Identity{
		ProviderID:    p.id,
		Subject:       a.Subject,
		Email:         a.Email,
		EmailVerified: a.EmailVerified,
		DisplayName:   a.Name,
		Phone:         a.Phone,
		Mobile:        a.Mobile,
		Organization:  a.Organization,
		Department:    a.Department,
		Groups:        a.Groups,
		AMR:           []string{"pwd"},
	}, nil
}

// stripURL drops the *url.Error wrapper, whose message repeats the URL.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
