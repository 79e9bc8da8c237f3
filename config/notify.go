package config

import (
	"crypto/x509"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Notify is how the gateway sends messages (mails of the account flows):
//
//	notify:
//	  mail:
//	    smtp: smtp://mail.example.co.jp:587   # smtps:// for implicit TLS
//	    starttls: required                   # required | opportunistic | none
//	    username: portal
//	    password_file: /run/secrets/smtp
//	    from: サンプル社 ポータル <no-reply@example.co.jp>
//	  outbox:
//	    give_up_after: 3d
type Notify struct {
	Mail Mail `yaml:"mail"`
	// SMS and Voice deliver the codes of 2-step verification (see
	// phone.go).
	SMS    Phone  `yaml:"sms"`
	Voice  Phone  `yaml:"voice"`
	Outbox Outbox `yaml:"outbox"`
}

// Mail is notify.mail: an SMTP server, or a directory for development.
type Mail struct {
	// SMTP is smtp://host[:port] (port 587 by default; STARTTLS as
	// StartTLS says) or smtps://host[:port] (TLS from the first byte; port
	// 465 by default). Set SMTP or Dir, not both; with neither, no mail
	// can be sent (check-config warns).
	SMTP string `yaml:"smtp"`
	// StartTLS is for smtp://: required (default; the mail is not sent
	// over a connection the server will not encrypt), opportunistic
	// (encrypt when offered) or none.
	StartTLS string `yaml:"starttls"`
	// Username and Password (or PasswordFile) sign in with AUTH PLAIN or
	// LOGIN. A password is never sent without TLS except to a loopback
	// server.
	Username     string `yaml:"username"`
	Password     string `yaml:"password"`
	PasswordFile string `yaml:"password_file"`
	// From is the sender, "サンプル社 ポータル <no-reply@example.co.jp>" or a
	// bare address; required with SMTP or Dir.
	From string `yaml:"from"`
	// CAFile is a PEM file of CA certificates that verify the server's
	// certificate instead of the system's.
	CAFile string `yaml:"ca_file"`
	// Dir, for development only, writes each mail to this directory as an
	// .eml file instead of sending it, and logs its links. Relative to the
	// configuration file's directory.
	Dir string `yaml:"dir"`
	// Timeout bounds one delivery (connect, TLS, AUTH, send). Default 30s.
	Timeout Duration `yaml:"timeout"`

	// RootCAs holds CAFile's certificates after validation (nil: the
	// system's).
	RootCAs *x509.CertPool `yaml:"-"`
}

// Outbox is notify.outbox: how long unsent messages are tried.
type Outbox struct {
	// GiveUpAfter is how long after it was written a message that could
	// not be sent is given up (with a mail_given_up audit event). Default
	// 3d.
	GiveUpAfter Duration `yaml:"give_up_after"`
}

// StartTLS values.
var startTLSModes = []string{"required", "opportunistic", "none"}

const (
	defaultStartTLS    = "required"
	defaultMailTimeout = 30 * time.Second
	defaultGiveUpAfter = 3 * 24 * time.Hour
	smtpExample        = "smtp://mail.example.co.jp:587 (STARTTLS) or smtps://mail.example.co.jp:465"
	fromExample        = "サンプル社 ポータル <no-reply@example.co.jp>"
)

// notifyDefaults fills notify's defaults.
func (c *Config) notifyDefaults() {
	m := &c.Notify.Mail
	if strings.HasPrefix(strings.ToLower(m.SMTP), "smtp://") {
		setString(&m.StartTLS, defaultStartTLS)
	}
	if m.Timeout == 0 && !c.src.present("notify.mail.timeout") {
		m.Timeout = Duration(defaultMailTimeout)
	}
	if m.Dir != "" {
		m.Dir = c.src.resolve(m.Dir)
	}
	if c.Notify.Outbox.GiveUpAfter == 0 && !c.src.present("notify.outbox.give_up_after") {
		c.Notify.Outbox.GiveUpAfter = Duration(defaultGiveUpAfter)
	}
}

// notifyFiles reads notify's *_file keys while decoding.
func (d *decoder) notifyFiles(m *Mail) {
	d.readSecretFile(&m.Password, m.PasswordFile, "notify.mail.password", "notify.mail.password_file")
	d.checkFile(&m.CAFile, "notify.mail.ca_file")
}

func (v *validator) notify() {
	m := &v.c.Notify.Mail
	if m.SMTP != "" && m.Dir != "" {
		v.errorf("notify.mail.dir", "set either notify.mail.smtp (a mail server) or notify.mail.dir (development: mails written to files), not both")
	}
	var host string
	if m.SMTP != "" {
		u, err := url.Parse(m.SMTP)
		switch {
		case err != nil || u.Hostname() == "" || (u.Scheme != "smtp" && u.Scheme != "smtps"):
			v.errorf("notify.mail.smtp", "%q is not an SMTP server URL; use %s", m.SMTP, smtpExample)
		case u.User != nil:
			v.errorf("notify.mail.smtp", "must not hold a user name or password; use notify.mail.username and password_file")
		case (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "":
			v.errorf("notify.mail.smtp", "must be scheme://host[:port] only; use %s", smtpExample)
		default:
			if p := u.Port(); p != "" {
				if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
					v.errorf("notify.mail.smtp", "port %q is not a number from 1 to 65535", p)
				}
			}
			host = u.Hostname()
			if u.Scheme == "smtps" && m.StartTLS != "" {
				v.errorf("notify.mail.starttls", "does not apply to smtps://, which is TLS from the first byte; leave it out")
			}
		}
	}
	if m.StartTLS != "" {
		v.oneOf("notify.mail.starttls", "starttls mode", m.StartTLS, startTLSModes)
	}
	pwKey := "notify.mail.password"
	if m.PasswordFile != "" {
		pwKey = "notify.mail.password_file"
	}
	switch {
	case m.Username != "" && m.Password == "":
		v.errorf(pwKey, "must be set with notify.mail.username (password_file: /run/secrets/smtp)")
	case m.Username == "" && m.Password != "":
		v.errorf("notify.mail.username", "must be set with notify.mail.password")
	case m.Username != "" && m.SMTP == "":
		v.errorf("notify.mail.username", "is for notify.mail.smtp, which is not set")
	case m.Username != "" && m.StartTLS == "none" && host != "" && !loopbackHost(host):
		v.errorf("notify.mail.starttls", "none would send the SMTP password to %s unencrypted; use required (or smtps://)", host)
	}
	if (m.SMTP != "" || m.Dir != "") && m.From == "" {
		v.errorf("notify.mail.from", "must be set to send mail, e.g. %s", fromExample)
	}
	if m.From != "" {
		a, err := mail.ParseAddress(m.From)
		if err != nil {
			v.errorf("notify.mail.from", "%q is not a mail address (%v); use e.g. %s", m.From, err, fromExample)
		} else if i := strings.LastIndexByte(a.Address, '@'); i < 1 || i == len(a.Address)-1 {
			v.errorf("notify.mail.from", "%q has no domain; use e.g. %s", m.From, fromExample)
		}
	}
	if m.CAFile != "" {
		if pemData, err := os.ReadFile(m.CAFile); err == nil {
			pool := x509.NewCertPool()
			if pool.AppendCertsFromPEM(pemData) {
				m.RootCAs = pool
			} else {
				v.errorf("notify.mail.ca_file", "%s holds no PEM certificate", m.CAFile)
			}
		} else if v.c.src == nil {
			v.errorf("notify.mail.ca_file", "cannot read the file: %v", err)
		}
	}
	if m.Timeout <= 0 {
		v.errorf("notify.mail.timeout", "must be greater than 0, e.g. 30s")
	}
	if g := v.c.Notify.Outbox.GiveUpAfter; g < Duration(time.Minute) {
		v.errorf("notify.outbox.give_up_after", "%s is too short to retry in; use at least 1m, e.g. 3d", g)
	}
}

// loopbackHost reports whether host is localhost or a loopback address.
func loopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// notifyWarnings are notify's valid but doubtful settings.
func (c *Config) notifyWarnings() []*Error {
	m := &c.Notify.Mail
	var ws []*Error
	switch {
	case m.SMTP == "" && m.Dir == "":
		ws = append(ws, c.ErrorAt("notify.mail", "neither smtp nor dir is set, so no mail can be sent: the unlock, password reset "+
			"and email change mails wait in the outbox and are given up after notify.outbox.give_up_after; "+
			"set notify.mail.smtp (and from) to send them"))
	case m.Dir != "" && c.Server.PublicURLParsed != nil && c.Server.PublicURLParsed.Scheme == "https":
		ws = append(ws, c.ErrorAt("notify.mail.dir", "writes mails to files and their one-time links to the log instead of "+
			"sending them; it is for development (`make run`), but public_url is https; set notify.mail.smtp for production"))
	}
	return ws
}
