package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
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
