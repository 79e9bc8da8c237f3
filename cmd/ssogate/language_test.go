package main

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/ssogate/ssogate/notify"
)

// TestMailLanguageIsRemembered: the language a person picks while signed
// in is kept on their record, and the mails sent to them (here a reset
// link asked for from a browser in the other language) are in it.
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
	b := h.browser()
	expectRedirect(t, b.login(u.Email, alicePW, ""), "/")
	if l := lang(); l != "" {
		t.Fatalf("signing in set the language to %q; only a choice should", l)
	}
	for _, want := range []string{"en", "ja", "en"} {
		expectStatus(t, b.get("/"), http.StatusOK)
		expectRedirect(t, b.post("/lang", url.Values{"lang": {want}, "return_to": {"/"}}), "/")
		if l := lang(); l != want {
			t.Fatalf("after choosing %s the language = %q", want, l)
		}
	}
	other := h.browser()
	other.lang = "ja"
	expectStatus(t, other.get("/password/forgot"), http.StatusOK)
	expectRedirect(t, other.post("/password/forgot", url.Values{"email": {u.Email}}), "/password/forgot?sent=1")
	ms, _ := h.outbox(notify.TemplatePasswordReset)
	if len(ms) != 1 {
		t.Fatalf("%d reset mails, want 1", len(ms))
	}
	if ms[0].Language != "en" {
		t.Fatalf("the reset mail is in %q, want en (the person's choice, not the asking page's)", ms[0].Language)
	}
}
