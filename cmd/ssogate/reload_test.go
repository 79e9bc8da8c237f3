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

	"github.com/ssogate/ssogate/internal/testpeers"
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
	cookie := b.cookie(h.app.cfg.Session.CookieName)
	return startTrafficWith([]func() (*http.Request, int){
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
	})
}

// startTrafficWith sends reqs round-robin from four workers until finish;
// each request comes with the status a healthy gateway answers.
func startTrafficWith(reqs []func() (*http.Request, int)) *traffic {
	tr := &traffic{stop: make(chan struct{})}
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
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
					if err != nil {
						tr.errors = append(tr.errors, fmt.Sprintf("%s: %v", req.URL.Path, err))
					} else {
						tr.errors = append(tr.errors, fmt.Sprintf("%s: %s", req.URL.Path, resp.Status))
					}
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
	base := "server:\n  listen: %LISTEN%\nstore:\n  dsn: %DIR%/db\nlog:\n  level: warn\nservices:\n  - id: a\n    name: サービスA\n    url: http://127.0.0.1:9001/\n"
	var fill func(string) string
	var path string
	b, path, fill = serveConfig(t, base, io.Discard)
	write = func(services string) {
		tmp := path + ".tmp" // replace by rename, as editors do
		if err := os.WriteFile(tmp, []byte(fill(base+services)), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	return b, write
}

// serveConfig writes yaml (with %LISTEN% and %DIR% filled in by the
// returned fill) to a fresh directory, runs `ssogate serve` on it
// in-process with its log going to logs, and signs a browser in as taro.
func serveConfig(t *testing.T, yaml string, logs io.Writer) (b *browser, path string, fill func(string) string) {
	t.Helper()
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	path = filepath.Join(dir, "ssogate.yaml")
	fill = strings.NewReplacer("%LISTEN%", addr, "%DIR%", dir).Replace
	if err := os.WriteFile(path, []byte(fill(yaml)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runCLI(t, "Sakura-Passw0rd!\n", "--config", path, "user", "add", "--email", "taro@example.co.jp", "--name", "Taro", "--groups", "staff", "--password-stdin"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--config", path, "serve"}, strings.NewReader(""), io.Discard, logs)
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
	return b, path, fill
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

// saveTestConfig is served by the non-atomic save tests: a forward-auth
// service and a proxied one on the gateway's host; %UP% is the upstream
// and %VERSION% marks which write the gateway runs.
const saveTestConfig = `server:
  listen: %LISTEN%
store:
  dsn: %DIR%/db
log:
  level: warn
providers:
  - id: local
    type: local
services:
  - id: fwd
    name: Forward %VERSION%
    url: http://fwd.example.test:8081/
    allowed_groups: [staff]
  - id: app
    name: App
    url: http://%LISTEN%/app/
    upstream: %UP%
`

// saveTraffic asks /auth for the forward-auth service and fetches the
// proxied one, as taro, until finish.
func saveTraffic(b *browser, cookie *http.Cookie) *traffic {
	return startTrafficWith([]func() (*http.Request, int){
		func() (*http.Request, int) {
			r, _ := http.NewRequest("GET", b.h.url+"/auth", nil)
			r.Header.Set("X-Forwarded-Host", "fwd.example.test:8081")
			r.Header.Set("X-Forwarded-Uri", "/x")
			r.AddCookie(cookie)
			return r, 200
		},
		func() (*http.Request, int) {
			r, _ := http.NewRequest("GET", b.h.url+"/app/x", nil)
			r.AddCookie(cookie)
			return r, 200
		},
	})
}

// truncateFile empties path in place, as an editor that saves without a
// rename does first.
func truncateFile(t *testing.T, path string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// TestServeNonAtomicSaveUnderTraffic saves the config the way an editor
// without rename does — truncate, pause, write — while /auth and proxied
// traffic runs over TCP: no request may see the empty file.
func TestServeNonAtomicSaveUnderTraffic(t *testing.T) {
	up := newUpstream(t)
	logs := &testpeers.SyncBuffer{}
	tmpl := strings.ReplaceAll(saveTestConfig, "%UP%", up.URL)
	b, path, fill := serveConfig(t, strings.ReplaceAll(tmpl, "%VERSION%", "v0"), logs)
	tr := saveTraffic(b, b.cookie("ssogate"))
	// 300 ms outlasts a 200 ms settle; 1.2 s outlasts any settle period,
	// so the empty file itself is read and must be refused. The file is
	// then written in two parts 300 ms apart: the first part alone is a
	// valid configuration without the proxied service, and must not apply.
	for i, pause := range []time.Duration{300 * time.Millisecond, 1200 * time.Millisecond, 300 * time.Millisecond, 1200 * time.Millisecond} {
		version := fmt.Sprintf("v%d", i+1)
		content := fill(strings.ReplaceAll(tmpl, "%VERSION%", version))
		cut := strings.Index(content, "  - id: app")
		truncateFile(t, path)
		time.Sleep(pause)
		f, err := os.OpenFile(path, os.O_WRONLY, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteString(content[:cut]); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond)
		if _, err := f.WriteString(content[cut:]); err != nil {
			t.Fatal(err)
		}
		f.Close()
		waitFor(t, b.launcherHas("Forward "+version))
	}
	tr.finish(t)
	if !strings.Contains(logs.String(), "reload refused") {
		t.Errorf("the empty file was not refused in the log:\n%s", logs.String())
	}
}

// TestServeKeepsConfigWhenFileLeftEmpty leaves the file truncated: the
// running configuration stays, the refusal is logged, and the next good
// write applies.
func TestServeKeepsConfigWhenFileLeftEmpty(t *testing.T) {
	up := newUpstream(t)
	logs := &testpeers.SyncBuffer{}
	tmpl := strings.ReplaceAll(saveTestConfig, "%UP%", up.URL)
	b, path, fill := serveConfig(t, strings.ReplaceAll(tmpl, "%VERSION%", "v0"), logs)
	tr := saveTraffic(b, b.cookie("ssogate"))
	truncateFile(t, path)
	time.Sleep(2 * time.Second)
	tr.finish(t)
	if !b.launcherHas("Forward v0")() {
		t.Fatal("the launcher changed after the file was emptied")
	}
	if log := logs.String(); !strings.Contains(log, "reload refused") || !strings.Contains(log, "empty") {
		t.Fatalf("the empty file's refusal is not logged with its reason:\n%s", log)
	}
	if err := os.WriteFile(path, []byte(fill(strings.ReplaceAll(tmpl, "%VERSION%", "v1"))), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, b.launcherHas("Forward v1"))
}
