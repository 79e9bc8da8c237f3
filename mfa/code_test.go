package mfa

import "testing"

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
