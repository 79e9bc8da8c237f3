package notify

import (
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"testing"
)

// TestTemplatesParse parses every message template: they are parsed on
// the first message rendered, so an error must be caught here.
func TestTemplatesParse(t *testing.T) {
	ts, err := parseTemplates()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(ts.text), len(Languages)*len(Templates); got != want {
		t.Errorf("%d mail templates, want %d", got, want)
	}
	if got, want := len(ts.phones), len(Languages)*len(PhoneTemplates); got != want {
		t.Errorf("%d phone templates, want %d", got, want)
	}
}

// initAllocs runs this test binary with no test and GODEBUG=inittrace=1,
// and returns the heap bytes the init of package pkg allocated.
func initAllocs(t *testing.T, pkg string) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	m := regexp.MustCompile(`(?m)^init ` + regexp.QuoteMeta(pkg) + ` @\S+ ms, \S+ ms clock, (\d+) bytes, \d+ allocs$`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no inittrace line for %s in:\n%s", pkg, out)
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// TestInitParsesNoTemplate checks that loading the package costs no
// template parsing: every gateway process links it (618 KB allocated and
// about 350 KB kept at start when init parsed them; its three
// regular expressions cost about 70 KB).
func TestInitParsesNoTemplate(t *testing.T) {
	if n := initAllocs(t, "github.com/ssogate/ssogate/notify"); n > 128<<10 {
		t.Errorf("notify's init allocated %d bytes, want under 128 KiB", n)
	}
}
