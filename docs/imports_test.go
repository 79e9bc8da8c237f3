package docs

import (
	"encoding/json"
	"os/exec"
	"path"
	"strings"
	"testing"
)

// layers says, for each package of the module (by its path in the
// module; a trailing "/..." covers the packages below), which of the
// module's packages it may import. It is the "Import direction" of
// architecture.md as a rule: a package missing here, or an import not
// allowed, fails TestImportDirection.
var layers = map[string][]string{
	// Contracts and leaves: nothing of ours, or only their contract.
	"providers":              nil,
	"mfa":                    nil,
	"mfa/totp":               {"mfa"},
	"mfa/codes":              {"mfa"},
	"mfa/recovery":           {"mfa"},
	"mfa/webauthn":           {"mfa"},
	"mfa/mfatest":            {"mfa"},
	"store":                  nil,
	"config":                 nil,
	"credentials":            nil,
	"portal":                 nil,
	"internal/logbuf":        nil,
	"internal/testdisk":      nil,
	"internal/testclock":     nil,
	"internal/testpeers":     nil,
	"internal/testpasskey":   nil,
	"providers/local":        {"providers", "credentials"},
	"providers/ldap":         {"providers"},
	"providers/oidc":         {"providers"},
	"providers/saml":         {"providers"},
	"providers/network":      {"providers"},
	"providers/providertest": {"providers"},
	"store/sqlite":           {"store"},
	"store/postgres":         {"store"},
	"store/storetest":        {"store"},
	// Flows: plain Go over the store and the outbox, no HTTP.
	"notify":  {"config", "store"},
	"account": {"credentials", "mfa", "mfa/recovery", "notify", "store"},
	// The identity-provider side's protocol engines: the library plus a
	// storage over the store; no HTTP handlers of ours, no gateway.
	"idp/oidcop":  {"config", "store"},
	"idp/samlidp": {"config", "store"},
	// HTTP ties the flows and contracts together, never a concrete
	// provider, backend or the metrics.
	"gateway": {"account", "config", "credentials", "idp/oidcop", "idp/samlidp", "mfa", "notify", "portal", "providers", "store"},
	"metrics": {"gateway", "plugins", "providers", "store"},
	// The plugin host and SDK.
	"plugins":                     {"plugins/internal/wire", "plugins/proto", "providers"},
	"plugins/proto":               nil,
	"plugins/internal/wire":       {"plugins/proto", "providers"},
	"plugins/sdk":                 {"plugins/internal/wire", "providers"},
	"plugins/examples/httpjson":   {"plugins/sdk", "providers"},
	"plugins/internal/testplugin": {"plugins/sdk", "providers"},
	// The wiring: the only package that picks concrete implementations.
	"cmd/ssogate": {"account", "config", "credentials", "gateway", "internal/logbuf", "metrics", "mfa", "mfa/...", "notify", "plugins", "portal",
		"providers", "providers/...", "store", "store/sqlite", "store/postgres"},
	"bench":          nil,
	"bench/bare":     nil,
	"bench/sessions": {"config", "gateway", "store/sqlite"},
	"examples/...":   nil,
	"docs":           nil,
}

// TestImportDirection fails when a package imports one of the module's
// packages its layer may not (non-test imports), or when a package has no
// layer: the tree's shape stays what architecture.md says.
func TestImportDirection(t *testing.T) {
	const module = "github.com/ssogate/ssogate"
	out, err := exec.Command("go", "list", "-json=ImportPath,Imports", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatalf("go list output: %v", err)
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		allowed, ok := layerOf(rel)
		if !ok {
			t.Errorf("package %s has no layer in docs/imports_test.go: add it, and a row to architecture.md", rel)
			continue
		}
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, module+"/") {
				continue
			}
			dep := strings.TrimPrefix(imp, module+"/")
			if !matchesAny(dep, allowed) {
				t.Errorf("%s imports %s: its layer allows only %v", rel, dep, allowed)
			}
		}
	}
}

// layerOf returns the imports allowed to package rel.
func layerOf(rel string) ([]string, bool) {
	if a, ok := layers[rel]; ok {
		return a, true
	}
	for p := rel; p != "." && p != ""; p = path.Dir(p) {
		if a, ok := layers[path.Dir(p)+"/..."]; ok && path.Dir(p) != "." {
			return a, true
		}
	}
	return nil, false
}

// matchesAny reports whether dep is one of the patterns ("x" or "x/...").
func matchesAny(dep string, patterns []string) bool {
	for _, p := range patterns {
		if dep == p || (strings.HasSuffix(p, "/...") && strings.HasPrefix(dep, strings.TrimSuffix(p, "..."))) {
			return true
		}
	}
	return false
}
