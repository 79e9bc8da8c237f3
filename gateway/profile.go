package gateway

import (
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ssogate/ssogate/portal"
)

// Profile field limits, in characters.
const (
	maxNameLen  = 100
	maxPhoneLen = 32
)

// phoneFold maps the characters people type in Japanese input modes to
// their ASCII forms: full-width digits, plus and the many dashes.
var phoneFold = strings.NewReplacer(
	"０", "0", "１", "1", "２", "2", "３", "3", "４", "4",
	"５", "5", "６", "6", "７", "7", "８", "8", "９", "9",
	"＋", "+", "－", "-", "ー", "-", "−", "-", "‐", "-", "―", "-", "‒", "-", "–", "-", "—", "-",
	"（", "(", "）", ")", "　", " ",
)

// validateProfile checks the personal-info form. It returns the cleaned
// form and, per field, a message key for each problem; nothing is saved
// when any problem remains.
func validateProfile(v url.Values) (portal.ProfileForm, map[string]string) {
	errs := map[string]string{}
	text := func(field string, required bool) string {
		s := strings.TrimSpace(v.Get(field))
		switch {
		case !utf8.ValidString(s) || hasControl(s):
			errs[field] = "profile.error.invalid_chars"
		case required && s == "":
			errs[field] = "profile.error.required"
		case utf8.RuneCountInString(s) > maxNameLen:
			errs[field] = "profile.error.too_long"
		}
		return s
	}
	phone := func(field string) string {
		raw := strings.TrimSpace(v.Get(field))
		if !utf8.ValidString(raw) || hasControl(raw) {
			errs[field] = "profile.error.invalid_chars"
			return raw
		}
		if raw == "" {
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

// normalizePhone folds full-width input and accepts "+81-3-1234-5678",
// "03-1234-5678", "090 1234 5678" and "(03) 1234-5678": an optional leading
// +, digits separated by single hyphens or spaces, 4 to 15 digits in all
// (E.164's maximum). It returns the number with spaces and parentheses
// turned into hyphens.
func normalizePhone(raw string) (string, bool) {
	s := phoneFold.Replace(raw)
	if utf8.RuneCountInString(s) > maxPhoneLen {
		return "", false
	}
	s = strings.NewReplacer("(", "", ")", "-", " ", "-").Replace(s)
	for strings.Contains(s, "--") {
		s = strings.ReplaceAll(s, "--", "-")
	}
	plus := strings.HasPrefix(s, "+")
	body := strings.TrimPrefix(s, "+")
	digits := 0
	prevSep := true // no separator at the start
	for _, c := range body {
		switch {
		case c >= '0' && c <= '9':
			digits++
			prevSep = false
		case c == '-':
			if prevSep {
				return "", false
			}
			prevSep = true
		default:
			return "", false
		}
	}
	if prevSep || digits < 4 || digits > 15 {
		return "", false
	}
	if plus {
		return "+" + body, true
	}
	return body, true
}

func hasControl(s string) bool {
	for _, c := range s {
		if unicode.IsControl(c) || c == '\u2028' || c == '\u2029' || c == '\u200e' || c == '\u200f' || (c >= '\u202a' && c <= '\u202e') {
			return true
		}
	}
	return false
}
