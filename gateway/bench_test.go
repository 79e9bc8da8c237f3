package gateway

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"runtime"
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
	return benchGatewayWith(b, upstream, "", log, access)
}

// benchGatewayWith is newBenchGateway with more configuration.
func benchGatewayWith(b testing.TB, upstream, extra string, log *slog.Logger, access *AccessLog) (*Gateway, *http.Cookie) {
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
` + extra
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

// rotatingSessions signs the bench gateway's user in n times and returns
// one Cookie header value per session, as wrk's rotating script sends.
func rotatingSessions(tb testing.TB, g *Gateway, n int) []string {
	tb.Helper()
	ctx := context.Background()
	u, err := g.store.GetUserByEmail(ctx, "alice@example.co.jp")
	if err != nil {
		tb.Fatal(err)
	}
	cookies := make([]string, n)
	for i := range cookies {
		w := httptest.NewRecorder()
		if _, err := g.sessions.Create(ctx, w, httptest.NewRequest("POST", "/login", nil), u, []string{"pwd"}, "127.0.0.1", ""); err != nil {
			tb.Fatal(err)
		}
		for _, c := range w.Result().Cookies() {
			if c.Name == g.cfg.Session.CookieName {
				cookies[i] = c.Name + "=" + c.Value
			}
		}
	}
	return cookies
}

// BenchmarkForwardAuthRotating is /auth with one session and with 100,000
// sessions taking turns (every request a different cookie, as wrk's
// bench/rotate.lua sends): the second must stay within 20% of the first.
// The session cache keeps its default TTL (5 s); assertions live 10
// minutes, so that signing them (once per (session, service) and half
// assertion TTL, whatever the rate) falls in the warm-up round rather
// than in the measurement.
func BenchmarkForwardAuthRotating(b *testing.B) {
	for _, n := range []int{1, 100_000} {
		b.Run(fmt.Sprintf("sessions=%d", n), func(b *testing.B) {
			g, _ := benchGatewayWith(b, "http://127.0.0.1:1", "assertion:\n  ttl: 10m\n", slog.New(slog.DiscardHandler), nil)
			cookies := rotatingSessions(b, g, n)
			h := g.Handler()
			reqs := make([]*http.Request, n)
			for i, c := range cookies {
				req := httptest.NewRequest("GET", "/auth", nil)
				req.Header.Set("X-Forwarded-Host", "fwd.example.test")
				req.Header.Set("X-Forwarded-Uri", "/page")
				req.Header.Set("Cookie", c)
				reqs[i] = req
			}
			// One round first, so that both measure a warm cache.
			for _, req := range reqs {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != 200 {
					b.Fatalf("status %d", w.Code)
				}
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, reqs[i])
				if w.Code != 200 {
					b.Fatalf("status %d", w.Code)
				}
				if i++; i == n {
					i = 0
				}
			}
		})
	}
}

// BenchmarkSessionCacheMemory reports the heap that the session and
// hand-off caches hold per cached session, with 100,000 sessions each
// resolved and handed off to one service. Each iteration fills the caches
// anew: run it with -benchtime=1x.
func BenchmarkSessionCacheMemory(b *testing.B) {
	const n = 100_000
	g, _ := benchGateway(b, "http://127.0.0.1:1")
	cookies := rotatingSessions(b, g, n)
	for b.Loop() {
		perSession, _ := cachedBytesPerSession(b, g, cookies)
		b.ReportMetric(perSession, "B/session")
	}
}

// cachedBytesPerSession empties the caches, resolves every cookie (and
// hands each session off to service fwd), and returns the growth of the
// live heap per session and how many sessions the cache then holds.
func cachedBytesPerSession(tb testing.TB, g *Gateway, cookies []string) (float64, int) {
	tb.Helper()
	g.sessions.reset()
	g.handoffs.reset()
	svc := g.router.match("fwd.example.test", "/")
	reqs := cookieRequests(cookies)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	resolveAll(tb, g, reqs, svc)
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(reqs)
	st := g.shared.CacheStats()
	return float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(len(cookies)), st.Sessions
}

// cookieRequests is a GET /auth request carrying each cookie.
func cookieRequests(cookies []string) []*http.Request {
	reqs := make([]*http.Request, len(cookies))
	for i, c := range cookies {
		reqs[i] = httptest.NewRequest("GET", "/auth", nil)
		reqs[i].Header.Set("Cookie", c)
	}
	return reqs
}

// resolveAll resolves every request's session and, when svc is not nil,
// hands it off to svc.
func resolveAll(tb testing.TB, g *Gateway, reqs []*http.Request, svc *service) {
	tb.Helper()
	for _, req := range reqs {
		sess, user, err := g.sessions.Resolve(context.Background(), req)
		if err != nil {
			tb.Fatal(err)
		}
		if svc == nil {
			continue
		}
		if _, err := g.handoffFor(sess, user, svc); err != nil {
			tb.Fatal(err)
		}
	}
}

// TestCacheAllowanceCoversLiveSize: what the soft memory limit allows the
// caches (CacheStats.MemoryAllowance) is at least twice, and at most four
// times, what a cached session and a cached hand-off hold live, measured
// here: 20,000 sessions resolved, then handed to two services.
func TestCacheAllowanceCoversLiveSize(t *testing.T) {
	const n = 20_000
	g, _ := newBenchGateway(t, "http://127.0.0.1:1", slog.New(slog.DiscardHandler), nil)
	cookies := rotatingSessions(t, g, n)
	g.sessions.reset()
	g.handoffs.reset()
	fwd, app := g.router.match("fwd.example.test", "/"), g.router.match("127.0.0.1:18080", "/app/x")
	reqs := cookieRequests(cookies)
	live := func() int64 {
		var m runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m)
		return int64(m.HeapAlloc)
	}
	h0 := live()
	resolveAll(t, g, reqs, nil)
	h1 := live()
	resolveAll(t, g, reqs, fwd)
	resolveAll(t, g, reqs, app)
	h2 := live()
	runtime.KeepAlive(reqs)
	st := g.shared.CacheStats()
	if st.Sessions != n || st.Handoffs != 2*n {
		t.Fatalf("caches hold %d sessions and %d hand-offs, want %d and %d", st.Sessions, st.Handoffs, n, 2*n)
	}
	session, handoff := (h1-h0)/n, (h2-h1)/(2*n)
	t.Logf("live: %d B a session, %d B a hand-off; allowed %d and %d", session, handoff, cachedSessionAllowance, cachedHandoffAllowance)
	for _, c := range []struct {
		what            string
		live, allowance int64
	}{{"session", session, cachedSessionAllowance}, {"hand-off", handoff, cachedHandoffAllowance}} {
		if c.allowance < 2*c.live || c.allowance > 4*c.live {
			t.Errorf("a cached %s holds %d B live; its allowance %d B should be 2 to 4 times that", c.what, c.live, c.allowance)
		}
	}
	if got, want := st.MemoryAllowance(), int64(n*cachedSessionAllowance+2*n*cachedHandoffAllowance); got != want {
		t.Errorf("MemoryAllowance = %d, want %d", got, want)
	}
}

// TestProxyReusesCopyBuffers: a proxied request allocates less than one
// response-copy buffer (httputil's is 32 KiB), so the buffers come from
// the pool rather than one new each per request. Allocation, not time: it
// measures the same on a loaded machine.
func TestProxyReusesCopyBuffers(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}))
	defer up.Close()
	g, cookie := newBenchGateway(t, up.URL, slog.New(slog.DiscardHandler), nil)
	h := g.Handler()
	do := func() {
		req := httptest.NewRequest("GET", "http://127.0.0.1:18080/app/x", nil)
		req.AddCookie(cookie)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 || w.Body.String() != "ok" {
			t.Fatalf("proxied request: %d %q", w.Code, w.Body.String())
		}
	}
	for range 20 {
		do()
	}
	const n = 200
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range n {
		do()
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / n; per >= copyBufferSize {
		t.Fatalf("a proxied request allocates %d bytes, at least a whole copy buffer (%d)", per, copyBufferSize)
	} else {
		t.Logf("a proxied request allocates %d bytes", per)
	}
}

// BenchmarkForwardAuthStepUp is /auth for a session whose sign-in used a
// second factor, asking about a service without require_2fa (plain) and
// one with it (require_2fa), in one run: the second must cost the same.
func BenchmarkForwardAuthStepUp(b *testing.B) {
	g, _ := benchGatewayWith(b, "http://127.0.0.1:1", stepUpBenchService, slog.New(slog.DiscardHandler), nil)
	fwd, vault := stepUpBenchRequests(b, g)
	h := g.Handler()
	run := func(b *testing.B, req *http.Request) {
		b.ReportAllocs()
		for b.Loop() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != 200 {
				b.Fatalf("status %d", w.Code)
			}
		}
	}
	b.Run("plain", func(b *testing.B) { run(b, fwd) })
	b.Run("require_2fa", func(b *testing.B) { run(b, vault) })
}
