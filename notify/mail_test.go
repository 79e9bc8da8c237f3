package notify

import (
	"bytes"
	"context"
	"errors"
	"html"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ssogate/ssogate/config"
	"github.com/ssogate/ssogate/internal/testpeers"
	"github.com/ssogate/ssogate/store"
)

var testTitle = config.Text{"ja": "サンプル社 ポータル", "en": "Sample Co. Portal"}

const (
	testFrom = "サンプル社 ポータル <no-reply@example.co.jp>"
	// testLink has what a link may: a query, an & and characters that
	// quoted-printable and HTML would both escape.
	testLink = "https://sso.example.co.jp/password/reset?ticket=Ab-_9zQ=x&lang=ja"
)

// outgoing renders a password reset for to in lang.
func outgoing(t *testing.T, id, to, lang string) *Outgoing {
	t.Helper()
	c, err := NewRenderer(testTitle, "ja").Render(&store.Message{Template: TemplatePasswordReset, Language: lang},
		Data{Name: "山田 太郎", Email: to, Link: testLink, Expires: "2026年12月20日 09:00"})
	if err != nil {
		t.Fatal(err)
	}
	return &Outgoing{ID: id, To: to, Content: c, Date: time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)}
}

// TestSMTPModes sends through each way of reaching a server and checks
// how the mail arrived (TLS, AUTH) or why it did not.
func TestSMTPModes(t *testing.T) {
	const user, pass = "portal", "s3cret-Pässword"
	tests := []struct {
		name      string
		peer      testpeers.SMTPOptions
		scheme    string
		starttls  string
		user      string
		password  string
		noCA      bool
		wantTLS   bool
		wantAuth  string
		wantError string
	}{
		{name: "starttls required, AUTH PLAIN", peer: testpeers.SMTPOptions{RequireStartTLS: true, Username: user, Password: pass},
			scheme: "smtp", starttls: "required", user: user, password: pass, wantTLS: true, wantAuth: "PLAIN"},
		{name: "starttls required, AUTH LOGIN", peer: testpeers.SMTPOptions{Username: user, Password: pass, Mechanisms: []string{"LOGIN"}},
			scheme: "smtp", starttls: "required", user: user, password: pass, wantTLS: true, wantAuth: "LOGIN"},
		{name: "starttls required, server without it", peer: testpeers.SMTPOptions{NoStartTLS: true},
			scheme: "smtp", starttls: "required", wantError: "STARTTLS"},
		{name: "starttls opportunistic, offered", peer: testpeers.SMTPOptions{},
			scheme: "smtp", starttls: "opportunistic", wantTLS: true},
		{name: "starttls opportunistic, not offered", peer: testpeers.SMTPOptions{NoStartTLS: true},
			scheme: "smtp", starttls: "opportunistic", wantTLS: false},
		{name: "starttls none", peer: testpeers.SMTPOptions{Username: user, Password: pass, AuthWithoutTLS: true},
			scheme: "smtp", starttls: "none", user: user, password: pass, wantTLS: false, wantAuth: "PLAIN"},
		{name: "smtps, AUTH LOGIN", peer: testpeers.SMTPOptions{ImplicitTLS: true, Username: user, Password: pass, Mechanisms: []string{"LOGIN"}},
			scheme: "smtps", user: user, password: pass, wantTLS: true, wantAuth: "LOGIN"},
		{name: "smtps, AUTH PLAIN", peer: testpeers.SMTPOptions{ImplicitTLS: true, Username: user, Password: pass},
			scheme: "smtps", user: user, password: pass, wantTLS: true, wantAuth: "PLAIN"},
		{name: "wrong password", peer: testpeers.SMTPOptions{RequireStartTLS: true, Username: user, Password: pass},
			scheme: "smtp", starttls: "required", user: user, password: "wrong", wantError: `sign-in as "portal" with AUTH PLAIN refused`},
		{name: "starttls without the custom CA", peer: testpeers.SMTPOptions{RequireStartTLS: true},
			scheme: "smtp", starttls: "required", noCA: true, wantError: "ca_file"},
		{name: "smtps without the custom CA", peer: testpeers.SMTPOptions{ImplicitTLS: true},
			scheme: "smtps", noCA: true, wantError: "ca_file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			peer := testpeers.StartSMTP(t, tt.peer)
			c := SMTPConfig{URL: tt.scheme + "://" + peer.Addr, StartTLS: tt.starttls, Username: tt.user,
				Password: tt.password, From: testFrom, RootCAs: peer.RootCAs, Timeout: 10 * time.Second}
			if tt.noCA {
				c.RootCAs = nil
			}
			s, err := NewSMTP(c)
			if err != nil {
				t.Fatal(err)
			}
			rep, err := s.Deliver(context.Background(), outgoing(t, "m1", "taro@example.co.jp", "ja"))
			if tt.wantError != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantError) {
					t.Fatalf("err = %v, want one saying %q", err, tt.wantError)
				}
				if strings.Contains(err.Error(), tt.password) && tt.password != "" {
					t.Errorf("the error holds the password: %v", err)
				}
				if mails, _ := peer.Mails(); len(mails) != 0 {
					t.Errorf("%d mails arrived despite the error", len(mails))
				}
				return
			}
			if err != nil {
				t.Fatalf("Deliver: %v", err)
			}
			mails := peer.WaitMails(t, 1, 5*time.Second)
			got := mails[0]
			if (got.TLSVersion != "") != tt.wantTLS || (rep.TLSVersion != "") != tt.wantTLS {
				t.Errorf("TLS: server saw %q, report %q; want TLS %v", got.TLSVersion, rep.TLSVersion, tt.wantTLS)
			}
			if got.AuthMechanism != tt.wantAuth || rep.Auth != tt.wantAuth {
				t.Errorf("AUTH: server saw %q, report %q; want %q", got.AuthMechanism, rep.Auth, tt.wantAuth)
			}
			if got.MailFrom != "no-reply@example.co.jp" || len(got.RcptTos) != 1 || got.RcptTos[0] != "taro@example.co.jp" {
				t.Errorf("envelope from %q to %q", got.MailFrom, got.RcptTos)
			}
			if !rep.Connected || !strings.Contains(rep.Response, "queued as") {
				t.Errorf("report %+v", rep)
			}
		})
	}
}

// TestMailArrivesReadable sends the ja and en reset mails and reads them
// as a mail client would: subject and sender name decoded, link intact in
// both parts, Message-ID from the outbox id, Date.
func TestMailArrivesReadable(t *testing.T) {
	peer := testpeers.StartSMTP(t, testpeers.SMTPOptions{})
	s, err := NewSMTP(SMTPConfig{URL: "smtp://" + peer.Addr, From: testFrom, RootCAs: peer.RootCAs})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"ja": "【サンプル社 ポータル】パスワードリセット", "en": "[Sample Co. Portal] Password reset"}
	for i, lang := range []string{"ja", "en"} {
		if err := s.Send(context.Background(), outgoing(t, "msg-"+lang, "taro@example.co.jp", lang)); err != nil {
			t.Fatal(err)
		}
		got := testpeers.ParseMail(t, peer.WaitMails(t, i+1, 5*time.Second)[i].Raw)
		if got.Subject != want[lang] {
			t.Errorf("%s subject %q, want %q", lang, got.Subject, want[lang])
		}
		if got.FromName != "サンプル社 ポータル" || got.FromAddr != "no-reply@example.co.jp" {
			t.Errorf("From %q <%s>", got.FromName, got.FromAddr)
		}
		if got.MessageID != "<msg-"+lang+"@example.co.jp>" {
			t.Errorf("Message-ID %q", got.MessageID)
		}
		if !got.Date.Equal(time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)) {
			t.Errorf("Date %v", got.Date)
		}
		if !strings.Contains(got.Text, "\n"+testLink+"\n") {
			t.Errorf("%s text part lacks the link on a line of its own:\n%s", lang, got.Text)
		}
		if !strings.Contains(got.HTML, `href="`+html.EscapeString(testLink)+`"`) &&
			!strings.Contains(html.UnescapeString(got.HTML), `href="`+testLink+`"`) {
			t.Errorf("%s HTML part lacks the link:\n%s", lang, got.HTML)
		}
		name := map[string]string{"ja": "山田 太郎 様", "en": "Dear 山田 太郎,"}[lang]
		if !strings.HasPrefix(got.Text, name) || !strings.Contains(got.HTML, name) {
			t.Errorf("%s greeting %q missing:\n%s", lang, name, got.Text)
		}
	}
}

// TestSMTPRefusals: a 5xx to the recipient is permanent, a 4xx is not.
func TestSMTPRefusals(t *testing.T) {
	peer := testpeers.StartSMTP(t, testpeers.SMTPOptions{})
	s, err := NewSMTP(SMTPConfig{URL: "smtp://" + peer.Addr, From: testFrom, RootCAs: peer.RootCAs})
	if err != nil {
		t.Fatal(err)
	}
	var perm *PermanentError
	err = s.Send(context.Background(), outgoing(t, "r1", "reject@example.co.jp", "ja"))
	if !errors.As(err, &perm) || !strings.Contains(err.Error(), "550") {
		t.Errorf("550: err = %v, want a PermanentError", err)
	}
	err = s.Send(context.Background(), outgoing(t, "r2", "tempfail@example.co.jp", "ja"))
	if err == nil || errors.As(err, &perm) || !strings.Contains(err.Error(), "451") {
		t.Errorf("451: err = %v, want a temporary error", err)
	}
}

// TestDirTransport writes the mail as an .eml a mail client reads, and
// logs its link (the only place one is logged).
func TestDirTransport(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mail")
	var logs bytes.Buffer
	d, err := NewDir(dir, testFrom, slogTo(&logs))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Send(context.Background(), outgoing(t, "dev1", "taro@example.co.jp", "ja")); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	if len(files) != 1 {
		t.Fatalf("files %v", files)
	}
	raw, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	got := testpeers.ParseMail(t, raw)
	if got.Subject != "【サンプル社 ポータル】パスワードリセット" || !strings.Contains(got.Text, testLink) {
		t.Errorf("mail %+v", got)
	}
	if !strings.Contains(logs.String(), files[0]) || !strings.Contains(logs.String(), testLink) {
		t.Errorf("log line lacks the path or the link: %s", logs.String())
	}
}
