package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// traffic keeps requests going until stop, counting answers that are not
// what a healthy gateway gives.
type traffic struct {
	stop   chan struct{}
	wg     sync.WaitGroup
	total  atomic.Int64
	failed atomic.Int64
	mu     sync.Mutex
	errors []string
}

func startTraffic(t *testing.T, h *harness, b *browser) *traffic {
	tr := &traffic{stop: make(chan struct{})}
	cookie := b.cookie(h.app.cfg.Session.CookieName)
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	reqs := []func() (*http.Request, int){
		func() (*http.Request, int) { r, _ := http.NewRequest("GET", h.url+"/healthz", nil); return r, 200 },
		func() (*http.Request, int) { r, _ := http.NewRequest("GET", h.url+"/login", nil); return r, 200 },
		func() (*http.Request, int) {
			r, _ := http.NewRequest("GET", h.url+"/", nil)
			r.AddCookie(cookie)
			return r, 200
		},
		func() (*http.Request, int) {
			r, _ := http.NewRequest("GET", h.url+"/.well-known/jwks.json", nil)
			return r, 200
		},
	}
	for w := range 4 {
		tr.wg.Add(1)
		go func() {
			defer tr.wg.Done()
			for i := w; ; i++ {
				select {
				case <-tr.stop:
					return
				default:
				}
				req, want := reqs[i%len(reqs)]()
				resp, err := client.Do(req)
				tr.total.Add(1)
				if err != nil || resp.StatusCode != want {
					tr.failed.Add(1)
					tr.mu.Lock()
					tr.errors = append(tr.errors, fmt.Sprintf("%s: %v %v", req.URL.Path, err, resp))
					tr.mu.Unlock()
				}
				if resp != nil {
					resp.Body.Close()
				}
			}
		}()
	}
	return tr
}

func (tr *traffic) finish(t *testing.T) {
	t.Helper()
	close(tr.stop)
	tr.wg.Wait()
	if tr.total.Load() < 50 {
		t.Fatalf("only %d requests during the reloads", tr.total.Load())
	}
	if n := tr.failed.Load(); n != 0 {
		t.Fatalf("%d of %d requests failed during reloads: %v", n, tr.total.Load(), tr.errors[:min(5, len(tr.errors))])
	}
	t.Logf("%d requests during the reloads, none failed", tr.total.Load())
}

func TestReloadUnderTraffic(t *testing.T) {
	h := newHarness(t)
	h.addUser("alice@example.co.jp", "Alice", alicePW, "staff")
	b := h.browser()
	b.login("alice@example.co.jp", alicePW, "")
	localBefore, _ := h.app.providers.Get("local")
	original, err := os.ReadFile(h.configPath)
	if err != nil {
		t.Fatal(err)
	}
	tr := startTraffic(t, h, b)

	// A valid new file: a new service tile and a renamed one.
	next := strings.Replace(string(original), "name: 社内Wiki", "name: 社内Wiki（新）", 1) + `
  - id: newsvc
    name: 新サービス
    icon: chart
    url: http://127.0.0.1:9010/
`
	if err := os.WriteFile(h.configPath, []byte(next), 0o600); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // traffic before and after
	if err := h.app.reloadFromFile(context.Background(), h.configPath); err != nil {
		t.Fatalf("valid reload: %v", err)
	}
	time.Sleep(100 * time.Millisecond)
	p := b.get("/")
	if !strings.Contains(p.body, "新サービス") || !strings.Contains(p.body, "社内Wiki（新）") {
		t.Fatalf("reloaded services not on the launcher:\n%s", snippet(p.body))
	}
	// The session survived; the unchanged provider was kept, not reopened.
	if localAfter, _ := h.app.providers.Get("local"); localAfter != localBefore {
		t.Error("an unchanged provider was reopened by the reload")
	}

	// An invalid file is refused with check-config's errors; nothing changes.
	bad := next + "  - id: broken\n    name: Broken\n    url: ftp://x\n    icon: nosuchicon\n"
	if err := os.WriteFile(h.configPath, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	err = h.app.reloadFromFile(context.Background(), h.configPath)
	if err == nil || !strings.Contains(err.Error(), "ssogate.yaml:") || !strings.Contains(err.Error(), "services[4].url") {
		t.Fatalf("invalid reload: err = %v, want line-numbered errors", err)
	}
	time.Sleep(100 * time.Millisecond)
	if p := b.get("/"); !strings.Contains(p.body, "新サービス") || strings.Contains(p.body, "Broken") {
		t.Fatal("the running configuration changed after a refused reload")
	}
	// A listen change waits for a restart, but a trusted-proxy change made
	// in the same edit applies now.
	moved := strings.Replace(next, "  listen: ", "  trusted_proxies: [192.0.2.1]\n  listen: 127.0.0.1:1\n  #", 1)
	if err := os.WriteFile(h.configPath, []byte(moved), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := h.app.reloadFromFile(context.Background(), h.configPath); err != nil {
		t.Fatalf("reload with a listen change: %v", err)
	}
	if h.app.cfg.Server.Listen == "127.0.0.1:1" || len(h.app.cfg.Server.TrustedPrefixes) != 1 {
		t.Fatalf("server after reload: listen %s (must wait for a restart), trusted %v (must apply)",
			h.app.cfg.Server.Listen, h.app.cfg.Server.TrustedPrefixes)
	}
	tr.finish(t)
	if !strings.Contains(h.logs.String(), "reload refused") {
		t.Error("a refused reload was not logged")
	}
}

// startServe runs `ssogate serve` in-process on a fresh config and signs
// a browser in; the returned function rewrites the config's services.
func startServe(t *testing.T) (b *browser, write func(services string)) {
	t.Helper()
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	path := filepath.Join(dir, "ssogate.yaml")
	base := fmt.Sprintf("server:\n  listen: %s\nstore:\n  dsn: %s\nlog:\n  level: warn\nservices:\n  - id: a\n    name: サービスA\n    url: http://127.0.0.1:9001/\n",
		addr, filepath.Join(dir, "db"))
	write = func(services string) {
		tmp := path + ".tmp" // replace by rename, as editors do
		if err := os.WriteFile(tmp, []byte(base+services), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	write("")
	if _, _, err := runCLI(t, "Sakura-Passw0rd!\n", "--config", path, "user", "add", "--email", "taro@example.co.jp", "--name", "Taro", "--password-stdin"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--config", path, "serve"}, strings.NewReader(""), io.Discard, io.Discard)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Error("serve did not stop")
		}
	})
	h := &harness{t: t, url: "http://" + addr}
	waitFor(t, func() bool {
		resp, err := http.Get(h.url + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
	jar, _ := cookiejar.New(nil)
	b = &browser{h: h, jar: jar, c: &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	expectRedirect(t, b.login("taro@example.co.jp", "Sakura-Passw0rd!", ""), "/")
	return b, write
}

func (b *browser) launcherHas(s string) func() bool {
	return func() bool { return strings.Contains(b.get("/").body, s) }
}

func TestServeReloadsWhenTheFileChanges(t *testing.T) {
	b, write := startServe(t)
	write("  - id: b\n    name: サービスB\n    url: http://127.0.0.1:9002/\n")
	waitFor(t, b.launcherHas("サービスB"))
}

func TestServeReloadsOnSIGHUP(t *testing.T) {
	t.Setenv("SSOGATE_WATCH_CONFIG", "0")
	b, write := startServe(t)
	write("  - id: c\n    name: サービスC\n    url: http://127.0.0.1:9003/\n")
	time.Sleep(500 * time.Millisecond) // longer than the watch would take
	if b.launcherHas("サービスC")() {
		t.Fatal("reloaded without SIGHUP although the file watch is off")
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, b.launcherHas("サービスC"))
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if ok() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("condition not met within 10 s")
}
