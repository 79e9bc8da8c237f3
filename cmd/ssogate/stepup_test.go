package main

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ssogate/ssogate/internal/testpeers"
	"github.com/ssogate/ssogate/store"
)

// stepUpServices are the step-up tests' services: a proxied and a
// forward-auth service that require 2-step verification, and one of each
// that does not.
func stepUpServices(up string) harnessOption {
	return func(s string) string {
		public := s[strings.Index(s, "public_url: ")+len("public_url: "):]
		public = public[:strings.Index(public, "\n")]
		return s + strings.NewReplacer("%PUBLIC%", public, "%UP%", up).Replace(`
  - id: payroll
    name: 給与明細
    url: %PUBLIC%/payroll/
    upstream: %UP%
    allowed_groups: [staff]
    require_2fa: true
  - id: app
    name: App
    url: %PUBLIC%/app/
    upstream: %UP%
  - id: vault
    name: Vault
    url: http://vault.example.test:8081/
    require_2fa: true
  - id: fwd
    name: Forward
    url: http://fwd.example.test:8081/
`)
	}
}

// issuedBrowser is a browser signed in as user by a session whose sign-in
// used the methods amr, as the second step leaves one.
func issuedBrowser(t *testing.T, h *harness, user *store.User, amr ...string) *browser {
	t.Helper()
	hdr, err := h.app.gateway.Shared().IssueSession(context.Background(), user, amr, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	name, value, _ := strings.Cut(hdr, "=")
	b := h.browser()
	u, _ := url.Parse(h.url)
	b.jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/"}})
	return b
}

// stepUpLocation is where the gateway sends a person to pass the second
// step before going on to target.
func stepUpLocation(h *harness, target string) string {
	return h.url + "/login/2fa/step-up?return_to=" + url.QueryEscape(target)
}

// authAsk is a forward-auth question about rawURL, the way Traefik and
// Caddy (X-Forwarded-*) or nginx (X-Original-URL) ask it.
func authAsk(b *browser, rawURL, accept string, nginx bool) *page {
	u, _ := url.Parse(rawURL)
	req, _ := http.NewRequest("GET", b.h.url+"/auth", nil)
	if nginx {
		req.Header.Set("X-Original-URL", rawURL)
		req.Header.Set("X-Original-Method", "GET")
	} else {
		req.Header.Set("X-Forwarded-Proto", u.Scheme)
		req.Header.Set("X-Forwarded-Host", u.Host)
		req.Header.Set("X-Forwarded-Uri", u.RequestURI())
		req.Header.Set("X-Forwarded-Method", "GET")
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	return b.do(req)
}

// TestStepUpVerdicts: a session signed in with a password only is sent to
// the step-up page by the proxy and by /auth for a require_2fa service,
// and nowhere else; one whose sign-in used a second factor goes through.
func TestStepUpVerdicts(t *testing.T) {
	up := newUpstream(t)
	h := newHarness(t, stepUpServices(up.URL))
	alice := h.addUser("alice@example.co.jp", "山田 太郎", alicePW, "staff")
	h.addUser("bob@example.co.jp", "Bob", "Bob-Passw0rd!", "sales")

	pwd := h.browser()
	expectRedirect(t, pwd.login("alice@example.co.jp", alicePW, ""), "/")
	const html = "text/html,application/xhtml+xml"

	t.Run("proxy: a browser is sent to the step-up page", func(t *testing.T) {
		hits := up.hits.Load()
		target := h.url + "/payroll/slip?month=2026-11"
		p := pwd.getWith("/payroll/slip?month=2026-11", map[string][]string{"Accept": {html}})
		expectRedirect(t, p, stepUpLocation(h, target))
		if up.hits.Load() != hits {
			t.Fatal("a session without a second factor reached the require_2fa upstream")
		}
	})

	t.Run("proxy: an API call gets 401 saying why", func(t *testing.T) {
		hits := up.hits.Load()
		for _, method := range []string{"GET", "POST"} {
			req, _ := http.NewRequest(method, h.url+"/payroll/api/slips", nil)
			req.Header.Set("Accept", "application/json")
			p := pwd.do(req)
			expectStatus(t, p, http.StatusUnauthorized)
			if !strings.Contains(p.Header.Get("WWW-Authenticate"), `error="insufficient_user_authentication"`) ||
				!strings.Contains(p.body, "2-step verification required") {
				t.Errorf("%s: WWW-Authenticate %q, body %q: the reason is not stated", method, p.Header.Get("WWW-Authenticate"), p.body)
			}
			if loc := p.Header.Get("Location"); loc != stepUpLocation(h, h.url+"/payroll/api/slips") {
				t.Errorf("%s: Location %q", method, loc)
			}
		}
		if up.hits.Load() != hits {
			t.Fatal("an API call without a second factor reached the require_2fa upstream")
		}
	})

	t.Run("forward auth: Traefik and Caddy redirect, nginx gets 401 with the page", func(t *testing.T) {
		target := "http://vault.example.test:8081/secret?k=1"
		expectRedirect(t, authAsk(pwd, target, html, false), stepUpLocation(h, target))
		p := authAsk(pwd, target, html, true)
		expectStatus(t, p, http.StatusUnauthorized)
		if loc := p.Header.Get("Location"); loc != stepUpLocation(h, target) {
			t.Errorf("nginx: Location %q, want %q", loc, stepUpLocation(h, target))
		}
		p = authAsk(pwd, target, "application/json", false)
		expectStatus(t, p, http.StatusUnauthorized)
		if !strings.Contains(p.Header.Get("WWW-Authenticate"), "insufficient_user_authentication") {
			t.Errorf("API: WWW-Authenticate %q", p.Header.Get("WWW-Authenticate"))
		}
	})

	t.Run("other services are not affected", func(t *testing.T) {
		expectStatus(t, pwd.get("/app/x"), http.StatusOK)
		expectStatus(t, authAsk(pwd, "http://fwd.example.test:8081/x", html, false), http.StatusOK)
	})

	t.Run("someone not allowed is refused, not sent to the step", func(t *testing.T) {
		bob := h.browser()
		expectRedirect(t, bob.login("bob@example.co.jp", "Bob-Passw0rd!", ""), "/")
		expectStatus(t, bob.getWith("/payroll/slip", map[string][]string{"Accept": {html}}), http.StatusForbidden)
	})

	t.Run("signed out is sent to the login page as before", func(t *testing.T) {
		p := h.browser().getWith("/payroll/slip", map[string][]string{"Accept": {html}})
		expectRedirect(t, p, h.url+"/login?return_to="+url.QueryEscape(h.url+"/payroll/slip"))
	})

	t.Run("a sign-in with a second factor goes through, its amr in the assertion", func(t *testing.T) {
		for _, amr := range [][]string{{"pwd", "otp", "mfa"}, {"pwd", "sms"}, {"hwk", "user", "mfa"}, {"fed", "mfa"}} {
			b := issuedBrowser(t, h, alice, amr...)
			p := b.getWith("/payroll/slip", map[string][]string{"Accept": {html}})
			expectStatus(t, p, http.StatusOK)
			claims := verifyAssertion(t, h, up.lastRequest().Header.Get("X-Ssogate-Assertion"), "payroll")
			if !slices.Equal(claims.AMR, amr) {
				t.Errorf("assertion amr = %q, want %q", claims.AMR, amr)
			}
			p = authAsk(b, "http://vault.example.test:8081/secret", html, true)
			expectStatus(t, p, http.StatusOK)
			claims = verifyAssertion(t, h, p.Header.Get("X-Ssogate-Assertion"), "vault")
			if !slices.Equal(claims.AMR, amr) {
				t.Errorf("/auth: assertion amr = %q, want %q", claims.AMR, amr)
			}
		}
	})
}

// TestStepUpLineStandsInOnlyFromTheLine: a registered line stands in for
// the second factor while the request comes from it, and not once the
// session is used elsewhere, whatever the session's amr says.
func TestStepUpLineStandsInOnlyFromTheLine(t *testing.T) {
	up := newUpstream(t)
	h := newHarness(t, stepUpServices(up.URL), lineConfig("", true))
	h.addUser("alice@example.co.jp", "Alice", alicePW, "staff")
	html := map[string][]string{"Accept": {"text/html"}}

	office := h.browser().from("203.0.113.20")
	expectRedirect(t, office.login("alice@example.co.jp", alicePW, ""), "/")
	expectStatus(t, office.getWith("/payroll/slip", html), http.StatusOK)
	expectStatus(t, authAsk(office, "http://vault.example.test:8081/x", "text/html", false), http.StatusOK)

	// The same session (amr pwd, net) from home.
	office.from("198.51.100.1")
	expectRedirect(t, office.getWith("/payroll/slip", html), stepUpLocation(h, h.url+"/payroll/slip"))
	expectRedirect(t, authAsk(office, "http://vault.example.test:8081/x", "text/html", false),
		stepUpLocation(h, "http://vault.example.test:8081/x"))

	// Signed in at home, then at the office: the line stands in.
	home := h.browser().from("198.51.100.1")
	expectRedirect(t, home.login("alice@example.co.jp", alicePW, ""), "/")
	expectRedirect(t, home.getWith("/payroll/slip", html), stepUpLocation(h, h.url+"/payroll/slip"))
	home.from("203.0.113.7")
	expectStatus(t, home.getWith("/payroll/slip", html), http.StatusOK)
}

// stepUpFront starts a gateway whose service at addr (behind a fronting
// proxy, forward auth only, for staff) requires 2-step verification, and
// whoami for it.
func stepUpFront(t *testing.T, id, addr string) (*harness, *whoamiProc) {
	t.Helper()
	h := newHarness(t, withServices(fmt.Sprintf(`
  - id: %s
    name: 給与明細
    url: http://%s/
    allowed_groups: [staff]
    require_2fa: true
`, id, addr)))
	return h, startWhoami(t, h.url, id)
}

// TestNginxStepUp puts the committed nginx example in front of whoami for
// a require_2fa service: a password-only session is sent to the step-up
// page (nginx turns the gateway's 401 into the redirect), one whose
// sign-in used a second factor reaches the app with its amr in the
// assertion and the identity headers as always; and the password-only
// browser, through the step with its authenticator app, gets back to the
// page it asked for, with amr pwd, otp, mfa in the assertion whoami
// verified.
func TestNginxStepUp(t *testing.T) {
	nginx := lookProxy(t, "nginx")
	addr := freeLoopbackAddr(t)
	h, who := stepUpFront(t, "nginx-app", addr)
	startNginx(t, nginx, h, addr, who)
	fp := &frontProxy{name: "nginx", url: "http://" + addr, service: "nginx-app", who: who}
	staff := h.addUser(frontStaffEmail, frontStaffName, frontStaffPW, frontStaffGroups...)
	// whoami checks assertions against the real time, and the code that
	// set up the authenticator app cannot be used again: set it up a
	// step's time before now.
	h.clock.Advance(time.Since(h.clock.Now()) - 35*time.Second)

	// Signed in with a password; an authenticator app set up afterwards
	// (the session's amr stays pwd).
	pwd := h.browser()
	expectRedirect(t, pwd.login(frontStaffEmail, frontStaffPW, ""), "/")
	secret := h.enrolTOTPAtAccount(pwd)
	syncClockToNow(h)

	target := fp.url + fp.path("slip") + "?month=2026-11"
	for _, accept := range []string{"text/html", "application/json"} {
		p := fp.get(t, pwd, target, accept, nil)
		expectRedirect(t, p, stepUpLocation(h, target))
		fp.who.expectNotReached(t, p)
	}

	strong := issuedBrowser(t, h, staff, "pwd", "otp", "mfa")
	rep := fp.getJSON(t, strong, fp.url+fp.path("slip"), nil)
	expectIdentity(t, h, fp, rep)
	if amr := fmt.Sprint(rep.Assertion.Claims["amr"]); amr != "[pwd otp mfa]" {
		t.Errorf("assertion amr through nginx = %s, want [pwd otp mfa]", amr)
	}

	// The whole way: the password-only browser follows nginx's redirect
	// through the step and back to the app.
	p := fp.get(t, pwd, target, "text/html", nil)
	expectRedirect(t, p, stepUpLocation(h, target))
	expectRedirect(t, pwd.do(newRequest(t, "GET", p.Header.Get("Location"))), "/login/2fa")
	expectStatus(t, pwd.get("/login/2fa"), http.StatusOK)
	expectRedirect(t, pwd.post("/login/2fa", url.Values{"code": {h.totpCode(secret, 0)}}), target)
	rep = fp.getJSON(t, pwd, target, nil)
	if !strings.HasPrefix(target, fp.url+rep.Path) {
		t.Errorf("whoami saw path %q for %s", rep.Path, target)
	}
	expectIdentity(t, h, fp, rep)
	if amr := fmt.Sprint(rep.Assertion.Claims["amr"]); amr != "[pwd otp mfa]" {
		t.Errorf("assertion amr after the step-up through nginx = %s, want [pwd otp mfa]", amr)
	}
}

// TestCaddyStepUp is the same through the committed Caddy example: Caddy
// passes the gateway's 302 (a browser) or 401 (an API call) on as it is.
func TestCaddyStepUp(t *testing.T) {
	caddy := lookProxy(t, "caddy")
	addr := freeLoopbackAddr(t)
	h, who := stepUpFront(t, "caddy-app", addr)
	startCaddy(t, caddy, h, addr, who)
	fp := &frontProxy{name: "caddy", url: "http://" + addr, service: "caddy-app", who: who}
	staff := h.addUser(frontStaffEmail, frontStaffName, frontStaffPW, frontStaffGroups...)
	syncClockToNow(h)

	pwd := h.browser()
	expectRedirect(t, pwd.login(frontStaffEmail, frontStaffPW, ""), "/")
	target := fp.url + fp.path("slip") + "?month=2026-11"
	p := fp.get(t, pwd, target, "text/html", nil)
	expectRedirect(t, p, stepUpLocation(h, target))
	fp.who.expectNotReached(t, p)
	p = fp.get(t, pwd, target, "application/json", nil)
	expectStatus(t, p, http.StatusUnauthorized)
	if loc := p.Header.Get("Location"); loc != stepUpLocation(h, target) {
		t.Errorf("API call: Location %q, want the step-up page", loc)
	}
	fp.who.expectNotReached(t, p)

	strong := issuedBrowser(t, h, staff, "pwd", "sms", "mfa")
	rep := fp.getJSON(t, strong, fp.url+fp.path("slip"), nil)
	expectIdentity(t, h, fp, rep)
	if amr := fmt.Sprint(rep.Assertion.Claims["amr"]); amr != "[pwd sms mfa]" {
		t.Errorf("assertion amr through Caddy = %s, want [pwd sms mfa]", amr)
	}
}

// enrolTOTPAtAccount adds an authenticator app to the signed-in browser's
// person at /account/2fa, and returns its key. The session stays as it
// was: its amr gains nothing.
func (h *harness) enrolTOTPAtAccount(b *browser) string {
	t := h.t
	t.Helper()
	expectStatus(t, b.get("/account/2fa"), http.StatusOK)
	p := b.post("/account/2fa", url.Values{"add": {"totp"}})
	expectStatus(t, p, http.StatusOK)
	secret := totpSecret(t, p)
	m := regexp.MustCompile(`name="enrolment" value="([^"]+)"`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("/account/2fa: no enrolment token on the page:\n%s", snippet(p.body))
	}
	p = b.post("/account/2fa", url.Values{"enrolment": {html.UnescapeString(m[1])}, "code": {h.totpCode(secret, 0)}, "name": {"iPhone"}})
	if p.StatusCode != http.StatusOK && p.StatusCode != http.StatusSeeOther {
		t.Fatalf("/account/2fa: enrolment finished with %d:\n%s", p.StatusCode, snippet(p.body))
	}
	h.clock.Advance(30 * time.Second) // the next code is a fresh one
	return secret
}

// sessionCookie is the browser's session cookie value, or "".
func (h *harness) sessionCookie(b *browser) string {
	if c := b.cookie(h.app.cfg.Session.CookieName); c != nil {
		return c.Value
	}
	return ""
}

// TestStepUpThroughTheProxy: 2-step verification is not required here.
// A person who signed in with a password only and set up an
// authenticator app afterwards opens a require_2fa service: the proxy
// sends the browser through the second step, and back to the page it
// asked for with a new session whose amr (in the assertion) holds "otp"
// and "mfa"; the identity headers are unchanged, the old session is gone.
// Someone with nothing set up enrols at the step, and returns too.
func TestStepUpThroughTheProxy(t *testing.T) {
	up := newUpstream(t)
	h := newHarness(t, stepUpServices(up.URL))
	alice := h.addUser("alice@example.co.jp", "山田 太郎", alicePW, "staff")
	const htmlAccept = "text/html,application/xhtml+xml"
	nav := map[string][]string{"Accept": {htmlAccept}}

	b := h.browser()
	expectRedirect(t, b.login("alice@example.co.jp", alicePW, ""), "/")
	secret := h.enrolTOTPAtAccount(b)
	before := h.sessionCookie(b)
	sessions, _ := h.app.store.ListUserSessions(context.Background(), alice.ID)
	if len(sessions) != 1 || strings.Join(sessions[0].AMR, ",") != "pwd" {
		t.Fatalf("sessions = %+v, want one with amr pwd", sessions)
	}
	oldID := sessions[0].ID

	// The app is asked for a page; the browser follows every redirect.
	target := h.url + "/payroll/slip?month=2026-11"
	p := b.getWith("/payroll/slip?month=2026-11", nav)
	expectRedirect(t, p, stepUpLocation(h, target))
	p = b.do(newRequest(t, "GET", p.Header.Get("Location")))
	expectRedirect(t, p, "/login/2fa")
	expectStatus(t, b.get("/login/2fa"), http.StatusOK)
	hits := up.hits.Load()
	p = b.post("/login/2fa", url.Values{"code": {h.totpCode(secret, 0)}})
	expectRedirect(t, p, target)
	if up.hits.Load() != hits {
		t.Fatal("the upstream was reached before the step was passed")
	}
	if after := h.sessionCookie(b); after == "" || after == before {
		t.Fatal("the step-up did not replace the session cookie")
	}
	p = b.getWith("/payroll/slip?month=2026-11", nav)
	expectStatus(t, p, http.StatusOK)
	last := up.lastRequest()
	if last.URL.RequestURI() != "/payroll/slip?month=2026-11" {
		t.Errorf("the upstream got %s, want the page asked for", last.URL.RequestURI())
	}
	claims := verifyAssertion(t, h, last.Header.Get("X-Ssogate-Assertion"), "payroll")
	if !slices.Equal(claims.AMR, []string{"pwd", "otp", "mfa"}) || claims.Subject != alice.ID {
		t.Errorf("assertion sub %s amr %q, want %s [pwd otp mfa]", claims.Subject, claims.AMR, alice.ID)
	}
	for k, want := range map[string]string{
		"X-Forwarded-User": "alice@example.co.jp", "Remote-User": "alice@example.co.jp",
		"X-Forwarded-Email": "alice@example.co.jp", "X-Forwarded-Groups": "staff",
		"X-Forwarded-Name": "%E5%B1%B1%E7%94%B0%20%E5%A4%AA%E9%83%8E",
	} {
		if got := last.Header.Values(k); !slices.Equal(got, []string{want}) {
			t.Errorf("upstream got %s = %q, want %q", k, got, want)
		}
	}
	sessions, _ = h.app.store.ListUserSessions(context.Background(), alice.ID)
	if len(sessions) != 1 || sessions[0].ID == oldID || strings.Join(sessions[0].AMR, ",") != "pwd,otp,mfa" {
		t.Fatalf("sessions after the step = %+v, want only a new one with amr pwd,otp,mfa", sessions)
	}
	if h.auditCount(alice, "step_up") != 1 {
		t.Error("the step-up was not audited")
	}
	// The stepped-up session reaches the forward-auth service too, and
	// the step-up page sends it straight on.
	expectStatus(t, authAsk(b, "http://vault.example.test:8081/x", htmlAccept, true), http.StatusOK)
	expectRedirect(t, b.do(newRequest(t, "GET", stepUpLocation(h, target))), target)

	t.Run("enrolment at the step", func(t *testing.T) {
		bob := h.addUser("bob@example.co.jp", "Bob", "Bob-Passw0rd!", "staff")
		b := h.browser()
		expectRedirect(t, b.login("bob@example.co.jp", "Bob-Passw0rd!", ""), "/")
		target := h.url + "/payroll/slip?month=2026-10"
		p := b.getWith("/payroll/slip?month=2026-10", nav)
		expectRedirect(t, p, stepUpLocation(h, target))
		expectRedirect(t, b.do(newRequest(t, "GET", p.Header.Get("Location"))), "/login/2fa/setup")
		expectRedirect(t, b.post("/login/2fa/setup", url.Values{"method": {"totp"}}), "/login/2fa/setup")
		secret := totpSecret(t, b.get("/login/2fa/setup"))
		expectRedirect(t, b.post("/login/2fa/setup", url.Values{"code": {h.totpCode(secret, 0)}}), "/login/2fa/codes")
		recoveryCodes(t, b.get("/login/2fa/codes"))
		done := b.post("/login/2fa/codes", url.Values{"saved": {"1"}})
		expectStatus(t, done, http.StatusOK)
		if m := regexp.MustCompile(`href="([^"]*)" id="done-continue"`).FindStringSubmatch(done.body); m == nil || html.UnescapeString(m[1]) != target {
			t.Fatalf("the completion page does not continue to %s:\n%s", target, snippet(done.body))
		}
		expectStatus(t, b.getWith("/payroll/slip?month=2026-10", nav), http.StatusOK)
		claims := verifyAssertion(t, h, up.lastRequest().Header.Get("X-Ssogate-Assertion"), "payroll")
		if !slices.Equal(claims.AMR, []string{"pwd", "otp", "mfa"}) || claims.Subject != bob.ID {
			t.Errorf("assertion sub %s amr %q, want %s [pwd otp mfa]", claims.Subject, claims.AMR, bob.ID)
		}
	})

	t.Run("return_to is checked by the step-up page", func(t *testing.T) {
		h.addUser("carol@example.co.jp", "Carol", "Carol-Passw0rd!", "staff")
		b := h.browser()
		expectRedirect(t, b.login("carol@example.co.jp", "Carol-Passw0rd!", ""), "/")
		secret := h.enrolTOTPAtAccount(b)
		p := b.get("/login/2fa/step-up?return_to=" + url.QueryEscape("https://evil.example/phish"))
		expectRedirect(t, p, "/login/2fa")
		expectRedirect(t, b.post("/login/2fa", url.Values{"code": {h.totpCode(secret, 0)}}), "/")
	})

	t.Run("signed out, the step-up page is the login page", func(t *testing.T) {
		p := h.browser().get("/login/2fa/step-up?return_to=" + url.QueryEscape(target))
		expectRedirect(t, p, h.url+"/login?return_to="+url.QueryEscape(target))
	})
}

// TestStepUpNotSkippedByRememberedBrowser: a browser remembered at the
// second step skips it at the next sign-in (a session with amr pwd), but
// not at a require_2fa service: the step-up asks for the code.
func TestStepUpNotSkippedByRememberedBrowser(t *testing.T) {
	up := newUpstream(t)
	h := newHarness(t, stepUpServices(up.URL), withTwoStep("    required: true\n"))
	alice, secret, _ := h.enrolledUser()
	nav := map[string][]string{"Accept": {"text/html"}}

	b := h.browser()
	expectRedirect(t, b.login("alice@example.co.jp", alicePW, ""), "/login/2fa")
	expectRedirect(t, b.post("/login/2fa", url.Values{"code": {h.totpCode(secret, 0)}, "remember": {"1"}}), "/")
	b.get("/logout")
	expectRedirect(t, b.post("/logout", url.Values{}), "/login?logged_out=1")
	h.clock.Advance(30 * time.Second)

	// Remembered: no step at the sign-in, and no second factor (beside
	// the session of the browser that enrolled).
	expectRedirect(t, b.login("alice@example.co.jp", alicePW, ""), "/")
	sessions, _ := h.app.store.ListUserSessions(context.Background(), alice.ID)
	var amrs []string
	for _, s := range sessions {
		amrs = append(amrs, strings.Join(s.AMR, ","))
	}
	if slices.Sort(amrs); !slices.Equal(amrs, []string{"pwd", "pwd,otp,mfa"}) {
		t.Fatalf("sessions' amr = %q, want the enrolling browser's pwd,otp,mfa and this one's pwd", amrs)
	}
	target := h.url + "/payroll/slip"
	p := b.getWith("/payroll/slip", nav)
	expectRedirect(t, p, stepUpLocation(h, target))
	expectRedirect(t, b.do(newRequest(t, "GET", p.Header.Get("Location"))), "/login/2fa")
	expectRedirect(t, b.post("/login/2fa", url.Values{"code": {h.totpCode(secret, 0)}}), target)
	expectStatus(t, b.getWith("/payroll/slip", nav), http.StatusOK)
}

// TestStepUpBySMS: someone with nothing set up enrols a mobile number at
// the step-up (the code by SMS, through the Twilio-shaped server) and
// reaches the service with amr pwd, sms, mfa; starting the step sent
// nothing, only the enrolment's own form did.
func TestStepUpBySMS(t *testing.T) {
	tw := testpeers.StartTwilio(t)
	up := newUpstream(t)
	h := newHarness(t, stepUpServices(up.URL), withTwilio(t, tw))
	alice := h.addUser("alice@example.co.jp", "Alice", alicePW, "staff")
	nav := map[string][]string{"Accept": {"text/html"}}

	b := h.browser()
	expectRedirect(t, b.login("alice@example.co.jp", alicePW, ""), "/")
	target := h.url + "/payroll/slip"
	p := b.getWith("/payroll/slip", nav)
	expectRedirect(t, p, stepUpLocation(h, target))
	expectRedirect(t, b.do(newRequest(t, "GET", p.Header.Get("Location"))), "/login/2fa/setup")
	expectStatus(t, b.get("/login/2fa/setup"), http.StatusOK)
	expectRedirect(t, b.post("/login/2fa/setup", url.Values{"method": {"sms"}, "phone": {"090-1234-5678"}}), "/login/2fa/setup")
	m := tw.Next(t, 10*time.Second)
	if m.Kind != "sms" || m.To != "+819012345678" {
		t.Fatalf("SMS %+v", m)
	}
	expectRedirect(t, b.post("/login/2fa/setup", url.Values{"code": {m.Code}}), "/login/2fa/codes")
	recoveryCodes(t, b.get("/login/2fa/codes"))
	expectStatus(t, b.post("/login/2fa/codes", url.Values{"saved": {"1"}}), http.StatusOK)
	expectStatus(t, b.getWith("/payroll/slip", nav), http.StatusOK)
	claims := verifyAssertion(t, h, up.lastRequest().Header.Get("X-Ssogate-Assertion"), "payroll")
	if !slices.Equal(claims.AMR, []string{"pwd", "sms", "mfa"}) || claims.Subject != alice.ID {
		t.Errorf("assertion sub %s amr %q, want %s [pwd sms mfa]", claims.Subject, claims.AMR, alice.ID)
	}
	if n := len(tw.Messages()); n != 1 {
		t.Errorf("%d messages sent, want the enrolment's one", n)
	}
}
