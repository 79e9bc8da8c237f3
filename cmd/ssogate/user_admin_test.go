package main

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ssogate/ssogate/store"
)

// TestCLIHelpEveryCommand runs --help on every subcommand the usage
// texts name (user's subcommands read from its usage, so a new one must
// come with its own usage): stdout, exit 0, the command's own usage.
func TestCLIHelpEveryCommand(t *testing.T) {
	t.Setenv("SSOGATE_CONFIG", t.TempDir()+"/missing.yaml")
	names := map[string]bool{}
	for k := range commandUsage {
		names[k] = true
	}
	for _, m := range regexp.MustCompile(`(?m)^  ([a-z0-9-]+) `).FindAllStringSubmatch(userUsage, -1) {
		if !names["user "+m[1]] {
			t.Errorf("user %s has no entry in commandUsage", m[1])
		}
		names["user "+m[1]] = true
	}
	for _, want := range []string{"user set", "user delete", "user sessions", "user revoke", "user unlock", "user reset-2fa"} {
		if !names[want] {
			t.Errorf("no usage for %q", want)
		}
	}
	for name := range names {
		t.Run(name, func(t *testing.T) {
			out, errOut, err := runCLI(t, "", append(strings.Fields(name), "--help")...)
			if err != nil || errOut != "" {
				t.Fatalf("err = %v, stderr %q; want exit 0 and nothing on stderr", err, errOut)
			}
			if !strings.HasPrefix(out, "usage: ssogate "+name+" ") && !strings.HasPrefix(out, "usage: ssogate "+name+"\n") {
				t.Fatalf("stdout does not start with the usage of %s:\n%s", name, out)
			}
		})
	}
}

// TestCLIUserAdmin runs user set, sessions, revoke and delete, and user
// add without a password, against a running gateway.
func TestCLIUserAdmin(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	cfg := []string{"--config", h.configPath}
	// The CLI runs on the real clock; the sessions it lists must be live on it.
	h.clock.Set(time.Now())
	u := h.addUser("taro@example.co.jp", "Taro", "Sakura-Passw0rd!", "staff")

	out, errOut, err := runCLI(t, "", append(cfg, "user", "set", "--email", "Taro@example.co.jp", "--name", "山田 太郎",
		"--groups", "staff,経理", "--role", "admin", "--department", "経理部")...)
	if err != nil {
		t.Fatalf("user set: %v %q", err, errOut)
	}
	got, _ := h.app.store.GetUser(ctx, u.ID)
	if got.DisplayName != "山田 太郎" || !slices.Equal(got.Groups, []string{"staff", "経理"}) || got.Role != store.RoleAdmin ||
		got.Department != "経理部" || !strings.Contains(out, "山田 太郎") {
		t.Fatalf("after user set: %+v\n%s", got, out)
	}
	// Only the flags given change; a bad value changes nothing.
	if _, _, err := runCLI(t, "", append(cfg, "user", "set", "--email", u.Email, "--phone", "03-1234-5678")...); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runCLI(t, "", append(cfg, "user", "set", "--email", u.Email, "--name", "x\x07y", "--phone", "09-0000-0000")...); err == nil {
		t.Fatal("a control character in --name was accepted")
	}
	if _, _, err := runCLI(t, "", append(cfg, "user", "set", "--email", u.Email)...); err == nil {
		t.Fatal("user set without a change succeeded")
	}
	got, _ = h.app.store.GetUser(ctx, u.ID)
	if got.Phone != "03-1234-5678" || got.DisplayName != "山田 太郎" {
		t.Fatalf("after partial sets: %+v", got)
	}

	b1, b2 := h.browser(), h.browser()
	expectRedirect(t, b1.login(u.Email, "Sakura-Passw0rd!", ""), "/")
	expectRedirect(t, b2.login(u.Email, "Sakura-Passw0rd!", ""), "/")
	out, _, err = runCLI(t, "", append(cfg, "user", "sessions", "--email", u.Email)...)
	sessions, _ := h.app.store.ListUserSessions(ctx, u.ID)
	if err != nil || len(sessions) != 2 || !strings.Contains(out, sessions[0].ID) || !strings.Contains(out, sessions[1].ID) {
		t.Fatalf("user sessions: %v\n%s", err, out)
	}
	if _, _, err := runCLI(t, "", append(cfg, "user", "revoke", "--email", u.Email)...); err == nil {
		t.Fatal("user revoke without --id or --all succeeded")
	}
	if _, _, err := runCLI(t, "", append(cfg, "user", "revoke", "--email", u.Email, "--id", "nope")...); err == nil {
		t.Fatal("user revoke of an unknown session succeeded")
	}
	if out, _, err := runCLI(t, "", append(cfg, "user", "revoke", "--email", u.Email, "--id", sessions[0].ID)...); err != nil || !strings.Contains(out, "session ended") {
		t.Fatalf("user revoke --id: %v %q", err, out)
	}
	if left, _ := h.app.store.ListUserSessions(ctx, u.ID); len(left) != 1 || left[0].ID != sessions[1].ID {
		t.Fatalf("sessions after revoking one: %d", len(left))
	}
	if out, _, err := runCLI(t, "", append(cfg, "user", "revoke", "--email", u.Email, "--all")...); err != nil || !strings.Contains(out, "1 sessions ended") {
		t.Fatalf("user revoke --all: %v %q", err, out)
	}
	h.clock.Advance(h.app.cfg.Session.CacheTTL.D())
	for _, b := range []*browser{b1, b2} {
		if p := b.get("/"); p.StatusCode != 303 {
			t.Fatalf("a revoked browser got %d", p.StatusCode)
		}
	}

	// delete: without a terminal, --yes is required.
	if _, errOut, err := runCLI(t, u.Email+"\n", append(cfg, "user", "delete", "--email", u.Email)...); err == nil {
		t.Fatalf("user delete without a terminal or --yes succeeded (%q)", errOut)
	}
	if _, err := h.app.store.GetUser(ctx, u.ID); err != nil {
		t.Fatal("deleted without confirmation")
	}
	if out, _, err := runCLI(t, "", append(cfg, "user", "delete", "--email", u.Email, "--yes")...); err != nil || !strings.Contains(out, "deleted user taro@example.co.jp") {
		t.Fatalf("user delete --yes: %v %q", err, out)
	}
	if _, err := h.app.store.GetUser(ctx, u.ID); err == nil {
		t.Fatal("user still exists")
	}
	events, _ := h.app.store.ListAudit(ctx, store.AuditFilter{UserID: u.ID, Action: "user_delete"})
	if len(events) != 1 || !strings.HasPrefix(events[0].Actor, "cli") {
		t.Fatalf("user_delete events: %+v", events)
	}

	// user add without a password (not a terminal) says how the user signs in.
	out, _, err = runCLI(t, "", append(cfg, "user", "add", "--email", "hanako@example.co.jp", "--name", "Hanako")...)
	if err != nil || !strings.Contains(out, "no password") || !strings.Contains(out, "invitation") {
		t.Fatalf("user add without a password: %v %q", err, out)
	}
}
