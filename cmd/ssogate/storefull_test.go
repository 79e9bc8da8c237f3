package main

import (
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ssogate/ssogate/internal/testdisk"
	"github.com/ssogate/ssogate/store/sqlite"
)

var dsnLine = regexp.MustCompile(`(?m)^  dsn: .*$`)

// withDSN puts the store's database at path.
func withDSN(path string) harnessOption {
	return func(s string) string { return dsnLine.ReplaceAllLiteralString(s, "  dsn: "+path) }
}

// waitReady polls /readyz for up to 5 seconds (Ping may reuse an answer
// for a second) until it answers want, and returns the last answer.
func waitReady(b *browser, want int) *page {
	deadline := time.Now().Add(5 * time.Second)
	for {
		p := b.get("/readyz")
		if p.StatusCode == want || time.Now().After(deadline) {
			return p
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestFullDisk runs the gateway with its database on a real disk that
// fills up: /readyz says the store cannot write, a save and a sign-in say
// that the change cannot be saved now (503, Retry-After, in the person's
// language) instead of "something went wrong", the log has the cause under
// the request id, and everything works again once space is freed.
func TestFullDisk(t *testing.T) {
	dir := testdisk.Mount(t, "8m")
	h := newHarness(t, withDSN(filepath.Join(dir, "ssogate.db")))
	alice := h.addUser("alice@example.co.jp", "Alice", alicePW)
	h.addUser("bob@example.co.jp", "Bob", alicePW)
	b := h.browser()
	expectRedirect(t, b.login(alice.Email, alicePW, "/"), "/")
	expectStatus(t, b.get("/readyz"), http.StatusOK)
	expectStatus(t, b.get("/me"), http.StatusOK)

	// An empty WAL first, so the next commit needs space of its own.
	if err := h.app.store.(*sqlite.Store).Checkpoint(t.Context()); err != nil {
		t.Fatalf("checkpoint: %v", err)
	}
	free := testdisk.Fill(t, dir)

	p := waitReady(b, http.StatusServiceUnavailable)
	expectStatus(t, p, http.StatusServiceUnavailable)
	if strings.TrimSpace(p.body) != "store: cannot write" {
		t.Errorf("/readyz on a full disk = %q, want %q", p.body, "store: cannot write")
	}

	const (
		jaMsg = "現在、変更を保存できません。しばらくしてからもう一度お試しください。"
		enMsg = "Your changes cannot be saved right now. Please try again in a little while."
	)
	checkCannotSave := func(what string, p *page, msg string) {
		t.Helper()
		expectStatus(t, p, http.StatusServiceUnavailable)
		if got := p.Header.Get("Retry-After"); got != "30" {
			t.Errorf("%s: Retry-After = %q, want 30", what, got)
		}
		if !strings.Contains(p.body, msg) {
			t.Errorf("%s: page lacks %q:\n%s", what, msg, snippet(p.body))
		}
		id := p.Header.Get("X-Request-Id")
		var logged bool
		for line := range strings.SplitSeq(h.logs.String(), "\n") {
			if strings.Contains(line, "request_id="+id) && strings.Contains(line, "database or disk is full") {
				logged = true
			}
		}
		if id == "" || !logged {
			t.Errorf("%s: no log line with request id %q and the cause", what, id)
		}
	}
	checkCannotSave("POST /me", b.post("/me", url.Values{"display_name": {"Alice Full"}}), jaMsg)
	bob := h.browser()
	bob.lang = "en"
	checkCannotSave("sign-in", bob.login("bob@example.co.jp", alicePW, "/"), enMsg)
	if got, err := h.app.store.GetUser(t.Context(), alice.ID); err != nil || got.DisplayName != "Alice" {
		t.Errorf("profile after the refused save = %+v, %v; want it unchanged", got, err)
	}

	// Reading goes on: once the session's activity is due to be saved
	// (and cannot be), the signed-in person still sees the launcher.
	h.clock.Advance(2 * time.Minute)
	expectStatus(t, b.get("/"), http.StatusOK)

	free()
	expectStatus(t, waitReady(b, http.StatusOK), http.StatusOK)
	b.get("/me")
	expectRedirect(t, b.post("/me", url.Values{"display_name": {"Alice Full"}}), "/me?saved=1")
	if got, err := h.app.store.GetUser(t.Context(), alice.ID); err != nil || got.DisplayName != "Alice Full" {
		t.Errorf("profile after space was freed = %+v, %v; want the new name", got, err)
	}
	expectRedirect(t, bob.login("bob@example.co.jp", alicePW, "/"), "/")
}
