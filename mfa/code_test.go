package mfa

import (
	"errors"
	"testing"
)

// TestNormalizeCode checks that what people type or paste becomes the
// plain code, and that what is not a code stays visibly wrong.
func TestNormalizeCode(t *testing.T) {
	cases := []struct{ in, want string }{
		{"123456", "123456"},
		{" 123 456 ", "123456"},
		{"123-456", "123456"},
		{"１２３４５６", "123456"},
		{"１２３\u3000４５６", "123456"},
		{"123－456", "123456"},
		{"123ー456", "123456"},
		{"123\t456\n", "123456"},
		{"12345a", "12345a"},
		{"ＡＢＣ", "ABC"},
		{"", ""},
		{"٣٤٥", "٣٤٥"},
	}
	for _, c := range cases {
		if got := NormalizeCode(c.in); got != c.want {
			t.Errorf("NormalizeCode(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestReadDigits checks which responses hold a code of n digits.
func TestReadDigits(t *testing.T) {
	cases := []struct {
		in, want string
		ok       bool
	}{
		{"123456", "123456", true},
		{"１２３ ４５６", "123456", true},
		{"123-456", "123456", true},
		{"12345", "", false},
		{"1234567", "", false},
		{"12345a", "", false},
		{"12.456", "", false},
		{"١٢٣٤٥٦", "", false},
		{"", "", false},
	}
	for _, c := range cases {
		got, err := ReadDigits(c.in, 6)
		if c.ok && (err != nil || got != c.want) {
			t.Errorf("ReadDigits(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
		if !c.ok && !errors.Is(err, ErrMalformed) {
			t.Errorf("ReadDigits(%q) = %q, %v; want ErrMalformed", c.in, got, err)
		}
	}
}
