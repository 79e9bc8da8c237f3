package main

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ssogate/ssogate/gateway"
	"github.com/ssogate/ssogate/store"
)

// The tests in this file cover the request headers the gateway removes
// (docs/headers.md), the forwarding headers it sets itself, the paths it
// refuses, and what /auth accepts as the URL it is asked about.

// sampleHeaderName is a header name the entry matches: the name itself,
// or for a prefix the prefix with a name a platform uses after it.
func sampleHeaderName(h gateway.StrippedHeader) string {
	stem, prefix := h.Prefix()
	if !prefix {
		return h.Name
	}
	if strings.HasSuffix(stem, "-") {
		return stem + "Username"
	}
	return stem + "-Name"
}

// headerSpellings are ways a client may spell one header name: as is,
// lower and upper case, with '_' for every '-' and for the first one only.
func headerSpellings(name string) []string {
	return []string{
		name,
		strings.ToLower(name),
		strings.ToUpper(strings.ReplaceAll(name, "-", "_")),
		strings.Replace(name, "-", "_", 1),
	}
}

// forgedStrippedHeaders is every entry of the stripped-header list of the
// given kinds (all when none), and the extra names, in every spelling,
// each twice, with values that say "forged".
func forgedStrippedHeaders(kinds []gateway.HeaderKind, extra ...string) map[string][]string {
	hdr := map[string][]string{}
	n := 0
	names := extra
	for _, e := range gateway.StrippedHeaders() {
		if len(kinds) == 0 || slices.Contains(kinds, e.Kind) {
			names = append(names, sampleHeaderName(e))
		}
	}
	for _, name := range names {
		for _, sp := range headerSpellings(name) {
			n++
			hdr[sp] = []string{fmt.Sprintf("forged-%d", n), "10.9.8.7"}
		}
	}
	return hdr
}

// newHeadersHarness is the hand-off harness with trusted_proxies set to
// the loopback (the test's own client is the "proxy") and a service that
// receives the contact headers.
func newHeadersHarness(t *testing.T) (*harness, *upstream) {
	t.Helper()
	up := newUpstream(t)
	h := startHarness(t, false, nil, func(s string) string {
		public := s[strings.Index(s, "public_url: ")+len("public_url: "):]
		public = public[:strings.Index(public, "\n")]
		s = strings.Replace(s, "server:\n", "server:\n  trusted_proxies: [127.0.0.1/32]\n", 1)
		return s + strings.ReplaceAll(handoffServices(up.URL, nil), "%PUBLIC%", public) + fmt.Sprintf(`
  - id: contact
    name: Contact
    url: %[1]s/contact/
    upstream: %[2]s
    headers:
      phone: X-Forwarded-Phone
      organization: X-Forwarded-Organization
      department: X-Department-Name
  - id: contact-admin
    name: Contact admin
    url: %[1]s/contact/admin/
    upstream: %[2]s
    allowed_groups: [admins]
  - id: keiri
    name: 経理
    url: %[1]s/経理/
    upstream: %[2]s
`, public, up.URL)
	})
	return h, up
}

func decodeEcho(t *testing.T, p *page) echoed {
	t.Helper()
	var got echoed
	if err := json.Unmarshal([]byte(p.body), &got); err != nil {
		t.Fatalf("upstream answer: %v\n%s", err, snippet(p.body))
	}
	return got
}

func TestStrippedHeadersNeverReachUpstream(t *testing.T) {
	h, up := newHeadersHarness(t)
	h.addUser("alice@example.co.jp", "Alice", alicePW, "staff")
	b := h.browser()
	b.login("alice@example.co.jp", alicePW, "")
	// Every listed header, and every name a service is configured with,
	// in every spelling.
	forged := forgedStrippedHeaders(nil, "X-Auth-User", "X-Forwarded-Phone", "X-Department-Name", "X-Forwarded-Organization",
		"Remote-User", "Remote-Groups", "X-Remote-Group", "X-Auth-Request-Preferred-Username")

	for _, path := range []string{"/app/x", "/renamed/x", "/contact/x"} {
		p := b.getWith(path, forged)
		expectStatus(t, p, 200)
		got := decodeEcho(t, p)
		for k, vals := range got.Headers {
			for _, v := range vals {
				if strings.Contains(v, "forged") || strings.Contains(v, "10.9.8.7") {
					t.Errorf("%s: a client's header reached the upstream: %s: %q", path, k, v)
				}
			}
		}
	}

	// Forward auth answers with the gateway's headers only. (The
	// forwarding headers are what /auth reads; it refuses two copies.)
	req, _ := http.NewRequest("GET", h.url+"/auth", nil)
	for k, v := range forgedStrippedHeaders([]gateway.HeaderKind{gateway.KindIdentity, gateway.KindAddress}) {
		req.Header[k] = v
	}
	req.Header["X-Forwarded-Host"] = []string{"fwd.example.test:8081"}
	req.Header["X-Forwarded-Uri"] = []string{"/x"}
	p := b.do(req)
	expectStatus(t, p, 200)
	for k, vals := range p.Header {
		for _, v := range vals {
			if strings.Contains(v, "forged") {
				t.Errorf("/auth echoed a client's header: %s: %q", k, v)
			}
		}
	}
	if up.hits.Load() != 3 {
		t.Errorf("upstream hits = %d, want 3", up.hits.Load())
	}
}

func TestProxySetsForwardingHeaders(t *testing.T) {
	h, _ := newHeadersHarness(t)
	h.addUser("alice@example.co.jp", "Alice", alicePW, "staff")
	b := h.browser()
	b.login("alice@example.co.jp", alicePW, "")
	forged := map[string][]string{
		"X-Real-IP": {"203.0.113.66"}, "True-Client-IP": {"203.0.113.66"}, "X-Client-IP": {"203.0.113.66"},
		"CF-Connecting-IP": {"203.0.113.66"}, "X-Cluster-Client-IP": {"203.0.113.66"},
		"X-Original-URL": {"/staff/x"}, "X-Rewrite-URL": {"/staff/x"}, "X-Forwarded-Prefix": {"/staff"},
		"X-Forwarded-Uri": {"/staff/x"},
	}
	check := func(t *testing.T, got echoed, realIP, prefix string) {
		t.Helper()
		for k, vals := range got.Headers {
			for _, v := range vals {
				if strings.Contains(v, "203.0.113.66") || strings.Contains(v, "/staff") {
					t.Errorf("a client's %s reached the upstream: %q", k, v)
				}
			}
		}
		if ip := got.Headers["X-Real-Ip"]; len(ip) != 1 || ip[0] != realIP {
			t.Errorf("X-Real-IP = %q, want %q", ip, realIP)
		}
		if got := got.Headers["X-Forwarded-Prefix"]; prefix == "" && len(got) != 0 || prefix != "" && (len(got) != 1 || got[0] != prefix) {
			t.Errorf("X-Forwarded-Prefix = %q, want %q", got, prefix)
		}
	}

	t.Run("path-prefix service", func(t *testing.T) {
		check(t, decodeEcho(t, b.getWith("/app/x", forged)), "127.0.0.1", "/app")
	})
	t.Run("service with a Japanese path", func(t *testing.T) {
		p := b.getWith("/経理/x", forged)
		expectStatus(t, p, 200)
		got := decodeEcho(t, p)
		if got.Path != "/経理/x" {
			t.Errorf("upstream path = %q", got.Path)
		}
		check(t, got, "127.0.0.1", "/%E7%B5%8C%E7%90%86")
	})
	t.Run("client behind a trusted proxy", func(t *testing.T) {
		// The loopback is a trusted proxy here: its X-Forwarded-For names
		// the client.
		hdr := map[string][]string{"X-Forwarded-For": {"198.51.100.7"}}
		for k, v := range forged {
			hdr[k] = v
		}
		check(t, decodeEcho(t, b.getWith("/app/x", hdr)), "198.51.100.7", "/app")
	})
	t.Run("host-routed service", func(t *testing.T) {
		req, _ := http.NewRequest("GET", h.url+"/anything", nil)
		req.Host = "byhost.example.test:8082"
		req.AddCookie(b.cookie(h.app.cfg.Session.CookieName))
		for k, v := range forged {
			req.Header[k] = v
		}
		p := b.do(req)
		expectStatus(t, p, 200)
		check(t, decodeEcho(t, p), "127.0.0.1", "")
	})
}

// rawGet sends target as the request line's path, exactly as written
// (Go's client would clean it), and returns the status.
func rawGet(t *testing.T, h *harness, target string, cookies ...*http.Cookie) int {
	t.Helper()
	addr := strings.TrimPrefix(h.url, "http://")
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	var req strings.Builder
	fmt.Fprintf(&req, "GET %s HTTP/1.1\r\nHost: %s\r\nAccept: application/json\r\n", target, addr)
	for _, c := range cookies {
		fmt.Fprintf(&req, "Cookie: %s\r\n", c.String())
	}
	req.WriteString("Connection: close\r\n\r\n")
	if _, err := conn.Write([]byte(req.String())); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestPathSpellingsThatClimbAreRefused(t *testing.T) {
	h, up := newHeadersHarness(t)
	h.addUser("bob@example.co.jp", "Bob", alicePW, "sales")
	b := h.browser()
	b.login("bob@example.co.jp", alicePW, "")
	sess := b.cookie(h.app.cfg.Session.CookieName)

	// Bob may use /app/ but not /staff/; each of these reads as /staff/x
	// (or climbs) to some server: Tomcat drops ";params" ("..;" is ".."),
	// IIS and Windows read "\" as "/", some upstreams decode twice.
	climbs := []string{
		"/app/..;/staff/x",
		"/app/..;jsessionid=1/staff/x",
		"/app/.;x/../staff/x",
		"/app/.;x/x",
		"/app/%2e%2e/staff/x",
		"/app/%2E./staff/x",
		"/app/.%2e/staff/x",
		"/app/%2e%2e;/staff/x",
		"/app/..%2fstaff/x",
		"/app/..%2Fstaff/x",
		"/app/x/..%2f..%2fstaff/x",
		"/app/..%5cstaff/x",
		"/app/%5c",
		`/app/..\staff/x`,
		`/app/a\b`,
		"/app/%252e%252e/staff/x",
		"/app/%252E%252E%252Fstaff/x",
		"/app/%25252e%25252e/staff/x",
		"/app/..%255cstaff/x",
		"/app/%zz",
	}
	for _, target := range climbs {
		before := up.hits.Load()
		if got := rawGet(t, h, target, sess); got != http.StatusBadRequest {
			t.Errorf("GET %s: status %d, want 400", target, got)
		}
		if up.hits.Load() != before {
			t.Errorf("GET %s reached the upstream", target)
		}
	}

	// Path parameters are routed without them: /staff;x/ is /staff/ to
	// Tomcat, so it is the staff service's (403 for Bob), not nobody's.
	// So are runs of slashes, which nginx and most servers merge:
	// /contact//admin/ is the admins' service, not /contact/'s.
	for _, target := range []string{"/staff;jsessionid=1/x", "/staff;/x", "/app;x=1/../staff/x",
		"/contact//admin/x", "/contact/%2Fadmin/x", "/contact/%2F/admin/x", "/contact/;x/admin/x", "/contact/admin;x/x"} {
		want := http.StatusForbidden
		if strings.Contains(target, "..") {
			want = http.StatusBadRequest
		}
		if got := rawGet(t, h, target, sess); got != want {
			t.Errorf("GET %s: status %d, want %d", target, got, want)
		}
	}

	// What does not climb passes, as sent.
	for _, target := range []string{"/app/group%2Fproject/x", "/app/x;jsessionid=1", "/app/100%25", "/app/.well-known/x", "/app/a..b/c."} {
		if got := rawGet(t, h, target, sess); got != http.StatusOK {
			t.Errorf("GET %s: status %d, want 200", target, got)
			continue
		}
		if last := up.lastRequest(); last == nil || last.RequestURI != target {
			// The upstream gets the path as sent, not as routed.
			t.Errorf("GET %s: the upstream got %v", target, last.RequestURI)
		}
	}
}

func TestForwardAuthRefusesAmbiguousURL(t *testing.T) {
	h, _ := newHandoffHarness(t, nil)
	h.addUser("alice@example.co.jp", "Alice", alicePW, "staff")
	h.addUser("bob@example.co.jp", "Bob", alicePW, "sales")
	alice := h.browser()
	alice.login("alice@example.co.jp", alicePW, "")
	bob := h.browser()
	bob.login("bob@example.co.jp", alicePW, "")
	self := strings.TrimPrefix(h.url, "http://")
	const fwd = "fwd.example.test:8081"

	tests := []struct {
		name string
		b    *browser
		hdr  map[string][]string
	}{
		// Alice may use fwd: the first copy alone would be let through.
		{"two X-Forwarded-Host lines", alice, map[string][]string{"X-Forwarded-Host": {fwd, "other.example.test"}, "X-Forwarded-Uri": {"/x"}}},
		{"X-Forwarded-Host list", alice, map[string][]string{"X-Forwarded-Host": {fwd + ", other.example.test"}, "X-Forwarded-Uri": {"/x"}}},
		{"X-Forwarded-Host list without space", alice, map[string][]string{"X-Forwarded-Host": {fwd + ",other.example.test"}, "X-Forwarded-Uri": {"/x"}}},
		{"two X-Forwarded-Uri lines", alice, map[string][]string{"X-Forwarded-Host": {fwd}, "X-Forwarded-Uri": {"/x", "/y"}}},
		{"X-Forwarded-Uri list", alice, map[string][]string{"X-Forwarded-Host": {fwd}, "X-Forwarded-Uri": {"/x, /y"}}},
		{"two X-Original-URL lines", alice, map[string][]string{"X-Original-URL": {"http://" + fwd + "/x", h.url + "/app/"}}},
		{"X-Original-URL list", alice, map[string][]string{"X-Original-URL": {"http://" + fwd + "/x, " + h.url + "/app/"}}},
		{"two X-Forwarded-Proto lines", alice, map[string][]string{"X-Forwarded-Host": {fwd}, "X-Forwarded-Uri": {"/x"}, "X-Forwarded-Proto": {"http", "https"}}},
		{"two X-Forwarded-Method lines", alice, map[string][]string{"X-Forwarded-Host": {fwd}, "X-Forwarded-Uri": {"/x"}, "X-Forwarded-Method": {"GET", "POST"}}},
		// Bob may use /app/ but not /staff/.
		{"..; (forwarded)", bob, map[string][]string{"X-Forwarded-Host": {self}, "X-Forwarded-Uri": {"/app/..;/staff/x"}}},
		{"..; (nginx)", bob, map[string][]string{"X-Original-URL": {h.url + "/app/..;/staff/x"}}},
		{".;x (nginx)", bob, map[string][]string{"X-Original-URL": {h.url + "/app/.;x/x"}}},
		{"%2E. (forwarded)", bob, map[string][]string{"X-Forwarded-Host": {self}, "X-Forwarded-Uri": {"/app/%2E./staff/x"}}},
		{"..%2f (nginx)", bob, map[string][]string{"X-Original-URL": {h.url + "/app/..%2fstaff/x"}}},
		{"..%5c (forwarded)", bob, map[string][]string{"X-Forwarded-Host": {self}, "X-Forwarded-Uri": {"/app/..%5cstaff/x"}}},
		{"backslash (forwarded)", bob, map[string][]string{"X-Forwarded-Host": {self}, "X-Forwarded-Uri": {`/app/..\staff/x`}}},
		{"%252e%252e (nginx)", bob, map[string][]string{"X-Original-URL": {h.url + "/app/%252e%252e/staff/x"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", h.url+"/auth", nil)
			for k, v := range tt.hdr {
				req.Header[k] = v
			}
			p := tt.b.do(req)
			expectStatus(t, p, http.StatusBadRequest)
			if p.Header.Get("X-Forwarded-User") != "" {
				t.Fatal("identity headers on a refusal")
			}
		})
	}

	// A path parameter does not hide the service: /staff;x/ is /staff/.
	req, _ := http.NewRequest("GET", h.url+"/auth", nil)
	req.Header.Set("X-Original-URL", h.url+"/staff;jsessionid=1/x")
	expectStatus(t, bob.do(req), http.StatusForbidden)
	req, _ = http.NewRequest("GET", h.url+"/auth", nil)
	req.Header.Set("X-Original-URL", h.url+"/staff;jsessionid=1/x")
	expectStatus(t, alice.do(req), http.StatusOK)
}

func TestForwardAuthUnknownHostLooksLikeKnown(t *testing.T) {
	h, _ := newHandoffHarness(t, nil)
	h.addUser("alice@example.co.jp", "Alice", alicePW, "staff")
	anon := h.browser()
	ask := func(b *browser, hdr map[string][]string) *page {
		req, _ := http.NewRequest("GET", h.url+"/auth", nil)
		for k, v := range hdr {
			req.Header[k] = v
		}
		return b.do(req)
	}
	for _, conv := range []struct {
		name   string
		hdr    func(host string) map[string][]string
		status int
	}{
		{"nginx", func(host string) map[string][]string {
			return map[string][]string{"X-Original-URL": {"http://" + host + "/x?y=1"}, "Accept": {"text/html"}}
		}, http.StatusUnauthorized},
		{"traefik browser", func(host string) map[string][]string {
			return map[string][]string{"X-Forwarded-Host": {host}, "X-Forwarded-Uri": {"/x?y=1"}, "Accept": {"text/html"}}
		}, http.StatusFound},
		{"traefik api", func(host string) map[string][]string {
			return map[string][]string{"X-Forwarded-Host": {host}, "X-Forwarded-Uri": {"/x?y=1"}, "Accept": {"application/json"}}
		}, http.StatusUnauthorized},
	} {
		t.Run(conv.name, func(t *testing.T) {
			known := ask(anon, conv.hdr("fwd.example.test:8081"))
			unknown := ask(anon, conv.hdr("unknown.example.test"))
			expectStatus(t, known, conv.status)
			expectStatus(t, unknown, conv.status)
			if known.body != unknown.body {
				t.Errorf("bodies differ: %q vs %q", known.body, unknown.body)
			}
			for _, k := range []string{"Content-Type", "Www-Authenticate", "Cache-Control"} {
				if known.Header.Get(k) != unknown.Header.Get(k) {
					t.Errorf("%s differs: %q vs %q", k, known.Header.Get(k), unknown.Header.Get(k))
				}
			}
			for host, p := range map[string]*page{"fwd.example.test:8081": known, "unknown.example.test": unknown} {
				want := h.url + "/login?return_to=" + url.QueryEscape("http://"+host+"/x?y=1")
				if got := p.Header.Get("Location"); got != want {
					t.Errorf("%s: Location %q, want %q", host, got, want)
				}
			}
		})
	}

	// A URL too long to return to is left out alike.
	long := "/" + strings.Repeat("a", 3000)
	for _, host := range []string{"fwd.example.test:8081", "unknown.example.test"} {
		p := ask(anon, map[string][]string{"X-Forwarded-Host": {host}, "X-Forwarded-Uri": {long}})
		expectStatus(t, p, http.StatusUnauthorized)
		if got := p.Header.Get("Location"); got != h.url+"/login" {
			t.Errorf("%s with a long path: Location %q, want the login page alone", host, got)
		}
	}

	// The login page does not take an unknown host as a place to return to.
	loc := ask(anon, map[string][]string{"X-Original-URL": {"http://unknown.example.test/x"}}).Header.Get("Location")
	u, _ := url.Parse(loc)
	expectStatus(t, anon.get(u.RequestURI()), http.StatusOK)
	expectRedirect(t, anon.post("/login", url.Values{"email": {"alice@example.co.jp"}, "password": {alicePW},
		"return_to": {u.Query().Get("return_to")}}), "/")

	// Signed in, an unknown host is refused.
	expectStatus(t, ask(anon, map[string][]string{"X-Original-URL": {"http://unknown.example.test/x"}}), http.StatusForbidden)
}

func TestAssertionCarriesContactClaims(t *testing.T) {
	h, _ := newHeadersHarness(t)
	ctx := t.Context()
	u := &store.User{Email: "hanako@example.co.jp", DisplayName: "佐藤 花子", Groups: []string{"staff"},
		Phone: "+81 3-1234-5678", Mobile: "090-1234-5678", Organization: "株式会社サンプル", Department: "経理部",
		Role: store.RoleUser, Status: store.StatusActive}
	if err := h.app.store.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	hash, err := h.app.local.Hash(ctx, alicePW)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.app.store.SetPasswordHash(ctx, u.ID, hash); err != nil {
		t.Fatal(err)
	}
	h.addUser("alice@example.co.jp", "Alice", alicePW, "staff")

	b := h.browser()
	b.login(u.Email, alicePW, "")
	got := decodeEcho(t, b.get("/contact/x"))
	hv := func(k string) []string { return got.Headers[k] }
	for k, want := range map[string]string{
		"X-Forwarded-Phone":        "%2B81%203-1234-5678",
		"X-Forwarded-Organization": "%E6%A0%AA%E5%BC%8F%E4%BC%9A%E7%A4%BE%E3%82%B5%E3%83%B3%E3%83%97%E3%83%AB",
		"X-Department-Name":        "%E7%B5%8C%E7%90%86%E9%83%A8",
	} {
		if v := hv(k); len(v) != 1 || v[0] != want {
			t.Errorf("%s = %q, want %q", k, v, want)
		}
	}
	for k := range got.Headers {
		if strings.Contains(strings.ToLower(k), "mobile") {
			t.Errorf("the service got %s, which it does not ask for", k)
		}
	}
	claims := assertionPayload(t, h, hv("X-Ssogate-Assertion"), "contact")
	for k, want := range map[string]string{"phone": u.Phone, "mobile": u.Mobile, "organization": u.Organization, "department": u.Department} {
		if claims[k] != want {
			t.Errorf("claim %s = %v, want %q", k, claims[k], want)
		}
	}
	// A service that does not name them gets no such headers.
	got = decodeEcho(t, b.get("/app/x"))
	for _, k := range []string{"X-Forwarded-Phone", "X-Forwarded-Organization", "X-Department-Name"} {
		if v, ok := got.Headers[k]; ok {
			t.Errorf("/app/ got %s: %q", k, v)
		}
	}

	// Empty values are left out of the assertion.
	a := h.browser()
	a.login("alice@example.co.jp", alicePW, "")
	got = decodeEcho(t, a.get("/contact/x"))
	claims = assertionPayload(t, h, got.Headers["X-Ssogate-Assertion"], "contact")
	for _, k := range []string{"phone", "mobile", "organization", "department"} {
		if v, ok := claims[k]; ok {
			t.Errorf("claim %s = %v for a user without one", k, v)
		}
	}
}

// assertionPayload verifies the one assertion in values and returns its
// claims as JSON names them.
func assertionPayload(t *testing.T, h *harness, values []string, audience string) map[string]any {
	t.Helper()
	if len(values) != 1 {
		t.Fatalf("X-Ssogate-Assertion = %q, want one", values)
	}
	verifyAssertion(t, h, values[0], audience)
	parts := strings.Split(values[0], ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	return claims
}
