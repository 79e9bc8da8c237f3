package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/ssogate/ssogate/config"
	"github.com/ssogate/ssogate/notify"
	"github.com/ssogate/ssogate/store"
)

const smsUsage = `usage: ssogate sms COMMAND [flags]

  test --to NUMBER [--voice] [--lang ja|en]
                                  send a sample code now through notify.sms
                                  (or call through notify.voice), not through
                                  the outbox, and show the API's answer
`

func (c *cli) sms(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(c.stderr, smsUsage)
		return exitCode(2)
	}
	if isHelp(args[0]) {
		fmt.Fprint(c.stdout, smsUsage)
		return nil
	}
	switch args[0] {
	case "test":
		return c.smsTest(ctx, args[1:])
	default:
		fmt.Fprintf(c.stderr, "ssogate sms: unknown command %q\n\n%s", args[0], smsUsage)
		return exitCode(2)
	}
}

// smsSampleCode is the code of a test message: plainly a sample, and no
// code of any sign-in.
const smsSampleCode = "123456"

// smsTest sends the second-factor code's message, with a sample code, to
// --to at once and prints what was sent and how the API answered. The
// token is never printed.
func (c *cli) smsTest(ctx context.Context, args []string) error {
	fs := c.flags("sms test")
	to := fs.String("to", "", "recipient `number`: 090-1234-5678 (in notify.sms.default_region) or +819012345678")
	voice := fs.Bool("voice", false, "place a call through notify.voice instead of an SMS")
	lang := fs.String("lang", "", "language of the message: ja or en (default portal.default_language)")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	cfg, err := c.loadConfig()
	if err != nil {
		return err
	}
	ch, key, p := store.ChannelSMS, "notify.sms", cfg.Notify.SMS
	if *voice {
		ch, key, p = store.ChannelVoice, "notify.voice", cfg.Notify.Voice
	}
	if p.Type == "" {
		fmt.Fprintf(c.stderr, "ssogate sms test: %s is not set: no sender to test\n", key)
		return exitCode(1)
	}
	number, err := notify.E164(*to, p.DefaultRegion)
	if err != nil {
		fmt.Fprintf(c.stderr, "ssogate sms test: --to %q: %v\n", *to, err)
		return exitCode(2)
	}
	if *lang == "" {
		*lang = cfg.Portal.DefaultLanguage
	}
	s, err := notify.NewPhone(ch, p)
	if err != nil {
		fmt.Fprintln(c.stderr, "ssogate sms test:", err)
		return exitCode(1)
	}
	content, err := notify.NewRenderer(cfg.Portal.Title, cfg.Portal.DefaultLanguage).Render(
		&store.Message{Channel: ch, Template: notify.TemplateSecondFactorCode, Language: *lang},
		notify.Data{Code: smsSampleCode, Expires: notify.CodeValidity(cfg.Policy.TwoFactor.CodeTTL.D(), *lang)})
	if err != nil {
		return err
	}
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	rep, sendErr := s.Deliver(ctx, &notify.Outgoing{ID: "test-" + hex.EncodeToString(b), To: number, Content: content, Date: time.Now()})
	fmt.Fprintf(c.stdout, "channel:    %s (%s)\n", ch, p.Type)
	fmt.Fprintf(c.stdout, "endpoint:   %s\n", rep.Endpoint)
	if p.Type == config.PhoneTwilio {
		fmt.Fprintf(c.stdout, "from:       %s\n", p.From)
	}
	fmt.Fprintf(c.stdout, "to:         %s\n", number)
	if *voice {
		fmt.Fprintf(c.stdout, "script:     %s\n", content.Text)
	} else {
		fmt.Fprintf(c.stdout, "text:       %s\n", content.Text)
	}
	fmt.Fprintf(c.stdout, "code:       %s (a sample: it is no code of any sign-in)\n", smsSampleCode)
	if sendErr != nil {
		fmt.Fprintf(c.stdout, "result:     failed: %v\n", sendErr)
		var perm *notify.PermanentError
		if errors.As(sendErr, &perm) {
			fmt.Fprintln(c.stdout, "            (a permanent refusal: check the settings; trying again will not help)")
		}
		return exitCode(1)
	}
	result := fmt.Sprintf("accepted: HTTP %d", rep.Status)
	if rep.ID != "" {
		result += ", id " + rep.ID
	}
	if rep.State != "" {
		result += ", " + rep.State
	}
	fmt.Fprintf(c.stdout, "result:     %s\n", result)
	return nil
}
