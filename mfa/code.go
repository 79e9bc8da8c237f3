package mfa

import (
	"strings"
	"unicode"
)

// NormalizeCode returns a typed or pasted one-time code as the factors
// compare it: full-width characters (what a Japanese input method types,
// "１２３ ４５６") become their ASCII forms, and spaces and dashes
// ("123 456", "123-456", "123－456") are dropped. Anything else is kept,
// so a factor still sees letters or a wrong length and can answer
// ErrMalformed.
func NormalizeCode(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		// The full-width forms of ASCII '!'..'~' sit 0xFEE0 above it.
		if r >= 0xFF01 && r <= 0xFF5E {
			r -= 0xFEE0
		}
		if unicode.IsSpace(r) || isDash(r) {
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// ReadDigits returns the n-digit code in a typed response (after
// NormalizeCode), or ErrMalformed when there is none: a wrong length,
// letters, other scripts' digits.
func ReadDigits(response string, n int) (string, error) {
	code := NormalizeCode(response)
	if len(code) != n {
		return "", ErrMalformed
	}
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return "", ErrMalformed
		}
	}
	return code, nil
}

// isDash reports whether r is a dash or a character a Japanese input
// method gives for one (the prolonged sound mark 'ー' when typing "-").
func isDash(r rune) bool {
	switch r {
	case '-', '\u2010', '\u2011', '\u2012', '\u2013', '\u2014', '\u2015', '\u2212', '\u30FC', '\uFF70':
		return true
	}
	return false
}
