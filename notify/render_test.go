package notify

import (
	"errors"
	"strings"
	"testing"

	"github.com/ssogate/ssogate/config"
	"github.com/ssogate/ssogate/store"
)

// TestRenderEveryTemplate renders every template in ja and en: the subject
// names the portal in the manuals' form, the body greets the person by
// name, the link (when the template has one) is in both parts, and no
// value is missing.
func TestRenderEveryTemplate(t *testing.T) {
	r := NewRenderer(testTitle, "ja")
	d := Data{Name: "山田 太郎", Email: "taro@example.co.jp", NewEmail: "t.yamada@example.co.jp", Link: testLink,
		Expires: "2026年12月20日 09:00", Provider: "Googleアカウント", ClientIP: "203.0.113.9", Time: "2026年12月6日 18:00"}
	withLink := map[string]bool{TemplateAccountLocked: true, TemplatePasswordReset: true, TemplateEmailChangeConfirm: true}
	withLink[TemplateInvitation], withLink[TemplateMethodChange], withLink[TemplateEmailChangeLink] = true, true, true
	withLink[TemplateDeviceApproval] = true
	for _, name := range Templates {
		for _, lang := range Languages {
			c, err := r.Render(&store.Message{Template: name, Language: lang}, d)
			if err != nil {
				t.Fatalf("%s/%s: %v", lang, name, err)
			}
			prefix := map[string]string{"ja": "【サンプル社 ポータル】", "en": "[Sample Co. Portal] "}[lang]
			if !strings.HasPrefix(c.Subject, prefix) || len(c.Subject) <= len(prefix) || strings.Contains(c.Subject, "\n") {
				t.Errorf("%s/%s subject %q", lang, name, c.Subject)
			}
			greeting := map[string]string{"ja": "山田 太郎 様\n", "en": "Dear 山田 太郎,\n"}[lang]
			if !strings.HasPrefix(c.Text, greeting) {
				t.Errorf("%s/%s text does not greet by name:\n%s", lang, name, c.Text)
			}
			for _, part := range []string{c.Text, c.HTML} {
				if strings.Contains(part, "<no value>") || strings.Contains(part, "{{") {
					t.Errorf("%s/%s has a missing value:\n%s", lang, name, part)
				}
				if got := strings.Contains(part, testLink) || strings.Contains(part, strings.ReplaceAll(testLink, "&", "&amp;")); got != withLink[name] {
					t.Errorf("%s/%s link present %v, want %v", lang, name, got, withLink[name])
				}
			}
			if withLink[name] && !strings.Contains(c.Text, d.Expires) {
				t.Errorf("%s/%s does not say when the link expires", lang, name)
			}
		}
	}
}

// TestRenderLanguageAndTitle: the title in the person's language, a
// language without templates in the default one, an HTML-special value
// escaped in the HTML part, and an unknown template refused.
func TestRenderLanguageAndTitle(t *testing.T) {
	r := NewRenderer(config.PlainText("ACME <Portal>"), "en")
	c, err := r.Render(&store.Message{Template: TemplateTest, Language: "fr"}, Data{Name: "<b>Bob</b>"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject != "[ACME <Portal>] Test message" {
		t.Errorf("subject %q", c.Subject)
	}
	if strings.Contains(c.HTML, "<b>Bob</b>") || !strings.Contains(c.HTML, "&lt;b&gt;Bob&lt;/b&gt;") {
		t.Errorf("the name is not escaped in HTML:\n%s", c.HTML)
	}
	if _, err := r.Render(&store.Message{Template: "nope", Language: "ja"}, Data{}); !errors.Is(err, ErrUnknownTemplate) {
		t.Errorf("unknown template: %v", err)
	}
}
