package portal

import (
	"strings"
	"testing"
)

// TestRenderIdentityCheck renders every step of /identity-check in both
// languages: each step shows its own form, every text is in the page's
// language (no message key shows through), and the choices page names the
// mail channel without any address.
func TestRenderIdentityCheck(t *testing.T) {
	r := newRenderer(t)
	choices := []CheckChoice{{Channel: "sms", Target: "***-****-*678"}, {Channel: "voice", Target: "***-****-*678"}, {Channel: "mail"}}
	steps := []struct {
		page IdentityCheckPage
		want []string
	}{
		{IdentityCheckPage{Step: CheckStepDetails, ErrorKey: "idcheck.error.phone"}, []string{`id="details-form"`, `name="login_id"`, `name="phone"`}},
		{IdentityCheckPage{Step: CheckStepChannel, Choices: choices}, []string{`id="channel-sms"`, `id="channel-voice"`, `id="channel-mail"`, "***-****-*678"}},
		{IdentityCheckPage{Step: CheckStepPIN, Choices: choices, Channel: "sms", Target: "***-****-*678", TriesLeft: 4,
			Expires: "15分間", ErrorKey: "idcheck.error.wrong_pin"}, []string{`id="pin-form"`, `id="channel-form"`, `id="pin-sent"`}},
		{IdentityCheckPage{Step: CheckStepPIN, Choices: choices, Channel: "mail", Expires: "15分間"}, []string{`id="pin-form"`}},
		{IdentityCheckPage{Step: CheckStepReset, Email: "taro@example.co.jp", Passwords: true, Rule: PasswordRule{MinLength: 10, MinClasses: 3},
			ErrorKeys: []string{"password.reason.too_short"}}, []string{`id="password-form"`, `id="email-form"`, "taro@example.co.jp"}},
		{IdentityCheckPage{Step: CheckStepDone, DoneKey: "idcheck.done.email"}, []string{`id="done"`}},
	}
	for _, lang := range []string{"ja", "en"} {
		for _, s := range steps {
			p := s.page
			p.Base = Base{Lang: lang, CSRFToken: "tok"}
			body := render(t, r, 200, PageIdentityCheck, p)
			for _, w := range s.want {
				if !strings.Contains(body, w) {
					t.Errorf("%s %s: no %s", lang, p.Step, w)
				}
			}
			if strings.Contains(body, "idcheck.") {
				t.Errorf("%s %s: a message key shows through:\n%s", lang, p.Step, body)
			}
			if lang == "en" && strings.Contains(body, "本人確認") {
				t.Errorf("en %s: Japanese text", p.Step)
			}
		}
	}
}
