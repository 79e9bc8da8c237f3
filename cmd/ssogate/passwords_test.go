package main

import (
	"context"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ssogate/ssogate/config"
	"github.com/ssogate/ssogate/portal"
	"github.com/ssogate/ssogate/providers"
	"github.com/ssogate/ssogate/providers/local"
	"github.com/ssogate/ssogate/store"
	"github.com/ssogate/ssogate/store/sqlite"
)

// withHashing replaces the test configuration's hashing block.
func withHashing(yaml string) harnessOption {
	return func(s string) string {
		return strings.Replace(s, "    hashing:\n      memory_kib: 8192\n      iterations: 1\n      parallelism: 1\n", "    hashing:\n"+yaml, 1)
	}
}

// hashWithCost hashes password as a gateway configured with cfg would have.
func hashWithCost(t *testing.T, cfg local.Config, password string) string {
	t.Helper()
	p, err := local.Open("local", cfg, accounts{})
	if err != nil {
		t.Fatal(err)
	}
	h, err := p.Hash(context.Background(), password)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// addUserWithHash creates an active user whose stored hash is hash.
func addUserWithHash(t *testing.T, st store.Store, email, hash string) *store.User {
	t.Helper()
	ctx := context.Background()
	u := &store.User{Email: email, DisplayName: "テスト", Role: store.RoleUser, Status: store.StatusActive}
	if err := st.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := st.SetPasswordHash(ctx, u.ID, hash); err != nil {
		t.Fatal(err)
	}
	return u
}

// After a hashing-cost change, a sign-in stores the password again with
// the new cost and audits it; the account keeps signing in.
func TestRehashOnSignIn(t *testing.T) {
	h := newHarness(t) // m=8192,t=1,p=1
	old := hashWithCost(t, local.Config{Memory: 8192, Iterations: 2, Parallelism: 1}, "Sakura-Passw0rd!")
	u := addUserWithHash(t, h.app.store, "taro@example.com", old)
	ctx := context.Background()

	expectStatus(t, h.browser().login("taro@example.com", "Wrong-Passw0rd!", ""), 401)
	if got, _ := h.app.store.PasswordHash(ctx, u.ID); got != old {
		t.Fatal("a wrong password changed the stored hash")
	}

	expectRedirect(t, h.browser().login("taro@example.com", "Sakura-Passw0rd!", ""), "/")
	got, err := h.app.store.PasswordHash(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got, "$argon2id$v=19$m=8192,t=1,p=1$") {
		t.Fatalf("stored hash after the sign-in has the cost of %q, want m=8192,t=1,p=1", strings.Join(strings.Split(got, "$")[:4], "$"))
	}
	events, _ := h.app.store.ListAudit(ctx, store.AuditFilter{UserID: u.ID, Action: "password_rehash"})
	if len(events) != 1 || events[0].Outcome != store.OutcomeSuccess ||
		events[0].Detail != "provider=local from=m=8192,t=2,p=1 to=m=8192,t=1,p=1" || events[0].ClientIP == "" {
		t.Fatalf("rehash audit = %+v, want one success from m=8192,t=2,p=1 to m=8192,t=1,p=1", events)
	}

	expectRedirect(t, h.browser().login("taro@example.com", "Sakura-Passw0rd!", ""), "/")
	if again, _ := h.app.store.PasswordHash(ctx, u.ID); again != got {
		t.Error("a current hash was rehashed again")
	}
}

// A hashing budget smaller than what a stored hash needs is refused by
// check-config and at start-up, with the file, line and key.
func TestHashingBudgetBelowStoredHash(t *testing.T) {
	dir := t.TempDir()
	dsn := filepath.Join(dir, "ssogate.db")
	ctx := context.Background()
	st, err := sqlite.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	big := hashWithCost(t, local.Config{Memory: 32768, Iterations: 1, Parallelism: 1}, "Sakura-Passw0rd!")
	addUserWithHash(t, st, "taro@example.com", big)
	addUserWithHash(t, st, "jiro@example.com", hashWithCost(t, local.Config{Memory: 8192, Iterations: 1, Parallelism: 1}, "Sakura-Passw0rd!"))
	st.Close()

	// A free port, in case serve does start.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	listen := ln.Addr().String()
	ln.Close()
	write := func(name string, maxInFlight int, dsn string) string {
		path := filepath.Join(dir, name)
		yaml := fmt.Sprintf("server:\n  listen: %s\n  public_url: http://%s\nstore:\n  dsn: %s\nproviders:\n  - id: local\n    type: local\n    hashing:\n      memory_kib: 8192\n      iterations: 1\n      parallelism: 1\n      max_in_flight: %d\n", listen, listen, dsn, maxInFlight)
		if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	small := write("small.yaml", 2, dsn) // 16 MiB < 32 MiB
	wantMsg := small + ":13: providers[0].hashing.max_in_flight: the hashing budget (max_in_flight × memory_kib) is 16384 KiB, less than the 32768 KiB that 1 stored password hash needs (m=32768,t=1,p=1), so those accounts could not sign in"

	_, errOut, err := runCLI(t, "", "--config", small, "check-config")
	var code exitCode
	if !errors.As(err, &code) || code != 1 || !strings.Contains(errOut, wantMsg) || !strings.Contains(errOut, "raise max_in_flight to 4 or more") {
		t.Errorf("check-config: %v\n%s\nwant exit 1 and %q", err, errOut, wantMsg)
	}

	// Without the check serve would start; the timeout ends it then.
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var out, serveErr strings.Builder
	err = run(sctx, []string{"--config", small, "serve"}, strings.NewReader(""), &out, &serveErr)
	errOut = serveErr.String()
	if !errors.As(err, &code) || code != 1 || !strings.Contains(errOut, wantMsg) {
		t.Errorf("serve: %v\n%s\nwant exit 1 and %q", err, errOut, wantMsg)
	}

	enough := write("enough.yaml", 4, dsn)
	if out, errOut, err := runCLI(t, "", "--config", enough, "check-config"); err != nil || !strings.Contains(out, "ok") {
		t.Errorf("check-config with a budget of 4 x 8 MiB: %v %q %q", err, out, errOut)
	}

	// A reload to the small budget is refused and the running one stays.
	good, err := config.Load(enough)
	if err != nil {
		t.Fatal(err)
	}
	a, err := newApp(ctx, good, slog.New(slog.DiscardHandler), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	bad, err := config.Load(small)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Reload(ctx, bad); err == nil || !strings.Contains(err.Error(), "providers[0].hashing.max_in_flight: the hashing budget") {
		t.Errorf("reload to a budget below a stored hash: %v, want it refused", err)
	}
	if got := a.cfg.Providers[0].Local.Hashing.MaxInFlight; got != 4 {
		t.Errorf("after the refused reload max_in_flight = %d, want the running 4", got)
	}

	// check-config reads the store without creating it.
	missing := filepath.Join(dir, "new", "ssogate.db")
	if out, errOut, err := runCLI(t, "", "--config", write("fresh.yaml", 1, missing), "check-config"); err != nil || !strings.Contains(out, "ok") {
		t.Errorf("check-config with no store yet: %v %q %q", err, out, errOut)
	}
	if _, err := os.Stat(filepath.Dir(missing)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("check-config created the store: %v", err)
	}
}

// errorText is the login page's error message, as the person reads it.
func errorText(t *testing.T, p *page) string {
	t.Helper()
	i := strings.Index(p.body, `role="alert"`)
	if i < 0 {
		t.Fatalf("no error message on the page:\n%s", snippet(p.body))
	}
	rest := p.body[strings.Index(p.body[i:], ">")+i+1:]
	return strings.TrimSpace(rest[:strings.Index(rest, "<")])
}

// An account whose stored hash needs more than the budget (stored after
// start-up, which would have refused it) gets the answer an unknown email
// gets: same status, same message.
func TestOverBudgetAccountAnswersAsUnknown(t *testing.T) {
	h := newHarness(t, withHashing("      memory_kib: 8192\n      iterations: 1\n      parallelism: 1\n      max_in_flight: 1\n"))
	addUserWithHash(t, h.app.store, "taro@example.com",
		hashWithCost(t, local.Config{Memory: 16384, Iterations: 1, Parallelism: 1}, "Sakura-Passw0rd!"))
	h.addUser("jiro@example.com", "次郎", "Sakura-Passw0rd!")

	b := h.browser()
	b.lang = "ja"
	overBudget := b.login("taro@example.com", "Sakura-Passw0rd!", "")
	unknown := b.login("nobody@example.com", "Sakura-Passw0rd!", "")
	wrong := b.login("jiro@example.com", "Wrong-Passw0rd!", "")
	want := portal.T("ja", "login.error.invalid")
	for name, p := range map[string]*page{"over budget": overBudget, "unknown email": unknown, "wrong password": wrong} {
		if p.StatusCode != 401 || errorText(t, p) != want {
			t.Errorf("%s: status %d, message %q; want 401, %q", name, p.StatusCode, errorText(t, p), want)
		}
	}
	if !strings.Contains(h.logs.String(), "stored password hash needs more memory than the hashing budget") {
		t.Error("the over-budget account was not logged for the operator")
	}
}

// holdHashSlot starts a slow hash on the harness's only slot and returns
// once it runs.
func holdHashSlot(t *testing.T, h *harness) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = h.app.local.Hash(context.Background(), "Slow-Passw0rd!")
	}()
	t.Cleanup(func() { <-done })
	deadline := time.Now().Add(5 * time.Second)
	for {
		if n, _ := h.app.local.Stats(); n == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the slow hash did not start")
		}
		time.Sleep(time.Millisecond)
	}
}

// slowOneSlot is hashing with one slot, no queue, and hashes slow enough
// (about half a second) for a test to act while one runs.
const slowOneSlot = "      memory_kib: 8192\n      iterations: 60\n      parallelism: 1\n      max_in_flight: 1\n      max_waiting: 0\n"

// max_waiting: 0 means no queue: with the only slot busy, a sign-in is
// refused at once.
func TestMaxWaitingZeroRefusesAtOnce(t *testing.T) {
	h := newHarness(t, withHashing(slowOneSlot))
	holdHashSlot(t, h)
	start := time.Now()
	_, err := h.app.local.Authenticate(context.Background(), "taro@example.com", "Sakura-Passw0rd!")
	if d := time.Since(start); !errors.Is(err, providers.ErrBusy) || d > 100*time.Millisecond {
		t.Errorf("Authenticate with the slot busy = %v after %v, want ErrBusy at once", err, d)
	}
}

// A sign-in refused because hashing is busy says when to come back.
func TestBusyLoginRetryAfter(t *testing.T) {
	h := newHarness(t, withHashing(slowOneSlot))
	b := h.browser()
	b.lang = "en"
	b.get("/login")
	holdHashSlot(t, h)
	p := b.post("/login", map[string][]string{"email": {"taro@example.com"}, "password": {"Sakura-Passw0rd!"}})
	expectStatus(t, p, 503)
	if got := p.Header.Get("Retry-After"); got != "5" {
		t.Errorf("Retry-After = %q, want 5", got)
	}
	if msg := errorText(t, p); msg != portal.T("en", "login.error.busy") {
		t.Errorf("message %q, want the busy message", msg)
	}
}

// An address typed in full width with a Japanese input method signs in,
// on the form and in the CLI.
func TestFullWidthEmail(t *testing.T) {
	h := newHarness(t)
	h.addUser("demo@example.com", "デモ", "Sakura-Passw0rd!")
	expectRedirect(t, h.browser().login("ｄｅｍｏ＠ｅｘａｍｐｌｅ．ｃｏｍ", "Sakura-Passw0rd!", ""), "/")
	expectRedirect(t, h.browser().login("ＤＥＭＯ＠ＥＸＡＭＰＬＥ．ＣＯＭ\u3000", "Sakura-Passw0rd!", ""), "/")
	// The password is not folded: it is compared as typed.
	expectStatus(t, h.browser().login("demo@example.com", "Ｓａｋｕｒａ-Passw0rd!", ""), 401)

	cfg := []string{"--config", h.configPath}
	out, errOut, err := runCLI(t, "Sakura-Passw0rd!\n", append(cfg, "user", "add", "--email", "ｈａｎａｋｏ＠ｅｘａｍｐｌｅ．ｃｏｍ",
		"--name", "花子", "--password-stdin")...)
	if err != nil || !strings.Contains(out, "added user hanako@example.com") {
		t.Fatalf("user add with a full-width email: %v %q %q", err, out, errOut)
	}
	if _, _, err := runCLI(t, "", append(cfg, "user", "disable", "--email", "ｈａｎａｋｏ＠ｅｘａｍｐｌｅ．ｃｏｍ")...); err != nil {
		t.Errorf("user disable with a full-width email: %v", err)
	}
}

// Through the personal-info page: an extension is saved in its clean form
// and shown again; text that turns around or shows nothing is refused
// with its own message.
func TestProfileExtensionAndHiddenText(t *testing.T) {
	h := newHarness(t)
	u := h.addUser("taro@example.com", "山田 太郎", "Sakura-Passw0rd!")
	b := h.browser()
	b.lang = "ja"
	expectRedirect(t, b.login("taro@example.com", "Sakura-Passw0rd!", ""), "/")
	ctx := context.Background()

	b.get("/me")
	expectRedirect(t, b.post("/me", url.Values{"display_name": {"山田 太郎"}, "phone": {"０３－１２３４－５６７８　内線　１２３"}}), "/me?saved=1")
	got, _ := h.app.store.GetUser(ctx, u.ID)
	if got.Phone != "03-1234-5678 ext. 123" {
		t.Fatalf("stored phone %q, want 03-1234-5678 ext. 123", got.Phone)
	}
	p := b.get("/me")
	if !strings.Contains(p.body, `value="03-1234-5678 ext. 123"`) || !strings.Contains(p.body, "内線は「03-1234-5678 内線 123」") {
		t.Errorf("profile page does not show the extension or the hint:\n%s", snippet(p.body))
	}

	for field, tt := range map[string]struct{ value, key string }{
		"display_name": {"山田\u202e郎太", "profile.error.bidi"},
		"department":   {"\u200b\u3000\u2060", "profile.error.invisible"},
	} {
		form := url.Values{"display_name": {"山田 太郎"}}
		form.Set(field, tt.value)
		p := b.post("/me", form)
		expectStatus(t, p, 400)
		if !strings.Contains(p.body, `id="err-`+field+`"`) || !strings.Contains(p.body, html.EscapeString(portal.T("ja", tt.key))) {
			t.Errorf("%s: the page lacks the %s message", field, tt.key)
		}
	}
	if got, _ := h.app.store.GetUser(ctx, u.ID); got.DisplayName != "山田 太郎" || got.Department != "" {
		t.Errorf("a refused form changed the profile: %+v", got)
	}
}

// max_waiting left out is the default queue; written as 0 it is none.
func TestLocalConfigMaxWaiting(t *testing.T) {
	for yaml, want := range map[string]int{
		"":                        local.DefaultMaxWaiting,
		"      max_waiting: 0\n":  local.NoWaiting,
		"      max_waiting: 10\n": 10,
	} {
		c, err := config.Parse("x.yaml", []byte("server:\n  listen: 127.0.0.1:18080\nproviders:\n  - id: local\n    type: local\n    hashing:\n      max_in_flight: 2\n"+yaml))
		if err != nil {
			t.Fatal(err)
		}
		if got := localConfig(c.Providers[0]).MaxWaiting; got != want {
			t.Errorf("%q: MaxWaiting = %d, want %d", yaml, got, want)
		}
	}
}
