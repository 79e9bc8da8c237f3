//go:build unix

package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
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

// buildHTTPJSON builds the example plugin once per test binary.
var buildHTTPJSON = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "ssogate-plugin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "httpjson")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/ssogate/ssogate/plugins/examples/httpjson").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build httpjson: %v\n%s", err, out)
	}
	return bin, nil
})

func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	io.Copy(h, f)
	return hex.EncodeToString(h.Sum(nil))
}

// kioskEndpoint is the JSON endpoint the httpjson plugin asks: taro with
// password "Kiosk-Passw0rd!" is accepted.
func kioskEndpoint(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct{ Login, Password string }
		json.NewDecoder(r.Body).Decode(&req)
		w.Header().Set("Content-Type", "application/json")
		if req.Login == "taro" && req.Password == "Kiosk-Passw0rd!" {
			io.WriteString(w, `{"ok":true,"subject":"k-taro","email":"taro@example.co.jp","email_verified":true,"name":"山田 太郎","groups":["kiosk"]}`)
			return
		}
		io.WriteString(w, `{"ok":false}`)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func pluginProvider(bin, sum, endpoint string) harnessOption {
	return withProviders(fmt.Sprintf(`
  - id: kiosk
    type: plugin
    label: 受付端末でログイン
    command: %s
    sha256: %s
    link_domains: [example.co.jp]
    config:
      url: %s
      timeout: 2s
`, bin, sum, endpoint))
}

func TestPluginSignInAndCrashRecovery(t *testing.T) {
	bin, err := buildHTTPJSON()
	if err != nil {
		t.Fatal(err)
	}
	ep := kioskEndpoint(t)
	h := newHarness(t, pluginProvider(bin, fileSHA256(t, bin), ep.URL))
	h.addUser("taro@example.co.jp", "Taro", alicePW, "staff")
	h.addUser("hanako@example.co.jp", "Hanako", alicePW, "staff")

	// Signing in through the plugin, as through a built-in directory.
	b := h.browser()
	if p := b.get("/login"); !strings.Contains(p.body, `id="provider-kiosk"`) {
		t.Fatal("no button for the plugin provider")
	}
	expectRedirect(t, b.directoryLogin("kiosk", "taro", "Kiosk-Passw0rd!", ""), "/")
	if p := b.directoryLogin("kiosk", "taro", "wrong", ""); p.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong password through the plugin: %d", p.StatusCode)
	}

	// SIGKILL the plugin while sign-ins go on through it and through the
	// local provider.
	plug := h.app.plugins["kiosk"]
	before := plug.Status()
	var pluginOK, pluginDown, localFailed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			// The form (GET) and the post both answer 503 while the plugin
			// restarts; expect* helpers must not run off the test goroutine.
			bb := h.browser()
			p := bb.get("/login/kiosk")
			if p.StatusCode == http.StatusOK {
				p = bb.post("/login/kiosk", url.Values{"email": {"taro"}, "password": {"Kiosk-Passw0rd!"}})
			}
			switch p.StatusCode {
			case http.StatusSeeOther:
				pluginOK.Add(1)
			case http.StatusServiceUnavailable:
				pluginDown.Add(1)
			default:
				t.Errorf("sign-in through the plugin: unexpected %d", p.StatusCode)
			}
		}
	}()
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			bb := h.browser()
			bb.get("/login")
			if p := bb.post("/login", url.Values{"email": {"hanako@example.co.jp"}, "password": {alicePW}}); p.StatusCode != http.StatusSeeOther {
				localFailed.Add(1)
			}
		}
	}()
	time.Sleep(300 * time.Millisecond)
	okBeforeKill := pluginOK.Load()
	if err := syscall.Kill(before.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// While it is down, /readyz stays ready but names it, and the login
	// page shows its button as temporarily unavailable.
	sawReady, sawButton := false, false
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end) && !(sawReady && sawButton); time.Sleep(5 * time.Millisecond) {
		if p := h.browser().get("/readyz"); p.StatusCode == 200 && strings.Contains(p.body, "provider kiosk: unavailable") {
			sawReady = true
		}
		if p := h.browser().get("/login"); strings.Contains(p.body, `id="provider-kiosk" data-provider="kiosk" aria-disabled="true"`) {
			sawButton = true
		}
	}
	if !sawReady || !sawButton {
		t.Errorf("outage not reported: /readyz detail %v, disabled login button %v", sawReady, sawButton)
	}
	// Recovery: sign-ins through the plugin succeed again.
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) && (plug.Status().Restarts == before.Restarts || pluginOK.Load() < okBeforeKill+5) {
		time.Sleep(50 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	after := plug.Status()
	t.Logf("plugin sign-ins: %d ok (%d before the kill), %d answered 503 while it restarted; restarts %d→%d, pid %d→%d",
		pluginOK.Load(), okBeforeKill, pluginDown.Load(), before.Restarts, after.Restarts, before.PID, after.PID)
	if after.Restarts <= before.Restarts || after.PID == before.PID || !after.Healthy {
		t.Fatalf("plugin not restarted: %+v", after)
	}
	if pluginOK.Load() < okBeforeKill+5 {
		t.Fatal("sign-ins through the plugin did not recover")
	}
	if localFailed.Load() != 0 {
		t.Fatalf("%d local sign-ins failed while the plugin was down", localFailed.Load())
	}
	if !strings.Contains(h.logs.String(), "kiosk") {
		t.Error("the crash was not logged")
	}
}

func TestPluginChecksumMismatchRefused(t *testing.T) {
	bin, err := buildHTTPJSON()
	if err != nil {
		t.Fatal(err)
	}
	ep := kioskEndpoint(t)
	wrong := strings.Repeat("ab", 32)
	dir := t.TempDir()
	path := filepath.Join(dir, "ssogate.yaml")
	cfgText := strings.NewReplacer("%LISTEN%", "127.0.0.1:18999", "%PUBLIC%", "http://127.0.0.1:18999",
		"%DSN%", filepath.Join(dir, "db")).Replace(testConfig)
	cfgText = pluginProvider(bin, wrong, ep.URL)(cfgText)
	os.WriteFile(path, []byte(cfgText), 0o600)
	_, errOut, err := runCLI(t, "", "--config", path, "user", "list")
	if err == nil || !strings.Contains(err.Error()+errOut, "sha256") {
		t.Fatalf("a plugin with the wrong sha256 was started: %v %s", err, errOut)
	}
}

func TestReloadKeepsUnchangedPluginRunning(t *testing.T) {
	bin, err := buildHTTPJSON()
	if err != nil {
		t.Fatal(err)
	}
	ep := kioskEndpoint(t)
	h := newHarness(t, pluginProvider(bin, fileSHA256(t, bin), ep.URL))
	pid := h.app.plugins["kiosk"].Status().PID
	text, _ := os.ReadFile(h.configPath)
	os.WriteFile(h.configPath, []byte(string(text)+"  - id: extra\n    name: 追加\n    url: http://127.0.0.1:9011/\n"), 0o600)
	if err := h.app.reloadFromFile(context.Background(), h.configPath); err != nil {
		t.Fatal(err)
	}
	if got := h.app.plugins["kiosk"].Status().PID; got != pid {
		t.Fatalf("an unchanged plugin was restarted by the reload: pid %d -> %d", pid, got)
	}
	// A reload that changes the plugin's sha256 to a wrong one is refused
	// and the running plugin stays.
	bad := strings.Replace(string(text), fileSHA256(t, bin), strings.Repeat("cd", 32), 1)
	os.WriteFile(h.configPath, []byte(bad), 0o600)
	if err := h.app.reloadFromFile(context.Background(), h.configPath); err == nil || !strings.Contains(err.Error(), "sha256") {
		t.Fatalf("reload with a wrong sha256: %v", err)
	}
	if h.app.plugins["kiosk"].Status().PID != pid || !h.app.plugins["kiosk"].Status().Healthy {
		t.Fatal("a refused reload disturbed the running plugin")
	}
}
