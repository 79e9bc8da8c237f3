package main

import (
	"net/http"
	"net/url"
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
