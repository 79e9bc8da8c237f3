package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is one server the benchmark started. Each runs in its own process
// group, so stopping it also stops anything it started, and it is told to
// die (Pdeathsig) if the benchmark itself is killed.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string        // file with its stdout and stderr
	done chan struct{} // closed when it has exited
	err  error         // its exit status, once done is closed
}

// procs is every server started, stopped together.
type procs struct {
	mu   sync.Mutex
	list []*proc
}

// start runs bin with args, output to logDir/name.log.
func (ps *procs) start(name, logDir, bin string, args ...string) (*proc, error) {
	logPath := filepath.Join(logDir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout = f
	cmd.Stderr = f
	cmd.Env = append(os.Environ(), "GOTRACEBACK=all")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	ps.mu.Lock()
	ps.list = append(ps.list, p)
	ps.mu.Unlock()
	return p, nil
}

// stopAll stops every server, newest first: SIGTERM to its process group,
// then SIGKILL if it has not exited within a few seconds.
func (ps *procs) stopAll() {
	ps.mu.Lock()
	list := ps.list
	ps.list = nil
	ps.mu.Unlock()
	for i := len(list) - 1; i >= 0; i-- {
		p := list[i]
		pgid := p.cmd.Process.Pid
		select {
		case <-p.done:
			// Already gone; still clear its group of anything it left.
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			continue
		default:
		}
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			fmt.Fprintf(os.Stderr, "bench: %s did not stop on SIGTERM; killing it\n", p.name)
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-p.done
		}
		_ = syscall.Kill(-pgid, syscall.SIGKILL) // anything left in its group
	}
}

// logTail is the end of a server's log, for error messages.
func (p *proc) logTail() string {
	b, err := os.ReadFile(p.log)
	if err != nil {
		return ""
	}
	const max = 4000
	if len(b) > max {
		b = b[len(b)-max:]
	}
	s := strings.TrimRight(string(b), "\n")
	if s == "" {
		return "  (its log is empty)"
	}
	return "  " + strings.ReplaceAll(s, "\n", "\n  ")
}

// waitReady polls url until it answers (any status), the process exits, or
// the timeout passes.
func (p *proc) waitReady(ctx context.Context, url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}, Timeout: time.Second}
	var last error
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := client.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return nil
		}
		last = err
		select {
		case <-p.done:
			return fmt.Errorf("%s exited before it was ready (%v); its log:\n%s", p.name, p.err, p.logTail())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %s at %s: %v; its log:\n%s", p.name, timeout, url, last, p.logTail())
		}
	}
}

// checkAlive fails if the server has exited.
func (p *proc) checkAlive() error {
	select {
	case <-p.done:
		return fmt.Errorf("%s exited (%v); its log:\n%s", p.name, p.err, p.logTail())
	default:
		return nil
	}
}

// portFree fails when something already listens on the loopback port: a
// leftover from an earlier run, or another program.
func portFree(addr string) error {
	if err := requireLoopback(addr); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("%s is already in use (a leftover benchmark server? `ss -ltnp 'sport = :%s'` shows who)", addr, portOf(addr))
		}
		return err
	}
	return ln.Close()
}

func portOf(addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	return port
}

// requireLoopback fails unless addr (host:port) is a loopback IP address:
// the benchmark sends load to this machine only.
func requireLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("address %q is not a loopback IP address", addr)
	}
	return nil
}
