package main

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/ssogate/ssogate/notify"
)

// TestMailLanguageIsRemembered: the language a person signs in with, and
// then the one they pick, is kept on their record, and the mails sent to
// them (here a reset link) are in it.
func TestMailLanguageIsRemembered(t *testing.T) {
	h := newHarness(t)
	u := h.addUser("alice@example.co.jp", "Alice Example", alicePW, "staff")
	lang := func() string {
		got, err := h.app.store.GetUser(context.Background(), u.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got.Language
	}
	if l := lang(); l != "" {
		t.Fatalf("a new user's language = %q, want none yet", l)
	}
	b := h.browser()
	b.lang = "en-US,en;q=0.9"
	expectRedirect(t, b.login(u.Email, alicePW, ""), "/")
	if l := lang(); l != "en" {
		t.Fatalf("after signing in with an English browser the language = %q, want en", l)
	}
	expectStatus(t, b.get("/"), http.StatusOK)
	expectRedirect(t, b.post("/lang", url.Values{"lang": {"ja"}, "return_to": {"/"}}), "/")
	if l := lang(); l != "ja" {
		t.Fatalf("after choosing 日本語 the language = %q, want ja", l)
	}
	// Asked for from an English browser, the mail still goes in the
	// language the person chose.
	other := h.browser()
	other.lang = "en"
	expectStatus(t, other.get("/password/forgot"), http.StatusOK)
	expectRedirect(t, other.post("/password/forgot", url.Values{"email": {u.Email}}), "/password/forgot?sent=1")
	ms, _ := h.outbox(notify.TemplatePasswordReset)
	if len(ms) != 1 {
		t.Fatalf("%d reset mails, want 1", len(ms))
	}
	if ms[0].Language != "ja" {
		t.Fatalf("the reset mail is in %q, want ja (the person's choice)", ms[0].Language)
	}
}
