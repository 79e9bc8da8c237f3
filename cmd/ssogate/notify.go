package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"
	"sync"
	"time"

	"github.com/ssogate/ssogate/config"
	"github.com/ssogate/ssogate/notify"
	"github.com/ssogate/ssogate/store"
)

// notifySetup is what the outbox worker sends with under cfg: the mail
// transport (an SMTP server, the development directory, or none), the SMS
// and voice senders of 2-step verification's codes (given up when the
// code expires), and the templates with the portal's title.
func notifySetup(cfg *config.Config, log *slog.Logger) (notify.Setup, error) {
	s := notify.Setup{
		Renderer:    notify.NewRenderer(cfg.Portal.Title, cfg.Portal.DefaultLanguage),
		GiveUpAfter: cfg.Notify.Outbox.GiveUpAfter.D(),
	}
	if err := phoneSenders(cfg, &s); err != nil {
		return s, err
	}
	m := cfg.Notify.Mail
	switch {
	case m.Dir != "":
		d, err := notify.NewDir(m.Dir, m.From, log)
		if err != nil {
			return s, err
		}
		s.Senders = append(s.Senders, d)
	case m.SMTP != "":
		smtp, err := notify.NewSMTP(smtpConfig(m))
		if err != nil {
			return s, err
		}
		s.Senders = append(s.Senders, smtp)
	}
	return s, nil
}

// phoneSenders adds to s the senders of notify.sms and notify.voice that
// are set, and gives their messages up when the code they carry expires
// (policy.two_factor.code_ttl): a late code is worthless.
func phoneSenders(cfg *config.Config, s *notify.Setup) error {
	s.ChannelGiveUpAfter = map[store.Channel]time.Duration{}
	for _, ch := range []struct {
		ch store.Channel
		p  config.Phone
	}{{store.ChannelSMS, cfg.Notify.SMS}, {store.ChannelVoice, cfg.Notify.Voice}} {
		if ttl := cfg.Policy.TwoFactor.CodeTTL.D(); ttl > 0 {
			s.ChannelGiveUpAfter[ch.ch] = ttl
		}
		snd, err := notify.NewPhone(ch.ch, ch.p)
		if err != nil {
			return err
		}
		if snd != nil {
			s.Senders = append(s.Senders, snd)
		}
	}
	return nil
}

// smtpConfig is notify.mail as the SMTP sender's configuration.
func smtpConfig(m config.Mail) notify.SMTPConfig {
	return notify.SMTPConfig{URL: m.SMTP, StartTLS: m.StartTLS, Username: m.Username, Password: m.Password,
		From: m.From, RootCAs: m.RootCAs, Timeout: m.Timeout.D()}
}

// mailWorker is the outbox worker of an app; serve starts it.
type mailWorker struct {
	w    *notify.Worker
	stop context.CancelFunc
	done chan struct{}
	once sync.Once
}

// newMailWorker makes the (not yet started) outbox worker of an app on st.
func newMailWorker(cfg *config.Config, st store.Store, compose *notify.Composer, log *slog.Logger, now func() time.Time) (*mailWorker, error) {
	setup, err := notifySetup(cfg, log)
	if err != nil {
		return nil, err
	}
	return &mailWorker{w: notify.NewWorker(notify.WorkerOptions{Store: st, Composer: compose, Setup: setup, Log: log, Now: now})}, nil
}

// Kick wakes the worker; the gateway calls it after a flow enqueued a
// message.
func (m *mailWorker) Kick() {
	if m != nil {
		m.w.Kick()
	}
}

// start runs the worker until Stop or ctx ends.
func (m *mailWorker) start(ctx context.Context) {
	ctx, m.stop = context.WithCancel(ctx)
	m.done = make(chan struct{})
	go func() {
		defer close(m.done)
		m.w.Run(ctx)
	}()
}

// Stop stops a started worker and waits for it: a send in progress ends
// and is recorded first.
func (m *mailWorker) Stop() {
	if m == nil || m.stop == nil {
		return
	}
	m.once.Do(func() {
		m.stop()
		<-m.done
	})
}

// update gives the worker the notify settings of a reloaded cfg.
func (m *mailWorker) update(cfg *config.Config, log *slog.Logger) error {
	setup, err := notifySetup(cfg, log)
	if err != nil {
		return err
	}
	m.w.Update(setup)
	return nil
}

const mailUsage = `usage: ssogate mail COMMAND [flags]

  test --to ADDR [--lang ja|en]   send a test mail now through notify.mail
                                  (not through the outbox) and show how the
                                  SMTP conversation went
`

func (c *cli) mail(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(c.stderr, mailUsage)
		return exitCode(2)
	}
	if isHelp(args[0]) {
		fmt.Fprint(c.stdout, mailUsage)
		return nil
	}
	switch args[0] {
	case "test":
		return c.mailTest(ctx, args[1:])
	default:
		fmt.Fprintf(c.stderr, "ssogate mail: unknown command %q\n\n%s", args[0], mailUsage)
		return exitCode(2)
	}
}

// mailTest sends TemplateTest to --to at once and prints each step of the
// conversation: the server, TCP, TLS, AUTH and the server's answer (or
// its error). The password is never printed.
func (c *cli) mailTest(ctx context.Context, args []string) error {
	fs := c.flags("mail test")
	to := fs.String("to", "", "recipient `address`")
	lang := fs.String("lang", "", "language of the mail: ja or en (default portal.default_language)")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if _, err := mail.ParseAddress(*to); err != nil || strings.Contains(*to, "<") {
		fmt.Fprintf(c.stderr, "ssogate mail test: --to must be one mail address, e.g. --to taro@example.co.jp\n")
		return exitCode(2)
	}
	cfg, err := c.loadConfig()
	if err != nil {
		return err
	}
	if *lang == "" {
		*lang = cfg.Portal.DefaultLanguage
	}
	m := cfg.Notify.Mail
	if m.SMTP == "" {
		if m.Dir != "" {
			fmt.Fprintf(c.stderr, "ssogate mail test: notify.mail.dir is set (%s): mails are written there, not sent; set notify.mail.smtp to test a mail server\n", m.Dir)
		} else {
			fmt.Fprintln(c.stderr, "ssogate mail test: notify.mail.smtp is not set: no mail server to test")
		}
		return exitCode(1)
	}
	s, err := notify.NewSMTP(smtpConfig(m))
	if err != nil {
		fmt.Fprintln(c.stderr, "ssogate mail test:", err)
		return exitCode(1)
	}
	when := time.Now().In(cfg.Portal.Location)
	d := notify.Data{Email: *to, Time: formatTime(when, *lang)}
	content, err := notify.NewRenderer(cfg.Portal.Title, cfg.Portal.DefaultLanguage).Render(
		&store.Message{Template: notify.TemplateTest, Language: *lang}, d)
	if err != nil {
		return err
	}
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	out := &notify.Outgoing{ID: "test-" + hex.EncodeToString(b), To: *to, Content: content, Date: when}
	mode := "smtps (TLS from the start)"
	if strings.HasPrefix(m.SMTP, "smtp://") {
		mode = "smtp, starttls " + m.StartTLS
	}
	rep, sendErr := s.Deliver(ctx, out)
	fmt.Fprintf(c.stdout, "server:     %s (%s)\n", s.Addr(), mode)
	fmt.Fprintf(c.stdout, "connected:  %s\n", yesNo(rep.Connected))
	if rep.TLSVersion != "" {
		fmt.Fprintf(c.stdout, "tls:        %s, %s\n", rep.TLSVersion, rep.Cipher)
	} else if rep.Connected {
		fmt.Fprintln(c.stdout, "tls:        none (the mail travels unencrypted)")
	}
	switch {
	case m.Username == "":
		fmt.Fprintln(c.stdout, "auth:       none")
	case rep.Auth != "":
		fmt.Fprintf(c.stdout, "auth:       %s as %q\n", rep.Auth, m.Username)
	}
	fmt.Fprintf(c.stdout, "from:       %s\nto:         %s\nsubject:    %s\n", m.From, *to, content.Subject)
	if sendErr != nil {
		fmt.Fprintf(c.stdout, "result:     failed: %v\n", sendErr)
		var perm *notify.PermanentError
		if errors.As(sendErr, &perm) {
			fmt.Fprintln(c.stdout, "            (a permanent refusal: the server will not take this mail)")
		}
		return exitCode(1)
	}
	fmt.Fprintf(c.stdout, "result:     accepted: %s\n", rep.Response)
	return nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// formatTime is t as the mails show it in lang.
func formatTime(t time.Time, lang string) string {
	if lang == "en" {
		return t.Format("2 Jan 2006 15:04 MST")
	}
	return t.Format("2006年1月2日 15:04 MST")
}
