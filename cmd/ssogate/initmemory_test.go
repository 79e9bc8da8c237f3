package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"
)

// initHeapBudget is what the package initialisation of the whole ssogate
// binary may allocate. Every byte of it is paid by every gateway process,
// and what stays live is paid twice in RSS under load (the collector's
// GOGC headroom): tables, templates and metadata a package could build on
// first use belong there instead. It was 4.5 MB before the portal pages
// and notify's templates were made lazy. Of the 4 MB left, 2.5 MB is
// github.com/nyaruka/phonenumbers, whose init decodes all its number
// metadata (and its geocoding pulls in x/text/language/display); the
// library has no lazy form, and a fork of it is not worth 2.5 MB.
const initHeapBudget = 4608 << 10

// TestInitHeapBudget builds ssogate and sums what each package's init
// allocates (GODEBUG=inittrace=1), failing with the largest when the sum
// is over initHeapBudget.
func TestInitHeapBudget(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "ssogate")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "version")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ssogate version: %v\n%s", err, out)
	}
	type pkg struct {
		name  string
		bytes int
	}
	var pkgs []pkg
	total := 0
	for _, m := range regexp.MustCompile(`(?m)^init (\S+) @\S+ ms, \S+ ms clock, (\d+) bytes, \d+ allocs$`).FindAllSubmatch(out, -1) {
		n, _ := strconv.Atoi(string(m[2]))
		pkgs = append(pkgs, pkg{string(m[1]), n})
		total += n
	}
	if len(pkgs) < 100 {
		t.Fatalf("only %d inittrace lines in:\n%s", len(pkgs), out)
	}
	if total > initHeapBudget {
		slices.SortFunc(pkgs, func(a, b pkg) int { return b.bytes - a.bytes })
		msg := ""
		for _, p := range pkgs[:10] {
			msg += fmt.Sprintf("\n  %8d  %s", p.bytes, p.name)
		}
		t.Errorf("package init allocates %d bytes, want at most %d; the largest:%s", total, initHeapBudget, msg)
	}
	t.Logf("package init allocates %d bytes in %d packages", total, len(pkgs))
}
