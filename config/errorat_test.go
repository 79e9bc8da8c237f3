package config

import "testing"

// ErrorAt names the line of a key written in the file, or of its nearest
// written parent, as Validate's errors do.
func TestErrorAt(t *testing.T) {
	yaml := "server:\n  listen: 127.0.0.1:18080\nproviders:\n  - id: local\n    type: local\n    hashing:\n      max_in_flight: 2\n"
	c, err := Parse("x.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{
		"providers[0].hashing.max_in_flight": "x.yaml:7: providers[0].hashing.max_in_flight: too small",
		"providers[0].hashing.memory_kib":    "x.yaml:6: providers[0].hashing.memory_kib: too small",
	} {
		if got := c.ErrorAt(key, "too %s", "small").Error(); got != want {
			t.Errorf("ErrorAt(%q) = %q, want %q", key, got, want)
		}
	}
}
