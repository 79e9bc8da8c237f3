package notify

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
)

// ErrInvalidPhone is wrapped by every refusal of E164: the number cannot
// receive a code. The error's text is fit to show the person (in English);
// the gateway shows its own ja/en message on errors.Is(err, ErrInvalidPhone).
var ErrInvalidPhone = errors.New("notify: not a phone number that can receive a code")

// maxPhoneInput bounds what E164 parses: a person's number with spaces,
// hyphens and a country code fits well within it.
const maxPhoneInput = 64

// E164 returns number in E.164 form (+819012345678). A number written
// without a country code ("090-1234-5678") is read in region (two
// letters, e.g. "JP"; "" accepts only numbers with a country code).
// Full-width digits and hyphens (０９０ー１２３４ー５６７８) are accepted.
// A number that cannot exist, carries an extension, or is premium-rate
// (a call or SMS to it would cost the operator money: toll fraud) is
// refused with an error wrapping ErrInvalidPhone.
func E164(number, region string) (string, error) {
	number = strings.TrimSpace(number)
	if number == "" {
		return "", fmt.Errorf("%w: the number is empty", ErrInvalidPhone)
	}
	if len(number) > maxPhoneInput || !utf8.ValidString(number) {
		return "", fmt.Errorf("%w: too long to be a phone number", ErrInvalidPhone)
	}
	n, err := phonenumbers.Parse(number, strings.ToUpper(region))
	if err != nil {
		// The library's text names its own internals; the person needs to
		// know what to write instead.
		return "", fmt.Errorf("%w: write it with digits, e.g. 090-1234-5678 or +81 90-1234-5678", ErrInvalidPhone)
	}
	if n.GetExtension() != "" {
		return "", fmt.Errorf("%w: an extension cannot receive a code", ErrInvalidPhone)
	}
	if !phonenumbers.IsValidNumber(n) {
		return "", fmt.Errorf("%w: no such number exists; check its digits and country code", ErrInvalidPhone)
	}
	if phonenumbers.GetNumberType(n) == phonenumbers.PREMIUM_RATE {
		return "", fmt.Errorf("%w: premium-rate numbers cannot receive codes", ErrInvalidPhone)
	}
	return phonenumbers.Format(n, phonenumbers.E164), nil
}

// MaskPhone returns e164 with all but its last three digits hidden, in
// one shape whatever the number's length ("***-****-*678"), for pages
// and mails that remind the person which phone a code went to without
// revealing it.
func MaskPhone(e164 string) string {
	var digits []byte
	for i := 0; i < len(e164); i++ {
		if c := e164[i]; c >= '0' && c <= '9' {
			digits = append(digits, c)
		}
	}
	if len(digits) < 3 {
		return "***-****-****"
	}
	return "***-****-*" + string(digits[len(digits)-3:])
}

// CodeValidity is how long a code of 2-step verification works, written
// for an SMS or a call in lang: "5分間" or "5 minutes". It is what
// Data.Expires holds for TemplateSecondFactorCode: a duration, since the
// phone may be in another time zone than the portal and a time of day is
// long in a one-segment SMS.
func CodeValidity(ttl time.Duration, lang string) string {
	n, ja, en := int64(ttl/time.Second), "秒間", "second"
	switch {
	case ttl >= time.Hour && ttl%time.Hour == 0:
		n, ja, en = int64(ttl/time.Hour), "時間", "hour"
	case ttl >= time.Minute && ttl%time.Minute == 0:
		n, ja, en = int64(ttl/time.Minute), "分間", "minute"
	}
	if lang == "ja" {
		return strconv.FormatInt(n, 10) + ja
	}
	if n != 1 {
		en += "s"
	}
	return strconv.FormatInt(n, 10) + " " + en
}

// spellOut writes code one character at a time, separated by the pause
// of lang's punctuation ("1、2、3", "1, 2, 3"), for a voice to read.
func spellOut(code, lang string) string {
	sep := ", "
	if lang == "ja" {
		sep = "、"
	}
	var b strings.Builder
	for i, r := range code {
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteRune(r)
	}
	return b.String()
}
