package providers_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportDirection enforces docs/architecture.md's one-way imports: providers
// imports nothing of ours; providers/* import only providers; store,
// config and portal are leaves (a store backend may import store).
func TestImportDirection(t *testing.T) {
	const mod = "github.com/ssogate/ssogate"
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}:{{join .Imports " "}}`, mod+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	// allowed maps a package prefix to the in-module imports it may have.
	allowed := []struct {
		pkg     string
		imports []string
	}{
		{mod + "/providers/", []string{mod + "/providers"}},
		{mod + "/providers", nil},
		{mod + "/store/", []string{mod + "/store"}},
		{mod + "/store", nil},
		{mod + "/config", nil},
		{mod + "/portal", nil},
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imps, _ := strings.Cut(line, ":")
		for _, rule := range allowed {
			if pkg != rule.pkg && !(strings.HasSuffix(rule.pkg, "/") && strings.HasPrefix(pkg, rule.pkg)) {
				continue
			}
			checked++
			for _, imp := range strings.Fields(imps) {
				if !strings.HasPrefix(imp, mod+"/") && imp != mod {
					continue
				}
				ok := false
				for _, a := range rule.imports {
					if imp == a {
						ok = true
					}
				}
				if !ok {
					t.Errorf("%s imports %s, against the layering in docs/architecture.md", pkg, imp)
				}
			}
			break
		}
	}
	if checked < 5 {
		t.Fatalf("checked only %d packages; is go list output as expected?\n%s", checked, out)
	}
}
