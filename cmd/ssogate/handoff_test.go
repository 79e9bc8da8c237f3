package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/ssogate/ssogate/store"
)

// upstream is a downstream app for the tests: it records what it received
// and answers JSON, a WebSocket, a slow answer or a stream.
type upstream struct {
	*httptest.Server
	hits atomic.Int64
	mu   sync.Mutex
	last *http.Request
}

type echoed struct {
	Host       string              `json:"host"`
	Path       string              `json:"path"`
	RequestURI string              `json:"request_uri"`
	Headers    map[string][]string `json:"headers"`
}

func newUpstream(t *testing.T) *upstream {
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.hits.Add(1)
		u.mu.Lock()
		u.last = r
		u.mu.Unlock()
		if strings.HasPrefix(r.URL.Path, "/slowsvc/") {
			time.Sleep(1500 * time.Millisecond)
		}
		switch r.URL.Path {
		case "/app/ws":
			c, err := websocket.Accept(w, r, nil)
			if err != nil {
				return
			}
			defer c.CloseNow()
			ctx := r.Context()
			_ = c.Write(ctx, websocket.MessageText, []byte("hello "+r.Header.Get("X-Forwarded-User")))
			for {
				typ, msg, err := c.Read(ctx)
				if err != nil {
					return
				}
				_ = c.Write(ctx, typ, append([]byte("echo: "), msg...))
			}
		case "/app/stream":
			w.Header().Set("Content-Type", "text/plain")
			for i := range 3 {
				fmt.Fprintf(w, "chunk %d\n", i)
				w.(http.Flusher).Flush()
				time.Sleep(100 * time.Millisecond)
			}
			return
		case "/app/setcookie":
			http.SetCookie(w, &http.Cookie{Name: "ssogate", Value: "planted", Path: "/"})
			http.SetCookie(w, &http.Cookie{Name: "app_pref", Value: "dark", Path: "/"})
			// Nameless cookies: a browser sends "=ssogate=x" back as
			// "ssogate=x", the gateway's session cookie.
			for _, l := range []string{"=ssogate=planted-nameless; Path=/", "= ssogate=planted-space; Path=/",
				" =ssogate=planted-lead; Path=/", "=  ssogate_csrf=planted-csrf; Path=/", "=ssogate_lang=planted-lang"} {
				w.Header().Add("Set-Cookie", l)
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(echoed{Host: r.Host, Path: r.URL.Path, RequestURI: r.RequestURI, Headers: r.Header})
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) lastRequest() *http.Request {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.last
}

// handoffServices are the services of the hand-off tests: a proxied app on
// the gateway's own host, a forward-auth app for staff, one that demands a
// sign-in of at most 45 minutes, one with renamed headers, and one whose
// upstream answers too slowly.
func handoffServices(up string, h *harness) string {
	return fmt.Sprintf(`
  - id: app
    name: App
    url: %[2]s/app/
    upstream: %[1]s
  - id: staff-only
    name: Staff only
    url: %[2]s/staff/
    upstream: %[1]s
    allowed_groups: [staff]
  - id: fresh
    name: Fresh
    url: %[2]s/fresh/
    upstream: %[1]s
    session_timeout: 45m
  - id: renamed
    name: Renamed
    url: %[2]s/renamed/
    upstream: %[1]s
    preserve_host: true
    headers:
      user: X-Auth-User
      remote_user: none
      name: none
  - id: slow
    name: Slow
    url: %[2]s/slowsvc/
    upstream: %[1]s
    upstream_timeout: 500ms
  - id: fwd
    name: Forward
    url: http://fwd.example.test:8081/
    allowed_groups: [staff]
  - id: byhost
    name: By host
    url: http://byhost.example.test:8082/
    upstream: %[1]s
  - id: dead
    name: Dead
    url: %[2]s/dead/
    upstream: http://127.0.0.1:1
`, up, "%PUBLIC%")
}

// newHandoffHarness starts a gateway in front of a fresh upstream.
func newHandoffHarness(t *testing.T, wrap func(store.Store) store.Store) (*harness, *upstream) {
	up := newUpstream(t)
	h := startHarness(t, false, wrap, func(s string) string {
		public := s[strings.Index(s, "public_url: ")+len("public_url: "):]
		public = public[:strings.Index(public, "\n")]
		return s + strings.ReplaceAll(handoffServices(up.URL, nil), "%PUBLIC%", public)
	})
	return h, up
}

func (b *browser) getWith(path string, hdr map[string][]string) *page {
	req, _ := http.NewRequest("GET", b.h.url+path, nil)
	for k, v := range hdr {
		req.Header[k] = v // as given: no canonicalisation, so any spelling is sent
	}
	return b.do(req)
}

func TestReverseProxyHandsOffIdentity(t *testing.T) {
	h, up := newHandoffHarness(t, nil)
	alice := h.addUser("alice@example.co.jp", "山田 太郎", alicePW, "staff", "経理")
	b := h.browser()

	// Signed out: a browser is sent to the login page, an API client gets
	// 401; the upstream is never reached.
	b.lang = ""
	p := b.getWith("/app/page?x=1", map[string][]string{"Accept": {"text/html"}})
	expectStatus(t, p, http.StatusFound)
	if loc := p.Header.Get("Location"); loc != h.url+"/login?return_to="+url.QueryEscape(h.url+"/app/page?x=1") {
		t.Fatalf("Location = %s", loc)
	}
	p = b.get("/app/api")
	expectStatus(t, p, http.StatusUnauthorized)
	if up.hits.Load() != 0 {
		t.Fatal("an unauthenticated request reached the upstream")
	}

	// The login page sends us back to the app afterwards.
	expectRedirect(t, b.login("alice@example.co.jp", alicePW, h.url+"/app/page?x=1"), h.url+"/app/page?x=1")
	p = b.get("/app/page?x=1")
	expectStatus(t, p, 200)
	var got echoed
	if err := json.Unmarshal([]byte(p.body), &got); err != nil {
		t.Fatalf("upstream answer: %v\n%s", err, p.body)
	}
	hv := func(k string) string { return strings.Join(got.Headers[k], "|") }
	want := map[string]string{
		"X-Forwarded-User":   "alice@example.co.jp",
		"Remote-User":        "alice@example.co.jp",
		"X-Forwarded-Email":  "alice@example.co.jp",
		"X-Forwarded-Groups": "staff,%E7%B5%8C%E7%90%86",
		"X-Forwarded-Name":   "%E5%B1%B1%E7%94%B0%20%E5%A4%AA%E9%83%8E",
		"X-Forwarded-Host":   strings.TrimPrefix(h.url, "http://"),
		"X-Forwarded-Proto":  "http",
		"X-Forwarded-For":    "127.0.0.1",
	}
	for k, v := range want {
		if hv(k) != v {
			t.Errorf("upstream got %s = %q, want %q", k, hv(k), v)
		}
	}
	if name, _ := url.PathUnescape(hv("X-Forwarded-Name")); name != "山田 太郎" {
		t.Errorf("X-Forwarded-Name decodes to %q", name)
	}
	if got.Path != "/app/page" || got.Host != strings.TrimPrefix(up.URL, "http://") {
		t.Errorf("upstream path/host = %s %s", got.Path, got.Host)
	}
	// The gateway's cookies (session, CSRF, language, device) are its own
	// business, not the app's; the browser holds each of them here.
	for _, name := range []string{h.app.cfg.Session.CookieName, "ssogate_csrf", "ssogate_device"} {
		if b.cookie(name) == nil {
			t.Fatalf("the browser holds no %s cookie to test with", name)
		}
	}
	if c := hv("Cookie"); strings.Contains(c, "ssogate") {
		t.Errorf("gateway cookies reached the upstream: %q", c)
	}
	claims := verifyAssertion(t, h, hv("X-Ssogate-Assertion"), "app")
	if claims.Subject != alice.ID || claims.Email != alice.Email || claims.Name != "山田 太郎" ||
		strings.Join(claims.Groups, ",") != "staff,経理" || strings.Join(claims.AMR, ",") != "pwd" || claims.AuthTime == 0 {
		t.Errorf("assertion claims = %+v", claims)
	}

	// Renamed and omitted headers; Host preserved.
	p = b.get("/renamed/x")
	got = echoed{}
	json.Unmarshal([]byte(p.body), &got)
	if hv("X-Auth-User") != "alice@example.co.jp" || hv("Remote-User") != "" || hv("X-Forwarded-Name") != "" || hv("X-Forwarded-User") != "" {
		t.Errorf("renamed headers wrong: %v", got.Headers)
	}
	if got.Host != strings.TrimPrefix(h.url, "http://") {
		t.Errorf("preserve_host: upstream saw Host %q", got.Host)
	}

	// Host-based routing: a service on a host of its own.
	req, _ := http.NewRequest("GET", h.url+"/anything?q=1", nil)
	req.Host = "byhost.example.test:8082"
	// The jar files cookies by the request's Host; in production the
	// cookie reaches other hosts through session.cookie_domain.
	req.AddCookie(b.cookie(h.app.cfg.Session.CookieName))
	p = b.do(req)
	expectStatus(t, p, 200)
	got = echoed{}
	json.Unmarshal([]byte(p.body), &got)
	if got.Path != "/anything" || hv("X-Forwarded-Host") != "byhost.example.test:8082" || hv("X-Forwarded-User") != "alice@example.co.jp" {
		t.Errorf("host-routed request: path %s headers %v", got.Path, got.Headers)
	}
	verifyAssertion(t, h, hv("X-Ssogate-Assertion"), "byhost")
	// The gateway's own pages stay on the gateway's host.
	if p := b.get("/me"); !strings.Contains(p.body, `id="profile-form"`) {
		t.Error("gateway page not served on the gateway host")
	}

	// An upstream cannot plant the gateway's session cookie, also not as a
	// nameless cookie whose value starts with its name.
	p = b.get("/app/setcookie")
	for _, c := range p.Cookies() {
		if c.Name == h.app.cfg.Session.CookieName {
			t.Fatalf("upstream Set-Cookie for the session cookie passed through: %v", c)
		}
	}
	for _, l := range p.Header.Values("Set-Cookie") {
		if strings.Contains(l, "planted") {
			t.Errorf("upstream Set-Cookie for a gateway cookie passed through: %q", l)
		}
	}
	if !strings.Contains(strings.Join(p.Header.Values("Set-Cookie"), ";"), "app_pref=dark") {
		t.Error("the app's own cookie was dropped")
	}
	expectStatus(t, b.get("/app/after"), 200)
}

func TestSpoofedIdentityHeadersNeverReachUpstream(t *testing.T) {
	h, up := newHandoffHarness(t, nil)
	h.addUser("alice@example.co.jp", "Alice", alicePW, "staff")
	b := h.browser()
	b.login("alice@example.co.jp", alicePW, "")

	spellings := []string{
		"X-Forwarded-User", "x-forwarded-user", "X-FORWARDED-USER", "X_Forwarded_User", "x_forwarded_user",
		"X-Forwarded_User", "Remote-User", "remote_user", "REMOTE-USER", "X-Forwarded-Email", "X_FORWARDED_EMAIL",
		"X-Forwarded-Groups", "x_forwarded_groups", "X-Forwarded-Name", "X-Ssogate-Assertion", "x_ssogate_assertion",
		"X-Auth-Request-User", "X-Auth-Request-Email", "X-Remote-User", "X-Auth-User", "x_auth_user",
	}
	for _, name := range spellings {
		t.Run(name, func(t *testing.T) {
			for _, path := range []string{"/app/x", "/renamed/x"} {
				p := b.getWith(path, map[string][]string{name: {"mallory@evil.example", "second-copy"}})
				expectStatus(t, p, 200)
				var got echoed
				json.Unmarshal([]byte(p.body), &got)
				for k, vals := range got.Headers {
					for _, v := range vals {
						if strings.Contains(v, "mallory") || strings.Contains(v, "second-copy") {
							t.Fatalf("%s: forged %s reached the upstream as %s: %q", path, name, k, v)
						}
					}
				}
			}
			// Signed out with forged headers: refused, upstream untouched.
			anon := h.browser()
			before := up.hits.Load()
			p := anon.getWith("/app/x", map[string][]string{name: {"alice@example.co.jp"}})
			expectStatus(t, p, http.StatusUnauthorized)
			if up.hits.Load() != before {
				t.Fatal("a forged, unauthenticated request reached the upstream")
			}
			// Forward auth answers with the gateway's values only.
			req, _ := http.NewRequest("GET", h.url+"/auth", nil)
			req.Header.Set("X-Forwarded-Host", "fwd.example.test:8081")
			req.Header.Set("X-Forwarded-Uri", "/x")
			req.Header[name] = []string{"mallory@evil.example"}
			p = b.do(req)
			expectStatus(t, p, 200)
			for k, vals := range p.Header {
				for _, v := range vals {
					if strings.Contains(v, "mallory") {
						t.Fatalf("/auth echoed a forged %s as %s", name, k)
					}
				}
			}
		})
	}
}

func TestForwardAuthConventions(t *testing.T) {
	h, up := newHandoffHarness(t, nil)
	h.addUser("alice@example.co.jp", "Alice", alicePW, "staff")
	h.addUser("bob@example.co.jp", "Bob", alicePW, "sales")
	anon := h.browser()
	alice := h.browser()
	alice.login("alice@example.co.jp", alicePW, "")
	bob := h.browser()
	bob.login("bob@example.co.jp", alicePW, "")
	const orig = "http://fwd.example.test:8081/docs/a?b=c"
	login := h.url + "/login?return_to=" + url.QueryEscape(orig)

	traefik := map[string][]string{ // Traefik ForwardAuth and Caddy forward_auth
		"X-Forwarded-Proto": {"http"}, "X-Forwarded-Host": {"fwd.example.test:8081"},
		"X-Forwarded-Uri": {"/docs/a?b=c"}, "X-Forwarded-Method": {"GET"}, "Accept": {"text/html,application/xhtml+xml"},
	}
	nginx := map[string][]string{
		"X-Original-URL": {orig}, "X-Original-Method": {"GET"}, "Accept": {"text/html"},
	}
	api := map[string][]string{
		"X-Forwarded-Proto": {"http"}, "X-Forwarded-Host": {"fwd.example.test:8081"}, "X-Forwarded-Uri": {"/api"},
		"Accept": {"application/json"},
	}
	tests := []struct {
		name     string
		b        *browser
		hdr      map[string][]string
		status   int
		location string
	}{
		{"traefik signed out: redirect", anon, traefik, http.StatusFound, login},
		{"nginx signed out: 401 with login URL", anon, nginx, http.StatusUnauthorized, login},
		{"api signed out: 401", anon, api, http.StatusUnauthorized, h.url + "/login?return_to=" + url.QueryEscape("http://fwd.example.test:8081/api")},
		{"traefik signed in", alice, traefik, 200, ""},
		{"nginx signed in", alice, nginx, 200, ""},
		{"wrong group", bob, traefik, http.StatusForbidden, ""},
		{"no such service", alice, map[string][]string{"X-Forwarded-Host": {"other.example.test"}, "X-Forwarded-Uri": {"/"}}, http.StatusForbidden, ""},
		{"no original URL", alice, map[string][]string{}, http.StatusBadRequest, ""},
		{"bad X-Original-URL", alice, map[string][]string{"X-Original-URL": {"javascript:alert(1)"}}, http.StatusBadRequest, ""},
		{"both conventions", bob, map[string][]string{"X-Original-URL": {orig}, "X-Forwarded-Host": {"127.0.0.1"}, "X-Forwarded-Uri": {"/app/"}}, http.StatusBadRequest, ""},
		{"dot segments (forwarded)", bob, map[string][]string{"X-Forwarded-Host": {strings.TrimPrefix(h.url, "http://")}, "X-Forwarded-Uri": {"/app/../staff/x"}}, http.StatusBadRequest, ""},
		{"encoded dot segments (forwarded)", bob, map[string][]string{"X-Forwarded-Host": {strings.TrimPrefix(h.url, "http://")}, "X-Forwarded-Uri": {"/app/%2e%2e/staff/x"}}, http.StatusBadRequest, ""},
		{"dot segments (nginx)", bob, map[string][]string{"X-Original-URL": {h.url + "/app/./../staff/x"}}, http.StatusBadRequest, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", h.url+"/auth", nil)
			for k, v := range tt.hdr {
				req.Header[k] = v
			}
			p := tt.b.do(req)
			expectStatus(t, p, tt.status)
			if tt.location != "" && p.Header.Get("Location") != tt.location {
				t.Fatalf("Location = %q, want %q", p.Header.Get("Location"), tt.location)
			}
			if tt.status == 200 {
				if p.Header.Get("X-Forwarded-User") != "alice@example.co.jp" || p.Header.Get("Remote-User") != "alice@example.co.jp" {
					t.Fatalf("identity headers missing: %v", p.Header)
				}
				verifyAssertion(t, h, p.Header.Get("X-Ssogate-Assertion"), "fwd")
			} else if p.Header.Get("X-Forwarded-User") != "" || p.Header.Get("X-Ssogate-Assertion") != "" {
				t.Fatal("identity headers on a refusal")
			}
		})
	}
	if up.hits.Load() != 0 {
		t.Fatal("forward auth reached an upstream")
	}
}

func TestServiceRules(t *testing.T) {
	h, _ := newHandoffHarness(t, nil)
	h.addUser("alice@example.co.jp", "Alice", alicePW, "staff")
	h.addUser("bob@example.co.jp", "Bob", alicePW)

	t.Run("groups", func(t *testing.T) {
		bob := h.browser()
		bob.login("bob@example.co.jp", alicePW, "")
		expectStatus(t, bob.get("/staff/x"), http.StatusForbidden)
		expectStatus(t, bob.get("/app/x"), 200)
		// An open service's prefix cannot be used to reach a closed one.
		for _, path := range []string{"/app/../staff/x", "/app/%2e%2e/staff/x", "/app/%2E%2E%2Fstaff/x", "/app/./../staff/x", "/app/..%5Cstaff/x"} {
			if p := bob.get(path); p.StatusCode != http.StatusBadRequest {
				t.Errorf("%s: status %d, want 400", path, p.StatusCode)
			}
		}
		alice := h.browser()
		alice.login("alice@example.co.jp", alicePW, "")
		expectStatus(t, alice.get("/staff/x"), 200)
	})

	t.Run("per-service session timeout", func(t *testing.T) {
		b := h.browser()
		b.login("alice@example.co.jp", alicePW, "")
		expectStatus(t, b.get("/fresh/x"), 200)
		// Stay active (idle timeout 30m) until the sign-in is 50 minutes old.
		for range 5 {
			h.clock.Advance(10 * time.Minute)
			expectStatus(t, b.get("/app/x"), 200)
		}
		p := b.getWith("/fresh/x", map[string][]string{"Accept": {"text/html"}})
		expectStatus(t, p, http.StatusFound)
		loc := p.Header.Get("Location")
		if !strings.Contains(loc, "reauth=1") {
			t.Fatalf("stale sign-in not sent to sign in again: %s", loc)
		}
		// The login page shows the form although a session exists...
		u, _ := url.Parse(loc)
		expectStatus(t, b.get(u.RequestURI()), 200)
		if !strings.Contains(b.get(u.RequestURI()).body, `id="login-form"`) {
			t.Fatal("reauth login page shows no form")
		}
		// ...and a new sign-in is fresh enough.
		expectRedirect(t, b.post("/login", url.Values{"email": {"alice@example.co.jp"}, "password": {alicePW},
			"return_to": {u.Query().Get("return_to")}}), u.Query().Get("return_to"))
		expectStatus(t, b.get("/fresh/x"), 200)
	})
}

func TestProxyTransport(t *testing.T) {
	h, _ := newHandoffHarness(t, nil)
	h.addUser("alice@example.co.jp", "Alice", alicePW, "staff")
	b := h.browser()
	b.login("alice@example.co.jp", alicePW, "")

	t.Run("websocket", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		wsURL := "ws" + strings.TrimPrefix(h.url, "http") + "/app/ws"
		c, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPClient: b.c})
		if err != nil {
			t.Fatalf("dial through the gateway: %v", err)
		}
		defer c.CloseNow()
		_, msg, err := c.Read(ctx)
		if err != nil || string(msg) != "hello alice@example.co.jp" {
			t.Fatalf("greeting = %q, %v", msg, err)
		}
		if err := c.Write(ctx, websocket.MessageText, []byte("こんにちは")); err != nil {
			t.Fatal(err)
		}
		if _, msg, err = c.Read(ctx); err != nil || string(msg) != "echo: こんにちは" {
			t.Fatalf("echo = %q, %v", msg, err)
		}
		c.Close(websocket.StatusNormalClosure, "")
		// Without a session the upgrade is refused.
		_, resp, err := websocket.Dial(ctx, wsURL, nil)
		if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("anonymous websocket: %v %v", resp, err)
		}
	})

	t.Run("streaming", func(t *testing.T) {
		req, _ := http.NewRequest("GET", h.url+"/app/stream", nil)
		resp, err := b.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		start := time.Now()
		line, err := bufio.NewReader(resp.Body).ReadString('\n')
		if err != nil || line != "chunk 0\n" {
			t.Fatalf("first chunk = %q, %v", line, err)
		}
		// The first chunk arrives before the upstream has finished (it
		// takes 300 ms in all): the proxy streams rather than buffers.
		if time.Since(start) > 250*time.Millisecond {
			t.Logf("first chunk took %s", time.Since(start))
		}
		rest, _ := io.ReadAll(resp.Body)
		if string(rest) != "chunk 1\nchunk 2\n" {
			t.Fatalf("rest = %q", rest)
		}
	})

	t.Run("upstream down is 502", func(t *testing.T) {
		p := b.get("/dead/x")
		expectStatus(t, p, http.StatusBadGateway)
		if !strings.Contains(p.body, "お問い合わせ番号") || p.Header.Get("Content-Security-Policy") == "" {
			t.Fatalf("502 is not the gateway's page:\n%s", snippet(p.body))
		}
	})

	t.Run("upstream too slow is 504", func(t *testing.T) {
		// /slowsvc/ has upstream_timeout 500ms; the upstream takes 1.5 s.
		p := b.get("/slowsvc/x")
		expectStatus(t, p, http.StatusGatewayTimeout)
		if !strings.Contains(p.body, "時間内に応答しませんでした") {
			t.Fatalf("504 page lacks its message:\n%s", snippet(p.body))
		}
	})
}

// verifyAssertion checks a token against the gateway's JWKS the way a
// downstream app would, and returns its claims.
func verifyAssertion(t *testing.T, h *harness, token, audience string) assertionClaimsForTest {
	t.Helper()
	claims, err := verifyWithJWKS(h, token, audience, h.clock.Now())
	if err != nil {
		t.Fatalf("assertion does not verify: %v", err)
	}
	return claims
}

type assertionClaimsForTest struct {
	jwt.Claims
	Email    string   `json:"email"`
	Name     string   `json:"name"`
	Groups   []string `json:"groups"`
	AMR      []string `json:"amr"`
	AuthTime int64    `json:"auth_time"`
}

func fetchJWKS(h *harness) (jose.JSONWebKeySet, error) {
	var set jose.JSONWebKeySet
	resp, err := http.Get(h.url + "/.well-known/jwks.json")
	if err != nil {
		return set, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return set, fmt.Errorf("jwks: %s", resp.Status)
	}
	return set, json.NewDecoder(resp.Body).Decode(&set)
}

func verifyWithJWKS(h *harness, token, audience string, at time.Time) (assertionClaimsForTest, error) {
	var claims assertionClaimsForTest
	set, err := fetchJWKS(h)
	if err != nil {
		return claims, err
	}
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		return claims, err
	}
	if len(tok.Headers) != 1 {
		return claims, fmt.Errorf("want one signature")
	}
	keys := set.Key(tok.Headers[0].KeyID)
	if len(keys) == 0 {
		return claims, fmt.Errorf("unknown kid %q", tok.Headers[0].KeyID)
	}
	if err := tok.Claims(keys[0].Key, &claims); err != nil {
		return claims, err
	}
	err = claims.Claims.ValidateWithLeeway(jwt.Expected{Issuer: h.url, AnyAudience: jwt.Audience{audience}, Time: at}, 0)
	return claims, err
}
