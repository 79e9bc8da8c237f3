package main

import (
	"bufio"
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// A burst of 64 concurrent sign-ins against the real `ssogate serve`, with
// the default argon2id cost (64 MiB, t=3, p=2) and the default in-flight
// bound, keeps the process's resident memory under 200 MB, and within a
// minute after the burst it is back under 60 MB: the memory of the hashes
// is returned to the operating system, not kept for the next burst.
func TestSignInBurstMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds ssogate and runs 64 full-cost hashes")
	}
	const (
		signIns = 64
		mb      = 1000 * 1000
		peakMax = 200 * mb
		idleMax = 60 * mb
	)
	dir := t.TempDir()
	bin := filepath.Join(dir, "ssogate")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	addr := freeLoopbackAddr(t)
	base := "http://" + addr
	cfgPath := filepath.Join(dir, "ssogate.yaml")
	cfg := fmt.Sprintf(`server:
  listen: %s
  public_url: %s
store:
  dsn: %s
providers:
  - id: local
    type: local
services:
  - id: app
    name: App
    url: http://app.example.test/
`, addr, base, filepath.Join(dir, "ssogate.db"))
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	const email, password = "burst@example.com", "Sakura-Passw0rd!"
	add := exec.Command(bin, "--config", cfgPath, "user", "add", "--email", email, "--name", "Burst", "--password-stdin")
	add.Stdin = strings.NewReader(password + "\n")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("user add: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "--config", cfgPath, "serve")
	cmd.Env = append(os.Environ(), "GOMEMLIMIT=", "GOGC=")
	proc := startChildProc(t, "ssogate", cmd)
	proc.waitListening(t, addr)
	pid := cmd.Process.Pid

	// Sample resident memory every 20 ms from here to the end.
	var mu sync.Mutex
	var samples []int64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			if rss, err := vmRSS(pid); err == nil {
				mu.Lock()
				samples = append(samples, rss)
				mu.Unlock()
			}
			select {
			case <-tick.C:
			case <-stop:
				return
			}
		}
	}()
	defer func() { close(stop); <-sampled }()

	// Every client first fetches its form, then all post at once.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	clients := make([]*burstClient, signIns)
	for i := range clients {
		c, err := newBurstClient(ctx, base)
		if err != nil {
			t.Fatal(err)
		}
		clients[i] = c
	}
	start := time.Now()
	errs := make([]error, signIns)
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Go(func() { errs[i] = c.signIn(ctx, email, password) })
	}
	wg.Wait()
	burst := time.Since(start)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("sign-in %d: %v", i, err)
		}
	}
	mu.Lock()
	peak := slices.Max(samples)
	mu.Unlock()

	// After: the resident memory must fall under idleMax within a minute.
	after := time.Now()
	var settled time.Duration
	var last int64
	for {
		rss, err := vmRSS(pid)
		if err != nil {
			t.Fatal(err)
		}
		last = rss
		if rss < idleMax {
			settled = time.Since(after)
			break
		}
		if time.Since(after) > time.Minute {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("%d sign-ins in %v; VmRSS peak %.1f MB (limit %d), %.1f MB %v after the burst (limit %d within 60 s)",
		signIns, burst.Round(time.Millisecond), float64(peak)/mb, peakMax/mb, float64(last)/mb,
		time.Since(after).Round(100*time.Millisecond), idleMax/mb)
	if peak >= peakMax {
		t.Errorf("peak VmRSS %.1f MB during the burst, want under %d MB", float64(peak)/mb, peakMax/mb)
	}
	if settled == 0 {
		t.Errorf("VmRSS %.1f MB a minute after the burst, want under %d MB", float64(last)/mb, idleMax/mb)
	}
}

// vmRSS reads the resident set size of process pid in bytes.
func vmRSS(pid int) (int64, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

var burstCSRF = regexp.MustCompile(`name="csrf_token"\s+value="([^"]*)"`)

// burstClient is one browser: its cookies and the login form's token.
type burstClient struct {
	base   string
	client *http.Client
	token  string
}

func newBurstClient(ctx context.Context, base string) (*burstClient, error) {
	jar, _ := cookiejar.New(nil)
	c := &burstClient{base: base, client: &http.Client{
		Transport: &http.Transport{Proxy: nil}, Jar: jar, Timeout: time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/login", nil)
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET /login: %w", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := burstCSRF.FindSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil {
		return nil, fmt.Errorf("GET /login: %s, no form token", resp.Status)
	}
	c.token = html.UnescapeString(string(m[1]))
	return c, nil
}

func (c *burstClient) signIn(ctx context.Context, email, password string) error {
	defer c.client.CloseIdleConnections()
	form := url.Values{"email": {email}, "password": {password}, "csrf_token": {c.token}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", c.base)
	resp, err := c.client.Do(req)
	if err != nil {
		return fmt.Errorf("POST /login: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusFound {
		return fmt.Errorf("POST /login: %s, want a redirect after sign-in", resp.Status)
	}
	return nil
}
