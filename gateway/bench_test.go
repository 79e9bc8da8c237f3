package gateway

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/ssogate/ssogate/config"
	"github.com/ssogate/ssogate/portal"
	"github.com/ssogate/ssogate/providers"
	"github.com/ssogate/ssogate/store"
	"github.com/ssogate/ssogate/store/sqlite"
)

// benchGateway is a gateway on a real SQLite store with one signed-in
// session, for measuring the hot path without a network in between.
func benchGateway(b *testing.B, upstream string) (*Gateway, *http.Cookie) {
	return newBenchGateway(b, upstream, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
}

// newBenchGateway is benchGateway logging to log and access.
func newBenchGateway(b testing.TB, upstream string, log *slog.Logger, access *AccessLog) (*Gateway, *http.Cookie) {
	b.Helper()
	ctx := context.Background()
	dir := b.TempDir()
	yaml := `
server:
  listen: 127.0.0.1:18080
  public_url: http://127.0.0.1:18080
store:
  dsn: ` + filepath.Join(dir, "db") + `
services:
  - id: fwd
    name: Forward
    url: http://fwd.example.test/
  - id: app
    name: App
    url: http://127.0.0.1:18080/app/
    upstream: ` + upstream + `
`
	cfg, err := config.Parse(filepath.Join(dir, "ssogate.yaml"), []byte(yaml))
	if err != nil {
		b.Fatal(err)
	}
	st, err := sqlite.Open(ctx, cfg.Store.DSN)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	r, err := portal.New(portal.Options{})
	if err != nil {
		b.Fatal(err)
	}
	g, err := New(ctx, Options{Config: cfg, Store: st, Providers: providers.NewRegistry(), Renderer: r,
		Logger: log, AccessLog: access})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { g.Close() })
	u := &store.User{Email: "alice@example.co.jp", DisplayName: "山田 太郎", Groups: []string{"staff", "経理"},
		Role: store.RoleUser, Status: store.StatusActive}
	if err := st.CreateUser(ctx, u); err != nil {
		b.Fatal(err)
	}
	w := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/login", nil)
	if _, err := g.sessions.Create(ctx, w, req, u, []string{"pwd"}, "127.0.0.1", ""); err != nil {
		b.Fatal(err)
	}
	for _, c := range w.Result().Cookies() {
		if c.Name == cfg.Session.CookieName {
			return g, c
		}
	}
	b.Fatal("no session cookie")
	return nil, nil
}

// BenchmarkBareHandler is the yardstick: a handler that answers 200.
func BenchmarkBareHandler(b *testing.B) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) })
	req := httptest.NewRequest("GET", "/", nil)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
	}
}

// BenchmarkForwardAuth is a whole /auth request through the gateway's
// handler: request id, client IP, routing, session lookup, authorization
// and the cached identity headers.
func BenchmarkForwardAuth(b *testing.B) {
	g, cookie := benchGateway(b, "http://127.0.0.1:1")
	h := g.Handler()
	req := httptest.NewRequest("GET", "/auth", nil)
	req.Header.Set("X-Forwarded-Host", "fwd.example.test")
	req.Header.Set("X-Forwarded-Uri", "/page")
	req.AddCookie(cookie)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatalf("status %d", w.Code)
		}
	}
}

// BenchmarkSessionAndHandoff is the core of the hot path: resolve the
// session from its cookie and fetch the service's identity headers.
func BenchmarkSessionAndHandoff(b *testing.B) {
	g, cookie := benchGateway(b, "http://127.0.0.1:1")
	req := httptest.NewRequest("GET", "/auth", nil)
	req.AddCookie(cookie)
	svc := g.router.match("fwd.example.test", "/")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		sess, user, err := g.sessions.Resolve(ctx, req)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := g.handoffFor(sess, user, svc); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStripIdentityHeaders removes client-sent identity headers from
// a typical browser request with two forged ones.
func BenchmarkStripIdentityHeaders(b *testing.B) {
	set := newHeaderSet(append(strippedHeaderNames(), "X-Auth-User"))
	base := http.Header{
		"Accept": {"text/html"}, "Accept-Encoding": {"gzip"}, "Accept-Language": {"ja,en;q=0.8"},
		"User-Agent": {"Mozilla/5.0"}, "Cookie": {"a=b"}, "Referer": {"http://x/"},
		"Sec-Fetch-Site": {"same-origin"}, "Sec-Fetch-Mode": {"navigate"},
	}
	b.ReportAllocs()
	for b.Loop() {
		h := base.Clone()
		h["X_forwarded_user"] = []string{"mallory"}
		h["Remote-User"] = []string{"mallory"}
		set.strip(h)
		if len(h) != len(base) {
			b.Fatal("not stripped")
		}
	}
}

// BenchmarkReverseProxy is a proxied request to a loopback upstream,
// against a bare httputil.ReverseProxy to the same upstream in the same
// run (sub-benchmarks bare and ssogate).
func BenchmarkReverseProxy(b *testing.B) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}))
	defer up.Close()
	target, _ := url.Parse(up.URL)
	g, cookie := benchGateway(b, up.URL)
	gw := httptest.NewServer(g.Handler())
	defer gw.Close()
	bare := httptest.NewServer(newBareProxy(target))
	defer bare.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 10 * time.Second}
	run := func(b *testing.B, u string, withCookie bool) {
		b.ReportAllocs()
		for b.Loop() {
			req, _ := http.NewRequest("GET", u, nil)
			if withCookie {
				req.AddCookie(cookie)
				req.Host = "127.0.0.1:18080" // the service's URL routes by this host
			}
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Fatalf("status %d", resp.StatusCode)
			}
		}
	}
	b.Run("bare", func(b *testing.B) { run(b, bare.URL+"/app/x", false) })
	b.Run("ssogate", func(b *testing.B) { run(b, gw.URL+"/app/x", true) })
}

// BenchmarkStripNothingToStrip is the common case: a browser request with
// no header to remove. It must not allocate.
func BenchmarkStripNothingToStrip(b *testing.B) {
	set := newHeaderSet(append(strippedHeaderNames(), "X-Auth-User"))
	h := http.Header{
		"Accept": {"text/html"}, "Accept-Encoding": {"gzip"}, "Accept-Language": {"ja,en;q=0.8"},
		"User-Agent": {"Mozilla/5.0"}, "Cookie": {"a=b"}, "Referer": {"http://x/"},
		"Sec-Fetch-Site": {"same-origin"}, "Sec-Fetch-Mode": {"navigate"}, "X-Requested-With": {"XMLHttpRequest"},
		"X-Forwarded-For": {"192.0.2.1"}, "If-None-Match": {`"abc"`}, "Cache-Control": {"no-cache"},
	}
	n := len(h)
	b.ReportAllocs()
	for b.Loop() {
		set.strip(h)
	}
	if len(h) != n {
		b.Fatal("a header that is not an identity header was removed")
	}
}
