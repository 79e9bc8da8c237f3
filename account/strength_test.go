package account_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/trustelem/zxcvbn/frequency"

	"github.com/ssogate/ssogate/account"
	"github.com/ssogate/ssogate/providers/local"
)

func TestCheckPassword(t *testing.T) {
	const email, name = "taro.yamada@example.co.jp", "山田 太郎 Taro"
	for _, tc := range []struct {
		pw   string
		want []string
	}{
		{"Kz7#rQ2!vM9p", nil},
		{"correct horse Battery 9", nil},
		{"password", []string{local.ReasonTooFewClasses, account.ReasonCommon}},
		{"Password1", []string{account.ReasonCommon}},         // "password1", case ignored
		{"Ｐａｓｓｗｏｒｄ１", []string{account.ReasonCommon}},         // full width
		{"Summer2024!", []string{account.ReasonCommon}},       // a common word with digits and symbols
		{"!!Dragon2024", []string{account.ReasonCommon}},      // in front too
		{"Qwerty123456!", []string{account.ReasonCommon}},     // a keyboard walk
		{"Yamada-2024!", []string{local.ReasonContainsEmail}}, // a piece of the email's local part
		{"Xx山田太郎2024!", []string{account.ReasonContainsName}}, // the name without its space
		{"MyTARO#2024x", []string{local.ReasonContainsEmail, account.ReasonContainsName}},
		{"Ab1!", []string{local.ReasonTooShort}},
	} {
		t.Run(tc.pw, func(t *testing.T) {
			err := account.CheckPassword(local.Policy{}, tc.pw, email, name)
			var we *account.WeakPasswordError
			if tc.want == nil {
				if err != nil {
					t.Fatalf("CheckPassword = %v, want nil", err)
				}
				return
			}
			if !errors.As(err, &we) || !slices.Equal(we.Reasons, tc.want) {
				t.Fatalf("CheckPassword = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestCommonPasswordsAreTenThousand(t *testing.T) {
	list := frequency.FrequencyLists["passwords"]
	if !account.IsCommonPassword(list[0]) || !account.IsCommonPassword(list[9999]) {
		t.Fatalf("the 1st (%q) or 10,000th (%q) common password is accepted", list[0], list[9999])
	}
	// The first word-only password after the 10,000th is not refused:
	// the list stops there.
	for _, pw := range list[10000:] {
		if strings.IndexFunc(pw, func(r rune) bool { return !unicode.IsLetter(r) }) < 0 {
			if account.IsCommonPassword(pw) {
				t.Fatalf("%q, after the 10,000th, is refused", pw)
			}
			return
		}
	}
	t.Fatal("no word-only password after the 10,000th")
}
