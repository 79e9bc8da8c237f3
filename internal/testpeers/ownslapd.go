package testpeers

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// OwnSlapd is an OpenLDAP slapd that belongs to one test, unlike the
// shared directories: the test may stop it to see what a directory outage
// does. It holds only its root DSE and an administrator, serves plain
// LDAP (no TLS) on a loopback port, and stops when the test ends.
type OwnSlapd struct {
	// URL is ldap://127.0.0.1:<port>.
	URL string
	// BaseDN is its (empty) naming context.
	BaseDN string
	// AdminDN and AdminPassword bind as its administrator (rootdn).
	AdminDN       string
	AdminPassword string

	cmd    *exec.Cmd
	exited chan struct{}
}

// StartOwnSlapd starts a slapd of tb's own, or skips or fails tb when
// slapd is not installed (see the package doc).
func StartOwnSlapd(tb testing.TB) *OwnSlapd {
	tb.Helper()
	if testing.Short() {
		tb.Skip("real directories are not started with -short")
	}
	if missing := slapd.findBinaries(); missing != "" {
		if os.Getenv(requireEnv) != "" {
			tb.Fatalf("slapd: %s, but %s is set; run scripts/test-deps.sh (as root)", missing, requireEnv)
		}
		tb.Skipf("slapd: %s (make test installs it)", missing)
	}
	bin, err := exec.LookPath("slapd")
	if err != nil {
		bin = "/usr/sbin/slapd"
	}
	dir := tb.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "db"), 0o700); err != nil {
		tb.Fatal(err)
	}
	s := &OwnSlapd{BaseDN: "dc=own,dc=test", AdminDN: "cn=admin,dc=own,dc=test", AdminPassword: "own-admin-pw",
		exited: make(chan struct{})}
	conf := fmt.Sprintf(`include /etc/ldap/schema/core.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile %[1]s/slapd.pid
database mdb
maxsize 10485760
suffix "%[2]s"
rootdn "%[3]s"
rootpw %[4]s
directory %[1]s/db
`, dir, s.BaseDN, s.AdminDN, s.AdminPassword)
	if err := os.WriteFile(filepath.Join(dir, "slapd.conf"), []byte(conf), 0o600); err != nil {
		tb.Fatal(err)
	}
	// A free port: the kernel picks one for a listener that is closed at
	// once; slapd binds it a few milliseconds later.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	s.URL = "ldap://" + addr
	// -d keeps slapd in the foreground, as the test's child.
	s.cmd = exec.Command(bin, "-d", "0", "-f", filepath.Join(dir, "slapd.conf"), "-h", s.URL+"/")
	if err := s.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	go func() { _ = s.cmd.Wait(); close(s.exited) }()
	tb.Cleanup(s.Stop)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return s
		}
		select {
		case <-s.exited:
			tb.Fatalf("slapd exited at start: %v", s.cmd.ProcessState)
		default:
		}
		if time.Now().After(deadline) {
			tb.Fatalf("slapd does not listen on %s: %v", addr, err)
		}
	}
}

// Stop kills slapd and waits for it to exit; connections to it are then
// refused. It is safe to call more than once.
func (s *OwnSlapd) Stop() {
	select {
	case <-s.exited:
		return
	default:
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
}
