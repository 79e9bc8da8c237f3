package portal

import "fmt"

// addMessages merges one flow's messages into the catalog, from an init
// function in that flow's own file (i18n_admin.go, …), so that flows built
// side by side do not all edit one map. ja and en must hold the same keys,
// and no key may be defined twice: either mistake panics at start, which
// every test run of the package catches at once.
func addMessages(ja, en map[string]string) {
	for k := range ja {
		if _, ok := en[k]; !ok {
			panic(fmt.Sprintf("portal: message %q has no English text", k))
		}
	}
	for lang, msgs := range map[string]map[string]string{"ja": ja, "en": en} {
		for k, v := range msgs {
			if _, dup := catalog[lang][k]; dup {
				panic(fmt.Sprintf("portal: message %q defined twice", k))
			}
			if _, ok := ja[k]; !ok {
				panic(fmt.Sprintf("portal: message %q has no Japanese text", k))
			}
			catalog[lang][k] = v
		}
	}
}
