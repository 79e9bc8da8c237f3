package notify

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"

	"github.com/ssogate/ssogate/store"
)

// Outgoing is one rendered message, ready for its channel.
type Outgoing struct {
	// ID is the outbox message's id. Mail makes the Message-ID of it, so
	// that a resend after a crash mid-send carries the same Message-ID.
	ID string
	// To is the recipient: a mail address, or an E.164 number.
	To string
	Content
	// Date is when the message is sent.
	Date time.Time
}

// Sender delivers messages on one channel. Mail (SMTP, or a directory
// in development) is one; SMS and voice join behind the same interface.
type Sender interface {
	// Channel is the channel the Sender delivers on.
	Channel() store.Channel
	// Send delivers o, or returns why not. An error that is a
	// *PermanentError means trying again cannot help.
	Send(ctx context.Context, o *Outgoing) error
}

// PermanentError is a delivery the receiving side refused for good (an
// SMTP 5xx answer to the sender, recipient or content): the worker gives
// the message up at once instead of retrying for days.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// StartTLS values of an smtp:// server.
const (
	StartTLSRequired      = "required"
	StartTLSOpportunistic = "opportunistic"
	StartTLSNone          = "none"
)

// SMTPConfig is how to reach the mail server:
//
//	notify:
//	  mail:
//	    smtp: smtp://mail.example.co.jp:587   # smtps:// for implicit TLS
//	    starttls: required                   # required | opportunistic | none
//	    username: portal
//	    password_file: /run/secrets/smtp
//	    from: サンプル社 ポータル <no-reply@example.co.jp>
type SMTPConfig struct {
	// URL is smtp://host[:port] (port 587 when left out) or
	// smtps://host[:port] (TLS from the first byte; 465).
	URL string
	// StartTLS is for smtp://: required (default), opportunistic or none.
	StartTLS string
	// Username and Password, when set, sign in with AUTH PLAIN, else
	// LOGIN, whichever the server offers.
	Username, Password string
	// From is the sender, "Display Name <addr@domain>"; the name may be
	// Japanese.
	From string
	// RootCAs verify the server's certificate; nil means the system's.
	RootCAs *x509.CertPool
	// Timeout bounds one delivery; 0 means 30s.
	Timeout time.Duration
}

// SMTP sends mail through an SMTP server. Each Send is one connection.
type SMTP struct {
	c    SMTPConfig
	host string
	port int
	tls  bool // smtps://
	from *mail.Address
}

var _ Sender = (*SMTP)(nil)

// NewSMTP checks c and returns an SMTP sender.
func NewSMTP(c SMTPConfig) (*SMTP, error) {
	u, err := url.Parse(c.URL)
	if err != nil || u.Host == "" || (u.Scheme != "smtp" && u.Scheme != "smtps") {
		return nil, fmt.Errorf("notify: smtp %q: use smtp://host:port or smtps://host:port", c.URL)
	}
	s := &SMTP{c: c, host: u.Hostname(), tls: u.Scheme == "smtps", port: 587}
	if s.tls {
		s.port = 465
	}
	if p := u.Port(); p != "" {
		if s.port, err = strconv.Atoi(p); err != nil {
			return nil, fmt.Errorf("notify: smtp %q: bad port", c.URL)
		}
	}
	switch c.StartTLS {
	case "":
		s.c.StartTLS = StartTLSRequired
	case StartTLSRequired, StartTLSOpportunistic, StartTLSNone:
	default:
		return nil, fmt.Errorf("notify: starttls %q: use required, opportunistic or none", c.StartTLS)
	}
	if s.from, err = ParseFrom(c.From); err != nil {
		return nil, err
	}
	if s.c.Timeout <= 0 {
		s.c.Timeout = 30 * time.Second
	}
	return s, nil
}

// ParseFrom parses a sender address, "サンプル社 ポータル <no-reply@example.co.jp>"
// or a bare address; it must have a domain (the Message-IDs use it).
func ParseFrom(from string) (*mail.Address, error) {
	a, err := mail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("notify: from %q: %w", from, err)
	}
	if i := strings.LastIndexByte(a.Address, '@'); i < 1 || i == len(a.Address)-1 {
		return nil, fmt.Errorf("notify: from %q: the address needs a domain", from)
	}
	return a, nil
}

// Channel is store.ChannelMail.
func (s *SMTP) Channel() store.Channel { return store.ChannelMail }

// Addr is the server's host:port.
func (s *SMTP) Addr() string { return net.JoinHostPort(s.host, strconv.Itoa(s.port)) }

// Send delivers o.
func (s *SMTP) Send(ctx context.Context, o *Outgoing) error {
	_, err := s.Deliver(ctx, o)
	return err
}

// Report is how one SMTP conversation went, for `ssogate mail test`. It
// never holds the password.
type Report struct {
	// Server is host:port; Connected whether TCP connected.
	Server    string
	Connected bool
	// TLSVersion ("TLS 1.3") and Cipher are empty without TLS.
	TLSVersion string
	Cipher     string
	// Auth is the AUTH mechanism used ("" when none).
	Auth string
	// Response is the server's answer to the message ("250 2.0.0 Ok: queued as …").
	Response string
}

// Deliver sends o and reports how the conversation went.
func (s *SMTP) Deliver(ctx context.Context, o *Outgoing) (*Report, error) {
	rep := &Report{Server: s.Addr()}
	msg, err := buildMail(s.from, o)
	if err != nil {
		return rep, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.c.Timeout)
	defer cancel()
	tlsConf := &tls.Config{ServerName: s.host, RootCAs: s.c.RootCAs, MinVersion: tls.VersionTLS12,
		// Called after the certificate verified, for STARTTLS and smtps
		// alike: the report then names the TLS in use even when a later
		// step (AUTH) fails.
		VerifyConnection: func(st tls.ConnectionState) error {
			rep.TLSVersion, rep.Cipher = tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite)
			return nil
		}}
	opts := []gomail.Option{
		gomail.WithPort(s.port), gomail.WithTimeout(s.c.Timeout), gomail.WithTLSConfig(tlsConf),
		gomail.WithDialContextFunc(s.dialer(rep, tlsConf)),
	}
	switch {
	case s.tls:
		opts = append(opts, gomail.WithSSL(), gomail.WithTLSPolicy(gomail.NoTLS))
	case s.c.StartTLS == StartTLSOpportunistic:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	case s.c.StartTLS == StartTLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	var auth *pickAuth
	if s.c.Username != "" {
		auth = &pickAuth{user: s.c.Username, pass: s.c.Password, host: s.host}
		opts = append(opts, gomail.WithSMTPAuthCustom(auth))
	}
	gc, err := gomail.NewClient(s.host, opts...)
	if err != nil {
		return rep, fmt.Errorf("notify: smtp %s: %w", rep.Server, err)
	}
	client, err := gc.DialToSMTPClientWithContext(ctx)
	if auth != nil {
		rep.Auth = auth.mechanism
	}
	if err != nil {
		return rep, s.dialError(rep, auth, err)
	}
	defer gc.CloseWithSMTPClient(client)
	if err := gc.SendWithSMTPClient(client, msg); err != nil {
		var se *gomail.SendError
		if errors.As(err, &se) && se.ErrorCode() >= 500 && se.ErrorCode() < 600 {
			switch se.Reason {
			case gomail.ErrSMTPMailFrom, gomail.ErrSMTPRcptTo, gomail.ErrSMTPData, gomail.ErrSMTPDataClose:
				return rep, &PermanentError{Err: fmt.Errorf("notify: smtp %s: refused: %w", rep.Server, err)}
			}
		}
		return rep, fmt.Errorf("notify: smtp %s: %w", rep.Server, err)
	}
	rep.Response = msg.ServerResponse()
	return rep, nil
}

// dialer connects for Deliver: TCP, then TLS at once for smtps://,
// recording each step in rep.
func (s *SMTP) dialer(rep *Report, tlsConf *tls.Config) gomail.DialContextFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		conn, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		rep.Connected = true
		if !s.tls {
			return conn, nil
		}
		tc := tls.Client(conn, tlsConf)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, fmt.Errorf("TLS handshake: %w", withCAHint(err))
		}
		return tc, nil
	}
}

// dialError says which step of connecting failed.
func (s *SMTP) dialError(rep *Report, auth *pickAuth, err error) error {
	switch {
	case !rep.Connected:
		return fmt.Errorf("notify: smtp %s: connect: %w", rep.Server, err)
	case auth != nil && auth.started:
		return fmt.Errorf("notify: smtp %s: sign-in as %q with AUTH %s refused (check username and password_file): %w",
			rep.Server, s.c.Username, auth.mechanism, err)
	}
	return fmt.Errorf("notify: smtp %s: %w", rep.Server, withCAHint(err))
}

// withCAHint adds what to do to a certificate the system does not trust.
func withCAHint(err error) error {
	var unknown x509.UnknownAuthorityError
	if errors.As(err, &unknown) {
		return fmt.Errorf("%w (set notify.mail.ca_file to the CA certificate that issued the server's)", err)
	}
	return err
}

// pickAuth signs in with AUTH PLAIN, or LOGIN when the server offers only
// that, and remembers which it used. The mechanisms refuse to send the
// password without TLS except to a loopback server (and configuration
// refuses such a setting for any other).
type pickAuth struct {
	user, pass, host string
	mechanism        string
	started          bool
	inner            smtp.Auth
}

func (a *pickAuth) Start(si *smtp.ServerInfo) (string, []byte, error) {
	switch {
	case slices.Contains(si.Auth, "PLAIN"):
		a.mechanism, a.inner = "PLAIN", smtp.PlainAuth("", a.user, a.pass, a.host, false)
	case slices.Contains(si.Auth, "LOGIN"):
		a.mechanism, a.inner = "LOGIN", smtp.LoginAuth(a.user, a.pass, a.host, false)
	default:
		return "", nil, fmt.Errorf("the server offers AUTH %s; ssogate signs in with PLAIN or LOGIN", strings.Join(si.Auth, " "))
	}
	a.started = true
	return a.inner.Start(si)
}

func (a *pickAuth) Next(fromServer []byte, more bool) ([]byte, error) {
	return a.inner.Next(fromServer, more)
}

// buildMail makes the MIME message of o: UTF-8, base64 bodies and
// RFC 2047 B-encoded subject (what Japanese mail clients and Outlook and
// Gmail all read), text and HTML as multipart/alternative, a Message-ID
// made of the outbox id and the sender's domain, and Date.
func buildMail(from *mail.Address, o *Outgoing) (*gomail.Msg, error) {
	m := gomail.NewMsg(gomail.WithCharset(gomail.CharsetUTF8), gomail.WithEncoding(gomail.EncodingB64),
		gomail.WithNoDefaultUserAgent())
	m.FromMailAddress(from)
	if err := m.To(o.To); err != nil {
		return nil, fmt.Errorf("notify: recipient %q: %w", o.To, err)
	}
	m.Subject(o.Subject)
	m.SetMessageIDWithValue(messageID(o.ID, from.Address))
	m.SetDateWithValue(o.Date)
	m.SetGenHeader(gomail.HeaderXMailer, "ssogate")
	m.SetGenHeader(gomail.HeaderXAutoResponseSuppress, "All")
	m.SetBodyString(gomail.TypeTextPlain, o.Text)
	if o.HTML != "" {
		m.AddAlternativeString(gomail.TypeTextHTML, o.HTML)
	}
	return m, nil
}

var messageIDPart = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// messageID is "<id>@<domain of from>" (go-mail adds the angle
// brackets): the same for every try of one outbox message. An id that is
// not a plain dot-atom is hashed into one.
func messageID(id, from string) string {
	if !messageIDPart.MatchString(id) || strings.Contains(id, "..") || strings.HasPrefix(id, ".") || strings.HasSuffix(id, ".") {
		sum := sha256.Sum256([]byte(id))
		id = hex.EncodeToString(sum[:16])
	}
	return id + "@" + from[strings.LastIndexByte(from, '@')+1:]
}

// Dir is the development transport: each mail is written to a directory
// as an .eml file instead of being sent, and its links are logged so that
// `make run` needs no mail server.
type Dir struct {
	dir  string
	from *mail.Address
	log  *slog.Logger
}

var _ Sender = (*Dir)(nil)

// NewDir returns a Dir writing to dir (created when missing) as from.
func NewDir(dir, from string, log *slog.Logger) (*Dir, error) {
	a, err := ParseFrom(from)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("notify: mail dir: %w", err)
	}
	if log == nil {
		log = slog.Default()
	}
	return &Dir{dir: dir, from: a, log: log}, nil
}

// Channel is store.ChannelMail.
func (d *Dir) Channel() store.Channel { return store.ChannelMail }

var linkPattern = regexp.MustCompile(`https?://[^\s<>"]+`)

// Send writes o to <dir>/<date>-<id>.eml, whole or not at all.
func (d *Dir) Send(ctx context.Context, o *Outgoing) error {
	msg, err := buildMail(d.from, o)
	if err != nil {
		return err
	}
	id := strings.TrimSuffix(messageID(o.ID, d.from.Address), "@"+d.from.Address[strings.LastIndexByte(d.from.Address, '@')+1:])
	path := filepath.Join(d.dir, o.Date.UTC().Format("20060102-150405")+"-"+id+".eml")
	tmp, err := os.CreateTemp(d.dir, ".mail-*")
	if err != nil {
		return fmt.Errorf("notify: mail dir: %w", err)
	}
	if _, err := msg.WriteTo(tmp); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("notify: mail dir: %w", err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("notify: mail dir: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("notify: mail dir: %w", err)
	}
	// The one place a link is ever logged: the directory transport is for
	// development (`make run`), where the person at the terminal is the
	// one who asked for the mail and has no mailbox to read it in.
	// check-config warns when it is configured with an https public URL.
	d.log.Info("mail written to the development mail directory (not sent)", "path", path, "to", o.To,
		"subject", o.Subject, "links", linkPattern.FindAllString(o.Text, -1))
	return nil
}
