package plugins

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImports keeps plugins/... to what docs/architecture.md allows: of this module,
// only providers and plugins/... themselves; the wiring of config onto
// Spec belongs to cmd/ssogate. Test variants ("[… .test]") may also import
// the concrete providers, their conformance suite and the test peers: the
// suite runs the built-in providers through the gRPC adapters.
func TestImports(t *testing.T) {
	const mod = "github.com/ssogate/ssogate"
	out, err := exec.Command("go", "list", "-test", "-f", `{{.ImportPath}}:{{join .Imports " "}}`, "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 5 {
		t.Fatalf("go list listed only %d packages", len(lines))
	}
	for _, line := range lines {
		pkg, imps, _ := strings.Cut(line, ":")
		for _, imp := range strings.Fields(imps) {
			if !strings.HasPrefix(imp, mod+"/") {
				continue
			}
			testOnly := strings.Contains(pkg, ".test]") &&
				(strings.HasPrefix(imp, mod+"/providers/") || imp == mod+"/internal/testpeers")
			if imp != mod+"/providers" && !strings.HasPrefix(imp, mod+"/plugins") && !testOnly {
				t.Errorf("%s imports %s; plugins may import only providers", pkg, imp)
			}
		}
	}
}
