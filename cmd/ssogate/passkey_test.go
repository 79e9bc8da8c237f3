package main

import (
	"context"
	"errors"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ssogate/ssogate/internal/testpasskey"
	"github.com/ssogate/ssogate/store"
)

// withPasskeys makes the public URL's host localhost (a passkey's RP ID
// must be a host name, not an IP address; the test still connects to
// 127.0.0.1) and offers passkeys beside the authenticator app.
func withPasskeys(s string) string {
	s = strings.Replace(s, "public_url: http://127.0.0.1:", "public_url: http://localhost:", 1)
	return s + "policy:\n  two_factor:\n    methods: [totp, webauthn]\n"
}

// passkeyOrigin is the origin the harness's browser pages are on, as a
// browser at the public URL names it in clientDataJSON.
func passkeyOrigin(h *harness) string {
	return strings.Replace(h.url, "http://127.0.0.1:", "http://localhost:", 1)
}

var webauthnOptionsRe = regexp.MustCompile(`data-webauthn-options="([^"]*)"`)

// webauthnOptions returns the ceremony options a page hands its script.
func webauthnOptions(t *testing.T, p *page) []byte {
	t.Helper()
	m := webauthnOptionsRe.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("%s: no passkey ceremony on the page\n%s", p.Request.URL, snippet(p.body))
	}
	return []byte(html.UnescapeString(m[1]))
}

var enrolmentTokenRe = regexp.MustCompile(`name="enrolment" value="([^"]+)"`)

// enrolPasskey registers a passkey of a for the signed-in b at
// /account/2fa under name, as the page's script would.
func enrolPasskey(t *testing.T, b *browser, a *testpasskey.Authenticator, name string) {
	t.Helper()
	b.get("/account/2fa")
	p := b.post("/account/2fa", url.Values{"add": {"webauthn"}})
	expectStatus(t, p, http.StatusOK)
	if csp := p.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Fatalf("the enrolment page's CSP does not allow its script: %s", csp)
	}
	resp, err := a.Create(webauthnOptions(t, p))
	if err != nil {
		t.Fatal(err)
	}
	m := enrolmentTokenRe.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no enrolment token on the page\n%s", snippet(p.body))
	}
	p = b.post("/account/2fa", url.Values{"enrolment": {html.UnescapeString(m[1])}, "code": {resp}, "name": {name}})
	if p.StatusCode != http.StatusOK && p.StatusCode != http.StatusSeeOther {
		t.Fatalf("finishing the enrolment: %d\n%s", p.StatusCode, snippet(p.body))
	}
}

// passkeySignIn runs the passwordless ceremony in b with a and returns the
// answer to the POST and the assertion posted.
func passkeySignIn(t *testing.T, b *browser, a *testpasskey.Authenticator) (*page, string) {
	t.Helper()
	p := b.get("/login/passkey")
	expectStatus(t, p, http.StatusOK)
	resp, err := a.Get(webauthnOptions(t, p))
	if err != nil {
		t.Fatal(err)
	}
	return b.post("/login/passkey", url.Values{"credential": {resp}}), resp
}

// sessionAMR is the amr of the user's newest session.
func sessionAMR(t *testing.T, h *harness, u *store.User) []string {
	t.Helper()
	ss, err := h.app.store.ListUserSessions(context.Background(), u.ID)
	if err != nil || len(ss) == 0 {
		t.Fatalf("sessions of %s: %v, %d", u.Email, err, len(ss))
	}
	newest := ss[0]
	for _, s := range ss {
		if s.CreatedAt.After(newest.CreatedAt) {
			newest = s
		}
	}
	return newest.AMR
}

// passkeyCounter is the stored signature count of the user's passkey.
func passkeyCounter(t *testing.T, h *harness, u *store.User) int64 {
	t.Helper()
	fs, err := h.app.store.ListFactors(context.Background(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if f.Kind == store.FactorWebAuthn {
			return f.Counter
		}
	}
	t.Fatalf("%s has no passkey", u.Email)
	return 0
}

func TestPasskeySignInWithoutPassword(t *testing.T) {
	h := newHarness(t, withPasskeys)
	u := h.addUser("alice@example.co.jp", "Alice Example", alicePW, "staff")
	a := testpasskey.New(passkeyOrigin(h))

	b := h.browser()
	expectRedirect(t, b.login(u.Email, alicePW, ""), "/")
	enrolPasskey(t, b, a, "YubiKey")
	fs, err := h.app.store.ListFactors(context.Background(), u.ID)
	if err != nil || len(fs) != 1 || fs[0].Kind != store.FactorWebAuthn || fs[0].Name != "YubiKey" || fs[0].Handle == "" {
		t.Fatalf("factors after enrolment: %v %+v", err, fs)
	}
	// The same authenticator is not registered twice: a second enrolment
	// names the first passkey, and the authenticator declines.
	p0 := b.post("/account/2fa", url.Values{"add": {"webauthn"}})
	if _, err := a.Create(webauthnOptions(t, p0)); !errors.Is(err, testpasskey.ErrExcluded) {
		t.Fatalf("a second enrolment does not exclude the registered passkey: %v", err)
	}

	// Renamed on /account/2fa.
	p0 = b.get("/account/2fa")
	if !strings.Contains(p0.body, `id="rename-`+fs[0].ID+`"`) {
		t.Fatalf("/account/2fa offers no rename of the passkey\n%s", snippet(p0.body))
	}
	expectRedirect(t, b.post("/account/2fa", url.Values{"rename": {fs[0].ID}, "name": {"鍵 (YubiKey 5)"}}), "/account/2fa?done=renamed")
	if fs, err = h.app.store.ListFactors(context.Background(), u.ID); err != nil || fs[0].Name != "鍵 (YubiKey 5)" {
		t.Fatalf("after rename: %v %+v", err, fs)
	}
	b.get("/logout")
	expectRedirect(t, b.post("/logout", url.Values{}), "/login?logged_out=1")

	// The login page offers the passkey, and keeps scripts off.
	p := b.get("/login")
	if !strings.Contains(p.body, `id="passkey-login"`) {
		t.Fatalf("login page has no passkey button\n%s", snippet(p.body))
	}

	// A passkey that verified the person is both factors: no password,
	// no second step, straight to the launcher.
	p, used := passkeySignIn(t, b, a)
	expectRedirect(t, p, "/")
	expectStatus(t, b.get("/"), http.StatusOK)
	if amr := sessionAMR(t, h, u); !slices.Equal(amr, []string{"hwk", "user", "mfa"}) {
		t.Errorf("amr = %v, want [hwk user mfa]", amr)
	}
	if c := passkeyCounter(t, h, u); c != 1 {
		t.Errorf("stored counter = %d after one sign-in, want 1", c)
	}

	// The same assertion again, at a new ceremony: refused (its challenge
	// is another's, its count not above the stored one).
	other := h.browser()
	p = other.get("/login/passkey")
	replayed := other.post("/login/passkey", url.Values{"credential": {used}})
	expectStatus(t, replayed, http.StatusUnauthorized)
	if other.cookie("ssogate_session") != nil {
		t.Fatal("a replayed assertion signed in")
	}

	// An unknown passkey is answered exactly as a wrong answer from a
	// registered one.
	stranger := testpasskey.New(passkeyOrigin(h))
	strangerB := h.browser()
	p = strangerB.get("/login/passkey")
	if _, err := stranger.Create(strangerOptions); err != nil {
		t.Fatal(err)
	}
	resp, err := stranger.Get(webauthnOptions(t, p))
	if err != nil {
		t.Fatal(err)
	}
	unknown := strangerB.post("/login/passkey", url.Values{"credential": {resp}})

	badB := h.browser()
	p = badB.get("/login/passkey")
	resp, err = a.Get(webauthnOptions(t, p))
	if err != nil {
		t.Fatal(err)
	}
	bad := badB.post("/login/passkey", url.Values{"credential": {flipSignature(t, resp)}})
	if unknown.StatusCode != http.StatusUnauthorized || bad.StatusCode != unknown.StatusCode ||
		errorBanner(unknown) == "" || errorBanner(unknown) != errorBanner(bad) {
		t.Errorf("unknown passkey: %d %q; bad answer: %d %q — want the same 401 answer",
			unknown.StatusCode, errorBanner(unknown), bad.StatusCode, errorBanner(bad))
	}

	// A passkey that did not verify the person (no PIN, no fingerprint)
	// is one factor only: refused, as a wrong answer is.
	a.UV = false
	noUV, _ := passkeySignIn(t, h.browser(), a)
	if noUV.StatusCode != http.StatusUnauthorized || errorBanner(noUV) != errorBanner(bad) {
		t.Errorf("answer without user verification: %d %q", noUV.StatusCode, errorBanner(noUV))
	}
	a.UV = true

	// The counter moves with every sign-in.
	b2 := h.browser()
	p, _ = passkeySignIn(t, b2, a)
	expectRedirect(t, p, "/")
	if c := passkeyCounter(t, h, u); c != 4 {
		t.Errorf("stored counter = %d, want 4 (the refused answers counted on the authenticator only)", c)
	}
}

// strangerOptions are creation options for a person the gateway does not
// know, for a stranger's authenticator to make a passkey from.
var strangerOptions = []byte(`{"challenge":"AAAAAAAAAAAAAAAAAAAAAA","rp":{"id":"localhost","name":"x"},` +
	`"user":{"id":"c3RyYW5nZXI","name":"stranger","displayName":"stranger"},"pubKeyCredParams":[{"type":"public-key","alg":-7}]}`)

// flipSignature changes the last byte of an assertion's signature.
func flipSignature(t *testing.T, response string) string {
	t.Helper()
	i := strings.Index(response, `"signature":"`)
	if i < 0 {
		t.Fatalf("no signature in %s", response)
	}
	j := i + len(`"signature":"`)
	k := j + strings.IndexByte(response[j:], '"')
	// A character in the middle carries six bits of r or s; the last one
	// may carry padding bits only, and a change there can leave the
	// signature as it was (the test then failed about one run in eight).
	m := j + (k-j)/2
	repl := byte('A')
	if response[m] == 'A' {
		repl = 'B'
	}
	return response[:m] + string(repl) + response[m+1:]
}

func TestPasskeyPagesPolicy(t *testing.T) {
	h := newHarness(t, withPasskeys)
	b := h.browser()
	login := b.get("/login").Header.Get("Content-Security-Policy")
	ceremony := b.get("/login/passkey").Header.Get("Content-Security-Policy")
	if !strings.Contains(login, "script-src 'none'") || strings.Contains(login, "script-src 'self'") {
		t.Errorf("/login CSP = %q, want script-src 'none'", login)
	}
	if !strings.Contains(ceremony, "script-src 'self'") || strings.Replace(ceremony, "script-src 'self'", "script-src 'none'", 1) != login {
		t.Errorf("/login/passkey CSP = %q, want /login's (%q) with script-src 'self' only", ceremony, login)
	}
	// The script is served same-origin, as JavaScript.
	js := b.get("/static/webauthn.js")
	if js.StatusCode != http.StatusOK || js.Header.Get("Content-Type") != "text/javascript; charset=utf-8" {
		t.Errorf("webauthn.js: %d %s", js.StatusCode, js.Header.Get("Content-Type"))
	}
	// Without JavaScript the form posts no credential: the page says what
	// to do.
	p := b.post("/login/passkey", url.Values{"credential": {""}})
	expectStatus(t, p, http.StatusBadRequest)
	if !strings.Contains(p.body, "JavaScript") {
		t.Errorf("no-script answer does not say what to do\n%s", snippet(p.body))
	}
	if csp := p.Header.Get("Content-Security-Policy"); csp != login || strings.Contains(p.body, "<script") {
		t.Errorf("a passkey page without a ceremony allows or loads a script: %q", csp)
	}
}

// TestPasskeyRequiredSetupThenSecondStep: with 2-step verification
// required, the first sign-in registers a passkey (named) at
// /login/2fa/setup; the next password sign-in asks it at /login/2fa, and
// the session's amr shows both factors.
func TestPasskeyRequiredSetupThenSecondStep(t *testing.T) {
	h := newHarness(t, func(s string) string {
		s = strings.Replace(s, "public_url: http://127.0.0.1:", "public_url: http://localhost:", 1)
		return s + "policy:\n  two_factor:\n    required: true\n    methods: [webauthn, totp]\n"
	})
	u := h.addUser("alice@example.co.jp", "Alice Example", alicePW, "staff")
	a := testpasskey.New(passkeyOrigin(h))

	b := h.browser()
	expectRedirect(t, b.login(u.Email, alicePW, ""), "/login/2fa/setup")
	b.get("/login/2fa/setup")
	expectRedirect(t, b.post("/login/2fa/setup", url.Values{"method": {"webauthn"}}), "/login/2fa/setup")
	p := b.get("/login/2fa/setup")
	if csp := p.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Fatalf("setup page with a passkey ceremony: CSP %q", csp)
	}
	resp, err := a.Create(webauthnOptions(t, p))
	if err != nil {
		t.Fatal(err)
	}
	p = b.post("/login/2fa/setup", url.Values{"code": {resp}, "name": {"仕事用iPhone"}})
	expectRedirect(t, p, "/login/2fa/codes")
	b.get("/login/2fa/codes")
	p = b.post("/login/2fa/codes", url.Values{"saved": {"1"}})
	if p.StatusCode != http.StatusOK && p.StatusCode != http.StatusSeeOther {
		t.Fatalf("codes saved: %d\n%s", p.StatusCode, snippet(p.body))
	}
	fs, err := h.app.store.ListFactors(context.Background(), u.ID)
	if err != nil || len(fs) != 1 || fs[0].Kind != store.FactorWebAuthn || fs[0].Name != "仕事用iPhone" {
		t.Fatalf("factors after setup: %v %+v", err, fs)
	}

	// The next sign-in, a minute later: password, then the passkey.
	h.clock.Advance(time.Minute)
	b2 := h.browser()
	expectRedirect(t, b2.login(u.Email, alicePW, ""), "/login/2fa")
	p = b2.get("/login/2fa")
	if csp := p.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") ||
		!strings.Contains(p.body, `id="passkey-form"`) {
		t.Fatalf("second step asks no passkey (CSP %q)\n%s", csp, snippet(p.body))
	}
	resp, err = a.Get(webauthnOptions(t, p))
	if err != nil {
		t.Fatal(err)
	}
	expectRedirect(t, b2.post("/login/2fa", url.Values{"code": {resp}}), "/")
	if amr := sessionAMR(t, h, u); !slices.Equal(amr, []string{"pwd", "hwk", "user", "mfa"}) {
		t.Errorf("amr = %v, want [pwd hwk user mfa]", amr)
	}
	if c := passkeyCounter(t, h, u); c != 1 {
		t.Errorf("stored counter = %d, want 1", c)
	}

	// The pages without a ceremony keep scripts off.
	for _, path := range []string{"/", "/account", "/account/2fa", "/me"} {
		if csp := b2.get(path).Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'none'") {
			t.Errorf("%s: CSP %q", path, csp)
		}
	}
}

// TestPasskeyCeremonyCookie checks the cookie that binds a passwordless
// ceremony to the browser over https: host-only, Secure, HttpOnly,
// SameSite=Lax, sent only to /login/passkey, gone after five minutes.
func TestPasskeyCeremonyCookie(t *testing.T) {
	h := newTLSHarness(t, func(s string) string {
		s = strings.Replace(s, "public_url: https://127.0.0.1:", "public_url: https://localhost:", 1)
		return s + "policy:\n  two_factor:\n    methods: [webauthn]\n"
	})
	p := h.browser().get("/login/passkey")
	expectStatus(t, p, http.StatusOK)
	var c *http.Cookie
	for _, k := range p.Cookies() {
		if k.Name == "__Secure-ssogate_passkey" {
			c = k
		}
	}
	if c == nil || c.Value == "" || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode ||
		c.Path != "/login/passkey" || c.Domain != "" || c.MaxAge != 300 {
		t.Fatalf("ceremony cookie = %+v", c)
	}
}
