package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ssogate/ssogate/internal/testpeers"
)

// serve's log is buffered, and what is in the buffer when serve stops is
// written before it returns: the access line of a request answered just
// before the shutdown is there, whole, after the lines logged before it.
func TestServeFlushesAccessLogOnShutdown(t *testing.T) {
	dir := t.TempDir()
	addr := freeLoopbackAddr(t)
	path := filepath.Join(dir, "ssogate.yaml")
	yaml := "server:\n  listen: " + addr + "\n  public_url: http://" + addr + "\nstore:\n  dsn: " + filepath.Join(dir, "db") +
		"\nproviders:\n  - id: local\n    type: local\n    hashing: {memory_kib: 8192, iterations: 1, parallelism: 1}\n" +
		"services:\n  - id: app\n    name: App\n    url: http://app.example.test/\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &testpeers.SyncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"--config", path, "serve"}, strings.NewReader(""), io.Discard, logs) }()
	waitFor(t, func() bool {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
	resp, err := http.Get("http://" + addr + "/login?next=%2Fsecret-ticket")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	id := resp.Header.Get("X-Request-Id")
	cancel() // at once: well within the 100 ms a line may wait
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop")
	}
	out := logs.String()
	line := regexp.MustCompile(`(?m)^time=\S+ level=INFO msg=request request_id=` + id +
		` method=GET path=/login status=200 bytes=[1-9][0-9]* client_ip=127\.0\.0\.1 duration=\S+$`)
	if !line.MatchString(out) {
		t.Errorf("no complete access line for request %s in serve's log:\n%s", id, out)
	}
	if strings.Contains(out, "secret-ticket") {
		t.Errorf("the query string was logged:\n%s", out)
	}
	if i, j := strings.Index(out, "ssogate listening"), strings.Index(out, "request_id="+id); i < 0 || j < i {
		t.Errorf("lines out of order (listening at %d, the request at %d):\n%s", i, j, out)
	}
}
