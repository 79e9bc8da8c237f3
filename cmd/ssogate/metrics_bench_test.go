package main

import (
	"context"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ssogate/ssogate/config"
	"github.com/ssogate/ssogate/metrics"
	"github.com/ssogate/ssogate/store"
)

// benchSignedIn serves testConfig (plus a forward-auth service) with m's
// hooks (nil: none), signs a user in over HTTP and returns the gateway's
// handler and the session cookie.
func benchSignedIn(b *testing.B, m *metrics.Metrics) (http.Handler, *http.Cookie) {
	b.Helper()
	ctx := context.Background()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	public := "http://" + ln.Addr().String()
	dir := b.TempDir()
	yaml := strings.NewReplacer("%LISTEN%", ln.Addr().String(), "%PUBLIC%", public, "%DSN%", filepath.Join(dir, "db")).Replace(testConfig) +
		"  - id: fwd\n    name: Forward\n    url: http://fwd.example.test/\n"
	path := filepath.Join(dir, "ssogate.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		b.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		b.Fatal(err)
	}
	a, err := newAppMetered(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), nil, nil, m)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.Close() })
	u := &store.User{Email: "alice@example.co.jp", DisplayName: "山田 太郎", Groups: []string{"staff"}, Role: store.RoleUser, Status: store.StatusActive}
	if err := a.store.CreateUser(ctx, u); err != nil {
		b.Fatal(err)
	}
	hash, err := a.local.Hash(ctx, "Sakura-Passw0rd!")
	if err != nil {
		b.Fatal(err)
	}
	if err := a.store.SetPasswordHash(ctx, u.ID, hash); err != nil {
		b.Fatal(err)
	}
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: a.Handler()}}
	srv.Start()
	defer srv.Close()
	// The harness's browser needs a *testing.T; this is its sign-in by hand.
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(public + "/login")
	if err != nil {
		b.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	token := csrfRe.FindStringSubmatch(string(body))
	if token == nil {
		b.Fatal("no CSRF token on /login")
	}
	form := url.Values{"email": {u.Email}, "password": {"Sakura-Passw0rd!"}, "csrf_token": {html.UnescapeString(token[1])}}
	req, _ := http.NewRequest("POST", public+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", public)
	resp, err = client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		b.Fatalf("sign-in: status %d", resp.StatusCode)
	}
	pu, _ := url.Parse(public)
	var c *http.Cookie
	for _, ck := range jar.Cookies(pu) {
		if ck.Name == cfg.Session.CookieName {
			c = ck
		}
	}
	if c == nil {
		b.Fatal("no session cookie")
	}
	return a.Handler(), c
}

// BenchmarkForwardAuthMetrics is a whole /auth request through the
// gateway's handler, without metrics and with them (the request hook and
// the timed store): the hook must add no allocation.
func BenchmarkForwardAuthMetrics(b *testing.B) {
	for _, tc := range []struct {
		name string
		m    *metrics.Metrics
	}{{"without", nil}, {"with", metrics.New(nil)}} {
		b.Run(tc.name, func(b *testing.B) {
			h, cookie := benchSignedIn(b, tc.m)
			req := httptest.NewRequest("GET", "/auth", nil)
			req.Header.Set("X-Forwarded-Host", "fwd.example.test")
			req.Header.Set("X-Forwarded-Uri", "/page")
			req.AddCookie(cookie)
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d", w.Code)
				}
			}
		})
	}
}
