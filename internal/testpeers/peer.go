package testpeers

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// baseDir holds the servers' lock files and data. Not os.TempDir: the
// ports are the machine's, so the locks must be too, whatever TMPDIR a
// test process runs with.
const baseDir = "/tmp/ssogate-ldap-peers"

// peer is one directory server started by a script.
type peer struct {
	name    string
	script  string   // in scripts/ldap-peers
	bins    []string // needed on PATH or in /usr/sbin
	root    bool     // needs root (Samba binds port 389)
	tlsAddr string   // answers once the server runs
	facts   func(dir string) *Directory

	once    sync.Once
	dir     *Directory
	missing string // what is not installed; the tests skip or fail
	err     error  // why it did not start
	held    *share // this process's hold on the running server
}

var (
	slapd = &peer{name: "openldap", script: "slapd.sh", tlsAddr: "127.0.0.1:3636", facts: openLDAPFacts,
		bins: []string{"slapd", "slaptest", "slappasswd", "ldapadd", "ldapsearch", "openssl"}}
	samba = &peer{name: "samba-ad", script: "samba.sh", tlsAddr: "127.0.0.1:636", facts: sambaFacts, root: true,
		bins: []string{"samba", "samba-tool", "ldapmodify", "ldapsearch", "openssl"}}
	peers = []*peer{slapd, samba}
)

// requireEnv, when set, turns a missing peer into a failure.
const requireEnv = "SSOGATE_REQUIRE_BROWSER"

// require returns p's directory, joining or starting the server the first
// time, or skips or fails tb.
func (p *peer) require(tb testing.TB) *Directory {
	tb.Helper()
	if testing.Short() {
		tb.Skip("real directories are not started with -short")
	}
	if !mainCalled.Load() {
		tb.Fatalf("testpeers: %s: call testpeers.Main from TestMain, or the server is never released", p.name)
	}
	p.once.Do(p.join)
	switch {
	case p.missing != "" && os.Getenv(requireEnv) != "":
		tb.Fatalf("%s: %s, but %s is set; run scripts/test-deps.sh (as root)", p.name, p.missing, requireEnv)
	case p.missing != "":
		tb.Skipf("%s: %s (make test installs it)", p.name, p.missing)
	case p.err != nil:
		tb.Fatalf("%s did not start: %v", p.name, p.err)
	}
	return p.dir.clone()
}

// join starts or joins the shared server.
func (p *peer) join() {
	p.missing = p.findBinaries()
	if p.missing != "" {
		return
	}
	dataDir := filepath.Join(baseDir, p.name)
	d := p.facts(dataDir)
	if err := os.MkdirAll(baseDir, 0o700); err != nil {
		p.err = err
		return
	}
	begin := time.Now()
	started := false
	p.held, p.err = acquire(baseDir, p.name,
		func() error { started = true; return p.start(dataDir) },
		func() error { return p.check(d) })
	if p.err != nil {
		return
	}
	if d.RootCAs, p.err = readCA(d.CAFile); p.err != nil {
		return
	}
	p.dir = d
	how := "joined the running server"
	if started {
		how = "started"
	}
	fmt.Fprintf(os.Stderr, "testpeers: %s: %s in %v\n", p.name, how, time.Since(begin).Round(100*time.Millisecond))
}

// release gives this process's hold on the server up, stopping it when
// no other process uses it, or stops the server a killed run left when
// this process did not use it. code is the tests' exit code: after a
// failure the server's logs are kept.
func (p *peer) release(code int) error {
	dataDir := filepath.Join(baseDir, p.name)
	stop := func() error {
		if out, err := p.run("stop", dataDir); err != nil {
			return fmt.Errorf("stop: %v\n%s", err, out)
		}
		return nil
	}
	if p.held == nil {
		// Not used here; stop what a killed run may have left (its logs
		// stay for whoever looks).
		if _, err := os.Stat(dataDir); err != nil {
			return nil
		}
		return reap(baseDir, p.name, stop)
	}
	// The data directory goes inside stop, which runs under the
	// machine-wide lock: once the lock is released another test binary may
	// start a fresh server in the same directory.
	stopAndClean := func() error {
		if err := stop(); err != nil {
			return err
		}
		if code == 0 {
			return removeData(dataDir)
		}
		fmt.Fprintf(os.Stderr, "testpeers: %s: logs kept in %s\n", p.name, dataDir)
		return nil
	}
	_, err := p.held.release(stopAndClean)
	p.held = nil
	return err
}

// findBinaries says what p needs and this machine lacks, or "".
func (p *peer) findBinaries() string {
	var missing []string
	for _, b := range p.bins {
		if _, err := exec.LookPath(b); err == nil {
			continue
		}
		if _, err := os.Stat(filepath.Join("/usr/sbin", b)); err == nil {
			continue
		}
		missing = append(missing, b)
	}
	switch {
	case len(missing) > 0:
		return strings.Join(missing, ", ") + " not installed"
	case p.root && os.Geteuid() != 0:
		return "needs root"
	}
	return ""
}

// start starts the server in dataDir, after stopping whatever a killed
// earlier run left there.
func (p *peer) start(dataDir string) error {
	if out, err := p.run("stop", dataDir); err != nil {
		return fmt.Errorf("stop leftover: %v\n%s", err, out)
	}
	if err := os.RemoveAll(dataDir); err != nil {
		return err
	}
	out, err := p.run("start", dataDir)
	os.Stderr.Write(out)
	if err != nil {
		return fmt.Errorf("%s start: %v\n%s", p.script, err, out)
	}
	return nil
}

// check makes sure the server another process started answers with the
// certificate in its data directory.
func (p *peer) check(d *Directory) error {
	pool, err := readCA(d.CAFile)
	if err != nil {
		return fmt.Errorf("in use by another test process, but: %w", err)
	}
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 3 * time.Second}, "tcp", p.tlsAddr,
		&tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err != nil {
		return fmt.Errorf("in use by another test process, but not answering: %w", err)
	}
	return c.Close()
}

func readCA(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s: no certificate", path)
	}
	return pool, nil
}

// run runs p's script with cmd (start or stop) on dataDir.
func (p *peer) run(cmd, dataDir string) ([]byte, error) {
	scripts, err := scriptDir()
	if err != nil {
		return nil, err
	}
	c := exec.Command("bash", filepath.Join(scripts, p.script), cmd, dataDir)
	c.Env = append(os.Environ(), "PATH="+os.Getenv("PATH")+":/usr/sbin:/sbin")
	return c.CombinedOutput()
}

// scriptDir finds scripts/ldap-peers in the module that holds the working
// directory (a test runs in its package's directory).
func scriptDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "scripts", "ldap-peers"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("scripts/ldap-peers: no go.mod above the working directory")
		}
		dir = parent
	}
}

// removeData deletes a stopped server's data directory. A server can still
// be flushing files for a moment after its stop returns, so it retries; a
// directory that will not go is reported but does not fail the run (the
// next start replaces it).
func removeData(dir string) error {
	var err error
	for range 30 {
		if err = os.RemoveAll(dir); err == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	fmt.Fprintf(os.Stderr, "testpeers: could not remove %s (the next start replaces it): %v\n", dir, err)
	return nil
}
