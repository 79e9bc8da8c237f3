package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ssogate/ssogate/account"
	"github.com/ssogate/ssogate/store"
)

// addAdmin creates an active local administrator.
func (h *harness) addAdmin(email, name, password string) *store.User {
	h.t.Helper()
	u := h.addUser(email, name, password, "admins")
	u.Role = store.RoleAdmin
	if err := h.app.store.UpdateUser(context.Background(), u); err != nil {
		h.t.Fatal(err)
	}
	return u
}

// consolePath fills a console route pattern's wildcards: {id} with id,
// any other with "x"; {$} ends the path.
func consolePath(pattern, id string) (method, path string) {
	method, path, _ = strings.Cut(pattern, " ")
	path = strings.ReplaceAll(path, "{$}", "")
	path = strings.ReplaceAll(path, "{id}", url.PathEscape(id))
	return method, regexp.MustCompile(`\{[^}]*\}`).ReplaceAllString(path, "x")
}

// TestAdminConsoleRefusesNonAdmin walks every console route registered
// through adminRoute (so a route added later is walked too): a signed-in
// person without the admin role gets 403 to GET and POST, a signed-out
// browser is sent to the sign-in, and an administrator whose sign-in is
// older than 15 minutes is sent to sign in again.
func TestAdminConsoleRefusesNonAdmin(t *testing.T) {
	h := newHarness(t)
	admin := h.addAdmin("admin@example.co.jp", "管理 者", "Adm1n-pass-word")
	bob := h.addUser("bob@example.co.jp", "Bob", "B0b-pass-word-x")

	patterns := h.app.gateway.AdminPatterns()
	for _, want := range []string{"GET /admin", "GET /admin/users", "GET /admin/users/{id}", "POST /admin/users/{id}"} {
		if !slices.Contains(patterns, want) {
			t.Fatalf("console routes %v lack %q", patterns, want)
		}
	}

	user := h.browser()
	expectRedirect(t, user.login("bob@example.co.jp", "B0b-pass-word-x", ""), "/")
	user.get("/") // a valid CSRF token of bob's session
	out := h.browser()
	out.get("/login")
	for _, p := range patterns {
		method, path := consolePath(p, admin.ID)
		t.Run(p, func(t *testing.T) {
			var got *page
			if method == http.MethodPost {
				got = user.post(path, url.Values{"action": {"disable"}})
			} else {
				got = user.get(path)
			}
			expectStatus(t, got, http.StatusForbidden)

			if method == http.MethodPost {
				got = out.post(path, url.Values{"action": {"disable"}})
			} else {
				got = out.get(path)
			}
			if got.StatusCode != http.StatusSeeOther || !strings.HasPrefix(got.Header.Get("Location"), "/login") {
				t.Fatalf("signed out %s %s: %d %q, want a redirect to /login", method, path, got.StatusCode, got.Header.Get("Location"))
			}
		})
	}
	if u, _ := h.app.store.GetUser(context.Background(), admin.ID); u.Status != store.StatusActive {
		t.Fatalf("admin is %s after the refused POSTs", u.Status)
	}

	// Fresh sign-in: the console opens; 16 minutes later it asks again.
	ab := h.browser()
	expectRedirect(t, ab.login("admin@example.co.jp", "Adm1n-pass-word", "/admin/users"), "/admin/users")
	expectStatus(t, ab.get("/admin/users"), http.StatusOK)
	h.clock.Advance(16 * time.Minute)
	for _, p := range patterns {
		method, path := consolePath(p, bob.ID)
		var got *page
		if method == http.MethodPost {
			got = ab.post(path, url.Values{"action": {"disable"}})
		} else {
			got = ab.get(path)
		}
		if got.StatusCode != http.StatusSeeOther || !strings.HasPrefix(got.Header.Get("Location"), "/login?reauth=1") {
			t.Errorf("stale sign-in %s %s: %d %q, want /login?reauth=1", method, path, got.StatusCode, got.Header.Get("Location"))
		}
	}
	if u, _ := h.app.store.GetUser(context.Background(), bob.ID); u.Status != store.StatusActive {
		t.Fatalf("bob is %s after POSTs of a stale sign-in", u.Status)
	}
}

var userRowRe = regexp.MustCompile(`<tr data-user="([0-9a-f]+)">`)

// TestAdminConsoleUsers runs the users part of the console end to end:
// search and paging, edits, disable/enable, unlock, 2-step reset,
// revoking a session, a reset link, delete, and the guards.
func TestAdminConsoleUsers(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	admin := h.addAdmin("admin@example.co.jp", "管理 者", "Adm1n-pass-word")
	for i := range 120 {
		u := &store.User{Email: fmt.Sprintf("staff%03d@example.co.jp", i), DisplayName: fmt.Sprintf("社員 %03d", i),
			Department: "営業部", Groups: []string{"staff"}, Role: store.RoleUser, Status: store.StatusActive}
		if err := h.app.store.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	carol := h.addUser("carol@example.co.jp", "Carol", "C4rol-pass-word", "staff")

	ab := h.browser()
	expectRedirect(t, ab.login("admin@example.co.jp", "Adm1n-pass-word", ""), "/")
	home := ab.get("/")
	for _, want := range []string{`data-service="ssogate-admin"`, `href="/admin"`, "管理コンソール", account.ShortID(admin.ID)} {
		if !strings.Contains(home.body, want) {
			t.Errorf("admin's launcher lacks %q", want)
		}
	}
	cb := h.browser()
	expectRedirect(t, cb.login("carol@example.co.jp", "C4rol-pass-word", ""), "/")
	if p := cb.get("/"); strings.Contains(p.body, `data-service="ssogate-admin"`) || !strings.Contains(p.body, account.ShortID(carol.ID)) {
		t.Error("a non-admin's launcher shows the console tile, or the header lacks the short id")
	}
	expectStatus(t, ab.get("/admin"), http.StatusOK)

	// Paging through the 121 users of group staff, 50 a page.
	seen := map[string]bool{}
	next := "/admin/users?group=staff"
	pages := 0
	for next != "" {
		p := ab.get(next)
		expectStatus(t, p, http.StatusOK)
		pages++
		for _, m := range userRowRe.FindAllStringSubmatch(p.body, -1) {
			if seen[m[1]] {
				t.Fatalf("user %s on two pages", m[1])
			}
			seen[m[1]] = true
		}
		next = ""
		if m := regexp.MustCompile(`href="([^"]+)" id="next-page"`).FindStringSubmatch(p.body); m != nil {
			next = strings.ReplaceAll(m[1], "&amp;", "&")
		}
	}
	if len(seen) != 121 || pages != 3 || seen[admin.ID] {
		t.Fatalf("paging saw %d users on %d pages, want 121 on 3 (admin not in staff)", len(seen), pages)
	}
	p := ab.get("/admin/users?q=" + url.QueryEscape("社員 007"))
	if m := userRowRe.FindAllStringSubmatch(p.body, -1); len(m) != 1 || !strings.Contains(p.body, "staff007@example.co.jp") {
		t.Fatalf("search by name found %d rows", len(m))
	}
	expectStatus(t, ab.get("/admin/users?status=gone"), http.StatusBadRequest)
	expectStatus(t, ab.get("/admin/users?cursor=not-a-cursor"), http.StatusBadRequest)
	// Sorted by last sign-in, carol (signed in) comes before those who never did.
	p = ab.get("/admin/users?group=staff&sort=last_login")
	if m := userRowRe.FindStringSubmatch(p.body); m == nil || m[1] != carol.ID {
		t.Fatalf("last_login order: first row %v, want carol", m)
	}

	userPage := "/admin/users/" + carol.ID
	ab.get(userPage)
	// Bad input changes nothing.
	p = ab.post(userPage, url.Values{"action": {"profile"}, "display_name": {""}, "groups": {"staff"}, "role": {"user"}})
	expectStatus(t, p, http.StatusBadRequest)
	if !strings.Contains(p.body, `id="error"`) {
		t.Error("refused edit shows no error")
	}
	p = ab.post(userPage, url.Values{"action": {"profile"}, "display_name": {"Carol 更新"}, "groups": {"staff, 経理部"},
		"role": {"admin"}, "department": {"経理部"}})
	expectRedirect(t, p, userPage+"?done=profile")
	got, _ := h.app.store.GetUser(ctx, carol.ID)
	if got.DisplayName != "Carol 更新" || !slices.Equal(got.Groups, []string{"staff", "経理部"}) || got.Role != store.RoleAdmin || got.Department != "経理部" {
		t.Fatalf("after edit: %+v", got)
	}
	if p := ab.get(userPage + "?done=profile"); !strings.Contains(p.body, "変更を保存しました") {
		t.Error("no saved notice")
	}
	ab.post(userPage, url.Values{"action": {"profile"}, "display_name": {"Carol"}, "groups": {"staff"}, "role": {"user"}})

	// Disable: carol's browser is signed out at its next request.
	expectStatus(t, cb.get("/"), http.StatusOK)
	ab.get(userPage)
	expectRedirect(t, ab.post(userPage, url.Values{"action": {"disable"}}), userPage+"?done=disable")
	if p := cb.get("/"); p.StatusCode != http.StatusSeeOther || !strings.HasPrefix(p.Header.Get("Location"), "/login") {
		t.Fatalf("disabled user's session: %d %q", p.StatusCode, p.Header.Get("Location"))
	}
	expectRedirect(t, ab.post(userPage, url.Values{"action": {"enable"}}), userPage+"?done=enable")

	// Unlock an account locked by wrong passwords.
	lb := h.browser()
	for range 10 {
		lb.login("carol@example.co.jp", "wrong-password", "")
	}
	if got, _ := h.app.store.GetUser(ctx, carol.ID); got.Status != store.StatusLocked {
		t.Fatalf("carol is %s after 10 wrong passwords", got.Status)
	}
	if p := ab.get(userPage); !strings.Contains(p.body, `id="unlock"`) {
		t.Fatal("locked user's page offers no unlock")
	}
	expectRedirect(t, ab.post(userPage, url.Values{"action": {"unlock"}}), userPage+"?done=unlock")
	cb = h.browser()
	expectRedirect(t, cb.login("carol@example.co.jp", "C4rol-pass-word", ""), "/")

	// Reset 2-step: audited with the admin as actor.
	expectRedirect(t, ab.post(userPage, url.Values{"action": {"reset_2fa"}}), userPage+"?done=reset_2fa")

	// Revoke one session: that browser is signed out, the other is not.
	cb2 := h.browser()
	expectRedirect(t, cb2.login("carol@example.co.jp", "C4rol-pass-word", ""), "/")
	sessions, _ := h.app.store.ListUserSessions(ctx, carol.ID)
	if len(sessions) != 2 {
		t.Fatalf("carol has %d sessions, want 2", len(sessions))
	}
	p = ab.get(userPage)
	if !strings.Contains(p.body, `data-session="`+sessions[0].ID+`"`) {
		t.Fatal("user page does not list the session")
	}
	expectRedirect(t, ab.post(userPage, url.Values{"action": {"revoke_session"}, "id": {sessions[0].ID}}), userPage+"?done=revoke_session")
	signedOut := 0
	for _, b := range []*browser{cb, cb2} {
		if p := b.get("/"); p.StatusCode == http.StatusSeeOther {
			signedOut++
		}
	}
	if signedOut != 1 {
		t.Fatalf("%d browsers signed out after revoking one session, want 1", signedOut)
	}
	expectStatus(t, ab.post(userPage, url.Values{"action": {"revoke_session"}, "id": {"nope"}}), http.StatusNotFound)

	// A reset link goes to the outbox.
	expectRedirect(t, ab.post(userPage, url.Values{"action": {"send_reset"}}), userPage+"?done=send_reset")
	msgs, err := h.app.store.ListMessages(ctx, store.MessageFilter{UserID: carol.ID, Template: "password_reset"})
	if err != nil || len(msgs) != 1 || msgs[0].To != "carol@example.co.jp" {
		t.Fatalf("outbox: %d reset mails (%v)", len(msgs), err)
	}

	// Guards on the admin's own account.
	self := "/admin/users/" + admin.ID
	ab.get(self)
	for _, f := range []url.Values{
		{"action": {"disable"}},
		{"action": {"delete"}, "confirm_email": {"admin@example.co.jp"}},
		{"action": {"profile"}, "display_name": {"管理 者"}, "groups": {"admins"}, "role": {"user"}},
	} {
		expectStatus(t, ab.post(self, f), http.StatusForbidden)
	}
	if got, _ := h.app.store.GetUser(ctx, admin.ID); got.Status != store.StatusActive || got.Role != store.RoleAdmin {
		t.Fatalf("admin after self actions: %s %s", got.Status, got.Role)
	}
	expectStatus(t, ab.post(userPage, url.Values{"action": {"no-such"}}), http.StatusBadRequest)

	// Delete: the typed email must match; sessions end; audit stays.
	expectStatus(t, ab.post(userPage, url.Values{"action": {"delete"}, "confirm_email": {"other@example.co.jp"}}), http.StatusBadRequest)
	if _, err := h.app.store.GetUser(ctx, carol.ID); err != nil {
		t.Fatal("deleted despite a wrong confirmation")
	}
	expectRedirect(t, ab.post(userPage, url.Values{"action": {"delete"}, "confirm_email": {"Carol@Example.co.jp"}}), "/admin/users?deleted=1")
	if _, err := h.app.store.GetUser(ctx, carol.ID); err == nil {
		t.Fatal("carol still exists")
	}
	for _, b := range []*browser{cb, cb2} {
		if p := b.get("/"); p.StatusCode != http.StatusSeeOther {
			t.Fatalf("a deleted user's browser got %d", p.StatusCode)
		}
	}
	events, _ := h.app.store.ListAudit(ctx, store.AuditFilter{UserID: carol.ID, Limit: 500})
	byAdmin := map[string]bool{}
	for _, e := range events {
		if e.Actor == "admin:admin@example.co.jp" && e.Outcome == store.OutcomeSuccess {
			byAdmin[e.Action] = true
		}
	}
	for _, a := range []string{"user_update", "user_disabled", "user_active", "account_unlocked", "mfa_reset",
		"session_revoke", "password_reset_request", "user_delete"} {
		if !byAdmin[a] {
			t.Errorf("no %q event by the admin (have %v)", a, byAdmin)
		}
	}
}
