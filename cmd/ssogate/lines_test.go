package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

// lineConfig registers 本社回線 (203.0.113.0/24, 2001:db8::/48) and makes
// 127.0.0.1 (the test client) a trusted proxy when trustLoopback, so
// X-Forwarded-For decides the client address.
func lineConfig(policy string, trustLoopback bool) harnessOption {
	return func(s string) string {
		s = withProviders(`
  - id: office
    type: network
    label: 本社回線
    networks: [203.0.113.0/24, "2001:db8::/48"]
`)(s)
		if trustLoopback {
			s = strings.Replace(s, "  public_url:", "  trusted_proxies: [127.0.0.1/32]\n  public_url:", 1)
		}
		if policy != "" {
			s += "policy:\n  access_route: " + policy + "\n"
		}
		return s
	}
}

func (b *browser) from(ip string) *browser {
	b.xff = ip
	return b
}

func TestLineOnly(t *testing.T) {
	up := newUpstream(t)
	h := newHarness(t, withServices(`
  - id: app
    name: App
    url: %PUBLIC%/app/
    upstream: `+up.URL+`
  - id: fwd
    name: Forward
    url: http://fwd.example.test:8081/
`), lineConfig("line_only", true), func(s string) string {
		public := s[strings.Index(s, "public_url: ")+len("public_url: "):]
		return strings.ReplaceAll(s, "%PUBLIC%", public[:strings.Index(public, "\n")])
	})
	alice := h.addUser("alice@example.co.jp", "Alice", alicePW, "staff")

	// From the office line (through the trusted proxy): sign in, and the
	// session records the line.
	office := h.browser().from("203.0.113.20")
	expectRedirect(t, office.login("alice@example.co.jp", alicePW, ""), "/")
	sessions, _ := h.app.store.ListUserSessions(context.Background(), alice.ID)
	if len(sessions) != 1 || sessions[0].Line != "本社回線" || !strings.Contains(strings.Join(sessions[0].AMR, ","), "net") {
		t.Fatalf("session = %+v, want line 本社回線 and amr net", sessions[0])
	}
	if p := office.get("/me"); !strings.Contains(p.body, "本社回線") {
		t.Fatal("personal-info page does not show the line")
	}
	expectStatus(t, office.get("/app/x"), 200)
	if v6 := h.browser().from("2001:db8::5"); v6.get("/login").StatusCode != 200 {
		t.Fatal("IPv6 office address refused")
	}

	// The same session from outside, and anyone from outside: refused on
	// every route, whatever the credentials.
	outside := h.browser()
	outside.jar = office.jar
	outside.c.Jar = office.jar
	outside.from("198.51.100.1")
	for _, path := range []string{"/", "/login", "/me", "/logout", "/app/x", "/nope"} {
		p := outside.get(path)
		expectStatus(t, p, http.StatusForbidden)
		if !strings.Contains(p.body, "登録された回線") {
			t.Errorf("%s: refusal page lacks its message", path)
		}
	}
	anon := h.browser().from("198.51.100.1")
	p := anon.post("/login", map[string][]string{"email": {"alice@example.co.jp"}, "password": {alicePW}})
	expectStatus(t, p, http.StatusForbidden)
	req, _ := http.NewRequest("GET", h.url+"/auth", nil)
	req.Header.Set("X-Forwarded-Host", "fwd.example.test:8081")
	p = outside.do(req)
	expectStatus(t, p, http.StatusForbidden)
	if p.Header.Get("X-Forwarded-User") != "" {
		t.Fatal("/auth handed out identity outside the line")
	}
	// Health and the JWKS stay reachable.
	for _, path := range []string{"/healthz", "/readyz", "/.well-known/jwks.json"} {
		expectStatus(t, anon.get(path), 200)
	}
	// A spoofed left-most X-Forwarded-For entry does not count.
	expectStatus(t, h.browser().from("203.0.113.20, 198.51.100.1").get("/login"), http.StatusForbidden)
}

func TestLineOnlyIgnoresUntrustedForwarding(t *testing.T) {
	// 127.0.0.1 is not a trusted proxy here: X-Forwarded-For is ignored
	// and the client (127.0.0.1) is off every line.
	h := newHarness(t, lineConfig("line_only", false))
	expectStatus(t, h.browser().from("203.0.113.20").get("/login"), http.StatusForbidden)
}

func TestServiceAllowedNetworks(t *testing.T) {
	up := newUpstream(t)
	h := newHarness(t, func(s string) string {
		public := s[strings.Index(s, "public_url: ")+len("public_url: "):]
		public = public[:strings.Index(public, "\n")]
		return s + `
  - id: payroll
    name: 給与明細
    url: ` + public + `/payroll/
    upstream: ` + up.URL + `
    allowed_networks: [office, 192.0.2.0/28]
`
	}, lineConfig("", true))
	h.addUser("alice@example.co.jp", "Alice", alicePW, "staff")
	b := h.browser().from("198.51.100.1") // line_and_internet: sign-in works anywhere
	expectRedirect(t, b.login("alice@example.co.jp", alicePW, ""), "/")
	expectStatus(t, b.get("/payroll/x"), http.StatusForbidden)
	b.from("203.0.113.9")
	expectStatus(t, b.get("/payroll/x"), 200)
	b.from("192.0.2.3")
	expectStatus(t, b.get("/payroll/x"), 200)
	// Signed in outside a line: no "net" in the session.
	b2 := h.browser().from("198.51.100.1")
	b2.login("alice@example.co.jp", alicePW, "")
	if p := b2.get("/me"); strings.Contains(p.body, "本社回線") {
		t.Fatal("a session from outside shows a line")
	}
}
