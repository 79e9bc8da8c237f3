package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssogate/ssogate/gateway"
	"github.com/ssogate/ssogate/internal/testpeers"
)

// The tests in this file put a real fronting proxy — nginx with
// auth_request, Caddy with forward_auth — in front of the demo app
// (examples/whoami), configured from the committed examples with only
// their placeholders filled in, and ask the gateway's /auth over real HTTP.

const (
	frontStaffEmail = "taro@example.co.jp"
	frontStaffName  = "山田 太郎"
	frontStaffPW    = "Taro-Passw0rd!"
	frontSalesEmail = "hanako@example.co.jp"
	frontSalesPW    = "Hanako-Passw0rd!"

	// frontOpenService is the test configuration's wiki: a service every
	// signed-in user may use, so a proxy that can be talked into asking
	// about it instead of its own app would let anyone through.
	frontOpenService = "http://127.0.0.1:9001/"
)

// frontStaffGroups are the staff user's groups; the second needs the
// percent-encoding of X-Forwarded-Groups.
var frontStaffGroups = []string{"staff", "経理"}

func TestNginxForwardAuth(t *testing.T) {
	nginx := lookProxy(t, "nginx")
	addr := freeLoopbackAddr(t)
	h := newFrontHarness(t, "nginx-app", addr)
	who := startWhoami(t, h.url, "nginx-app")
	startNginx(t, nginx, h, addr, who)

	testFrontProxy(t, h, &frontProxy{name: "nginx", url: "http://" + addr, service: "nginx-app", who: who})
}

// startNginx runs nginx (the binary found by lookProxy) with
// examples/nginx/ssogate.conf on addr, in front of who, asking the
// gateway of h.
func startNginx(t *testing.T, nginx string, h *harness, addr string, who *whoamiProc) {
	t.Helper()
	dir := t.TempDir()
	conf := fillExample(t, "examples/nginx/ssogate.conf", map[string]string{
		"LISTEN":       addr,
		"SERVER_NAME":  "127.0.0.1",
		"APP_ORIGIN":   "http://" + addr,
		"APP_HOST":     addr,
		"GATEWAY_URL":  h.url,
		"APP_UPSTREAM": "http://" + who.addr,
	})
	writeConfigFile(t, filepath.Join(dir, "ssogate.conf"), conf)
	// The http block a distribution's nginx.conf would have, with every
	// path nginx writes to inside the test's directory, and the
	// headers-more module the snippet needs (Debian's modules-enabled
	// would load it).
	main := fmt.Sprintf(`load_module %[2]s;
worker_processes 1;
events { worker_connections 64; }
http {
    access_log /dev/stderr;
    client_body_temp_path %[1]s/client_body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    include %[1]s/ssogate.conf;
}
`, dir, nginxHeadersMore(t))
	writeConfigFile(t, filepath.Join(dir, "nginx.conf"), main)
	// master_process off: one process, so ending it ends nginx, and no
	// worker switches to a user that cannot read the test's directory.
	cmd := exec.Command(nginx, "-p", dir+"/", "-c", filepath.Join(dir, "nginx.conf"),
		"-g", "daemon off; master_process off; pid "+filepath.Join(dir, "nginx.pid")+"; error_log stderr info;")
	p := startChildProc(t, "nginx", cmd)
	p.waitListening(t, addr)
}

func TestCaddyForwardAuth(t *testing.T) {
	caddy := lookProxy(t, "caddy")
	addr := freeLoopbackAddr(t)
	h := newFrontHarness(t, "caddy-app", addr)
	who := startWhoami(t, h.url, "caddy-app")
	startCaddy(t, caddy, h, addr, who)

	testFrontProxy(t, h, &frontProxy{name: "caddy", url: "http://" + addr, service: "caddy-app", who: who})
}

// startCaddy runs Caddy (the binary found by lookProxy) with
// examples/caddy/Caddyfile on addr, in front of who, asking the gateway
// of h.
func startCaddy(t *testing.T, caddy string, h *harness, addr string, who *whoamiProc) {
	t.Helper()
	dir := t.TempDir()
	gateway := strings.TrimPrefix(h.url, "http://")
	site := fillExample(t, "examples/caddy/Caddyfile", map[string]string{
		"APP_ORIGIN":   "http://" + addr,
		"APP_HOST":     addr,
		"GATEWAY":      gateway,
		"APP_UPSTREAM": who.addr,
	})
	// The test's own global options: no admin endpoint, no certificates,
	// state in the test's directory.
	global := fmt.Sprintf("{\n\tadmin off\n\tauto_https off\n\tdefault_bind 127.0.0.1\n\tstorage file_system %s\n}\n\n", filepath.Join(dir, "data"))
	writeConfigFile(t, filepath.Join(dir, "Caddyfile"), global+site)
	cmd := exec.Command(caddy, "run", "--config", filepath.Join(dir, "Caddyfile"), "--adapter", "caddyfile")
	cmd.Env = append(os.Environ(),
		"HOME="+dir,
		"XDG_CONFIG_HOME="+filepath.Join(dir, "config"),
		"XDG_DATA_HOME="+filepath.Join(dir, "data"),
	)
	p := startChildProc(t, "caddy", cmd)
	p.waitListening(t, addr)
}

// frontProxy is a fronting proxy under test.
type frontProxy struct {
	name    string
	url     string // the service's origin: where the proxy listens
	service string // the service's id, the assertion's audience
	who     *whoamiProc
	n       atomic.Int64
}

// path returns a path no earlier request used, so whoami's log tells
// whether a request for it got through.
func (fp *frontProxy) path(what string) string {
	return fmt.Sprintf("/%s/%d", what, fp.n.Add(1))
}

// testFrontProxy runs the same checks against every fronting proxy.
func testFrontProxy(t *testing.T, h *harness, fp *frontProxy) {
	h.addUser(frontStaffEmail, frontStaffName, frontStaffPW, frontStaffGroups...)
	h.addUser(frontSalesEmail, "佐藤 花子", frontSalesPW, "sales")
	// whoami checks the assertion against the real time.
	syncClockToNow(h)

	staff := h.browser()
	// Cookies of the app's own, on either side of the gateway's, which
	// the proxy must not pass on.
	origin, _ := url.Parse(fp.url)
	staff.jar.SetCookies(origin, []*http.Cookie{{Name: "app_first", Value: "1", Path: "/"}})

	t.Run("signed out browser is sent to the login page", func(t *testing.T) {
		target := fp.url + fp.path("report") + "?q=1"
		p := fp.get(t, staff, target, "text/html,application/xhtml+xml", nil)
		expectRedirect(t, p, h.url+"/login?return_to="+url.QueryEscape(target))
		fp.who.expectNotReached(t, p)

		// The login page takes the person back to the app behind the proxy.
		expectStatus(t, staff.do(newRequest(t, "GET", p.Header.Get("Location"))), http.StatusOK)
		expectRedirect(t, staff.login(frontStaffEmail, frontStaffPW, target), target)
	})

	t.Run("signed out API call and POST are refused", func(t *testing.T) {
		anon := h.browser()
		for _, method := range []string{"GET", "POST"} {
			req := newRequest(t, method, fp.url+fp.path("api"))
			req.Header.Set("Accept", "application/json")
			p := anon.do(req)
			// nginx turns the gateway's 401 into the redirect; Caddy passes
			// the 401 on, with the login URL in Location either way.
			if p.StatusCode != http.StatusFound && p.StatusCode != http.StatusUnauthorized {
				t.Fatalf("%s: status %d, want 302 or 401\n%s", method, p.StatusCode, snippet(p.body))
			}
			if loc := p.Header.Get("Location"); !strings.HasPrefix(loc, h.url+"/login?return_to=") {
				t.Fatalf("%s: Location %q, want the gateway's login page", method, loc)
			}
			fp.who.expectNotReached(t, p)
		}
	})

	t.Run("signed in reaches the app with the identity", func(t *testing.T) {
		syncClockToNow(h)
		staff.get("/login") // for a CSRF token
		expectRedirect(t, staff.post("/lang", url.Values{"lang": {"ja"}, "return_to": {"/"}}), "/")
		staff.jar.SetCookies(origin, []*http.Cookie{{Name: "app_pref", Value: "dark", Path: "/"}})
		target := fp.url + fp.path("report") + "?q=1"
		rep := fp.getJSON(t, staff, target, nil)
		if !strings.HasPrefix(target, fp.url+rep.Path) {
			t.Errorf("whoami saw path %q for %s", rep.Path, target)
		}
		expectIdentity(t, h, fp, rep)
		// The app gets its own cookies, and not the gateway's (session,
		// CSRF, language).
		var sent []string
		for _, c := range staff.jar.Cookies(origin) {
			sent = append(sent, c.Name)
		}
		for _, name := range []string{h.app.cfg.Session.CookieName, "ssogate_csrf", "ssogate_lang"} {
			if !slices.Contains(sent, name) {
				t.Fatalf("the browser has no cookie %s for the app's origin (has %q): the test proves nothing", name, sent)
			}
		}
		if got := rep.Headers["Cookie"]; !slices.Equal(got, []string{"app_first=1; app_pref=dark"}) {
			t.Errorf("the app got Cookie %q, want only its own: %q", got, "app_first=1; app_pref=dark")
		}

		// A browser navigating gets the app's page.
		p := fp.get(t, staff, fp.url+fp.path("page"), "text/html,application/xhtml+xml", nil)
		expectStatus(t, p, http.StatusOK)
		if ct := p.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") || !strings.Contains(p.body, frontStaffEmail) {
			t.Fatalf("page: Content-Type %q, body lacks the user\n%s", ct, snippet(p.body))
		}
	})

	// Every header of the stripped list (docs/headers.md) in every
	// spelling, besides our own identity headers in the spellings below.
	forged := forgedStrippedHeaders(nil, "Remote-Groups", "Remote-Email", "Remote-Name", "X-Remote-User",
		"X-Remote-Group", "X-Auth-Request-User", "X-Auth-Request-Groups", "X-Authentik-Groups", "X-Webauth-User",
		"X-Forwarded-For", "X-Forwarded-Host")
	for k, v := range map[string][]string{
		"X-Forwarded-User":    {"mallory@example.co.jp"},
		"x-forwarded-user":    {"mallory-lower@example.co.jp"},
		"X_Forwarded_User":    {"mallory-underscore@example.co.jp"},
		"X-Forwarded_User":    {"mallory-mixed@example.co.jp"},
		"Remote-User":         {"mallory-remote@example.co.jp"},
		"remote_user":         {"mallory-remote-underscore@example.co.jp"},
		"X-Forwarded-Email":   {"mallory-email@example.co.jp"},
		"X-Forwarded-Groups":  {"admins"},
		"X_Forwarded_Groups":  {"admins-underscore"},
		"X-Forwarded-Name":    {"mallory%20forged"},
		"X-Ssogate-Assertion": {"forged.assertion.value"},
		"X_Ssogate_Assertion": {"forged.assertion.underscore"},
		"Remote-Groups":       {"admins"},
	} {
		forged[k] = v
	}

	t.Run("forged identity headers are replaced", func(t *testing.T) {
		syncClockToNow(h)
		rep := fp.getJSON(t, staff, fp.url+fp.path("spoof"), forged)
		expectIdentity(t, h, fp, rep)
		for name, values := range rep.Headers {
			if strings.Contains(name, "_") {
				t.Errorf("a header with an underscore reached the app: %s: %q", name, values)
			}
			for _, v := range values {
				if strings.Contains(v, "mallory") || strings.Contains(v, "forged") || strings.Contains(v, "admins") || strings.Contains(v, "10.9.8.7") {
					t.Errorf("a forged value reached the app: %s: %q", name, v)
				}
			}
		}
		// The proxy's own view replaces the client's address and host.
		origin, _ := url.Parse(fp.url)
		for name, want := range map[string]string{"X-Real-Ip": "127.0.0.1", "X-Forwarded-For": "127.0.0.1", "X-Forwarded-Host": origin.Host} {
			if got := rep.Headers[name]; !slices.Equal(got, []string{want}) {
				t.Errorf("%s = %q, want %q", name, got, want)
			}
		}
	})

	t.Run("signed out with forged identity headers is refused", func(t *testing.T) {
		for _, accept := range []string{"text/html", "application/json"} {
			p := fp.get(t, h.browser(), fp.url+fp.path("spoof"), accept, forged)
			if p.StatusCode != http.StatusFound && p.StatusCode != http.StatusUnauthorized {
				t.Fatalf("Accept %s: status %d, want 302 or 401\n%s", accept, p.StatusCode, snippet(p.body))
			}
			fp.who.expectNotReached(t, p)
		}
	})

	t.Run("user outside the allowed groups is forbidden", func(t *testing.T) {
		sales := h.browser()
		expectRedirect(t, sales.login(frontSalesEmail, frontSalesPW, ""), "/")
		p := fp.get(t, sales, fp.url+fp.path("report"), "text/html", nil)
		expectStatus(t, p, http.StatusForbidden)
		fp.who.expectNotReached(t, p)

		// Nor can the request be made to look like one for a service the
		// user may use: the proxy, not the client, says what is asked for.
		open, _ := url.Parse(frontOpenService)
		tricks := map[string]func(*http.Request){
			"Host header": func(r *http.Request) { r.Host = open.Host },
			"X-Original-URL": func(r *http.Request) {
				r.Header.Set("X-Original-URL", frontOpenService)
				r.Header.Set("X-Original-Method", "GET")
			},
			"X-Forwarded-Host and -Uri": func(r *http.Request) {
				r.Header.Set("X-Forwarded-Proto", "http")
				r.Header.Set("X-Forwarded-Host", open.Host)
				r.Header.Set("X-Forwarded-Uri", "/")
			},
		}
		for name, trick := range tricks {
			req := newRequest(t, "GET", fp.url+fp.path("trick"))
			req.Header.Set("Accept", "application/json")
			trick(req)
			p := sales.do(req)
			if p.StatusCode == http.StatusOK {
				t.Errorf("%s: status 200, want a refusal\n%s", name, snippet(p.body))
			}
			fp.who.expectNotReached(t, p)
		}
	})

	t.Run("stale sign-in asks to sign in again", func(t *testing.T) {
		// The service demands a sign-in of at most 10 minutes (idle
		// timeout is 30).
		h.clock.Advance(11 * time.Minute)
		target := fp.url + fp.path("report")
		p := fp.get(t, staff, target, "text/html", nil)
		expectRedirect(t, p, h.url+"/login?reauth=1&return_to="+url.QueryEscape(target))
		fp.who.expectNotReached(t, p)
	})
}

// nginxHeadersMore finds the headers-more module the nginx snippet needs
// (Debian's libnginx-mod-http-headers-more-filter). Without it the test is
// skipped, unless SSOGATE_REQUIRE_BROWSER is set, as with lookProxy.
func nginxHeadersMore(t *testing.T) string {
	t.Helper()
	const mod = "/usr/lib/nginx/modules/ngx_http_headers_more_filter_module.so"
	if _, err := os.Stat(mod); err == nil {
		return mod
	}
	if os.Getenv("SSOGATE_REQUIRE_BROWSER") != "" {
		t.Fatalf("%s not found but SSOGATE_REQUIRE_BROWSER is set; run scripts/test-deps.sh", mod)
	}
	t.Skipf("%s not installed (make test installs it)", mod)
	return ""
}

// newFrontHarness starts a gateway whose services include one behind a
// fronting proxy at addr: forward auth only (no upstream), for staff,
// asking for a sign-in of at most 10 minutes.
func newFrontHarness(t *testing.T, id, addr string) *harness {
	t.Helper()
	return newHarness(t, withServices(fmt.Sprintf(`
  - id: %s
    name: 経理システム
    icon: money
    url: http://%s/
    allowed_groups: [staff]
    session_timeout: 10m
`, id, addr)))
}

// syncClockToNow moves the gateway's clock to the real time: the app
// checks the gateway's assertions against its own clock.
func syncClockToNow(h *harness) {
	if d := time.Since(h.clock.Now()); d > 0 {
		h.clock.Advance(d)
	}
}

// whoamiReport is the JSON whoami answers with.
type whoamiReport struct {
	Method    string              `json:"method"`
	Path      string              `json:"path"`
	Host      string              `json:"host"`
	Headers   map[string][]string `json:"headers"`
	User      string              `json:"user"`
	Email     string              `json:"email"`
	Name      string              `json:"name"`
	Groups    []string            `json:"groups"`
	Assertion struct {
		Present bool           `json:"present"`
		Valid   bool           `json:"valid"`
		Reason  string         `json:"reason"`
		Detail  string         `json:"detail"`
		Claims  map[string]any `json:"claims"`
	} `json:"assertion"`
}

// expectIdentity checks that the app received the staff user's identity,
// each header once, and a valid assertion for its service.
func expectIdentity(t *testing.T, h *harness, fp *frontProxy, rep *whoamiReport) {
	t.Helper()
	if rep.User != frontStaffEmail || rep.Email != frontStaffEmail || rep.Name != frontStaffName || !slices.Equal(rep.Groups, frontStaffGroups) {
		t.Errorf("whoami saw user %q, email %q, name %q, groups %q; want %q, %q, %q, %q",
			rep.User, rep.Email, rep.Name, rep.Groups, frontStaffEmail, frontStaffEmail, frontStaffName, frontStaffGroups)
	}
	want := map[string]string{
		"X-Forwarded-User":   frontStaffEmail,
		"Remote-User":        frontStaffEmail,
		"X-Forwarded-Email":  frontStaffEmail,
		"X-Forwarded-Groups": "staff,%E7%B5%8C%E7%90%86",
		"X-Forwarded-Name":   "%E5%B1%B1%E7%94%B0%20%E5%A4%AA%E9%83%8E",
	}
	for name, v := range want {
		if got := rep.Headers[name]; !slices.Equal(got, []string{v}) {
			t.Errorf("%s = %q, want exactly %q", name, got, v)
		}
	}
	if got := rep.Headers["X-Ssogate-Assertion"]; len(got) != 1 {
		t.Errorf("X-Ssogate-Assertion = %q, want one", got)
	}
	a := rep.Assertion
	if !a.Present || !a.Valid {
		t.Fatalf("assertion present %v valid %v: %s %s", a.Present, a.Valid, a.Reason, a.Detail)
	}
	aud := fmt.Sprint(a.Claims["aud"])
	if aud != fp.service && aud != "["+fp.service+"]" {
		t.Errorf("assertion aud = %s, want %s", aud, fp.service)
	}
	if a.Claims["iss"] != h.url || a.Claims["email"] != frontStaffEmail || a.Claims["name"] != frontStaffName {
		t.Errorf("assertion claims = %v", a.Claims)
	}
}

// get asks the proxy for rawURL as browser b, with Accept and the given
// extra headers, sent exactly as spelled.
func (fp *frontProxy) get(t *testing.T, b *browser, rawURL, accept string, hdr map[string][]string) *page {
	t.Helper()
	req := newRequest(t, "GET", rawURL)
	req.Header.Set("Accept", accept)
	for k, v := range hdr {
		req.Header[k] = v
	}
	return b.do(req)
}

// getJSON asks the proxy for rawURL and decodes whoami's answer.
func (fp *frontProxy) getJSON(t *testing.T, b *browser, rawURL string, hdr map[string][]string) *whoamiReport {
	t.Helper()
	p := fp.get(t, b, rawURL, "application/json", hdr)
	expectStatus(t, p, http.StatusOK)
	var rep whoamiReport
	if err := json.Unmarshal([]byte(p.body), &rep); err != nil {
		t.Fatalf("GET %s through %s: not whoami's JSON: %v\n%s", rawURL, fp.name, err, snippet(p.body))
	}
	return &rep
}

func newRequest(t *testing.T, method, rawURL string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// lookProxy finds a fronting proxy's binary. Without it the test is
// skipped — unless SSOGATE_REQUIRE_BROWSER is set, as `make test` does
// after installing it, so CI can never pass by skipping.
func lookProxy(t *testing.T, name string) string {
	t.Helper()
	if path, err := exec.LookPath(name); err == nil {
		return path
	}
	// Debian installs nginx in /usr/sbin, which is not on a user's PATH.
	for _, dir := range []string{"/usr/sbin", "/usr/local/sbin"} {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	if os.Getenv("SSOGATE_REQUIRE_BROWSER") != "" {
		t.Fatalf("%s not found but SSOGATE_REQUIRE_BROWSER is set; run scripts/test-deps.sh", name)
	}
	t.Skipf("%s not installed (make test installs it)", name)
	return ""
}

// freeLoopbackAddr returns a loopback address nothing listens on. The
// probe listener is closed before it returns, so a child process can bind
// the port; another process could take it in between, which a short test
// accepts.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// moduleRoot is the module's root directory; tests run in cmd/ssogate.
func moduleRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// fillExample reads a committed example and replaces its placeholders,
// failing if one of them is no longer in the file (the test would then
// no longer test the example).
func fillExample(t *testing.T, rel string, values map[string]string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(moduleRoot(t), rel))
	if err != nil {
		t.Fatal(err)
	}
	var pairs []string
	for k, v := range values {
		if !strings.Contains(string(b), k) {
			t.Fatalf("%s has no placeholder %s", rel, k)
		}
		pairs = append(pairs, k, v)
	}
	return strings.NewReplacer(pairs...).Replace(string(b))
}

func writeConfigFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// childProc is a process a test started, with its output kept for when
// the test fails.
type childProc struct {
	name string
	cmd  *exec.Cmd
	out  *testpeers.SyncBuffer
	done chan struct{}
	err  error
}

// startChildProc starts cmd and ends it (by its pid) when the test ends.
func startChildProc(t *testing.T, name string, cmd *exec.Cmd) *childProc {
	t.Helper()
	c := &childProc{name: name, cmd: cmd, out: &testpeers.SyncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = c.out, c.out
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		c.err = cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-c.done
		if t.Failed() {
			t.Logf("%s output:\n%s", name, c.out)
		}
	})
	return c
}

// waitListening waits until addr accepts connections; it fails the test
// when the process ends first or takes longer than 30 seconds.
func (c *childProc) waitListening(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-c.done:
			t.Fatalf("%s exited before listening on %s: %v", c.name, addr, c.err)
		default:
		}
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s is not listening on %s after 30s", c.name, addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// whoamiProc is examples/whoami running as a child process.
type whoamiProc struct {
	addr string
	proc *childProc
	n    atomic.Int64
}

// startWhoami builds examples/whoami and runs it on a free loopback
// port, checking assertions for audience against the gateway at issuer.
func startWhoami(t *testing.T, issuer, audience string) *whoamiProc {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "whoami")
	build := exec.Command("go", "build", "-o", bin, "./examples/whoami")
	build.Dir = moduleRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build whoami: %v\n%s", err, out)
	}
	w := &whoamiProc{addr: freeLoopbackAddr(t)}
	w.proc = startChildProc(t, "whoami", exec.Command(bin, "-listen", w.addr, "-issuer", issuer, "-audience", audience))
	w.proc.waitListening(t, w.addr)
	return w
}

// reached reports whether whoami received a request for path. It first
// makes a request of its own and waits for its log line, so that every
// earlier request has been logged.
func (w *whoamiProc) reached(t *testing.T, path string) bool {
	t.Helper()
	marker := fmt.Sprintf("/sync/%d", w.n.Add(1))
	resp, err := http.Get("http://" + w.addr + marker)
	if err != nil {
		t.Fatalf("whoami: %v", err)
	}
	resp.Body.Close()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(w.proc.out.String(), "path="+marker+" ") {
		if time.Now().After(deadline) {
			t.Fatalf("whoami did not log %s\n%s", marker, w.proc.out)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return strings.Contains(w.proc.out.String(), "path="+path+" ")
}

// expectNotReached fails the test if the request behind p got to whoami.
func (w *whoamiProc) expectNotReached(t *testing.T, p *page) {
	t.Helper()
	if w.reached(t, p.Request.URL.Path) {
		t.Fatalf("%s %s (status %d) reached the app", p.Request.Method, p.Request.URL, p.StatusCode)
	}
}

// traefikSetsItself are the stripped headers Traefik's entry point removes
// from an untrusted client and sets from its own view (X-Real-Ip,
// X-Forwarded-Port, -Server): clearing them in the snippet would remove
// Traefik's values.
var traefikSetsItself = []string{"X-Real-Ip", "X-Forwarded-Port", "X-Forwarded-Server"}

// TestSnippetsClearEveryStrippedHeader checks that each fronting-proxy
// snippet clears every entry of the stripped-header list
// (gateway.StrippedHeaders, docs/headers.md), so the list and the
// snippets cannot drift apart. The nginx and Caddy tests above show that
// what a snippet clears does not reach the app.
func TestSnippetsClearEveryStrippedHeader(t *testing.T) {
	read := func(rel string) string {
		b, err := os.ReadFile(filepath.Join(moduleRoot(t), rel))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	// nginx: the arguments of more_clear_input_headers (headers-more
	// matches any letter case).
	nginx := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?s)more_clear_input_headers(.*?);`).FindAllStringSubmatch(read("examples/nginx/ssogate.conf"), -1) {
		for _, arg := range regexp.MustCompile(`'([^']+)'`).FindAllStringSubmatch(m[1], -1) {
			nginx[strings.ToLower(arg[1])] = true
		}
	}
	// Caddy: request_header -NAME. A prefix matches the canonical spelling
	// of a header name only (Caddy compares with Go's canonical keys), so
	// the spelling must be exact.
	caddy := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\s*request_header -(\S+)\s*$`).FindAllStringSubmatch(read("examples/caddy/Caddyfile"), -1) {
		caddy[m[1]] = true
	}
	// Traefik: customRequestHeaders NAME: "" removes one exact name; a
	// prefix is a comment followed by the names it is known to send.
	traefikSrc := read("examples/traefik/dynamic.yml")
	traefik := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\s+([A-Za-z0-9_-]+): ""\s*$`).FindAllStringSubmatch(traefikSrc, -1) {
		traefik[strings.ToLower(m[1])] = true
	}

	for _, e := range gateway.StrippedHeaders() {
		stem, prefix := e.Prefix()
		if !nginx[strings.ToLower(e.Name)] {
			t.Errorf("examples/nginx/ssogate.conf does not clear %s (more_clear_input_headers '%s')", e.Name, e.Name)
		}
		if !caddy[e.Name] {
			t.Errorf("examples/caddy/Caddyfile does not clear %s (request_header -%s)", e.Name, e.Name)
		}
		switch {
		case slices.Contains(traefikSetsItself, e.Name):
		case prefix:
			if !strings.Contains(traefikSrc, "# "+e.Name+" (prefix") {
				t.Errorf("examples/traefik/dynamic.yml does not list the names of prefix %s", e.Name)
			}
			n := 0
			for name := range traefik {
				if strings.HasPrefix(name, strings.ToLower(stem)) {
					n++
				}
			}
			if n == 0 {
				t.Errorf("examples/traefik/dynamic.yml clears no name of prefix %s", e.Name)
			}
		default:
			if !traefik[strings.ToLower(e.Name)] {
				t.Errorf("examples/traefik/dynamic.yml does not clear %s (%s: \"\")", e.Name, e.Name)
			}
		}
	}
}
