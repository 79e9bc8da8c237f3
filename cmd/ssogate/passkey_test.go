package main

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

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
	if _, err := stranger.Create(regCreateOptions(t, h)); err != nil {
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

	// The counter moves with every sign-in.
	b2 := h.browser()
	p, _ = passkeySignIn(t, b2, a)
	expectRedirect(t, p, "/")
	if c := passkeyCounter(t, h, u); c != 3 {
		t.Errorf("stored counter = %d, want 3 (the refused answer counted on the authenticator only)", c)
	}
}

// regCreateOptions are creation options for a person the gateway does
// not know, for a stranger's authenticator to make a passkey from.
func regCreateOptions(t *testing.T, h *harness) []byte {
	t.Helper()
	return []byte(`{"challenge":"AAAAAAAAAAAAAAAAAAAAAA","rp":{"id":"localhost","name":"x"},` +
		`"user":{"id":"c3RyYW5nZXI","name":"stranger","displayName":"stranger"},"pubKeyCredParams":[{"type":"public-key","alg":-7}]}`)
}

// flipSignature changes the last byte of an assertion's signature.
func flipSignature(t *testing.T, response string) string {
	t.Helper()
	i := strings.Index(response, `"signature":"`)
	if i < 0 {
		t.Fatalf("no signature in %s", response)
	}
	j := i + len(`"signature":"`)
	k := j + strings.IndexByte(response[j:], '"')
	c := response[k-1]
	repl := byte('A')
	if c == 'A' {
		repl = 'B'
	}
	return response[:k-1] + string(repl) + response[k:]
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
}
