package main

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"testing"

	"github.com/ssogate/ssogate/store"
)

var sessionItemRe = regexp.MustCompile(`<li class="session( session-current)?" data-session="([0-9a-f]+)"`)

// listSessions reads /account/sessions as b sees it: the ids listed, and
// which one is b's own.
func listSessions(t *testing.T, b *browser) (current string, others []string) {
	t.Helper()
	p := b.get("/account/sessions")
	expectStatus(t, p, http.StatusOK)
	for _, m := range sessionItemRe.FindAllStringSubmatch(p.body, -1) {
		if m[1] != "" {
			current = m[2]
		} else {
			others = append(others, m[2])
		}
	}
	return current, others
}

// TestAccountSessions: a person sees their signed-in browsers at
// /account/sessions and signs out one of them, then every other; they
// cannot end their own session there, nor anyone else's.
func TestAccountSessions(t *testing.T) {
	h := newHarness(t)
	alice := h.addUser("alice@example.co.jp", "Alice Example", alicePW, "staff")
	h.addUser("bob@example.co.jp", "Bob Example", "Bob-Sakura-Passw0rd!", "staff")
	a, b, c, bob := h.browser(), h.browser(), h.browser(), h.browser()
	for _, br := range []*browser{a, b, c} {
		expectRedirect(t, br.login(alice.Email, alicePW, ""), "/")
	}
	expectRedirect(t, bob.login("bob@example.co.jp", "Bob-Sakura-Passw0rd!", ""), "/")
	bobCurrent, bobs := listSessions(t, bob)
	if len(bobs) != 0 || bobCurrent == "" {
		t.Fatalf("bob's list: current %q, others %v", bobCurrent, bobs)
	}

	current, others := listSessions(t, a)
	if current == "" || len(others) != 2 {
		t.Fatalf("alice's list from browser a: current %q, others %v; want her own and two others", current, others)
	}
	if p := a.get("/account"); !regexp.MustCompile(`href="/account/sessions"`).MatchString(p.body) {
		t.Error("the account menu does not link /account/sessions")
	}
	signedIn := func(br *browser) bool { return br.get("/").StatusCode == http.StatusOK }

	// Not without the CSRF token.
	expectStatus(t, a.postRaw("/account/sessions", url.Values{"id": {others[0]}}, h.url), http.StatusForbidden)
	// Not her own session here (sign-out does that), nor bob's.
	for _, id := range []string{current, bobCurrent, "0123"} {
		p := a.post("/account/sessions", url.Values{"id": {id}})
		expectStatus(t, p, http.StatusNotFound)
	}
	if !signedIn(a) || !signedIn(bob) || !signedIn(b) || !signedIn(c) {
		t.Fatal("a refused revoke signed someone out")
	}

	expectRedirect(t, a.post("/account/sessions", url.Values{"id": {others[0]}}), "/account/sessions?ended=one")
	if out := []bool{!signedIn(b), !signedIn(c)}; out[0] == out[1] {
		t.Fatalf("after ending one session: b signed out %v, c signed out %v; want exactly one", out[0], out[1])
	}
	if !signedIn(a) {
		t.Fatal("ending another session signed this browser out")
	}
	_, left := listSessions(t, a)
	if len(left) != 1 || left[0] != others[1] {
		t.Fatalf("others after ending one: %v, want [%s]", left, others[1])
	}

	expectRedirect(t, a.post("/account/sessions", url.Values{"id": {"others"}}), "/account/sessions?ended=others")
	if signedIn(b) || signedIn(c) {
		t.Fatal("a browser is still signed in after ending every other session")
	}
	if !signedIn(a) || !signedIn(bob) {
		t.Fatal("ending the other sessions signed out this browser or another person")
	}
	if _, left := listSessions(t, a); len(left) != 0 {
		t.Fatalf("others after ending all: %v", left)
	}

	events, err := h.app.store.ListAudit(context.Background(), store.AuditFilter{UserID: alice.ID})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, e := range events {
		seen[e.Action+"/"+string(e.Outcome)]++
	}
	if seen["session_revoke/success"] != 1 || seen["session_revoke/failure"] != 3 || seen["session_revoke_others/success"] != 1 {
		t.Errorf("audit: %v", seen)
	}
}
