package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// defaultNotify is notify with nothing written: no transport, the
// documented timeout and give-up time.
var defaultNotify = Notify{Mail: Mail{Timeout: Duration(30 * time.Second)}, Outbox: Outbox{GiveUpAfter: Duration(3 * 24 * time.Hour)}}

// TestNotifyValid: the forms of notify that load, with their defaults
// and derived values.
func TestNotifyValid(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "smtp-pw"), []byte("s3cret\n"), 0o600)
	c := mustLoad(t, dir, `notify:
  mail:
    smtp: smtp://mail.example.co.jp
    username: portal
    password_file: smtp-pw
    from: サンプル社 ポータル <no-reply@example.co.jp>
  outbox:
    give_up_after: 1d
`)
	m := c.Notify.Mail
	if m.StartTLS != "required" || m.Password != "s3cret" || m.Timeout.D() != 30*time.Second || c.Notify.Outbox.GiveUpAfter.D() != 24*time.Hour {
		t.Errorf("notify = %+v %+v", m, c.Notify.Outbox)
	}
	c = mustLoad(t, dir, "notify:\n  mail:\n    dir: mail\n    from: no-reply@example.co.jp\n")
	if c.Notify.Mail.Dir != filepath.Join(dir, "mail") {
		t.Errorf("dir %q is not resolved against the file's directory", c.Notify.Mail.Dir)
	}
	c = mustLoad(t, dir, "notify:\n  mail:\n    smtp: smtps://mail.example.co.jp\n    from: no-reply@example.co.jp\n")
	if c.Notify.Mail.StartTLS != "" {
		t.Errorf("smtps got starttls %q", c.Notify.Mail.StartTLS)
	}
}

// TestNotifyErrors: each wrong setting is reported at its line with what
// would be valid.
func TestNotifyErrors(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "notca.pem"), []byte("not a certificate\n"), 0o600)
	tests := []struct{ name, src, want string }{
		{"smtp and dir", "notify:\n  mail:\n    smtp: smtp://mail.example.co.jp\n    dir: ./mail\n    from: a@example.co.jp\n",
			"ssogate.yaml:4: notify.mail.dir: set either notify.mail.smtp (a mail server) or notify.mail.dir"},
		{"bad scheme", "notify:\n  mail:\n    smtp: https://mail.example.co.jp\n    from: a@example.co.jp\n",
			`ssogate.yaml:3: notify.mail.smtp: "https://mail.example.co.jp" is not an SMTP server URL; use smtp://`},
		{"password in the URL", "notify:\n  mail:\n    smtp: smtp://u:p@mail.example.co.jp\n    from: a@example.co.jp\n",
			"ssogate.yaml:3: notify.mail.smtp: must not hold a user name or password"},
		{"starttls value", "notify:\n  mail:\n    smtp: smtp://mail.example.co.jp\n    starttls: always\n    from: a@example.co.jp\n",
			`ssogate.yaml:4: notify.mail.starttls: unknown starttls mode "always"; valid: required, opportunistic, none`},
		{"starttls with smtps", "notify:\n  mail:\n    smtp: smtps://mail.example.co.jp\n    starttls: required\n    from: a@example.co.jp\n",
			"ssogate.yaml:4: notify.mail.starttls: does not apply to smtps://"},
		{"from missing", "notify:\n  mail:\n    smtp: smtp://mail.example.co.jp\n",
			"ssogate.yaml:2: notify.mail.from: must be set to send mail"},
		{"from not an address", "notify:\n  mail:\n    dir: ./mail\n    from: サンプル社 ポータル\n",
			`ssogate.yaml:4: notify.mail.from: "サンプル社 ポータル" is not a mail address`},
		{"username without password", "notify:\n  mail:\n    smtp: smtp://mail.example.co.jp\n    username: portal\n    from: a@example.co.jp\n",
			"notify.mail.password: must be set with notify.mail.username"},
		{"password in clear", "notify:\n  mail:\n    smtp: smtp://mail.example.co.jp\n    starttls: none\n    username: portal\n    password: x\n    from: a@example.co.jp\n",
			"ssogate.yaml:4: notify.mail.starttls: none would send the SMTP password to mail.example.co.jp unencrypted"},
		{"ca_file not PEM", "notify:\n  mail:\n    smtp: smtp://mail.example.co.jp\n    ca_file: notca.pem\n    from: a@example.co.jp\n",
			"ssogate.yaml:4: notify.mail.ca_file: " + filepath.Join(dir, "notca.pem") + " holds no PEM certificate"},
		{"ca_file missing", "notify:\n  mail:\n    smtp: smtp://mail.example.co.jp\n    ca_file: nope.pem\n    from: a@example.co.jp\n",
			"ssogate.yaml:4: notify.mail.ca_file: cannot read the file"},
		{"give_up_after", "notify:\n  outbox:\n    give_up_after: 0s\n",
			"ssogate.yaml:3: notify.outbox.give_up_after: 0s is too short to retry in"},
		{"timeout", "notify:\n  mail:\n    timeout: 0s\n", "ssogate.yaml:3: notify.mail.timeout: must be greater than 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, "ssogate.yaml")
			os.WriteFile(path, []byte(tt.src+oneService), 0o600)
			_, err := Load(path)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Load error =\n%v\nwant one containing\n%s", err, tt.want)
			}
		})
	}
}

// TestNotifyWarnings: no transport at all, and the development directory
// with an https public URL, are warned about; a mail server is not.
func TestNotifyWarnings(t *testing.T) {
	dir := t.TempDir()
	tests := []struct{ src, want string }{
		{"server:\n  public_url: http://127.0.0.1:8080\n", "notify.mail: neither smtp nor dir is set, so no mail can be sent"},
		{"server:\n  listen: 127.0.0.1:8443\n  public_url: https://sso.example.co.jp\nnotify:\n  mail:\n    dir: ./mail\n    from: a@example.co.jp\n",
			"ssogate.yaml:6: notify.mail.dir: writes mails to files and their one-time links to the log"},
		{"notify:\n  mail:\n    smtp: smtp://mail.example.co.jp\n    from: a@example.co.jp\n", ""},
		{"notify:\n  mail:\n    dir: ./mail\n    from: a@example.co.jp\n", ""},
	}
	for _, tt := range tests {
		c := mustLoad(t, dir, tt.src)
		var got []string
		for _, w := range c.Warnings() {
			got = append(got, w.Error())
		}
		if tt.want == "" && len(got) != 0 || tt.want != "" && (len(got) != 1 || !strings.Contains(got[0], tt.want)) {
			t.Errorf("%q: warnings %q, want %q", tt.src, got, tt.want)
		}
	}
}

// mustLoad loads src (with one service) as dir/ssogate.yaml.
func mustLoad(t *testing.T, dir, src string) *Config {
	t.Helper()
	path := filepath.Join(dir, "ssogate.yaml")
	if err := os.WriteFile(path, []byte(src+oneService), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
