//go:build unix

package ldap

import (
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The real directories, started by scripts/ldap-peers the first time a
// test needs one and stopped when all tests are done. Their ports are
// fixed (Samba has no port option), so a lock file serialises test
// processes on one machine, and a start first stops whatever a killed
// earlier run left in the same directory.

// peer is one directory server started by a script.
type peer struct {
	name   string
	script string
	bins   []string // needed on PATH or in /usr/sbin
	root   bool     // needs root (Samba binds port 389)

	dir     string
	missing string // what is not installed; the tests skip or fail
	err     error  // why it did not start
	ca      *x509.CertPool
}

var (
	slapdPeer = &peer{name: "openldap", script: "slapd.sh",
		bins: []string{"slapd", "slaptest", "slappasswd", "ldapadd", "ldapsearch", "openssl"}}
	sambaPeer = &peer{name: "samba-ad", script: "samba.sh", root: true,
		bins: []string{"samba", "samba-tool", "ldapmodify", "ldapsearch", "openssl"}}
	allPeers = []*peer{slapdPeer, sambaPeer}

	peersOnce    sync.Once
	peersStarted bool
	peersLock    *os.File
)

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if peersStarted {
		for _, p := range allPeers {
			if p.dir == "" {
				continue
			}
			if out, err := p.run("stop"); err != nil {
				fmt.Fprintf(os.Stderr, "%s: stop: %v\n%s", p.name, err, out)
				code = 1
			} else if code == 0 {
				os.RemoveAll(p.dir)
			} else {
				fmt.Fprintf(os.Stderr, "%s: logs kept in %s\n", p.name, p.dir)
			}
		}
	}
	os.Exit(code)
}

// require skips or fails t unless p runs, starting all peers the first
// time. Without the software the test is skipped — unless
// SSOGATE_REQUIRE_BROWSER is set, as `make test` does after installing
// every peer (the name is historical), so CI can never pass by skipping.
func (p *peer) require(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("real directories are not started with -short")
	}
	peersOnce.Do(startPeers)
	switch {
	case p.missing != "" && os.Getenv("SSOGATE_REQUIRE_BROWSER") != "":
		t.Fatalf("%s: %s, but SSOGATE_REQUIRE_BROWSER is set; run scripts/test-deps.sh (as root)", p.name, p.missing)
	case p.missing != "":
		t.Skipf("%s: %s (make test installs it)", p.name, p.missing)
	case p.err != nil:
		t.Fatalf("%s did not start: %v", p.name, p.err)
	}
}

// startPeers starts every installed peer, in parallel.
func startPeers() {
	peersStarted = true
	for _, p := range allPeers {
		p.findBinaries()
	}
	base := filepath.Join(os.TempDir(), "ssogate-ldap-peers")
	if err := os.MkdirAll(base, 0o700); err != nil {
		setErr(err)
		return
	}
	if err := lockPeers(filepath.Join(base, "lock")); err != nil {
		setErr(err)
		return
	}
	var wg sync.WaitGroup
	for _, p := range allPeers {
		if p.missing != "" {
			continue
		}
		p.dir = filepath.Join(base, p.name)
		wg.Go(func() {
			start := time.Now()
			p.err = p.start()
			fmt.Fprintf(os.Stderr, "%s: start took %v\n", p.name, time.Since(start).Round(100*time.Millisecond))
		})
	}
	wg.Wait()
}

func setErr(err error) {
	for _, p := range allPeers {
		if p.missing == "" {
			p.err = err
		}
	}
}

// lockPeers takes the machine-wide lock on the fixed ports, held until
// the process exits.
func lockPeers(path string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		fmt.Fprintf(os.Stderr, "ldap peers: another test process holds %s; waiting\n", path)
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
			return fmt.Errorf("lock %s: %w", path, err)
		}
	}
	peersLock = f
	return nil
}

func (p *peer) findBinaries() {
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
	if len(missing) > 0 {
		p.missing = strings.Join(missing, ", ") + " not installed"
	} else if p.root && os.Geteuid() != 0 {
		p.missing = "needs root"
	}
}

func (p *peer) run(cmd string) ([]byte, error) {
	script, err := filepath.Abs(filepath.Join("..", "..", "scripts", "ldap-peers", p.script))
	if err != nil {
		return nil, err
	}
	c := exec.Command("bash", script, cmd, p.dir)
	c.Env = append(os.Environ(), "PATH="+os.Getenv("PATH")+":/usr/sbin:/sbin")
	return c.CombinedOutput()
}

func (p *peer) start() error {
	// A run killed before TestMain's stop leaves its server behind.
	if out, err := p.run("stop"); err != nil {
		return fmt.Errorf("stop leftover: %v\n%s", err, out)
	}
	if err := os.RemoveAll(p.dir); err != nil {
		return err
	}
	out, err := p.run("start")
	fmt.Fprintf(os.Stderr, "%s", out)
	if err != nil {
		return fmt.Errorf("%s start: %v\n%s", p.script, err, out)
	}
	pem, err := os.ReadFile(filepath.Join(p.dir, "cert.pem"))
	if err != nil {
		return err
	}
	p.ca = x509.NewCertPool()
	if !p.ca.AppendCertsFromPEM(pem) {
		return fmt.Errorf("%s/cert.pem: no certificate", p.dir)
	}
	return nil
}

// countingProxy forwards TCP connections to target and counts them.
type countingProxy struct {
	l        net.Listener
	target   string
	accepted atomic.Int64
	mu       sync.Mutex
	pairs    []*proxyPair
}

// proxyPair is one forwarded connection; a doomed one is closed when the
// client next sends something, as a connection the directory forgot
// (restart, idle timeout behind a firewall) fails only when used.
type proxyPair struct {
	client, up net.Conn
	doomed     atomic.Bool
}

func (pp *proxyPair) close() { pp.client.Close(); pp.up.Close() }

func newCountingProxy(t *testing.T, target string) *countingProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &countingProxy{l: l, target: target}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			p.accepted.Add(1)
			go p.forward(c)
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		p.dropAll()
	})
	return p
}

func (p *countingProxy) addr() string { return p.l.Addr().String() }

func (p *countingProxy) forward(c net.Conn) {
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	pp := &proxyPair{client: c, up: up}
	p.mu.Lock()
	p.pairs = append(p.pairs, pp)
	p.mu.Unlock()
	go func() {
		defer pp.close()
		buf := make([]byte, 32<<10)
		for {
			n, err := c.Read(buf)
			if pp.doomed.Load() || err != nil {
				return
			}
			if _, err := up.Write(buf[:n]); err != nil {
				return
			}
		}
	}()
	io.Copy(c, up)
	pp.close()
}

// dropAll closes every forwarded connection, as a directory restart
// would.
func (p *countingProxy) dropAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pp := range p.pairs {
		pp.close()
	}
	p.pairs = nil
}

// doomAll makes every open forwarded connection die at its next use.
func (p *countingProxy) doomAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pp := range p.pairs {
		pp.doomed.Store(true)
	}
	p.pairs = nil
}
