package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ssogate/ssogate/config"
	"github.com/ssogate/ssogate/store"
)

// BenchmarkFailedSignIn measures one wrong password for an existing local
// account through the whole handler (form, CSRF, hashing at the cheapest
// cost the configuration allows, audit, page), on a real SQLite file: what
// lockout and the throttle add shows as the difference to a run on the code
// before them. The throttle's limit is raised so that every try reaches the
// password check.
func BenchmarkFailedSignIn(b *testing.B) {
	h, email, cookies, csrf := signInBench(b, "policy:\n  throttle:\n    max_failures: 1000000\n")
	body := url.Values{"csrf_token": {csrf}, "email": {email}, "password": {"wrong-password-1"}}.Encode()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if code := postLogin(h, body, cookies).Code; code != http.StatusUnauthorized {
			b.Fatalf("status %d, want 401", code)
		}
	}
}

// BenchmarkSignIn measures one successful password sign-in through the
// whole handler (form, CSRF, hashing at the cheapest cost, the 2-step
// decision with the default policy — not required, nothing enrolled —,
// the session, audit, redirect), on a real SQLite file: what 2-step
// verification adds to a sign-in that is not asked shows as the
// difference to a run on the code before it.
func BenchmarkSignIn(b *testing.B) {
	h, email, cookies, csrf := signInBench(b, "")
	body := url.Values{"csrf_token": {csrf}, "email": {email}, "password": {"Correct-Horse-9"}}.Encode()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if w := postLogin(h, body, cookies); w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/" {
			b.Fatalf("status %d to %q, want 303 to /", w.Code, w.Header().Get("Location"))
		}
	}
}

// signInBench starts a gateway on a real SQLite file with the test
// configuration plus extra YAML, adds a local account with the password
// Correct-Horse-9, and returns the handler, the account's email, and a
// browser's cookies and CSRF token from the login page.
func signInBench(b *testing.B, extra string) (http.Handler, string, []*http.Cookie, string) {
	ctx := context.Background()
	dir := b.TempDir()
	yaml := strings.NewReplacer("%LISTEN%", "127.0.0.1:18081", "%PUBLIC%", "http://127.0.0.1:18081",
		"%DSN%", filepath.Join(dir, "ssogate.db")).Replace(testConfig) + extra
	path := filepath.Join(dir, "ssogate.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		b.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		b.Fatal(err)
	}
	a, err := newAppWith(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.Close() })
	u := &store.User{Email: "bench@example.co.jp", DisplayName: "Bench", Role: store.RoleUser, Status: store.StatusActive}
	if err := a.store.CreateUser(ctx, u); err != nil {
		b.Fatal(err)
	}
	hash, err := a.local.Hash(ctx, "Correct-Horse-9")
	if err != nil {
		b.Fatal(err)
	}
	if err := a.store.SetPasswordHash(ctx, u.ID, hash); err != nil {
		b.Fatal(err)
	}
	h := a.Handler()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "http://127.0.0.1:18081/login", nil))
	m := csrfRe.FindStringSubmatch(w.Body.String())
	if m == nil {
		b.Fatal("no csrf token on the login page")
	}
	return h, u.Email, w.Result().Cookies(), m[1]
}

// postLogin posts body to /login with cookies, as a same-origin form.
func postLogin(h http.Handler, body string, cookies []*http.Cookie) *httptest.ResponseRecorder {
	req := httptest.NewRequest("POST", "http://127.0.0.1:18081/login", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "http://127.0.0.1:18081")
	for _, c := range cookies {
		req.AddCookie(c)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}
