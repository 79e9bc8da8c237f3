package gateway

import (
	"net/url"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/ssogate/ssogate/portal"
)

// Profile field limits. The phone limits are the ones profile.error.phone
// states, in both languages; a test holds them together.
const (
	maxNameLen = 100 // characters
	// maxPhoneInput bounds what is parsed at all; the digit counts below
	// are the real rule.
	maxPhoneInput  = 64
	minPhoneDigits = 4
	maxPhoneDigits = 15 // E.164's maximum
	maxExtDigits   = 6
)

// validateProfile checks the personal-info form. It returns the cleaned
// form and, per field, a message key for each problem; nothing is saved
// when any problem remains.
func validateProfile(v url.Values) (portal.ProfileForm, map[string]string) {
	errs := map[string]string{}
	text := func(field string, required bool) string {
		raw := v.Get(field)
		s := trimBlank(raw)
		switch {
		case !utf8.ValidString(raw) || hasControl(s):
			errs[field] = "profile.error.invalid_chars"
		case hasBidi(raw):
			errs[field] = "profile.error.bidi"
		case s == "" && raw != "" && strings.TrimSpace(raw) != "":
			// Only characters that show nothing: a name nobody can see
			// or tell apart from another.
			errs[field] = "profile.error.invisible"
		case required && s == "":
			errs[field] = "profile.error.required"
		case utf8.RuneCountInString(s) > maxNameLen:
			errs[field] = "profile.error.too_long"
		}
		return s
	}
	phone := func(field string) string {
		typed := v.Get(field)
		raw := trimBlank(typed)
		switch {
		case !utf8.ValidString(typed) || hasControl(raw):
			errs[field] = "profile.error.invalid_chars"
			return raw
		case hasBidi(typed):
			errs[field] = "profile.error.bidi"
			return raw
		case raw == "":
			return ""
		}
		s, ok := normalizePhone(raw)
		if !ok {
			errs[field] = "profile.error.phone"
			return raw
		}
		return s
	}
	f := portal.ProfileForm{
		DisplayName:  text("display_name", true),
		Phone:        phone("phone"),
		Mobile:       phone("mobile"),
		Organization: text("organization", false),
		Department:   text("department", false),
	}
	return f, errs
}

// phoneDashes maps the dashes and long-vowel marks people type for a
// hyphen in Japanese input modes, which NFKC leaves alone.
var phoneDashes = strings.NewReplacer(
	"ー", "-", "−", "-", "‐", "-", "‑", "-", "―", "-", "‒", "-", "–", "-", "—", "-", "ｰ", "-",
)

// phoneExt splits an extension off a folded phone number: 内線, ext, ext.
// or x, then its digits, at the end.
var phoneExt = regexp.MustCompile(`^(.*?)\s*(?:内線|[Ee][Xx][Tt]\.?|[Xx])\s*([0-9]+)$`)

// normalizePhone accepts what profile.error.phone describes: 4 to 15
// digits, optionally starting with +, in groups separated by hyphens,
// spaces or parentheses ("03-1234-5678", "+81 3 1234 5678",
// "(03) 1234-5678", "03(1234)5678"), then optionally an extension of 1 to
// 6 digits written 内線 123, ext. 123 or x123. Full-width input is folded
// first. It returns the number as digit groups joined by single hyphens,
// and the extension as " ext. 123": "+81-3-1234-5678 ext. 123". The result
// is accepted again unchanged.
func normalizePhone(raw string) (string, bool) {
	s := phoneDashes.Replace(norm.NFKC.String(raw))
	if len(s) > maxPhoneInput {
		return "", false
	}
	number, ext := s, ""
	if m := phoneExt.FindStringSubmatch(s); m != nil {
		number, ext = m[1], m[2]
		if len(ext) > maxExtDigits {
			return "", false
		}
	}
	number = strings.TrimSpace(number)
	plus := strings.HasPrefix(number, "+")
	body := strings.TrimPrefix(number, "+")
	// An area code in parentheses may open the number.
	body = strings.TrimPrefix(body, "(")
	var out strings.Builder
	digits := 0
	sep := false
	for i, c := range body {
		switch {
		case c >= '0' && c <= '9':
			if sep {
				out.WriteByte('-')
				sep = false
			}
			out.WriteRune(c)
			digits++
		case c == '-' || c == ' ' || c == '(' || c == ')':
			if i == 0 {
				return "", false // a separator before any digit
			}
			sep = true
		default:
			return "", false
		}
	}
	if sep || digits < minPhoneDigits || digits > maxPhoneDigits {
		return "", false
	}
	result := out.String()
	if plus {
		result = "+" + result
	}
	if ext != "" {
		result += " ext. " + ext
	}
	return result, true
}

// hasControl reports control characters and line or paragraph separators.
func hasControl(s string) bool {
	for _, c := range s {
		if unicode.IsControl(c) || c == '\u2028' || c == '\u2029' {
			return true
		}
	}
	return false
}

// hasBidi reports characters that change the direction text is shown in:
// they can make a name read differently from what is stored (Trojan
// Source, CVE-2021-42574), and no Japanese or English name needs them.
func hasBidi(s string) bool {
	for _, c := range s {
		switch {
		case c >= '\u202a' && c <= '\u202e', // LRE, RLE, PDF, LRO, RLO
			c >= '\u2066' && c <= '\u2069',              // LRI, RLI, FSI, PDI
			c == '\u061c', c == '\u200e', c == '\u200f': // ALM, LRM, RLM
			return true
		}
	}
	return false
}

// isBlank reports characters that show nothing: white space (the
// ideographic space U+3000 too), format characters (zero-width space and
// joiners, word joiner, BOM, soft hyphen, tags), variation selectors, the
// combining grapheme joiner, Hangul fillers and the braille blank. Inside
// a name some of them have a use (a variation selector picks a kanji's
// form); a field made only of them shows nothing.
func isBlank(c rune) bool {
	switch {
	case unicode.IsSpace(c), unicode.In(c, unicode.Cf),
		unicode.Is(unicode.Variation_Selector, c),
		c == '\u034f',                                              // combining grapheme joiner
		c == '\u115f', c == '\u1160', c == '\u3164', c == '\uffa0', // Hangul fillers
		c == '\u17b4', c == '\u17b5', // Khmer inherent vowels
		c == '\u2800': // braille blank
		return true
	}
	return false
}

// trimBlank removes what shows nothing from both ends of s, except a
// variation selector after a visible character: it picks that character's
// form (綾辻󠄀 with the IVS of 辻, or the emoji form ❤️).
func trimBlank(s string) string {
	return strings.TrimRightFunc(strings.TrimLeftFunc(s, isBlank), func(c rune) bool {
		return isBlank(c) && !unicode.Is(unicode.Variation_Selector, c)
	})
}

// foldASCII returns s in NFKC when that makes it plain ASCII, else s as
// typed: a login id typed with a Japanese input method comes in full width
// ("ｄｅｍｏ＠ｅｘａｍｐｌｅ．ｃｏｍ") and means the ASCII address, but
// a login id that is not ASCII at all is left for its provider to judge.
func foldASCII(s string) string {
	f := norm.NFKC.String(s)
	for i := 0; i < len(f); i++ {
		if f[i] >= utf8.RuneSelf {
			return s
		}
	}
	return f
}
