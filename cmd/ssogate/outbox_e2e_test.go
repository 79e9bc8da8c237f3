package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ssogate/ssogate/internal/testpeers"
	"github.com/ssogate/ssogate/store"
	"github.com/ssogate/ssogate/store/sqlite"
)

// outboxConfig is a gateway with a local provider that mails through the
// SMTP peer at %SMTP% and keeps its state in %STORE% (a DSN line).
const outboxConfig = `server:
  listen: ${SSOGATE_TEST_LISTEN}
  public_url: %PUBLIC%
store:
%STORE%
session:
  secret_file: %DIR%/secret
log:
  level: info
providers:
  - id: local
    type: local
    hashing:
      memory_kib: 8192
      iterations: 1
      parallelism: 1
notify:
  mail:
    smtp: smtp://%SMTP%
    starttls: none
    from: サンプル社 ポータル <no-reply@example.co.jp>
`

// mailGateway is `ssogate serve` processes on one configuration.
type mailGateway struct {
	t      *testing.T
	bin    string
	dir    string
	config string
}

// newMailGateway writes the configuration for store (a YAML block under
// store:) and the SMTP peer's address.
func newMailGateway(t *testing.T, public, storeYAML, smtpAddr string) *mailGateway {
	t.Helper()
	g := &mailGateway{t: t, bin: buildSSOGate(t), dir: t.TempDir()}
	writeConfigFile(t, filepath.Join(g.dir, "secret"), "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldC1zZWNyZXQ=\n")
	yaml := strings.NewReplacer("%PUBLIC%", public, "%DIR%", g.dir, "%STORE%", storeYAML, "%SMTP%", smtpAddr).Replace(outboxConfig)
	g.config = filepath.Join(g.dir, "ssogate.yaml")
	writeConfigFile(t, g.config, yaml)
	return g
}

// serve starts one `ssogate serve` on addr and waits until it is ready.
func (g *mailGateway) serve(name, addr string) *childProc {
	g.t.Helper()
	cmd := exec.Command(g.bin, "--config", g.config, "serve")
	cmd.Env = append(os.Environ(), "SSOGATE_TEST_LISTEN="+addr)
	p := startChildProc(g.t, name, cmd)
	p.waitListening(g.t, addr)
	waitFor(g.t, func() bool {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return p
}

// cli runs the binary on the configuration.
func (g *mailGateway) cli(stdin string, args ...string) {
	g.t.Helper()
	cmd := exec.Command(g.bin, append([]string{"--config", g.config}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Env = append(os.Environ(), "SSOGATE_TEST_LISTEN=127.0.0.1:1")
	if out, err := cmd.CombinedOutput(); err != nil {
		g.t.Fatalf("ssogate %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// forgot asks the gateway at base for a reset link for email, as a
// browser would (the form's CSRF token included), and wants the answer
// every address gets.
func forgot(t *testing.T, base, email string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	b := &browser{h: &harness{t: t, url: base}, jar: jar, c: &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	expectStatus(t, b.get("/password/forgot"), http.StatusOK)
	expectRedirect(t, b.post("/password/forgot", url.Values{"email": {email}}), "/password/forgot?sent=1")
}

// resetMail is what a mail client shows of a reset mail.
type resetMail struct {
	to, subject, messageID, link string
}

// readResetMail reads a received reset mail as a mail client would.
func readResetMail(t *testing.T, m testpeers.ReceivedMail) resetMail {
	t.Helper()
	p := testpeers.ParseMail(t, m.Raw)
	link := regexp.MustCompile(`https?://[^\s"<>]+/password/reset\?ticket=[A-Za-z0-9._~%-]+`).FindString(p.Text)
	return resetMail{to: strings.Join(m.RcptTos, ","), subject: p.Subject, messageID: p.MessageID, link: link}
}

// TestOutboxSurvivesKill9 kills the gateway with SIGKILL after the forgot
// page has answered and before the mail could go (the mail server is down
// then): the restarted process sends it, once.
func TestOutboxSurvivesKill9(t *testing.T) {
	smtp := testpeers.StartSMTP(t, testpeers.SMTPOptions{NoStartTLS: true})
	smtp.Stop()
	addr := freeLoopbackAddr(t)
	dbPath := filepath.Join(t.TempDir(), "ssogate.db")
	g := newMailGateway(t, "http://"+addr, "  dsn: "+dbPath, smtp.Addr)
	g.cli("Sakura-Passw0rd!\n", "user", "add", "--email", "taro@example.co.jp", "--name", "山田 太郎", "--password-stdin")

	first := g.serve("ssogate-1", addr)
	forgot(t, "http://"+addr, "taro@example.co.jp")
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-first.done

	// The mail is in the outbox, unsent: the page's answer came after
	// its commit.
	st, err := sqlite.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	pending, err := st.ListMessages(context.Background(), store.MessageFilter{Pending: true})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 1 || pending[0].To != "taro@example.co.jp" {
		t.Fatalf("after kill -9 the outbox holds %d pending messages, want the one reset mail: %+v", len(pending), pending)
	}

	smtp.Start(t)
	g.serve("ssogate-2", addr)
	// A first try that failed against the stopped server is due again
	// 30 s (with jitter) later; an untried message at once.
	mails := smtp.WaitMails(t, 1, 90*time.Second)
	time.Sleep(3 * time.Second)
	if mails, _ = smtp.Mails(); len(mails) != 1 {
		t.Fatalf("%d mails received, want exactly 1", len(mails))
	}
	m := readResetMail(t, mails[0])
	if m.to != "taro@example.co.jp" || !strings.Contains(m.subject, "パスワード") || m.link == "" {
		t.Fatalf("the mail after the restart: to %q, subject %q, link found %v", m.to, m.subject, m.link != "")
	}
	resp, err := http.Get(m.link)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET of the mailed reset link: %d, want 200", resp.StatusCode)
	}
}

// TestTwoGatewaysSendEachMailOnce runs two gateway processes on one
// PostgreSQL database, asks each for reset links alternately, and wants
// every mail exactly once.
func TestTwoGatewaysSendEachMailOnce(t *testing.T) {
	pg := testpeers.Postgres(t)
	dsn := pg.Database(t)
	smtp := testpeers.StartSMTP(t, testpeers.SMTPOptions{NoStartTLS: true})
	a, b := freeLoopbackAddr(t), freeLoopbackAddr(t)
	g := newMailGateway(t, "http://"+a, "  driver: postgres\n  dsn: "+dsn, smtp.Addr)
	const n = 12 // under the 20 requests per client address an hour
	for i := range n {
		g.cli("Sakura-Passw0rd!\n", "user", "add", "--email", fmt.Sprintf("user%02d@example.co.jp", i),
			"--name", fmt.Sprintf("User %d", i), "--password-stdin")
	}
	g.serve("ssogate-a", a)
	g.serve("ssogate-b", b)
	for i := range n {
		addr := a
		if i%2 == 1 {
			addr = b
		}
		forgot(t, "http://"+addr, fmt.Sprintf("user%02d@example.co.jp", i))
	}
	smtp.WaitMails(t, n, 60*time.Second)
	// Both workers poll every 2 s: a second copy would have come by now.
	time.Sleep(5 * time.Second)
	mails, err := smtp.Mails()
	if err != nil {
		t.Fatal(err)
	}
	to := map[string]int{}
	ids := map[string]bool{}
	for _, raw := range mails {
		m := readResetMail(t, raw)
		to[m.to]++
		if ids[m.messageID] {
			t.Errorf("Message-ID %s received twice", m.messageID)
		}
		ids[m.messageID] = true
		if m.link == "" {
			t.Errorf("mail to %s without a reset link", m.to)
		}
	}
	if len(mails) != n {
		t.Errorf("%d mails received for %d requests, want one each: %v", len(mails), n, to)
	}
	for i := range n {
		if c := to[fmt.Sprintf("user%02d@example.co.jp", i)]; c != 1 {
			t.Errorf("user%02d received %d mails, want 1", i, c)
		}
	}
}
