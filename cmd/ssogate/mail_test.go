package main

import (
	"bytes"
	"context"
	"mime"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ssogate/ssogate/config"
	"github.com/ssogate/ssogate/internal/testpeers"
	"github.com/ssogate/ssogate/notify"
	"github.com/ssogate/ssogate/store"
)

// mailConfig writes a configuration whose notify.mail reaches peer with
// STARTTLS and AUTH as portal / password.
func mailConfig(t *testing.T, peer *testpeers.SMTPPeer, password string) string {
	t.Helper()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "smtp-pw"), []byte(password+"\n"), 0o600)
	path := filepath.Join(dir, "ssogate.yaml")
	os.WriteFile(path, []byte(`store:
  dsn: ./ssogate.db
portal:
  title: {ja: サンプル社 ポータル, en: Sample Co. Portal}
services:
  - id: wiki
    name: Wiki
    url: https://wiki.example.co.jp/
notify:
  mail:
    smtp: smtp://`+peer.Addr+`
    starttls: required
    username: portal
    password_file: smtp-pw
    ca_file: `+peer.CAFile+`
    from: サンプル社 ポータル <no-reply@example.co.jp>
`), 0o600)
	return path
}

// TestCLIMailTest: `ssogate mail test` sends at once through the
// configured server and prints each step; a wrong password says why it
// failed, and no output ever holds the password.
func TestCLIMailTest(t *testing.T) {
	const password = "Smtp-Passw0rd-9"
	peer := testpeers.StartSMTP(t, testpeers.SMTPOptions{RequireStartTLS: true, Username: "portal", Password: password})

	out, errOut, err := runCLI(t, "", "mail", "test", "--to", "taro@example.co.jp", "--config", mailConfig(t, peer, password))
	if err != nil {
		t.Fatalf("mail test: %v\n%s%s", err, out, errOut)
	}
	t.Logf("ssogate mail test:\n%s", out)
	for _, want := range []string{"server:     " + peer.Addr + " (smtp, starttls required)", "connected:  yes",
		"tls:        TLS 1.3, ", `auth:       PLAIN as "portal"`, "result:     accepted: "} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	mails := peer.WaitMails(t, 1, 5*time.Second)
	msg, err := mail.ReadMessage(bytes.NewReader(mails[0].Raw))
	if err != nil {
		t.Fatal(err)
	}
	subject, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if subject != "【サンプル社 ポータル】テストメール" || mails[0].RcptTos[0] != "taro@example.co.jp" {
		t.Errorf("received %q to %v", subject, mails[0].RcptTos)
	}

	out, errOut, err = runCLI(t, "", "mail", "test", "--to", "taro@example.co.jp", "--lang", "en", "--config", mailConfig(t, peer, "wrong-"+password))
	if err == nil || !strings.Contains(out, "result:     failed: ") || !strings.Contains(out, `sign-in as "portal" with AUTH PLAIN refused`) ||
		!strings.Contains(out, "tls:        TLS 1.3") {
		t.Errorf("wrong password: err %v\n%s%s", err, out, errOut)
	}
	t.Logf("ssogate mail test, wrong password:\n%s", out)
	if strings.Contains(out+errOut, password) {
		t.Errorf("the output holds the password:\n%s%s", out, errOut)
	}
	if n, _ := peer.Mails(); len(n) != 1 {
		t.Errorf("%d mails after the failed test, want 1", len(n))
	}
}

// TestServeMailWorker: the app's worker sends what the flows enqueue —
// to the development directory, with its link logged — and after a
// configuration reload to the SMTP server the new file names.
func TestServeMailWorker(t *testing.T) {
	h := newHarness(t, withServices("notify:\n  mail:\n    dir: mail\n    from: サンプル社 ポータル <no-reply@example.co.jp>\n"))
	ctx := context.Background()
	// The harness started the worker, as serve does: the configuration
	// names a transport.
	outbox := h.app.store.(store.Outbox)
	enqueue := func(to string) {
		m, err := h.app.gateway.Shared().Composer().Mail(to, "ja", notify.TemplatePasswordReset, "",
			notify.Data{Email: to, Link: "http://127.0.0.1/password/reset?ticket=T0p-Secret-Ticket", Expires: "12月20日"})
		if err != nil {
			t.Fatal(err)
		}
		m.CreatedAt = h.clock.Now()
		if err := outbox.EnqueueMessage(ctx, m); err != nil {
			t.Fatal(err)
		}
		h.app.mail.Kick()
	}

	enqueue("taro@example.co.jp")
	dir := filepath.Join(filepath.Dir(h.configPath), "mail")
	deadline := time.Now().Add(5 * time.Second)
	for {
		files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
		if len(files) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no mail in %s; logs:\n%s", dir, h.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(h.logs.String(), "T0p-Secret-Ticket") {
		t.Errorf("the development transport did not log the link:\n%s", h.logs.String())
	}

	peer := testpeers.StartSMTP(t, testpeers.SMTPOptions{})
	path := filepath.Join(t.TempDir(), "reloaded.yaml")
	src, _ := os.ReadFile(h.configPath)
	reloaded := strings.Replace(string(src), "    dir: mail\n", "    smtp: smtp://"+peer.Addr+"\n    ca_file: "+peer.CAFile+"\n", 1)
	os.WriteFile(path, []byte(reloaded), 0o600)
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.app.Reload(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	enqueue("hanako@example.co.jp")
	mails := peer.WaitMails(t, 1, 5*time.Second)
	if mails[0].RcptTos[0] != "hanako@example.co.jp" || mails[0].TLSVersion == "" {
		t.Errorf("after reload: %+v", mails[0])
	}
}
