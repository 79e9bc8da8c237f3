package account

import "testing"

func TestShortID(t *testing.T) {
	id := "3f9a1c2b7d40e5f60718293a4b5c6d7e"
	if got := ShortID(id); got != "3F9A-1C2B-7D40" {
		t.Fatalf("ShortID = %q, want 3F9A-1C2B-7D40", got)
	}
	for _, typed := range []string{"3F9A-1C2B-7D40", "3f9a1c2b7d40", " 3f9a 1c2b 7d40 ", "３Ｆ９Ａ－１Ｃ２Ｂ－７Ｄ４０"} {
		p, ok := ParseShortID(typed)
		if !ok || p != id[:12] {
			t.Errorf("ParseShortID(%q) = %q, %v; want %q", typed, p, ok, id[:12])
		}
	}
	for _, bad := range []string{"", "3F9A-1C2B", "3F9A-1C2B-7D40-0", "3G9A-1C2B-7D40"} {
		if p, ok := ParseShortID(bad); ok {
			t.Errorf("ParseShortID(%q) = %q, accepted", bad, p)
		}
	}
}
