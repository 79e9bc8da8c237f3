package gateway

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/ssogate/ssogate/portal"
)

// Each case names the part of profile.error.phone it checks; the message
// must describe exactly what is accepted (TestPhoneMessageStatesTheRule).
func TestNormalizePhone(t *testing.T) {
	tests := []struct {
		rule, in, want string // want "": refused
	}{
		{"hyphens", "03-1234-5678", "03-1234-5678"},
		{"spaces", "090 1234 5678", "090-1234-5678"},
		{"leading +", "+81-3-1234-5678", "+81-3-1234-5678"},
		{"leading + with spaces", "+81 3 1234 5678", "+81-3-1234-5678"},
		{"parentheses", "(03) 1234-5678", "03-1234-5678"},
		{"parentheses", "03(1234)5678", "03-1234-5678"},
		{"no separators", "0312345678", "0312345678"},
		{"full width", "０３－１２３４－５６７８", "03-1234-5678"},
		{"full width", "０９０ー１２３４ー５６７８", "090-1234-5678"},
		{"full width", "＋８１　３　１２３４　５６７８", "+81-3-1234-5678"},
		{"4 digits", "1234", "1234"},
		{"15 digits", "012345678901234", "012345678901234"},
		{"extension 内線", "03-1234-5678 内線 123", "03-1234-5678 ext. 123"},
		{"extension 内線", "03-1234-5678内線123", "03-1234-5678 ext. 123"},
		{"extension ext.", "03-1234-5678 ext. 123", "03-1234-5678 ext. 123"},
		{"extension ext.", "03-1234-5678 EXT 123", "03-1234-5678 ext. 123"},
		{"extension x", "+81 3 1234 5678 x123", "+81-3-1234-5678 ext. 123"},
		{"extension full width", "０３－１２３４－５６７８　内線　１２３", "03-1234-5678 ext. 123"},
		{"extension full width", "０３－１２３４－５６７８　ｅｘｔ．１２３", "03-1234-5678 ext. 123"},
		{"extension 6 digits", "03-1234-5678 x123456", "03-1234-5678 ext. 123456"},

		{"fewer than 4 digits", "123", ""},
		{"more than 15 digits", "0123456789012345", ""},
		{"extension over 6 digits", "03-1234-5678 x1234567", ""},
		{"extension without digits", "03-1234-5678 内線", ""},
		{"extension alone", "内線 123", ""},
		{"letters", "03-1234-5678y", ""},
		{"letters", "abc", ""},
		{"separator first", "-0312345678", ""},
		{"separator last", "0312345678-", ""},
		{"+ alone", "+", ""},
		{"+ inside", "1+2345", ""},
		{"+ after the start", "(+81)3-1234-5678", ""},
		{"too long to parse", strings.Repeat("1-", 40), ""},
	}
	for _, tt := range tests {
		t.Run(tt.rule+"/"+tt.in, func(t *testing.T) {
			got, ok := normalizePhone(tt.in)
			if ok != (tt.want != "") || got != tt.want {
				t.Fatalf("normalizePhone(%q) = %q, %v; want %q", tt.in, got, ok, tt.want)
			}
			if ok {
				// The stored form is accepted again, unchanged.
				if again, ok := normalizePhone(got); !ok || again != got {
					t.Errorf("normalizePhone(%q) = %q, %v; want it unchanged", got, again, ok)
				}
			}
		})
	}
}

// The phone message states the limits the code applies, in both
// languages, and the extension forms it accepts.
func TestPhoneMessageStatesTheRule(t *testing.T) {
	for lang, facts := range map[string][]string{
		"ja": {fmt.Sprintf("%d〜%d桁", minPhoneDigits, maxPhoneDigits), "+", "ハイフン", "スペース", "かっこ",
			"内線 123", "ext. 123", "x123", fmt.Sprintf("%d桁まで", maxExtDigits), "全角"},
		"en": {fmt.Sprintf("%d to %d digits", minPhoneDigits, maxPhoneDigits), "+", "hyphens", "spaces", "parentheses",
			"内線 123", "ext. 123", "x123", fmt.Sprintf("up to %d digits", maxExtDigits), "Full-width"},
	} {
		msg := portal.T(lang, "profile.error.phone")
		for _, f := range facts {
			if !strings.Contains(msg, f) {
				t.Errorf("%s profile.error.phone %q does not say %q", lang, msg, f)
			}
		}
		if hint := portal.T(lang, "profile.phone_hint"); !strings.Contains(hint, "123") {
			t.Errorf("%s profile.phone_hint %q does not show an extension", lang, hint)
		}
	}
	// The boundaries the message names hold.
	for _, tt := range []struct {
		in string
		ok bool
	}{
		{strings.Repeat("1", minPhoneDigits), true},
		{strings.Repeat("1", minPhoneDigits-1), false},
		{strings.Repeat("1", maxPhoneDigits), true},
		{strings.Repeat("1", maxPhoneDigits+1), false},
		{"03-1234-5678 x" + strings.Repeat("1", maxExtDigits), true},
		{"03-1234-5678 x" + strings.Repeat("1", maxExtDigits+1), false},
	} {
		if _, ok := normalizePhone(tt.in); ok != tt.ok {
			t.Errorf("normalizePhone(%q) ok = %v, want %v", tt.in, ok, tt.ok)
		}
	}
}

// Characters that turn text around or show nothing are refused in every
// profile text field, each with its own message.
func TestValidateProfileHiddenText(t *testing.T) {
	bidi := map[string]string{
		"LRE": "\u202a", "RLE": "\u202b", "PDF": "\u202c", "LRO": "\u202d", "RLO": "\u202e",
		"LRI": "\u2066", "RLI": "\u2067", "FSI": "\u2068", "PDI": "\u2069",
		"ALM": "\u061c", "LRM": "\u200e", "RLM": "\u200f",
	}
	invisible := map[string]string{
		"zero-width space": "\u200b", "ideographic space and ZWSP": "\u3000\u200b", "BOM": "\ufeff",
		"word joiner": "\u2060", "ZWJ and ZWNJ": "\u200d\u200c", "variation selector": "\ufe0f",
		"ideographic variation selector": "\U000E0100", "Hangul filler": "\u3164", "Hangul choseong filler": "\u115f",
		"half-width Hangul filler": "\uffa0", "braille blank": "\u2800", "soft hyphen": "\u00ad",
		"combining grapheme joiner": "\u034f", "tag space": "\U000E0020", "mixed with spaces": " \u200b\u3000 ",
	}
	fields := []string{"display_name", "organization", "department"}
	for name, c := range bidi {
		for _, f := range fields {
			t.Run("bidi "+name+" in "+f, func(t *testing.T) {
				form := url.Values{"display_name": {"山田 太郎"}}
				form.Set(f, "山田"+c+"太郎")
				if _, errs := validateProfile(form); errs[f] != "profile.error.bidi" || len(errs) != 1 {
					t.Errorf("errors = %v, want %s: profile.error.bidi", errs, f)
				}
			})
		}
		for _, f := range []string{"phone", "mobile"} {
			form := url.Values{"display_name": {"x"}, f: {c + "03-1234-5678"}}
			if _, errs := validateProfile(form); errs[f] != "profile.error.bidi" {
				t.Errorf("%s with %s: errors = %v, want profile.error.bidi", f, name, errs)
			}
		}
	}
	for name, s := range invisible {
		for _, f := range fields {
			t.Run("only "+name+" in "+f, func(t *testing.T) {
				form := url.Values{"display_name": {"山田 太郎"}}
				form.Set(f, s)
				if _, errs := validateProfile(form); errs[f] != "profile.error.invisible" || len(errs) != 1 {
					t.Errorf("errors = %v, want %s: profile.error.invisible", errs, f)
				}
			})
		}
	}
	// Inside visible text some of them have a use, and blank edges are
	// trimmed.
	for in, want := range map[string]string{
		"葛\U000E0100城":           "葛\U000E0100城", // an ideographic variation selector picks the kanji's form
		"\u200b山田 太郎\ufeff":      "山田 太郎",
		"\u3000山田\u3000太郎\u3000": "山田\u3000太郎",
		"綾辻\U000E0100":           "綾辻\U000E0100", // a variation selector at the end stays with its kanji
		"ハート\u2764\ufe0f":        "ハート\u2764\ufe0f",
		"山田 太郎\n":                "山田 太郎", // a pasted line end
		"\ufe0f山田 太郎":            "山田 太郎",
	} {
		f, errs := validateProfile(url.Values{"display_name": {in}})
		if len(errs) != 0 || f.DisplayName != want {
			t.Errorf("display name %q: %q, %v; want %q accepted", in, f.DisplayName, errs, want)
		}
	}
	for _, lang := range []string{"ja", "en"} {
		for _, key := range []string{"profile.error.bidi", "profile.error.invisible"} {
			if msg := portal.T(lang, key); msg == "" || msg == key {
				t.Errorf("%s has no %s message", lang, key)
			}
		}
	}
}

func TestValidateProfile(t *testing.T) {
	tests := []struct {
		name   string
		form   url.Values
		errs   map[string]string
		expect func(t *testing.T, name, phone string)
	}{
		{name: "japanese ok", form: url.Values{"display_name": {" 山田 太郎 "}, "phone": {"０３－１２３４－５６７８"}, "organization": {"株式会社サンプル"}}, errs: map[string]string{},
			expect: func(t *testing.T, name, phone string) {
				if name != "山田 太郎" || phone != "03-1234-5678" {
					t.Fatalf("got %q %q", name, phone)
				}
			}},
		{name: "name required", form: url.Values{"display_name": {"  "}}, errs: map[string]string{"display_name": "profile.error.required"}},
		{name: "name too long", form: url.Values{"display_name": {strings.Repeat("山", 101)}}, errs: map[string]string{"display_name": "profile.error.too_long"}},
		{name: "100 kanji ok", form: url.Values{"display_name": {strings.Repeat("山", 100)}}, errs: map[string]string{}},
		{name: "control chars", form: url.Values{"display_name": {"a\x00b"}, "department": {"x\u2028y"}}, errs: map[string]string{"display_name": "profile.error.invalid_chars", "department": "profile.error.invalid_chars"}},
		{name: "invalid utf8", form: url.Values{"display_name": {"\xff\xfe"}}, errs: map[string]string{"display_name": "profile.error.invalid_chars"}},
		{name: "bad phones", form: url.Values{"display_name": {"x"}, "phone": {"call me"}, "mobile": {"12"}}, errs: map[string]string{"phone": "profile.error.phone", "mobile": "profile.error.phone"}},
		{name: "phone with a pasted line end", form: url.Values{"display_name": {"x"}, "phone": {"03-1234-5678 内線 12\r\n"}}, errs: map[string]string{},
			expect: func(t *testing.T, _, phone string) {
				if phone != "03-1234-5678 ext. 12" {
					t.Fatalf("phone %q", phone)
				}
			}},
		{name: "org too long", form: url.Values{"display_name": {"x"}, "organization": {strings.Repeat("a", 101)}}, errs: map[string]string{"organization": "profile.error.too_long"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, errs := validateProfile(tt.form)
			if len(errs) != len(tt.errs) {
				t.Fatalf("errs = %v, want %v", errs, tt.errs)
			}
			for k, v := range tt.errs {
				if errs[k] != v {
					t.Fatalf("errs[%s] = %q, want %q (all: %v)", k, errs[k], v, errs)
				}
			}
			if tt.expect != nil {
				tt.expect(t, f.DisplayName, f.Phone)
			}
		})
	}
}
