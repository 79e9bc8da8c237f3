package gateway

import (
	"net/url"
	"strings"
	"testing"
)

func TestNormalizePhone(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"03-1234-5678", "03-1234-5678", true},
		{"090 1234 5678", "090-1234-5678", true},
		{"+81-3-1234-5678", "+81-3-1234-5678", true},
		{"０３－１２３４－５６７８", "03-1234-5678", true},
		{"０９０ー１２３４ー５６７８", "090-1234-5678", true},
		{"(03) 1234-5678", "03-1234-5678", true},
		{"1234", "1234", true},
		{"123", "", false},
		{"03-1234-5678x", "", false},
		{"abc", "", false},
		{"-0312345678", "", false},
		{"0312345678-", "", false},
		{"+", "", false},
		{"1+2345", "", false},
		{"0123456789012345", "", false},
		{strings.Repeat("1-", 20), "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := normalizePhone(tt.in)
			if ok != tt.ok || (ok && got != tt.want) {
				t.Fatalf("normalizePhone(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestValidateProfile(t *testing.T) {
	tests := []struct {
		name   string
		form   url.Values
		errs   map[string]string
		expect func(t *testing.T, name, phone string)
	}{
		{name: "japanese ok", form: url.Values{"display_name": {" 山田 太郎 "}, "phone": {"０３－１２３４－５６７８"}, "organization": {"株式会社サンプル"}}, errs: map[string]string{},
			expect: func(t *testing.T, name, phone string) {
				if name != "山田 太郎" || phone != "03-1234-5678" {
					t.Fatalf("got %q %q", name, phone)
				}
			}},
		{name: "name required", form: url.Values{"display_name": {"  "}}, errs: map[string]string{"display_name": "profile.error.required"}},
		{name: "name too long", form: url.Values{"display_name": {strings.Repeat("山", 101)}}, errs: map[string]string{"display_name": "profile.error.too_long"}},
		{name: "100 kanji ok", form: url.Values{"display_name": {strings.Repeat("山", 100)}}, errs: map[string]string{}},
		{name: "control chars", form: url.Values{"display_name": {"a\x00b"}, "department": {"x\u202ey"}}, errs: map[string]string{"display_name": "profile.error.invalid_chars", "department": "profile.error.invalid_chars"}},
		{name: "invalid utf8", form: url.Values{"display_name": {"\xff\xfe"}}, errs: map[string]string{"display_name": "profile.error.invalid_chars"}},
		{name: "bad phones", form: url.Values{"display_name": {"x"}, "phone": {"call me"}, "mobile": {"12"}}, errs: map[string]string{"phone": "profile.error.phone", "mobile": "profile.error.phone"}},
		{name: "org too long", form: url.Values{"display_name": {"x"}, "organization": {strings.Repeat("a", 101)}}, errs: map[string]string{"organization": "profile.error.too_long"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, errs := validateProfile(tt.form)
			if len(errs) != len(tt.errs) {
				t.Fatalf("errs = %v, want %v", errs, tt.errs)
			}
			for k, v := range tt.errs {
				if errs[k] != v {
					t.Fatalf("errs[%s] = %q, want %q (all: %v)", k, errs[k], v, errs)
				}
			}
			if tt.expect != nil {
				tt.expect(t, f.DisplayName, f.Phone)
			}
		})
	}
}
