//go:build unix

package plugins

import (
	"github.com/ssogate/ssogate/internal/testpeers"

	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ssogate/ssogate/providers"
)

// The tests in this file start real plugin processes: the httpjson example
// and internal/testplugin, built once per test run.

var bins struct {
	once                 sync.Once
	dir                  string
	httpjson, testplugin string
	err                  error
}

func TestMain(m *testing.M) {
	code := testpeers.Run(m) // the conformance suite runs ldap against slapd
	if bins.dir != "" {
		os.RemoveAll(bins.dir)
	}
	os.Exit(code)
}

// binaries builds the two plugin binaries with go build.
func binaries(t *testing.T) (httpjson, testplugin string) {
	t.Helper()
	bins.once.Do(func() {
		bins.dir, bins.err = os.MkdirTemp("", "ssogate-plugins-test-")
		if bins.err != nil {
			return
		}
		bins.httpjson = filepath.Join(bins.dir, "httpjson")
		bins.testplugin = filepath.Join(bins.dir, "testplugin")
		for out, pkg := range map[string]string{bins.httpjson: "./examples/httpjson", bins.testplugin: "./internal/testplugin"} {
			cmd := exec.Command("go", "build", "-o", out, pkg)
			if b, err := cmd.CombinedOutput(); err != nil {
				bins.err = fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
				return
			}
		}
	})
	if bins.err != nil {
		t.Fatal(bins.err)
	}
	return bins.httpjson, bins.testplugin
}

func sha256File(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// fast are timings short enough for tests.
var fast = timings{
	start:      10 * time.Second,
	configure:  5 * time.Second,
	call:       2 * time.Second,
	auth:       2 * time.Second,
	health:     200 * time.Millisecond,
	ping:       time.Second,
	stuckAfter: 300 * time.Millisecond,
	backoffMin: 100 * time.Millisecond,
	backoffMax: 2 * time.Second,
	stable:     30 * time.Second,
}

// logBuffer collects log output safely across goroutines; the test prints
// it only when it fails.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func testLogger(t *testing.T) (*slog.Logger, *logBuffer) {
	buf := &logBuffer{}
	t.Cleanup(func() {
		if t.Failed() || os.Getenv("PLUGINS_TEST_LOG") != "" {
			t.Logf("log:\n%s", buf)
		}
	})
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

// endpoint is the JSON endpoint the httpjson plugin asks.
func endpoint(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct{ Login, Password string }
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, "bad json", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch {
		case req.Login == "locked":
			io.WriteString(w, `{"ok":false,"error":"locked","message":"3 wrong passwords"}`)
		case req.Login == "taro" && req.Password == "pw":
			io.WriteString(w, `{"ok":true,"subject":"u-1","email":"taro@example.co.jp","email_verified":true,"name":"山田 太郎","groups":["staff"]}`)
		default:
			io.WriteString(w, `{"ok":false}`)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func httpjsonSpec(t *testing.T, bin, url string, log *slog.Logger) Spec {
	return Spec{
		ID:      "kiosk",
		Label:   "受付端末",
		Command: bin,
		Args:    []string{"-log-level", "debug"},
		SHA256:  sha256File(t, bin),
		Config:  json.RawMessage(fmt.Sprintf(`{"url":%q,"timeout":"2s"}`, url)),
		Logger:  log,
	}
}

func TestHTTPJSONPlugin(t *testing.T) {
	bin, _ := binaries(t)
	log, logs := testLogger(t)
	srv := endpoint(t)
	ctx := context.Background()
	p, err := Open(ctx, httpjsonSpec(t, bin, srv.URL, log))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	prov := p.Provider()
	if prov.ID() != "kiosk" || prov.Type() != "plugin" {
		t.Errorf("ID, Type = %q, %q", prov.ID(), prov.Type())
	}
	if got := implements(prov); got != (caps{password: true}) {
		t.Fatalf("capabilities %s, want password only", got)
	}
	if _, ok := prov.(providers.RedirectAuthenticator); ok {
		t.Fatal("a password-only plugin satisfies RedirectAuthenticator")
	}
	pa := prov.(providers.PasswordAuthenticator)

	tests := []struct {
		login, password string
		check           func(*providers.Identity, error) error
	}{
		{"taro", "pw", func(id *providers.Identity, err error) error {
			if err != nil {
				return err
			}
			want := providers.Identity{ProviderID: "kiosk", Subject: "u-1", Email: "taro@example.co.jp", EmailVerified: true, DisplayName: "山田 太郎", Groups: []string{"staff"}, AMR: []string{"pwd"}}
			if fmt.Sprint(*id) != fmt.Sprint(want) {
				return fmt.Errorf("identity %+v, want %+v", *id, want)
			}
			return nil
		}},
		{"taro", "wrong", func(_ *providers.Identity, err error) error {
			if !errors.Is(err, providers.ErrInvalidCredentials) {
				return fmt.Errorf("err = %v, want ErrInvalidCredentials", err)
			}
			return nil
		}},
		{"locked", "pw", func(_ *providers.Identity, err error) error {
			var ae *providers.AccountError
			if !errors.As(err, &ae) || ae.Reason != providers.ReasonLocked || ae.Detail != "3 wrong passwords" || !errors.Is(err, providers.ErrAccountDisabled) {
				return fmt.Errorf("err = %v, want AccountError locked", err)
			}
			return nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.login+"/"+tt.password, func(t *testing.T) {
			if err := tt.check(pa.Authenticate(ctx, tt.login, tt.password)); err != nil {
				t.Error(err)
			}
		})
	}
	st := p.Status()
	if !st.Healthy || st.Restarts != 0 || st.PID == 0 || p.Err() != nil {
		t.Errorf("status %+v, Err() %v", st, p.Err())
	}
	if !strings.Contains(logs.String(), "plugin started") {
		t.Error("no start log line")
	}
}

// wrapper writes a shell script that records each start in marker and
// then runs bin: the script is the command whose sha256 is pinned.
func wrapper(t *testing.T, bin string) (script, marker string) {
	dir := t.TempDir()
	marker = filepath.Join(dir, "started")
	script = filepath.Join(dir, "plugin.sh")
	body := fmt.Sprintf("#!/bin/sh\necho $$ >> %q\nexec %q \"$@\"\n", marker, bin)
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return script, marker
}

func TestChecksumRefusesToStart(t *testing.T) {
	bin, _ := binaries(t)
	log, _ := testLogger(t)
	srv := endpoint(t)
	script, marker := wrapper(t, bin)
	actual := sha256File(t, script)

	tests := []struct {
		name    string
		sha     string
		started bool
	}{
		{"wrong sha256", strings.Repeat("ab", 32), false},
		{"right sha256", actual, true},
		{"right sha256 in capitals", strings.ToUpper(actual), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			os.Remove(marker)
			spec := httpjsonSpec(t, bin, srv.URL, log)
			spec.Command, spec.SHA256 = script, tt.sha
			p, err := Open(context.Background(), spec)
			if err == nil {
				defer p.Close()
			}
			_, statErr := os.Stat(marker)
			if started := statErr == nil; started != tt.started {
				t.Errorf("process started = %v, want %v", started, tt.started)
			}
			if tt.started {
				if err != nil {
					t.Fatal(err)
				}
				if _, err := p.Provider().(providers.PasswordAuthenticator).Authenticate(context.Background(), "taro", "pw"); err != nil {
					t.Error(err)
				}
				return
			}
			if !errors.Is(err, ErrChecksum) {
				t.Fatalf("err = %v, want ErrChecksum", err)
			}
			for _, s := range []string{tt.sha, actual, script} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not name %s", err, s)
				}
			}
		})
	}
}

// traffic runs Authenticate in a loop on workers goroutines until stop,
// and records every result.
type traffic struct {
	mu      sync.Mutex
	results []result
	ok      atomic.Int64
}

type result struct {
	at  time.Time
	err error
}

func (tr *traffic) run(ctx context.Context, pa providers.PasswordAuthenticator, workers int) *sync.WaitGroup {
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100000 && ctx.Err() == nil; i++ {
				_, err := pa.Authenticate(context.Background(), "taro", "pw")
				tr.mu.Lock()
				tr.results = append(tr.results, result{time.Now(), err})
				tr.mu.Unlock()
				if err == nil {
					tr.ok.Add(1)
				}
				time.Sleep(2 * time.Millisecond)
			}
		}()
	}
	return &wg
}

// waitFor polls cond until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestKilledPluginRestarts(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	bin, _ := binaries(t)
	log, logs := testLogger(t)
	srv := endpoint(t)
	defer srv.Close()

	p, err := open(context.Background(), httpjsonSpec(t, bin, srv.URL, log), fast)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	pa := p.Provider().(providers.PasswordAuthenticator)

	pid := p.Status().PID
	if rc := p.current().client.ReattachConfig(); rc == nil || rc.Pid != pid {
		t.Fatalf("Status().PID %d, go-plugin's ReattachConfig %+v", pid, rc)
	}

	ctx, stop := context.WithCancel(context.Background())
	var tr traffic
	wg := tr.run(ctx, pa, 3)
	waitFor(t, 10*time.Second, "traffic", func() bool { return tr.ok.Load() >= 30 })

	proc, err := os.FindProcess(pid)
	if err != nil {
		t.Fatal(err)
	}
	killedAt := time.Now()
	if err := proc.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	okAtKill := tr.ok.Load()
	waitFor(t, 15*time.Second, "calls to succeed again", func() bool {
		return tr.ok.Load() > okAtKill+30 && p.Status().Restarts == 1
	})
	stop()
	wg.Wait()

	var failed, other int
	var firstFail, lastFail, backOK time.Time
	for _, r := range tr.results {
		if r.at.Before(killedAt) {
			if r.err != nil {
				t.Errorf("before the kill: %v", r.err)
			}
			continue
		}
		switch {
		case r.err == nil:
			if !lastFail.IsZero() && backOK.IsZero() {
				backOK = r.at
			}
		case errors.Is(r.err, providers.ErrUnavailable) && errors.Is(r.err, ErrPluginShutdown):
			failed++
			if firstFail.IsZero() {
				firstFail = r.at
			}
			lastFail = r.at
		default:
			other++
			t.Errorf("unexpected error: %v", r.err)
		}
	}
	if failed == 0 {
		t.Error("no call failed with ErrUnavailable after the kill")
	}
	st := p.Status()
	if !st.Healthy || st.Restarts != 1 || st.PID == pid || st.PID == 0 || st.LastError == "" {
		t.Errorf("status after restart %+v", st)
	}
	t.Logf("SIGKILL → first failure %s, calls back %s after the kill (%d calls failed cleanly); LastError %q",
		firstFail.Sub(killedAt).Round(time.Millisecond), backOK.Sub(killedAt).Round(time.Millisecond), failed, st.LastError)
	for _, line := range []string{"plugin failed; restarting it", "plugin restarted"} {
		if !strings.Contains(logs.String(), line) {
			t.Errorf("no log line %q", line)
		}
	}

	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := pa.Authenticate(context.Background(), "taro", "pw"); !errors.Is(err, ErrPluginShutdown) || !errors.Is(err, providers.ErrUnavailable) {
		t.Errorf("after Close: %v", err)
	}
	srv.Close()
}

func TestHungPluginIsRestarted(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	_, bin := binaries(t)
	log, _ := testLogger(t)
	p, err := open(context.Background(), Spec{ID: "hung", Command: bin, SHA256: sha256File(t, bin), Logger: log}, fast)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	pa := p.Provider().(providers.PasswordAuthenticator)
	pid := p.Status().PID

	start := time.Now()
	_, err = pa.Authenticate(context.Background(), "hang", "x")
	took := time.Since(start)
	if !errors.Is(err, providers.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("hung call: %v", err)
	}
	if took < fast.auth || took > fast.auth+time.Second {
		t.Errorf("hung call returned after %s, want its deadline %s", took, fast.auth)
	}
	waitFor(t, 10*time.Second, "the restart", func() bool {
		st := p.Status()
		return st.Restarts == 1 && st.Healthy
	})
	restarted := time.Since(start)
	st := p.Status()
	if st.PID == pid || !strings.Contains(st.LastError, "hung") {
		t.Errorf("status %+v", st)
	}
	id, err := pa.Authenticate(context.Background(), "alice", "secret")
	if err != nil || id.Subject != "alice" || id.ProviderID != "hung" {
		t.Errorf("after restart: %+v, %v", id, err)
	}
	t.Logf("hung call failed after %s; serving again %s after the call began", took.Round(time.Millisecond), restarted.Round(time.Millisecond))
}

func TestCrashingCallRestarts(t *testing.T) {
	_, bin := binaries(t)
	log, _ := testLogger(t)
	p, err := open(context.Background(), Spec{ID: "crashy", Command: bin, SHA256: sha256File(t, bin), Logger: log}, fast)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	pa := p.Provider().(providers.PasswordAuthenticator)
	_, err = pa.Authenticate(context.Background(), "crash", "x")
	if !errors.Is(err, providers.ErrUnavailable) || !errors.Is(err, ErrPluginShutdown) {
		t.Fatalf("crashing call: %v", err)
	}
	waitFor(t, 10*time.Second, "the restart", func() bool { return p.Status().Restarts == 1 && p.Status().Healthy })
	if _, err := pa.Authenticate(context.Background(), "alice", "secret"); err != nil {
		t.Error(err)
	}
}

// A binary replaced on disk is refused at the next launch: the plugin
// stays down, saying why, instead of running unpinned code.
func TestReplacedBinaryIsNotRestarted(t *testing.T) {
	httpjson, testplugin := binaries(t)
	log, _ := testLogger(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "plugin")
	copyFile(t, testplugin, bin)
	p, err := open(context.Background(), Spec{ID: "swapped", Command: bin, SHA256: sha256File(t, bin), Logger: log}, fast)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	copyFile(t, httpjson, bin+".new")
	if err := os.Rename(bin+".new", bin); err != nil {
		t.Fatal(err)
	}
	pa := p.Provider().(providers.PasswordAuthenticator)
	if _, err := pa.Authenticate(context.Background(), "crash", "x"); !errors.Is(err, ErrPluginShutdown) {
		t.Fatalf("crashing call: %v", err)
	}
	waitFor(t, 5*time.Second, "a refused restart", func() bool {
		return strings.Contains(p.Status().LastError, "sha256")
	})
	st := p.Status()
	if st.Healthy || st.Restarts != 0 {
		t.Errorf("status %+v", st)
	}
	if err := p.Err(); !errors.Is(err, ErrPluginShutdown) || !errors.Is(err, providers.ErrUnavailable) || !strings.Contains(err.Error(), "sha256") {
		t.Errorf("Err() = %v", err)
	}
	_, err = pa.Authenticate(context.Background(), "alice", "secret")
	if !errors.Is(err, providers.ErrUnavailable) || !strings.Contains(err.Error(), "sha256") {
		t.Errorf("while down: %v", err)
	}
}

func copyFile(t *testing.T, from, to string) {
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestConfigureFailureStopsProcess(t *testing.T) {
	_, bin := binaries(t)
	log, _ := testLogger(t)
	script, marker := wrapper(t, bin)
	_, err := Open(context.Background(), Spec{
		ID: "refuser", Command: script, SHA256: sha256File(t, script), Logger: log,
		Config: json.RawMessage(`{"refuse":true}`),
	})
	if err == nil || !strings.Contains(err.Error(), "refuse is set") {
		t.Fatalf("err = %v", err)
	}
	b, rerr := os.ReadFile(marker)
	if rerr != nil {
		t.Fatalf("plugin never started: %v", rerr)
	}
	var pid int
	fmt.Sscan(string(b), &pid)
	proc, _ := os.FindProcess(pid)
	if proc != nil && proc.Signal(syscall.Signal(0)) == nil {
		t.Errorf("plugin process %d still runs after a failed Open", pid)
	}
}
