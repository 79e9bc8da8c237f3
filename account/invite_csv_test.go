package account

import (
	"testing"

	"golang.org/x/text/encoding/japanese"
)

// TestDecodeCSVText: UTF-8 with and without a byte-order mark as it is,
// Shift_JIS (what Excel writes on a Japanese Windows) decoded.
func TestDecodeCSVText(t *testing.T) {
	const text = "email,display_name\r\nsato@example.co.jp,佐藤 ①郎 髙橋\r\n"
	sjis, err := japanese.ShiftJIS.NewEncoder().Bytes([]byte("email,display_name\r\nsato@example.co.jp,佐藤 一郎\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		in   []byte
		want string
	}{
		"utf8":     {[]byte(text), text},
		"utf8 bom": {append([]byte("\xef\xbb\xbf"), text...), text},
		"sjis":     {sjis, "email,display_name\r\nsato@example.co.jp,佐藤 一郎\r\n"},
	} {
		got, err := DecodeCSVText(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("%s: %q, %v", name, got, err)
		}
	}
}
