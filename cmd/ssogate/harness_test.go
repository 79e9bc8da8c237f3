package main

import (
	"context"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ssogate/ssogate/config"
	"github.com/ssogate/ssogate/internal/testclock"
	"github.com/ssogate/ssogate/internal/testpeers"
	"github.com/ssogate/ssogate/store"
)

// testConfig is the configuration every end-to-end test starts from;
// %PUBLIC% and %DSN% are filled in by newHarness. Hashing is cheap so the
// suite stays fast; the cost parameters themselves are tested in
// providers/local.
const testConfig = `
server:
  listen: %LISTEN%
  public_url: %PUBLIC%
store:
  driver: sqlite
  dsn: %DSN%
session:
  idle_timeout: 30m
  absolute_timeout: 12h
  cache_ttl: 5s
portal:
  title: テスト社ポータル
log:
  level: debug
providers:
  - id: local
    type: local
    label: メールアドレスでログイン
    hashing:
      memory_kib: 8192
      iterations: 1
      parallelism: 1
services:
  - id: wiki
    name: 社内Wiki
    name_en: Wiki
    description: 社内の手順書
    icon: book
    url: http://127.0.0.1:9001/
  - id: expenses
    name: 経費精算
    icon: money
    url: http://127.0.0.1:9002/
    allowed_groups: [staff]
  - id: admin-console
    name: 管理コンソール
    icon: settings
    url: http://127.0.0.1:9003/
    allowed_groups: [admins]
`

// harness is a real gateway on a loopback port, with its store, clock and
// log.
type harness struct {
	t          *testing.T
	url        string
	app        *app
	clock      *testclock.Clock
	logs       *testpeers.SyncBuffer
	configPath string
	srv        *httptest.Server
}

type harnessOption func(string) string

// withMail sends the gateway's mail to the SMTP peer p (plain SMTP on
// loopback), through the outbox worker.
func withMail(p *testpeers.SMTPPeer) harnessOption {
	return func(s string) string {
		return s + "notify:\n  mail:\n    smtp: smtp://" + p.Addr + "\n    starttls: none\n" +
			"    from: サンプル社 ポータル <no-reply@example.co.jp>\n"
	}
}

// mailLink waits for the n-th mail the peer p received (counting from 1),
// reads it as a mail client would, and returns its subject and the first
// link on the gateway h in its text part.
func (h *harness) mailLink(p *testpeers.SMTPPeer, n int) (subject, link string) {
	h.t.Helper()
	mails := p.WaitMails(h.t, n, 30*time.Second)
	m := testpeers.ParseMail(h.t, mails[n-1].Raw)
	link = regexp.MustCompile(regexp.QuoteMeta(h.url) + `/[^\s"<>]*`).FindString(m.Text)
	if link == "" {
		h.t.Fatalf("mail %q has no link to %s:\n%s", m.Subject, h.url, m.Text)
	}
	return m.Subject, link
}

// withServices appends YAML service entries to the services list (which
// ends the test configuration).
func withServices(yaml string) harnessOption {
	return func(s string) string { return s + yaml }
}

func newHarness(t *testing.T, opts ...harnessOption) *harness {
	t.Helper()
	return startHarness(t, false, nil, opts...)
}

// newHarnessWrapped is newHarness with the store wrapped, e.g. to count
// the calls the hot path makes.
func newHarnessWrapped(t *testing.T, wrap func(store.Store) store.Store, opts ...harnessOption) *harness {
	t.Helper()
	return startHarness(t, false, wrap, opts...)
}

// newTLSHarness serves the gateway over https (a test certificate), so the
// public URL is https and cookies take their production form.
func newTLSHarness(t *testing.T, opts ...harnessOption) *harness {
	t.Helper()
	return startHarness(t, true, nil, opts...)
}

func startHarness(t *testing.T, tls bool, wrap func(store.Store) store.Store, opts ...harnessOption) *harness {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	scheme := "http"
	if tls {
		scheme = "https"
	}
	public := scheme + "://" + ln.Addr().String()
	dir := t.TempDir()
	yaml := strings.NewReplacer("%LISTEN%", ln.Addr().String(), "%PUBLIC%", public, "%DSN%", filepath.Join(dir, "ssogate.db")).Replace(testConfig)
	for _, o := range opts {
		yaml = o(yaml)
	}
	path := filepath.Join(dir, "ssogate.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	h := &harness{t: t, url: public, clock: testclock.New(time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)), logs: &testpeers.SyncBuffer{}, configPath: path}
	log := slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h.app, err = newAppWith(context.Background(), cfg, log, h.clock.Now, wrap)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Notify.Mail.SMTP != "" || cfg.Notify.Mail.Dir != "" || cfg.Notify.SMS.Type != "" || cfg.Notify.Voice.Type != "" {
		// A test that names a mail (or SMS, voice) transport gets its mail sent, as
		// serve does; the others read the outbox as the flows left it.
		h.app.mail.start(context.Background())
	}
	h.srv = &httptest.Server{Listener: ln, Config: &http.Server{Handler: h.app.Handler()}}
	if tls {
		h.srv.StartTLS()
	} else {
		h.srv.Start()
	}
	t.Cleanup(func() {
		h.srv.Close()
		h.app.Close()
	})
	return h
}

// addUser creates an active local user with a password.
func (h *harness) addUser(email, name, password string, groups ...string) *store.User {
	h.t.Helper()
	ctx := context.Background()
	u := &store.User{Email: email, DisplayName: name, Groups: groups, Role: store.RoleUser, Status: store.StatusActive}
	if err := h.app.store.CreateUser(ctx, u); err != nil {
		h.t.Fatal(err)
	}
	hash, err := h.app.local.Hash(ctx, password)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := h.app.store.SetPasswordHash(ctx, u.ID, hash); err != nil {
		h.t.Fatal(err)
	}
	return u
}

// browser is an HTTP client with its own cookie jar that does not follow
// redirects, so tests see every hop.
type browser struct {
	h    *harness
	c    *http.Client
	jar  *cookiejar.Jar
	csrf string // token from the last page fetched
	lang string
	xff  string // X-Forwarded-For to send, as if through a proxy
}

func (h *harness) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{h: h, jar: jar, c: &http.Client{
		Transport:     h.srv.Client().Transport,
		Jar:           jar,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// page is a response with its body read.
type page struct {
	*http.Response
	body string
}

var csrfRe = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func (b *browser) do(req *http.Request) *page {
	b.h.t.Helper()
	if b.lang != "" {
		req.Header.Set("Accept-Language", b.lang)
	}
	if b.xff != "" {
		req.Header.Set("X-Forwarded-For", b.xff)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.h.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	p := &page{Response: resp, body: string(body)}
	if m := csrfRe.FindStringSubmatch(p.body); m != nil {
		b.csrf = html.UnescapeString(m[1])
	}
	return p
}

func (b *browser) get(path string) *page {
	req, _ := http.NewRequest("GET", b.h.url+path, nil)
	return b.do(req)
}

// post submits a form the way a browser on the gateway's own page would:
// with the page's CSRF token and a same-origin Origin header.
func (b *browser) post(path string, form url.Values) *page {
	if _, ok := form["csrf_token"]; !ok {
		form.Set("csrf_token", b.csrf)
	}
	return b.postRaw(path, form, b.h.url)
}

// postRaw submits form exactly as given, with the given Origin ("" = none).
func (b *browser) postRaw(path string, form url.Values, origin string) *page {
	req, _ := http.NewRequest("POST", b.h.url+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	return b.do(req)
}

// login signs in through the form and returns the final response.
func (b *browser) login(email, password, returnTo string) *page {
	b.h.t.Helper()
	b.get("/login")
	return b.post("/login", url.Values{"email": {email}, "password": {password}, "return_to": {returnTo}})
}

func (b *browser) cookie(name string) *http.Cookie {
	u, _ := url.Parse(b.h.url)
	for _, c := range b.jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func expectStatus(t *testing.T, p *page, want int) {
	t.Helper()
	if p.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d\n%s", p.Request.Method, p.Request.URL, p.StatusCode, want, snippet(p.body))
	}
}

func expectRedirect(t *testing.T, p *page, want string) {
	t.Helper()
	if p.StatusCode != http.StatusSeeOther && p.StatusCode != http.StatusFound {
		t.Fatalf("%s %s: status %d, want a redirect to %s\n%s", p.Request.Method, p.Request.URL, p.StatusCode, want, snippet(p.body))
	}
	if got := p.Header.Get("Location"); got != want {
		t.Fatalf("%s %s: Location %q, want %q", p.Request.Method, p.Request.URL, got, want)
	}
}

func snippet(s string) string {
	if len(s) > 600 {
		return s[:600] + "…"
	}
	return s
}
