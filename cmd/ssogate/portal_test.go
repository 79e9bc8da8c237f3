package main

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ssogate/ssogate/store"
)

// TestBackAfterSignOutLandsOnLauncher is "Back" after signing out, then
// signing in: the browser asks for /logout again, and the sign-in must
// not end on "sign out?" — nor on any other step of a flow.
func TestBackAfterSignOutLandsOnLauncher(t *testing.T) {
	h := newHarness(t)
	h.addUser("alice@example.co.jp", "Alice Example", alicePW, "staff")
	b := h.browser()

	expectRedirect(t, b.login("alice@example.co.jp", alicePW, ""), "/")
	expectStatus(t, b.get("/logout"), http.StatusOK)
	expectRedirect(t, b.post("/logout", url.Values{}), "/login?logged_out=1")

	// Back: the confirmation page again, now signed out.
	p := b.get("/logout")
	expectRedirect(t, p, "/login")
	expectStatus(t, b.get("/login"), http.StatusOK)
	expectRedirect(t, b.post("/login", url.Values{"email": {"alice@example.co.jp"}, "password": {alicePW},
		"return_to": {"/logout"}}), "/")

	// A return_to naming a flow page, however it is written, falls back
	// to the launcher too.
	for _, rt := range []string{"/logout", "/logout?x=1", h.url + "/logout", "/login", "/lang", "/callback/local", "/%6Cogout"} {
		b := h.browser()
		expectRedirect(t, b.login("alice@example.co.jp", alicePW, rt), "/")
	}
	// An ordinary page is still returned to.
	expectRedirect(t, h.browser().login("alice@example.co.jp", alicePW, "/me"), "/me")
}

// TestUpstreamErrorPagesSpeakThePersonsLanguage checks the 502 and 504
// pages of a signed-in person who chose English: English text and the
// signed-in header, built from the browser's request rather than from the
// one the proxy sends upstream (which carries none of the gateway's
// cookies). The browser's CSRF cookie is left alone.
func TestUpstreamErrorPagesSpeakThePersonsLanguage(t *testing.T) {
	h, _ := newHandoffHarness(t, nil)
	h.addUser("alice@example.co.jp", "Alice Example", alicePW, "staff")
	b := h.browser()
	b.lang = "ja" // the browser asks for Japanese; the person chose English
	b.login("alice@example.co.jp", alicePW, "")
	b.get("/")
	expectRedirect(t, b.post("/lang", url.Values{"lang": {"en"}, "return_to": {"/"}}), "/")
	csrfCookie := b.cookie("ssogate_csrf").Value

	for _, tc := range []struct {
		path   string
		status int
		text   string
	}{
		{"/dead/x", http.StatusBadGateway, "did not answer properly"},
		{"/slowsvc/x", http.StatusGatewayTimeout, "did not answer in time"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			p := b.get(tc.path)
			expectStatus(t, p, tc.status)
			for _, want := range []string{`<html lang="en">`, tc.text, `id="user-name">Alice Example<`,
				`id="user-id">alice@example.co.jp<`, "Reference number"} {
				if !strings.Contains(p.body, want) {
					t.Errorf("%d page lacks %q:\n%s", tc.status, want, snippet(p.body))
				}
			}
			for _, c := range p.Cookies() {
				if c.Name == "ssogate_csrf" {
					t.Errorf("the error page replaced the browser's CSRF cookie")
				}
			}
			if got := b.cookie("ssogate_csrf").Value; got != csrfCookie {
				t.Errorf("CSRF cookie changed")
			}
		})
	}
}

// TestLocalizedTexts checks that the portal title, a provider's label and
// a service's name and description written per language are shown in the
// person's language, a language left out falling back to the other, and
// that the older name_en still works.
func TestLocalizedTexts(t *testing.T) {
	h := newHarness(t, func(s string) string {
		s = strings.Replace(s, "  title: テスト社ポータル\n", "  title: {ja: テスト社ポータル, en: Test Co. Portal}\n", 1)
		s = strings.Replace(s, "    label: メールアドレスでログイン\n",
			"    label:\n      ja: メールアドレスでログイン\n      en: Sign in with your email\n", 1)
		return s + `  - id: travel
    name: {ja: 出張申請, en: Business trips}
    description:
      ja: 出張の申請と精算
      en: Request and settle business trips
    url: http://127.0.0.1:9005/
  - id: canteen
    name: {ja: 社員食堂}
    url: http://127.0.0.1:9006/
`
	})
	h.addUser("alice@example.co.jp", "Alice Example", alicePW, "staff")
	for _, tc := range []struct {
		lang string
		want []string
	}{
		{"ja", []string{"<title>ログイン | テスト社ポータル</title>", ">メールアドレスでログイン<",
			"<title>ホーム | テスト社ポータル</title>", ">出張申請<", ">出張の申請と精算<", ">社員食堂<", ">社内Wiki<"}},
		{"en", []string{"<title>Sign in | Test Co. Portal</title>", ">Sign in with your email<",
			"<title>Home | Test Co. Portal</title>", ">Business trips<", ">Request and settle business trips<", ">社員食堂<", ">Wiki<"}},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			b := h.browser()
			b.lang = tc.lang
			login := b.get("/login")
			expectStatus(t, login, http.StatusOK)
			expectRedirect(t, b.post("/login", url.Values{"email": {"alice@example.co.jp"}, "password": {alicePW}}), "/")
			home := b.get("/")
			expectStatus(t, home, http.StatusOK)
			for _, want := range tc.want {
				if !strings.Contains(login.body, want) && !strings.Contains(home.body, want) {
					t.Errorf("neither the login page nor the launcher shows %q", want)
				}
			}
		})
	}
}

// hiddenValue is the value of the hidden form field name in body.
func hiddenValue(t *testing.T, body, name string) string {
	t.Helper()
	m := regexp.MustCompile(`name="` + regexp.QuoteMeta(name) + `" value="([^"]*)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no hidden field %s in\n%s", name, snippet(body))
	}
	return html.UnescapeString(m[1])
}

// editAfterSessionEnds opens /me signed in as email, lets the session
// expire, and sends the edit: the state of a person whose session ended
// while they typed.
func editAfterSessionEnds(t *testing.T, h *harness, b *browser, email string, edit url.Values) *page {
	t.Helper()
	expectRedirect(t, b.login(email, alicePW, "/me"), "/me")
	form := b.get("/me")
	expectStatus(t, form, http.StatusOK)
	edit.Set("draft_owner", hiddenValue(t, form.body, "draft_owner"))
	h.clock.Advance(31 * time.Minute) // idle_timeout is 30m
	return b.post("/me", edit)
}

// TestProfileEditSurvivesSessionEnd is an edit of the personal-info page
// sent after the session ended: the person is told, signs in again, and
// finds the form filled with what they typed — not saved until they press
// Save on a fresh form. The draft is shown once, and never to someone
// else who signs in on that browser.
func TestProfileEditSurvivesSessionEnd(t *testing.T) {
	h := newHarness(t)
	alice := h.addUser("alice@example.co.jp", "Alice Example", alicePW, "staff")
	h.addUser("bob@example.co.jp", "Bob Example", alicePW, "staff")
	edit := func() url.Values {
		return url.Values{"display_name": {"佐藤 花子"}, "phone": {"03-1111-2222"}, "mobile": {""},
			"organization": {"株式会社サンプル"}, "department": {"総務部"}}
	}
	stored := func() *store.User {
		u, err := h.app.store.GetUser(context.Background(), alice.ID)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}

	t.Run("same person", func(t *testing.T) {
		b := h.browser()
		p := editAfterSessionEnds(t, h, b, "alice@example.co.jp", edit())
		expectRedirect(t, p, "/login?return_to=%2Fme&session_ended=kept")
		login := b.get("/login?return_to=%2Fme&session_ended=kept")
		if !strings.Contains(login.body, "個人情報の変更はまだ保存されていません") {
			t.Fatalf("the login page does not say the session ended:\n%s", snippet(login.body))
		}
		if stored().DisplayName != "Alice Example" {
			t.Fatal("the edit was saved without a session")
		}
		expectRedirect(t, b.post("/login", url.Values{"email": {"alice@example.co.jp"}, "password": {alicePW},
			"return_to": {"/me"}}), "/me")
		form := b.get("/me")
		for _, want := range []string{`value="佐藤 花子"`, `value="03-1111-2222"`, `value="総務部"`, "入力した内容を戻しました"} {
			if !strings.Contains(form.body, want) {
				t.Errorf("the restored form lacks %q", want)
			}
		}
		if stored().DisplayName != "Alice Example" {
			t.Fatal("restoring the draft saved it")
		}
		// The draft is shown once.
		if again := b.get("/me"); strings.Contains(again.body, "佐藤 花子") {
			t.Error("the draft is shown a second time")
		}
		// CSRF is still checked on the save itself.
		bad := edit()
		bad.Set("csrf_token", "forged")
		expectStatus(t, b.post("/me", bad), http.StatusForbidden)
		b.get("/me")
		expectRedirect(t, b.post("/me", edit()), "/me?saved=1")
		if u := stored(); u.DisplayName != "佐藤 花子" || u.Department != "総務部" {
			t.Fatalf("saved user = %+v", u)
		}
	})

	t.Run("another person signs in on that browser", func(t *testing.T) {
		b := h.browser()
		b.lang = "en"
		mine := edit()
		mine.Set("display_name", "Alice's secret draft")
		mine.Set("phone", "090-9999-8888")
		p := editAfterSessionEnds(t, h, b, "alice@example.co.jp", mine)
		expectRedirect(t, p, "/login?return_to=%2Fme&session_ended=kept")
		if login := b.get("/login?return_to=%2Fme&session_ended=kept"); !strings.Contains(login.body, "Your session ended") {
			t.Fatalf("the English login page does not say the session ended:\n%s", snippet(login.body))
		}
		expectRedirect(t, b.post("/login", url.Values{"email": {"bob@example.co.jp"}, "password": {alicePW},
			"return_to": {"/me"}}), "/me")
		form := b.get("/me")
		if strings.Contains(form.body, "secret draft") || strings.Contains(form.body, "090-9999-8888") {
			t.Fatal("bob sees alice's draft")
		}
		if !strings.Contains(form.body, `value="Bob Example"`) {
			t.Fatalf("bob's own form is not shown:\n%s", snippet(form.body))
		}
		// The draft is gone, not waiting for alice either.
		b.get("/logout")
		b.post("/logout", url.Values{})
		expectRedirect(t, b.login("alice@example.co.jp", alicePW, "/me"), "/me")
		if form := b.get("/me"); strings.Contains(form.body, "secret draft") {
			t.Fatal("alice's draft survived bob's visit")
		}
	})

	t.Run("sent twice", func(t *testing.T) {
		// The form sent twice after the same session ended (a double
		// click, a replay with the ended session's cookie) keeps one
		// draft: the last one.
		b := h.browser()
		expectRedirect(t, b.login("alice@example.co.jp", alicePW, "/me"), "/me")
		ended := *b.cookie(h.app.cfg.Session.CookieName)
		form := b.get("/me")
		owner := hiddenValue(t, form.body, "draft_owner")
		h.clock.Advance(31 * time.Minute)
		u, _ := url.Parse(h.url)
		var drafts []http.Cookie
		for _, dept := range []string{"First try", "Second try"} {
			b.jar.SetCookies(u, []*http.Cookie{&ended})
			e := edit()
			e.Set("department", dept)
			e.Set("draft_owner", owner)
			expectRedirect(t, b.post("/me", e), "/login?return_to=%2Fme&session_ended=kept")
			if b.cookie(h.app.cfg.Session.CookieName) != nil {
				t.Fatal("the ended session's cookie was not cleared")
			}
			drafts = append(drafts, *b.cookie("ssogate_draft"))
		}
		// The first answer's draft cookie now finds the second edit: one
		// draft, replaced, not two.
		b.jar.SetCookies(u, []*http.Cookie{&drafts[0]})
		expectRedirect(t, b.login("alice@example.co.jp", alicePW, "/me"), "/me")
		form = b.get("/me")
		if !strings.Contains(form.body, `value="Second try"`) || strings.Contains(form.body, "First try") {
			t.Fatalf("the ended session has more than one draft, or not the last:\n%s", snippet(form.body))
		}
	})

	t.Run("signed in again too late", func(t *testing.T) {
		b := h.browser()
		mine := edit()
		mine.Set("display_name", "Stale draft")
		expectRedirect(t, editAfterSessionEnds(t, h, b, "alice@example.co.jp", mine), "/login?return_to=%2Fme&session_ended=kept")
		h.clock.Advance(16 * time.Minute) // a draft lives 15 minutes
		expectRedirect(t, b.login("alice@example.co.jp", alicePW, "/me"), "/me")
		if form := b.get("/me"); strings.Contains(form.body, "Stale draft") {
			t.Fatal("a draft older than its lifetime was restored")
		}
	})

	t.Run("a form without its owner field", func(t *testing.T) {
		b := h.browser()
		expectRedirect(t, b.login("alice@example.co.jp", alicePW, "/me"), "/me")
		b.get("/me")
		h.clock.Advance(31 * time.Minute)
		p := b.post("/me", edit())
		expectRedirect(t, p, "/login?return_to=%2Fme&session_ended=lost")
		if login := b.get("/login?return_to=%2Fme&session_ended=lost"); !strings.Contains(login.body, "保存されませんでした") {
			t.Fatalf("the login page does not say the edit was lost:\n%s", snippet(login.body))
		}
	})
}
