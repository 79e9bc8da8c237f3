// Package docs holds the project's own documentation; its test keeps
// architecture.md's layout true to the tree.
package docs

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// goPackageDirs returns every directory under root (relative, with '/')
// that holds a .go file, skipping what the go command skips (hidden and
// "_" directories, testdata) and node_modules.
func goPackageDirs(t *testing.T, root string) []string {
	t.Helper()
	seen := map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") ||
				name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(name, ".go") {
			rel, err := filepath.Rel(root, filepath.Dir(path))
			if err != nil {
				return err
			}
			seen[filepath.ToSlash(rel)] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for d := range seen {
		dirs = append(dirs, d)
	}
	slices.Sort(dirs)
	return dirs
}

// mentions reports whether doc names dir as a whole path ("store" in
// "`store/`" but not in "store/sqlite/" or "cmd/ssogate/store").
func mentions(doc, dir string) bool {
	re := regexp.MustCompile(`(^|[^\w/.-])` + regexp.QuoteMeta(dir) + `/?($|[^\w/.-])`)
	return re.MatchString(doc)
}

// TestArchitectureNamesEveryPackage fails when a Go package directory is
// missing from docs/architecture.md, or when its layout table names a
// directory that does not exist, so the map stays true to the tree.
func TestArchitectureNamesEveryPackage(t *testing.T) {
	raw, err := os.ReadFile("architecture.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	dirs := goPackageDirs(t, "..")
	if len(dirs) < 20 || !slices.Contains(dirs, "gateway") {
		t.Fatalf("found only %d package directories (%v); is the walk rooted at the module?", len(dirs), dirs)
	}
	for _, d := range dirs {
		if d == "." {
			t.Errorf("Go files at the module root: not a layout anyone expects")
			continue
		}
		if !mentions(doc, d) {
			t.Errorf("docs/architecture.md does not mention the package directory %s/", d)
		}
	}

	// Every row of the layout table names a directory that exists.
	rows := regexp.MustCompile("(?m)^\\| `([^`]+)/` \\|").FindAllStringSubmatch(doc, -1)
	if len(rows) < len(dirs) {
		t.Errorf("the layout table has %d rows for %d package directories", len(rows), len(dirs))
	}
	for _, m := range rows {
		if fi, err := os.Stat(filepath.Join("..", m[1])); err != nil || !fi.IsDir() {
			t.Errorf("docs/architecture.md lists %s/, which is not a directory", m[1])
		}
	}
}

// TestMentions pins the whole-path matching the check above relies on.
func TestMentions(t *testing.T) {
	doc := "| `store/sqlite/` | x |\n`cmd/ssogate/` and providers/local, and `plugins/sdk`."
	for dir, want := range map[string]bool{
		"store/sqlite": true, "store": false, "cmd/ssogate": true, "ssogate": false,
		"providers/local": true, "providers": false, "plugins/sdk": true, "sdk": false,
	} {
		if got := mentions(doc, dir); got != want {
			t.Errorf("mentions(%q) = %v, want %v", dir, got, want)
		}
	}
}
