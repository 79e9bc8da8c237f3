// Package credentials holds the rules for what people choose and type as
// credentials, shared by the local provider (which stores passwords) and
// the account flows (which let people set them): the password rule and the
// form a login email is compared in. It imports nothing of ssogate.
package credentials

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Reason codes of a RuleError. They are stable: the portal maps them to
// messages in the person's language, and tests compare them.
const (
	ReasonTooShort      = "too_short"
	ReasonTooLong       = "too_long"
	ReasonTooFewClasses = "too_few_classes"
	ReasonContainsEmail = "contains_email"
)

// Rule defaults and limits.
const (
	DefaultMinLength  = 8
	DefaultMinClasses = 3
	// MaxPasswordRunes is the longest password Check accepts. At most 4
	// bytes a rune, it keeps a valid password within MaxPasswordBytes.
	MaxPasswordRunes = 256
)

// minEmailPartRunes is the shortest piece of an email's local part that a
// password may not contain; shorter pieces ("a", "jo") occur by chance.
const minEmailPartRunes = 3

// PasswordRule is the rule a new password must meet. It is not applied when
// signing in: a password that met an older rule still works.
//
// A password counts characters from four classes:
//
//   - upper: upper- and title-case letters of any script (A, Ä, Ω, Ａ);
//   - lower: lower-case letters of any script (a, ß, ω, ａ);
//   - digit: decimal digits of any script (0-9, full-width ０-９);
//   - symbol: any other printable character that is not a letter or a
//     combining mark: punctuation, symbols, spaces, other numerals
//     (!, #, space, full-width ！, ＃, ideographic space, ①).
//
// Letters without case, such as Japanese kana and kanji, Chinese hanzi or
// Korean hangul, count in none of the classes: they lengthen the password
// but do not add a class. So "パスワード2024!" has two classes (digit and
// symbol), and "山田Taro2024" has three.
type PasswordRule struct {
	// MinLength is the least number of characters (Unicode code points,
	// not bytes). Zero means DefaultMinLength.
	MinLength int
	// MinClasses is how many of the four classes a password must use,
	// 1 to 4. Zero means DefaultMinClasses.
	MinClasses int
}

// RuleError is returned by PasswordRule.Check. Reasons holds one or more of the
// Reason codes, in the order too_short, too_long, too_few_classes,
// contains_email.
type RuleError struct {
	Reasons []string
}

// Error lists the reason codes; the portal shows people its own message
// for each.
func (e *RuleError) Error() string {
	return "credentials: password does not meet the rule: " + strings.Join(e.Reasons, ", ")
}

// Check returns nil if password meets p for the account whose login is
// email, or a *RuleError listing every rule it breaks. The password may
// contain neither the whole email nor its local part or a piece of it
// (split at '.', '_', '-', '+') of three or more characters, ignoring case
// and full-width forms. An empty email skips that rule.
func (p PasswordRule) Check(password, email string) error {
	minLength, minClasses := p.MinLength, p.MinClasses
	if minLength == 0 {
		minLength = DefaultMinLength
	}
	if minClasses == 0 {
		minClasses = DefaultMinClasses
	}

	var reasons []string
	n := utf8.RuneCountInString(password)
	if n < minLength {
		reasons = append(reasons, ReasonTooShort)
	}
	if n > MaxPasswordRunes {
		reasons = append(reasons, ReasonTooLong)
	}
	if classes(password) < minClasses {
		reasons = append(reasons, ReasonTooFewClasses)
	}
	if containsEmail(password, email) {
		reasons = append(reasons, ReasonContainsEmail)
	}
	if reasons != nil {
		return &RuleError{Reasons: reasons}
	}
	return nil
}

// classes counts the character classes password uses; see PasswordRule.
func classes(password string) int {
	var upper, lower, digit, symbol bool
	for _, r := range password {
		switch {
		case unicode.IsUpper(r) || unicode.IsTitle(r):
			upper = true
		case unicode.IsLower(r):
			lower = true
		case unicode.IsDigit(r):
			digit = true
		case unicode.IsLetter(r) || unicode.IsMark(r):
			// Caseless letters and combining marks: no class.
		case unicode.IsGraphic(r):
			symbol = true
		}
	}
	n := 0
	for _, b := range [...]bool{upper, lower, digit, symbol} {
		if b {
			n++
		}
	}
	return n
}

// containsEmail reports whether password contains email, its local part,
// or a piece of the local part, as described at PasswordRule.Check.
func containsEmail(password, email string) bool {
	email = fold(strings.TrimSpace(email))
	if email == "" {
		return false
	}
	pw := fold(password)
	if strings.Contains(pw, email) {
		return true
	}
	localPart := email
	if i := strings.LastIndexByte(email, '@'); i >= 0 {
		localPart = email[:i]
	}
	pieces := strings.FieldsFunc(localPart, func(r rune) bool {
		return r == '.' || r == '_' || r == '-' || r == '+'
	})
	for _, s := range append(pieces, localPart) {
		if utf8.RuneCountInString(s) >= minEmailPartRunes && strings.Contains(pw, s) {
			return true
		}
	}
	return false
}

// fold lower-cases s and maps full-width ASCII (Ｔａｒｏ, as a Japanese
// input method types it) to ASCII, so "ＴＡＲＯ" contains "taro".
func fold(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 0xFF01 && r <= 0xFF5E {
			r -= 0xFEE0
		}
		return unicode.ToLower(r)
	}, s)
}

// NormalizeEmail is the form a login is looked up in: full-width input
// (an address typed with a Japanese input method, "ｔａｒｏ＠ｅｘａｍｐｌｅ．ｃｏｍ")
// folded to ASCII by NFKC, then trimmed and lower-cased. The fold applies
// only when it makes the whole login ASCII; other text is kept as typed.
func NormalizeEmail(login string) string {
	folded := norm.NFKC.String(login)
	for i := 0; i < len(folded); i++ {
		if folded[i] >= 0x80 {
			folded = login
			break
		}
	}
	return strings.ToLower(strings.TrimSpace(folded))
}
