package account

import (
	"strings"

	"golang.org/x/text/width"
)

// shortIDLen is how many hex digits of the user id the short id keeps:
// 48 bits, so that even among 100,000 users two share one with a
// chance of about 1 in 50,000, while a person can still read it out.
const shortIDLen = 12

// ShortID is the person's user id as the portal header shows it and as
// they type it at /identity-check: the first 12 hex digits of the user
// id, upper-cased, in groups of four ("3F9A-1C2B-7D40"). It is not a
// secret; the identity check pairs it with the registered phone number.
func ShortID(userID string) string {
	id := strings.ToUpper(userID)
	if len(id) > shortIDLen {
		id = id[:shortIDLen]
	}
	var b strings.Builder
	for i := 0; i < len(id); i += 4 {
		if i > 0 {
			b.WriteByte('-')
		}
		b.WriteString(id[i:min(i+4, len(id))])
	}
	return b.String()
}

// ParseShortID reads a short id as a person typed it (either case,
// full-width characters, hyphens and spaces anywhere) and returns the
// lower-case hex prefix of the user id it stands for; ok is false when it
// is not 12 hex digits.
func ParseShortID(typed string) (prefix string, ok bool) {
	var b strings.Builder
	for _, r := range width.Fold.String(typed) {
		switch {
		case r == '-' || r == ' ' || r == '\t':
		case r >= '0' && r <= '9', r >= 'a' && r <= 'f':
			b.WriteRune(r)
		case r >= 'A' && r <= 'F':
			b.WriteRune(r + ('a' - 'A'))
		default:
			return "", false
		}
	}
	if b.Len() != shortIDLen {
		return "", false
	}
	return b.String(), true
}
