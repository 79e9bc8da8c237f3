package notify

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/ssogate/ssogate/store"
)

func TestE164(t *testing.T) {
	for _, tc := range []struct {
		name, in, region, want string
	}{
		{"japanese mobile", "090-1234-5678", "JP", "+819012345678"},
		{"japanese mobile without hyphens", "09012345678", "JP", "+819012345678"},
		{"lower-case region", "090-1234-5678", "jp", "+819012345678"},
		{"full-width digits and long-vowel hyphens", "０９０ー１２３４ー５６７８", "JP", "+819012345678"},
		{"full-width digits and full-width hyphen-minus", "０９０－１２３４－５６７８", "JP", "+819012345678"},
		{"international form with spaces", "+1 415 555 2671", "JP", "+14155552671"},
		{"international form without region", "+81 90-1234-5678", "", "+819012345678"},
		{"tokyo landline", "03-1234-5678", "JP", "+81312345678"},
		{"surrounding spaces", "  090 1234 5678 ", "JP", "+819012345678"},
		{"US number in region US", "(415) 555-2671", "US", "+14155552671"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := E164(tc.in, tc.region)
			if err != nil {
				t.Fatalf("E164(%q, %q): %v", tc.in, tc.region, err)
			}
			if got != tc.want {
				t.Errorf("E164(%q, %q) = %q, want %q", tc.in, tc.region, got, tc.want)
			}
		})
	}
}

func TestE164Refuses(t *testing.T) {
	for _, tc := range []struct {
		name, in, region, why string
	}{
		{"empty", "", "JP", "empty"},
		{"letters", "abc", "JP", "digits"},
		{"too short", "123", "JP", "no such number"},
		{"a digit missing", "+81 90 1234 567", "JP", "no such number"},
		{"no country code and no region", "090-1234-5678", "", "digits"},
		{"extension", "03-1234-5678 ext 12", "JP", "extension"},
		{"premium rate", "0990-123-456", "JP", "premium-rate"},
		{"too long", strings.Repeat("1", 65), "JP", "too long"},
		{"not UTF-8", "090\xff1234", "JP", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := E164(tc.in, tc.region)
			if err == nil {
				t.Fatalf("E164(%q, %q) = %q, want a refusal", tc.in, tc.region, got)
			}
			if !errors.Is(err, ErrInvalidPhone) {
				t.Errorf("E164(%q): %v does not wrap ErrInvalidPhone", tc.in, err)
			}
			if !strings.Contains(err.Error(), tc.why) {
				t.Errorf("E164(%q): %q does not say %q", tc.in, err, tc.why)
			}
		})
	}
}

func TestMaskPhone(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"+819012345678", "***-****-*678"},
		{"+14155552671", "***-****-*671"},
		{"+81312345678", "***-****-*678"},
		{"+12", "***-****-****"},
		{"", "***-****-****"},
	} {
		if got := MaskPhone(tc.in); got != tc.want {
			t.Errorf("MaskPhone(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestCodeValidity(t *testing.T) {
	for _, tc := range []struct {
		ttl    time.Duration
		ja, en string
	}{
		{5 * time.Minute, "5分間", "5 minutes"},
		{time.Minute, "1分間", "1 minute"},
		{time.Hour, "1時間", "1 hour"},
		{90 * time.Second, "90秒間", "90 seconds"},
		{2 * time.Hour, "2時間", "2 hours"},
	} {
		if got := CodeValidity(tc.ttl, "ja"); got != tc.ja {
			t.Errorf("CodeValidity(%s, ja) = %q, want %q", tc.ttl, got, tc.ja)
		}
		if got := CodeValidity(tc.ttl, "en"); got != tc.en {
			t.Errorf("CodeValidity(%s, en) = %q, want %q", tc.ttl, got, tc.en)
		}
	}
}

// utf16Units is how many UTF-16 code units s takes (a UCS-2 SMS holds 70).
func utf16Units(s string) int { return len(utf16.Encode([]rune(s))) }

// TestRenderPhone renders the code's SMS and call in ja and en: the SMS is
// the manuals' text in one segment (70 UCS-2 units in Japanese, 160 GSM
// characters in English); the call names the portal and reads the code
// digit by digit twice, in two paragraphs; the content carries the code
// and the language; a mail template on a phone channel (and the code's
// template as mail) is refused.
func TestRenderPhone(t *testing.T) {
	r := NewRenderer(testTitle, "ja")
	d := Data{Code: "123456", Expires: CodeValidity(5*time.Minute, "ja")}
	sms, err := r.Render(&store.Message{Channel: store.ChannelSMS, Template: TemplateSecondFactorCode, Language: "ja"}, d)
	if err != nil {
		t.Fatal(err)
	}
	if want := "【サンプル社 ポータル】確認コード: 123456（5分間有効）。このコードは誰にも教えないでください。"; sms.Text != want {
		t.Errorf("ja SMS\n%q, want\n%q", sms.Text, want)
	}
	if n := utf16Units(sms.Text); n > 70 {
		t.Errorf("ja SMS takes %d UCS-2 units: more than one segment", n)
	}
	if sms.Code != "123456" || sms.Language != "ja" || sms.Subject != "" || sms.HTML != "" {
		t.Errorf("ja SMS content %+v", sms)
	}
	d.Expires = CodeValidity(5*time.Minute, "en")
	en, err := r.Render(&store.Message{Channel: store.ChannelSMS, Template: TemplateSecondFactorCode, Language: "en"}, d)
	if err != nil {
		t.Fatal(err)
	}
	if want := "[Sample Co. Portal] Your verification code is 123456 (valid for 5 minutes). Never share this code with anyone."; en.Text != want {
		t.Errorf("en SMS\n%q, want\n%q", en.Text, want)
	}
	if len(en.Text) > 160 {
		t.Errorf("en SMS is %d characters: more than one segment", len(en.Text))
	}
	for _, tc := range []struct{ lang, expires, spoken, title string }{
		{"ja", "5分間", "1、2、3、4、5、6", "サンプル社 ポータル"},
		{"en", "5 minutes", "1, 2, 3, 4, 5, 6", "Sample Co. Portal"},
	} {
		v, err := r.Render(&store.Message{Channel: store.ChannelVoice, Template: TemplateSecondFactorCode, Language: tc.lang},
			Data{Code: "123456", Expires: tc.expires})
		if err != nil {
			t.Fatal(err)
		}
		paras := strings.Split(v.Text, "\n\n")
		if len(paras) != 2 || !strings.Contains(paras[0], tc.title) {
			t.Errorf("%s voice script is not two paragraphs naming the portal:\n%s", tc.lang, v.Text)
		}
		for i, p := range paras {
			if !strings.Contains(p, tc.spoken) {
				t.Errorf("%s voice paragraph %d does not read %q: %q", tc.lang, i, tc.spoken, p)
			}
		}
		if strings.Contains(v.Text, "123456") || !strings.Contains(v.Text, tc.expires) || v.Code != "123456" || v.Language != tc.lang {
			t.Errorf("%s voice content %+v", tc.lang, v)
		}
	}
	if _, err := r.Render(&store.Message{Channel: store.ChannelSMS, Template: TemplatePasswordReset, Language: "ja"}, d); !errors.Is(err, ErrUnknownTemplate) {
		t.Errorf("a mail template by SMS: %v", err)
	}
	if _, err := r.Render(&store.Message{Channel: store.ChannelMail, Template: TemplateSecondFactorCode, Language: "ja"}, d); !errors.Is(err, ErrUnknownTemplate) {
		t.Errorf("the code's template by mail: %v", err)
	}
}
