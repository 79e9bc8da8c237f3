//go:build unix

package ldap

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ssogate/ssogate/internal/testpeers"
)

// The real directories come from internal/testpeers, which starts them the
// first time a test needs one (or joins the instance another test binary
// started) and releases them when all tests are done.
func TestMain(m *testing.M) { testpeers.Main(m) }

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
