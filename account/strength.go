package account

import (
	_ "embed"
	"errors"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/ssogate/ssogate/credentials"
)

// Reasons a new password is refused, beyond the local rule's
// (credentials.ReasonTooShort, ReasonTooLong, ReasonTooFewClasses,
// ReasonContainsEmail). They are stable: the portal maps each to a
// message (password.reason.<code>), and tests compare them.
const (
	// ReasonCommon: one of the most common passwords, possibly with
	// digits or symbols added before or after (Summer2024!).
	ReasonCommon = "common"
	// ReasonContainsName: contains the person's name or a word of it.
	ReasonContainsName = "contains_name"
	// ReasonMismatch: the confirmation differs from the password.
	ReasonMismatch = "mismatch"
	// ReasonSameAsCurrent: the new password is the current one.
	ReasonSameAsCurrent = "same_as_current"
)

// commonCount is how many of the most common passwords are refused.
const commonCount = 10000

// minNamePartRunes is the shortest word of a name a password may not
// contain, the same length the local rule uses for pieces of the email:
// shorter words ("Li", 山田) occur by chance. A name is also checked
// whole, without its spaces (山田太郎).
const minNamePartRunes = 3

// WeakPasswordError is a new password refused by the rule. Reasons lists
// every rule it breaks, in the order of the local rule's reasons, then
// contains_name, common, same_as_current, mismatch.
type WeakPasswordError struct {
	Reasons []string
}

// Error lists the reason codes; the portal shows a message for each.
func (e *WeakPasswordError) Error() string {
	return "account: password refused: " + strings.Join(e.Reasons, ", ")
}

// commonPasswordList is the list of the 10,000 most common passwords;
// its header names its source (zxcvbn's frequency list, MIT licence).
//
//go:embed common-passwords.txt
var commonPasswordList string

// commonPasswords is the set of the commonCount most frequent passwords
// of commonPasswordList, folded as fold does. Built on first use (about
// 10,000 short strings), so a gateway that never sets a password never
// holds it.
var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	set := make(map[string]struct{}, commonCount)
	for line := range strings.Lines(commonPasswordList) {
		line = strings.TrimRight(line, "\r\n")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if len(set) == commonCount {
			break
		}
		set[fold(line)] = struct{}{}
	}
	return set
})

// CheckPassword applies the password rule to a new password of the
// account whose login is email and whose display name is name: the
// local rule (length, character classes, not the email or a piece of
// it), then not the name or a word of it, and not one of the 10,000
// most common passwords, also with digits and symbols around it
// (case-insensitive, full-width folded). It returns nil or a
// *WeakPasswordError.
func CheckPassword(rule credentials.PasswordRule, password, email, name string) error {
	var reasons []string
	var pe *credentials.RuleError
	if err := rule.Check(password, email); errors.As(err, &pe) {
		reasons = append(reasons, pe.Reasons...)
	} else if err != nil {
		reasons = append(reasons, err.Error())
	}
	if containsName(password, name) {
		reasons = append(reasons, ReasonContainsName)
	}
	if IsCommonPassword(password) {
		reasons = append(reasons, ReasonCommon)
	}
	if reasons != nil {
		return &WeakPasswordError{Reasons: reasons}
	}
	return nil
}

// IsCommonPassword reports whether password, ignoring case and width, is
// one of the 10,000 most common passwords, or is one with digits and
// symbols added at either end ("Password1!", "!!dragon2024"): people
// meet a class rule that way, and guessing tools try it first.
func IsCommonPassword(password string) bool {
	set := commonPasswords()
	f := fold(password)
	candidates := []string{
		f,
		strings.TrimRightFunc(f, isDecoration),
		strings.TrimFunc(f, func(r rune) bool { return isDecoration(r) || unicode.IsDigit(r) }),
	}
	for i, c := range candidates {
		// A core of three letters or fewer is no word anyone would
		// recognise as the password ("abc" in "abc#9Xq2…" is chance).
		if i > 0 && utf8.RuneCountInString(c) < 4 {
			continue
		}
		if _, ok := set[c]; ok {
			return true
		}
	}
	return false
}

// isDecoration reports symbols and spaces: what people append to a word
// to meet a rule.
func isDecoration(r rune) bool {
	return !unicode.IsLetter(r) && !unicode.IsDigit(r)
}

// containsName reports whether password contains name without its spaces,
// two neighbouring words of it joined in either order, or a word of it,
// of minNamePartRunes or more, ignoring case and width.
func containsName(password, name string) bool {
	name = fold(strings.TrimSpace(name))
	if name == "" {
		return false
	}
	pw := fold(password)
	words := strings.FieldsFunc(name, func(r rune) bool {
		return unicode.IsSpace(r) || r == '.' || r == '-' || r == '_' || r == '・' || r == ','
	})
	// Names are written family name first or last, with or without a
	// space: 山田 太郎, 山田太郎, Taro Yamada, yamadataro.
	parts := append(words, strings.Join(words, ""))
	for i := 1; i < len(words); i++ {
		parts = append(parts, words[i-1]+words[i], words[i]+words[i-1])
	}
	for _, w := range parts {
		if utf8.RuneCountInString(w) >= minNamePartRunes && strings.Contains(pw, w) {
			return true
		}
	}
	return false
}

// fold is s in NFKC (full-width letters and digits as ASCII), lower-case.
func fold(s string) string {
	return strings.ToLower(norm.NFKC.String(s))
}
