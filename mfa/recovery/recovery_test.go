package recovery

import (
	"errors"
	"regexp"
	"strings"
	"testing"
)

// TestGenerate checks a set: n codes shaped "xxxxx-xxxxx" from the
// alphabet, all different, each hash the Hash of its code; and two sets
// share nothing.
func TestGenerate(t *testing.T) {
	shape := regexp.MustCompile(`^[` + Alphabet + `]{5}-[` + Alphabet + `]{5}$`)
	codes, hashes, err := Generate(Count)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	if len(codes) != Count || len(hashes) != Count {
		t.Fatalf("got %d codes and %d hashes, want %d", len(codes), len(hashes), Count)
	}
	seen := map[string]bool{}
	for i, c := range codes {
		if !shape.MatchString(c) {
			t.Errorf("code %q is not xxxxx-xxxxx from %q", c, Alphabet)
		}
		if hashes[i] != Hash(c) {
			t.Errorf("hash %d is not Hash(%q)", i, c)
		}
		if seen[c] {
			t.Errorf("code %q twice", c)
		}
		seen[c] = true
	}
	again, _, err := Generate(Count)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range again {
		if seen[c] {
			t.Errorf("code %q in two sets", c)
		}
	}
	for _, n := range []int{0, -1} {
		if _, _, err := Generate(n); err == nil {
			t.Errorf("Generate(%d) succeeded", n)
		}
	}
}

// TestAlphabet checks the alphabet leaves out the characters people mix
// up, and that generated codes use all of it about evenly (a modulo bias
// or a wrong limit would skew or drop characters).
func TestAlphabet(t *testing.T) {
	if strings.ContainsAny(Alphabet, "0o1liI") || len(Alphabet) != 31 {
		t.Fatalf("Alphabet %q: want 31 characters without 0 o 1 l i", Alphabet)
	}
	counts := map[rune]int{}
	const sets = 400
	for range sets {
		codes, _, err := Generate(Count)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range codes {
			for _, r := range strings.ReplaceAll(c, "-", "") {
				counts[r]++
			}
		}
	}
	// 40,000 characters, about 1,290 each; a binomial deviation of 20%
	// is over seven standard deviations.
	mean := sets * Count * Length / len(Alphabet)
	for _, r := range Alphabet {
		if n := counts[r]; n < mean*8/10 || n > mean*12/10 {
			t.Errorf("%q drawn %d times, want about %d", r, n, mean)
		}
	}
	if len(counts) != len(Alphabet) {
		t.Errorf("%d distinct characters drawn, want %d", len(counts), len(Alphabet))
	}
}

// TestNormalize checks what people paste becomes the code as shown.
func TestNormalize(t *testing.T) {
	cases := []struct{ in, want string }{
		{"k7m2p-x9hqa", "k7m2px9hqa"},
		{"k7m2px9hqa", "k7m2px9hqa"},
		{"K7M2P-X9HQA", "k7m2px9hqa"},
		{" k7m2p x9hqa\n", "k7m2px9hqa"},
		{"k7m2p\u3000x9hqa", "k7m2px9hqa"},
		{"ｋ７ｍ２ｐ－ｘ９ｈｑａ", "k7m2px9hqa"},
		{"Ｋ７Ｍ２Ｐ ー Ｘ９ＨＱＡ", "k7m2px9hqa"},
		{"k7m2p–x9hqa", "k7m2px9hqa"},
		{"k7-m2-p-x9-hqa", "k7m2px9hqa"},
		{"k7m2p_x9hqa", "k7m2p_x9hqa"},
		{"", ""},
	}
	for _, c := range cases {
		if got := Normalize(c.in); got != c.want {
			t.Errorf("Normalize(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestHash checks that every way of typing a code hashes alike, that
// other codes do not, and the hash's form (hex SHA-256 of the normalised
// code).
func TestHash(t *testing.T) {
	// sha256("k7m2px9hqa"), from sha256sum.
	const want = "5fb77d723275fe34bb70735fceeddd1461657479599a3bf6763b5ddc7da16d1b"
	if got := Hash("k7m2p-x9hqa"); got != want {
		t.Fatalf("Hash = %q, want %q", got, want)
	}
	for _, in := range []string{"k7m2px9hqa", "K7M2P-X9HQA", "ｋ７ｍ２ｐ－ｘ９ｈｑａ", " k7m2p x9hqa "} {
		if got := Hash(in); got != want {
			t.Errorf("Hash(%q) differs from Hash(%q)", in, "k7m2p-x9hqa")
		}
	}
	for _, in := range []string{"k7m2p-x9hqb", "k7m2p-x9hq", "k7m2p-x9hqaa"} {
		if Hash(in) == want {
			t.Errorf("Hash(%q) equals the hash of another code", in)
		}
	}
}

// TestCheck checks the shape test a flow runs before looking a code up.
func TestCheck(t *testing.T) {
	cases := []struct {
		in string
		ok bool
	}{
		{"k7m2p-x9hqa", true},
		{"Ｋ７Ｍ２Ｐ－Ｘ９ＨＱＡ", true},
		{"k7m2p-x9hq", false},
		{"k7m2p-x9hqaa", false},
		{"k7m2p-x9hq0", false},
		{"k7m2p-x9hqo", false},
		{"123456", false},
		{"", false},
	}
	for _, c := range cases {
		h, err := Check(c.in)
		switch {
		case c.ok && (err != nil || h != Hash(c.in)):
			t.Errorf("Check(%q) = %q, %v; want Hash, nil", c.in, h, err)
		case !c.ok && !errors.Is(err, ErrMalformed):
			t.Errorf("Check(%q) = %q, %v; want ErrMalformed", c.in, h, err)
		}
	}
}
