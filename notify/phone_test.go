package notify

import (
	"errors"
	"strings"
	"testing"
)

func TestE164(t *testing.T) {
	for _, tc := range []struct {
		name, in, region, want string
	}{
		{"japanese mobile", "090-1234-5678", "JP", "+819012345678"},
		{"japanese mobile without hyphens", "09012345678", "JP", "+819012345678"},
		{"lower-case region", "090-1234-5678", "jp", "+819012345678"},
		{"full-width digits and long-vowel hyphens", "０９０ー１２３４ー５６７８", "JP", "+819012345678"},
		{"full-width digits and full-width hyphen-minus", "０９０－１２３４－５６７８", "JP", "+819012345678"},
		{"international form with spaces", "+1 415 555 2671", "JP", "+14155552671"},
		{"international form without region", "+81 90-1234-5678", "", "+819012345678"},
		{"tokyo landline", "03-1234-5678", "JP", "+81312345678"},
		{"surrounding spaces", "  090 1234 5678 ", "JP", "+819012345678"},
		{"US number in region US", "(415) 555-2671", "US", "+14155552671"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := E164(tc.in, tc.region)
			if err != nil {
				t.Fatalf("E164(%q, %q): %v", tc.in, tc.region, err)
			}
			if got != tc.want {
				t.Errorf("E164(%q, %q) = %q, want %q", tc.in, tc.region, got, tc.want)
			}
		})
	}
}

func TestE164Refuses(t *testing.T) {
	for _, tc := range []struct {
		name, in, region, why string
	}{
		{"empty", "", "JP", "empty"},
		{"letters", "abc", "JP", "digits"},
		{"too short", "123", "JP", "no such number"},
		{"a digit missing", "+81 90 1234 567", "JP", "no such number"},
		{"no country code and no region", "090-1234-5678", "", "digits"},
		{"extension", "03-1234-5678 ext 12", "JP", "extension"},
		{"premium rate", "0990-123-456", "JP", "premium-rate"},
		{"too long", strings.Repeat("1", 65), "JP", "too long"},
		{"not UTF-8", "090\xff1234", "JP", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := E164(tc.in, tc.region)
			if err == nil {
				t.Fatalf("E164(%q, %q) = %q, want a refusal", tc.in, tc.region, got)
			}
			if !errors.Is(err, ErrInvalidPhone) {
				t.Errorf("E164(%q): %v does not wrap ErrInvalidPhone", tc.in, err)
			}
			if !strings.Contains(err.Error(), tc.why) {
				t.Errorf("E164(%q): %q does not say %q", tc.in, err, tc.why)
			}
		})
	}
}

func TestMaskPhone(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"+819012345678", "***-****-*678"},
		{"+14155552671", "***-****-*671"},
		{"+81312345678", "***-****-*678"},
		{"+12", "***-****-****"},
		{"", "***-****-****"},
	} {
		if got := MaskPhone(tc.in); got != tc.want {
			t.Errorf("MaskPhone(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
