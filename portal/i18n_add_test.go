package portal

import "testing"

// TestAddMessages: a flow's messages join the catalog; a key in one
// language only, or defined twice, panics.
func TestAddMessages(t *testing.T) {
	addMessages(map[string]string{"test.add.hello": "こんにちは"}, map[string]string{"test.add.hello": "Hello"})
	t.Cleanup(func() {
		delete(catalog["ja"], "test.add.hello")
		delete(catalog["en"], "test.add.hello")
	})
	if T("ja", "test.add.hello") != "こんにちは" || T("en", "test.add.hello") != "Hello" {
		t.Fatalf("added message = %q / %q", T("ja", "test.add.hello"), T("en", "test.add.hello"))
	}
	for name, f := range map[string]func(){
		"twice":       func() { addMessages(map[string]string{"nav.home": "x"}, map[string]string{"nav.home": "x"}) },
		"no English":  func() { addMessages(map[string]string{"test.add.ja": "x"}, map[string]string{}) },
		"no Japanese": func() { addMessages(map[string]string{}, map[string]string{"test.add.en": "x"}) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			f()
		})
	}
}
