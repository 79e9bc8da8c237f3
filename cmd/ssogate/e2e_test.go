package main

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ssogate/ssogate/store"
)

const alicePW = "Alice-Passw0rd!"

func TestSignInLauncherProfileSignOut(t *testing.T) {
	h := newHarness(t)
	alice := h.addUser("alice@example.co.jp", "Alice Example", alicePW, "staff")
	b := h.browser()

	// Signed out: the launcher sends us to the login page and back.
	expectRedirect(t, b.get("/"), "/login?return_to=%2F")
	p := b.get("/login?return_to=%2Fme")
	expectStatus(t, p, 200)
	if !strings.Contains(p.body, `name="return_to" value="/me"`) || !strings.Contains(p.body, "メールアドレスでログイン") {
		t.Fatalf("login page lacks return_to or label:\n%s", snippet(p.body))
	}

	// Wrong password and unknown email answer identically.
	wrong := b.post("/login", url.Values{"email": {"alice@example.co.jp"}, "password": {"nope-Passw0rd"}})
	expectStatus(t, wrong, http.StatusUnauthorized)
	unknown := b.post("/login", url.Values{"email": {"nobody@example.co.jp"}, "password": {"nope-Passw0rd"}})
	expectStatus(t, unknown, http.StatusUnauthorized)
	const msg = "メールアドレスまたはパスワードが正しくありません"
	if !strings.Contains(wrong.body, msg) || !strings.Contains(unknown.body, msg) {
		t.Fatalf("failed logins lack the message %q", msg)
	}
	if b.cookie(h.app.cfg.Session.CookieName) != nil {
		t.Fatal("a failed login set a session cookie")
	}

	// Success: back to where we were going, with a proper cookie.
	p = b.post("/login", url.Values{"email": {"Alice@Example.co.jp"}, "password": {alicePW}, "return_to": {"/me"}})
	expectRedirect(t, p, "/me")
	var sc *http.Cookie
	for _, c := range p.Cookies() {
		if c.Name == h.app.cfg.Session.CookieName {
			sc = c
		}
	}
	if sc == nil || !sc.HttpOnly || sc.SameSite != http.SameSiteLaxMode || sc.Path != "/" {
		t.Fatalf("session cookie = %+v, want HttpOnly, SameSite=Lax, Path=/", sc)
	}
	if strings.Contains(sc.Value, alice.ID) {
		t.Fatal("session cookie carries the user id")
	}

	// The launcher shows only permitted tiles, and the header shows who we are.
	p = b.get("/")
	expectStatus(t, p, 200)
	for _, want := range []string{`data-service="wiki"`, `data-service="expenses"`, "社内Wiki", "経費精算", "alice@example.co.jp", "Alice Example"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("launcher lacks %q", want)
		}
	}
	if strings.Contains(p.body, `data-service="admin-console"`) || strings.Contains(p.body, "管理コンソール") {
		t.Error("launcher shows a tile alice's groups do not allow")
	}

	// Personal info: edit in Japanese, with full-width digits.
	p = b.get("/me")
	expectStatus(t, p, 200)
	p = b.post("/me", url.Values{
		"display_name": {"山田 太郎"}, "phone": {"０３－１２３４－５６７８"}, "mobile": {"090-1234-5678"},
		"organization": {"株式会社サンプル"}, "department": {"情報システム部"},
	})
	expectRedirect(t, p, "/me?saved=1")
	p = b.get("/me?saved=1")
	for _, want := range []string{"山田 太郎", "03-1234-5678", "090-1234-5678", "株式会社サンプル", "情報システム部", `id="saved"`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("profile page lacks %q", want)
		}
	}
	got, _ := h.app.store.GetUser(context.Background(), alice.ID)
	if got.DisplayName != "山田 太郎" || got.Phone != "03-1234-5678" || got.Department != "情報システム部" {
		t.Fatalf("stored profile = %+v", got)
	}

	// Bad input is refused in the person's language and changes nothing.
	p = b.post("/me", url.Values{"display_name": {"別人"}, "phone": {"not a phone"}})
	expectStatus(t, p, http.StatusBadRequest)
	if !strings.Contains(p.body, `id="err-phone"`) {
		t.Fatalf("no phone error shown:\n%s", snippet(p.body))
	}
	got, _ = h.app.store.GetUser(context.Background(), alice.ID)
	if got.DisplayName != "山田 太郎" || got.Phone != "03-1234-5678" {
		t.Fatalf("a refused form changed the profile: %+v", got)
	}
	// The header now shows the new name.
	if p := b.get("/"); !strings.Contains(p.body, "山田 太郎") {
		t.Error("header does not show the updated name")
	}

	// Sign out: a confirmation first, then the session is dead everywhere.
	oldCookie := b.cookie(h.app.cfg.Session.CookieName)
	p = b.get("/logout")
	expectStatus(t, p, 200)
	if !strings.Contains(p.body, `id="logout-submit"`) {
		t.Fatal("logout page has no confirmation form")
	}
	if sessions, _ := h.app.store.ListUserSessions(context.Background(), alice.ID); len(sessions) != 1 {
		t.Fatalf("GET /logout changed sessions: %d", len(sessions))
	}
	expectRedirect(t, b.post("/logout", url.Values{}), "/login?logged_out=1")
	if sessions, _ := h.app.store.ListUserSessions(context.Background(), alice.ID); len(sessions) != 0 {
		t.Fatalf("session survived logout: %d", len(sessions))
	}
	if p := b.get("/login?logged_out=1"); !strings.Contains(p.body, "ログアウトしました") {
		t.Error("no signed-out notice")
	}
	// Replaying the old cookie does not bring the session back.
	replay := h.browser()
	u, _ := url.Parse(h.url)
	replay.jar.SetCookies(u, []*http.Cookie{oldCookie})
	expectRedirect(t, replay.get("/"), "/login?return_to=%2F")

	// Audit: success and failures, profile change and logout, with client IP.
	events, err := h.app.store.ListAudit(context.Background(), store.AuditFilter{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, e := range events {
		seen[e.Action+"/"+string(e.Outcome)]++
		if e.ClientIP != "127.0.0.1" || e.RequestID == "" {
			t.Errorf("audit event without client ip or request id: %+v", e)
		}
	}
	for k, n := range map[string]int{"login/failure": 2, "login/success": 1, "profile_update/success": 1, "logout/success": 1} {
		if seen[k] != n {
			t.Errorf("audit %s = %d, want %d (all %v)", k, seen[k], n, seen)
		}
	}
	// Logs hold neither the password nor the session cookie.
	logs := h.logs.String()
	for _, secret := range []string{alicePW, "nope-Passw0rd", oldCookie.Value} {
		if strings.Contains(logs, secret) {
			t.Errorf("log contains a secret %q", secret)
		}
	}
	if !strings.Contains(logs, "action=login") {
		t.Error("no audit line in the log")
	}
}

func TestCSRFRefused(t *testing.T) {
	h := newHarness(t)
	alice := h.addUser("alice@example.co.jp", "Alice", alicePW, "staff")
	b := h.browser()

	// A login POST with no token, or another browser's token, is refused.
	b.get("/login")
	p := b.postRaw("/login", url.Values{"email": {"alice@example.co.jp"}, "password": {alicePW}}, "")
	expectStatus(t, p, http.StatusForbidden)
	other := h.browser()
	other.get("/login")
	p = b.postRaw("/login", url.Values{"email": {"alice@example.co.jp"}, "password": {alicePW}, "csrf_token": {other.csrf}}, "")
	expectStatus(t, p, http.StatusForbidden)
	if b.cookie(h.app.cfg.Session.CookieName) != nil {
		t.Fatal("a CSRF-less login created a session")
	}

	expectRedirect(t, b.login("alice@example.co.jp", alicePW, ""), "/")
	token := b.csrf

	// Signed in: forged profile and logout posts change nothing.
	tests := []struct {
		name   string
		form   url.Values
		origin string
	}{
		{"no token", url.Values{"display_name": {"Mallory"}}, ""},
		{"empty token", url.Values{"display_name": {"Mallory"}, "csrf_token": {""}}, ""},
		{"wrong token", url.Values{"display_name": {"Mallory"}, "csrf_token": {"AAAA" + token[4:]}}, ""},
		{"pre-login token", url.Values{"display_name": {"Mallory"}, "csrf_token": {other.csrf}}, ""},
		{"cross-origin with valid token", url.Values{"display_name": {"Mallory"}, "csrf_token": {token}}, "http://evil.example"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b.get("/me")
			form := tt.form
			if tt.name == "cross-origin with valid token" {
				form.Set("csrf_token", b.csrf)
			}
			p := b.postRaw("/me", form, tt.origin)
			expectStatus(t, p, http.StatusForbidden)
			if !strings.Contains(p.body, "error") {
				t.Fatalf("no error page:\n%s", snippet(p.body))
			}
			got, _ := h.app.store.GetUser(context.Background(), alice.ID)
			if got.DisplayName != "Alice" {
				t.Fatalf("forged POST changed the profile to %q", got.DisplayName)
			}
			p = b.postRaw("/logout", url.Values{"csrf_token": {tt.form.Get("csrf_token")}}, tt.origin)
			expectStatus(t, p, http.StatusForbidden)
			if s, _ := h.app.store.ListUserSessions(context.Background(), alice.ID); len(s) != 1 {
				t.Fatal("forged logout ended the session")
			}
		})
	}
	// The genuine form still works.
	b.get("/me")
	expectRedirect(t, b.post("/me", url.Values{"display_name": {"Alice 2"}}), "/me?saved=1")
}

func TestOpenRedirectRefused(t *testing.T) {
	h := newHarness(t)
	h.addUser("alice@example.co.jp", "Alice", alicePW)
	bad := []string{
		"https://evil.example.com/", "//evil.example.com", "///evil.example.com", "/\\evil.example.com",
		"\\\\evil.example.com", "javascript:alert(1)", "JAVASCRIPT:alert(1)", "/%2F%2Fevil.example.com",
		"%2F%2Fevil.example.com", "/%5Cevil.example.com", "https:evil.example.com", h.url + "@evil.example.com/",
		"http://127.0.0.1:9999/", "/\t/evil.example.com", "data:text/html,x", "evil.example.com",
	}
	for _, target := range bad {
		t.Run(target, func(t *testing.T) {
			b := h.browser()
			p := b.get("/login?return_to=" + url.QueryEscape(target))
			if !strings.Contains(p.body, `<input type="hidden" name="return_to" value="">`) {
				t.Fatalf("login form carries the refused target:\n%s", snippet(p.body))
			}
			p = b.post("/login", url.Values{"email": {"alice@example.co.jp"}, "password": {alicePW}, "return_to": {target}})
			expectRedirect(t, p, "/")
		})
	}
	// Allowed: the gateway itself and configured service origins.
	for _, target := range []string{"/me", h.url + "/me", "http://127.0.0.1:9001/page?q=1"} {
		b := h.browser()
		expectRedirect(t, b.login("alice@example.co.jp", alicePW, target), target)
	}
}

func TestSessionLifetime(t *testing.T) {
	h := newHarness(t)
	alice := h.addUser("alice@example.co.jp", "Alice", alicePW)
	ctx := context.Background()

	t.Run("new session id at every sign-in", func(t *testing.T) {
		b := h.browser()
		b.login("alice@example.co.jp", alicePW, "")
		first := b.cookie(h.app.cfg.Session.CookieName).Value
		b.login("alice@example.co.jp", alicePW, "")
		second := b.cookie(h.app.cfg.Session.CookieName).Value
		if first == second {
			t.Fatal("session token not renewed at sign-in")
		}
		stale := h.browser()
		u, _ := url.Parse(h.url)
		stale.jar.SetCookies(u, []*http.Cookie{{Name: h.app.cfg.Session.CookieName, Value: first}})
		expectRedirect(t, stale.get("/"), "/login?return_to=%2F")
		expectStatus(t, b.get("/"), 200)
		h.app.store.DeleteUserSessions(ctx, alice.ID)
	})

	t.Run("idle timeout", func(t *testing.T) {
		b := h.browser()
		b.login("alice@example.co.jp", alicePW, "")
		h.clock.Advance(29 * time.Minute)
		expectStatus(t, b.get("/"), 200) // activity slides the idle deadline
		h.clock.Advance(29 * time.Minute)
		expectStatus(t, b.get("/"), 200)
		h.clock.Advance(31 * time.Minute)
		expectRedirect(t, b.get("/"), "/login?return_to=%2F")
	})

	t.Run("absolute timeout despite activity", func(t *testing.T) {
		b := h.browser()
		b.login("alice@example.co.jp", alicePW, "")
		for elapsed := time.Duration(0); elapsed < 11*time.Hour+40*time.Minute; elapsed += 20 * time.Minute {
			h.clock.Advance(20 * time.Minute)
			expectStatus(t, b.get("/"), 200)
		}
		h.clock.Advance(21 * time.Minute)
		expectRedirect(t, b.get("/"), "/login?return_to=%2F")
	})

	t.Run("tampered cookie is no session", func(t *testing.T) {
		b := h.browser()
		b.login("alice@example.co.jp", alicePW, "")
		c := b.cookie(h.app.cfg.Session.CookieName)
		v := []byte(c.Value)
		v[len(v)/2] ^= 1
		u, _ := url.Parse(h.url)
		b.jar.SetCookies(u, []*http.Cookie{{Name: c.Name, Value: string(v)}})
		expectRedirect(t, b.get("/"), "/login?return_to=%2F")
	})

	t.Run("disabled from the CLI ends sessions at once", func(t *testing.T) {
		b := h.browser()
		b.login("alice@example.co.jp", alicePW, "")
		expectStatus(t, b.get("/"), 200)
		var out, errb strings.Builder
		if err := run(ctx, []string{"--config", h.configPath, "user", "disable", "--email", "alice@example.co.jp"}, strings.NewReader(""), &out, &errb); err != nil {
			t.Fatalf("disable: %v %s", err, errb.String())
		}
		// The SQLite file's change feed tells the serving process within
		// 50 ms, long before the cache TTL.
		deadline := time.Now().Add(time.Second)
		p := b.get("/")
		for p.StatusCode == http.StatusOK && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
			p = b.get("/")
		}
		expectRedirect(t, p, "/login?return_to=%2F")
		p = b.login("alice@example.co.jp", alicePW, "")
		expectStatus(t, p, http.StatusForbidden)
	})
}

func TestSecurityHeadersOnEveryPage(t *testing.T) {
	h := newHarness(t)
	h.addUser("alice@example.co.jp", "Alice", alicePW)
	b := h.browser()
	check := func(p *page) {
		t.Helper()
		csp := p.Header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "frame-ancestors 'none'", "script-src 'none'", "form-action 'self'", "base-uri 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", p.Request.URL.Path, csp, want)
			}
		}
		if p.Header.Get("X-Content-Type-Options") != "nosniff" || p.Header.Get("Referrer-Policy") == "" || p.Header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: missing security headers: %v", p.Request.URL.Path, p.Header)
		}
	}
	check(b.get("/login"))
	check(b.get("/nope"))
	b.login("alice@example.co.jp", alicePW, "")
	for _, path := range []string{"/", "/me", "/logout", "/does-not-exist"} {
		check(b.get(path))
	}
	if p := b.get("/does-not-exist"); p.StatusCode != 404 || !strings.Contains(p.body, "お問い合わせ番号") {
		t.Errorf("404 page: %d", p.StatusCode)
	}
}

func TestLanguage(t *testing.T) {
	h := newHarness(t)
	b := h.browser()
	b.lang = "en-US,en;q=0.9"
	p := b.get("/login")
	if !strings.Contains(p.body, `lang="en"`) || !strings.Contains(p.body, "Sign in") {
		t.Fatalf("Accept-Language en did not give English:\n%s", snippet(p.body))
	}
	// Switch to Japanese; the choice is remembered over Accept-Language.
	expectRedirect(t, b.post("/lang", url.Values{"lang": {"ja"}, "return_to": {"/login"}}), "/login")
	p = b.get("/login")
	if !strings.Contains(p.body, `lang="ja"`) || !strings.Contains(p.body, "ログイン") {
		t.Fatalf("language switch not remembered:\n%s", snippet(p.body))
	}
	// The switch never redirects off-site.
	expectRedirect(t, b.post("/lang", url.Values{"lang": {"en"}, "return_to": {"http://127.0.0.1:9001/"}}), "/")
	expectStatus(t, b.post("/lang", url.Values{"lang": {"xx"}}), http.StatusBadRequest)
}

func TestHealth(t *testing.T) {
	h := newHarness(t)
	b := h.browser()
	expectStatus(t, b.get("/healthz"), 200)
	expectStatus(t, b.get("/readyz"), 200)
	h.app.store.Close()
	expectStatus(t, b.get("/healthz"), 200)
	expectStatus(t, b.get("/readyz"), http.StatusServiceUnavailable)
}

func TestHTTPSCookies(t *testing.T) {
	h := newTLSHarness(t)
	h.addUser("alice@example.co.jp", "Alice", alicePW)
	if h.app.cfg.Session.CookieName != "__Host-ssogate" {
		t.Fatalf("cookie name = %q, want the __Host- prefix on https", h.app.cfg.Session.CookieName)
	}
	b := h.browser()
	p := b.get("/login")
	if p.Header.Get("Strict-Transport-Security") == "" {
		t.Error("no HSTS on https")
	}
	p = b.post("/login", url.Values{"email": {"alice@example.co.jp"}, "password": {alicePW}})
	expectRedirect(t, p, "/")
	raw := strings.Join(p.Header.Values("Set-Cookie"), "\n")
	var found bool
	for _, c := range p.Cookies() {
		if c.Name != "__Host-ssogate" {
			continue
		}
		found = true
		if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" {
			t.Fatalf("session cookie %+v lacks Secure/HttpOnly/SameSite=Lax/Path=/ or has a Domain", c)
		}
	}
	if !found {
		t.Fatalf("no __Host-ssogate cookie in:\n%s", raw)
	}
	for _, c := range b.jar.Cookies(mustParse(t, h.url)) {
		if !strings.HasPrefix(c.Name, "__Host-") {
			t.Errorf("cookie %s on https lacks the __Host- prefix", c.Name)
		}
	}
	expectStatus(t, b.get("/"), 200)
}

func mustParse(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
