package credentials

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestPolicyCheck(t *testing.T) {
	const email = "taro.yamada@example.co.jp"
	tests := []struct {
		name     string
		policy   PasswordRule
		password string
		email    string
		want     []string // nil: accepted
	}{
		{name: "upper lower digit", password: "Passw0rd", email: email},
		{name: "lower only", password: "password", email: email, want: []string{ReasonTooFewClasses}},
		{name: "four classes but short", password: "Pa1!", email: email, want: []string{ReasonTooShort}},
		{name: "short and one class", password: "pa", email: email, want: []string{ReasonTooShort, ReasonTooFewClasses}},
		{name: "upper lower symbol", password: "Pass word!", email: email},
		{name: "lower digit symbol", password: "pass-w0rd", email: email},
		{name: "empty", password: "", email: email, want: []string{ReasonTooShort, ReasonTooFewClasses}},

		{name: "contains local part piece", password: "Yamada2024!", email: email, want: []string{ReasonContainsEmail}},
		{name: "contains local part any case", password: "xTARO#2024", email: "taro@example.com", want: []string{ReasonContainsEmail}},
		{name: "contains whole local part", password: "1Taro.Yamada", email: email, want: []string{ReasonContainsEmail}},
		{name: "contains full-width local part", password: "Ｔａｒｏ2024!", email: "taro@example.com", want: []string{ReasonContainsEmail}},
		{name: "contains whole email", password: "A@b.jp1234", email: "a@b.jp", want: []string{ReasonContainsEmail}},
		{name: "short local part allowed", password: "Jo2024!abc", email: "jo@example.com"},
		{name: "short local part piece allowed", password: "Yo2024!abc", email: "yo.k@example.com"},
		{name: "domain allowed", password: "Example2024", email: email},
		{name: "no email", password: "Taro2024!", email: ""},
		{name: "every reason", password: "taro", email: "taro@example.com", want: []string{ReasonTooShort, ReasonTooFewClasses, ReasonContainsEmail}},

		{name: "kanji and kana only", password: "山田太郎のパスワード", email: email, want: []string{ReasonTooFewClasses}},
		{name: "kana with digit and symbol", password: "パスワード2024!", email: email, want: []string{ReasonTooFewClasses}},
		{name: "kana with digit and symbol, two classes", policy: PasswordRule{MinClasses: 2}, password: "パスワード2024!", email: email},
		{name: "kanji with latin", password: "山田Hanako2024", email: email},
		{name: "kanji counted in runes", password: "日本語Ab1!", email: email, want: []string{ReasonTooShort}},
		{name: "kanji eight runes", password: "日本語でAb1!", email: email},

		{name: "full-width symbol", password: "password！1", email: email},
		{name: "full-width letters and symbol", password: "Ｐａｓｓ！ｗｏｒｄ", email: email},
		{name: "full-width digit", password: "password１A", email: email},
		{name: "ideographic space is a symbol", password: "pass\u3000word1", email: email},
		{name: "accented letters have case", password: "Ünïcödé1", email: email},
		{name: "greek", password: "Ωμέγα123", email: email},
		{name: "title case counts as upper", password: "ǅemal123", email: email},
		{name: "combining mark is no class", password: "pa\u0301ssword1", email: email, want: []string{ReasonTooFewClasses}},

		{name: "256 runes", password: strings.Repeat("Aa1!", 64), email: email},
		{name: "257 runes", password: strings.Repeat("Aa1!", 64) + "x", email: email, want: []string{ReasonTooLong}},
		{name: "256 kanji runes but many bytes", password: "Aa1" + strings.Repeat("漢", 253), email: email},

		{name: "zero policy means defaults", policy: PasswordRule{}, password: "Passw0r", email: email, want: []string{ReasonTooShort}},
		{name: "longer minimum", policy: PasswordRule{MinLength: 12}, password: "Passw0rd1234", email: email},
		{name: "longer minimum short", policy: PasswordRule{MinLength: 12}, password: "Passw0rd123", email: email, want: []string{ReasonTooShort}},
		{name: "four classes required", policy: PasswordRule{MinClasses: 4}, password: "Passw0rd", email: email, want: []string{ReasonTooFewClasses}},
		{name: "four classes given", policy: PasswordRule{MinClasses: 4}, password: "Passw0rd!", email: email},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.policy.Check(tt.password, tt.email)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Check(%q) = %v, want nil", tt.password, err)
				}
				return
			}
			var pe *RuleError
			if !errors.As(err, &pe) {
				t.Fatalf("Check(%q) = %v, want *RuleError", tt.password, err)
			}
			if !slices.Equal(pe.Reasons, tt.want) {
				t.Errorf("Check(%q) reasons = %q, want %q", tt.password, pe.Reasons, tt.want)
			}
		})
	}
}

func TestPolicyErrorMessage(t *testing.T) {
	err := PasswordRule{}.Check("pa", "")
	const want = "credentials: password does not meet the rule: too_short, too_few_classes"
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
}
