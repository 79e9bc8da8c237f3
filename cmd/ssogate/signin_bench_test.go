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
	ctx := context.Background()
	dir := b.TempDir()
	yaml := strings.NewReplacer("%LISTEN%", "127.0.0.1:18081", "%PUBLIC%", "http://127.0.0.1:18081",
		"%DSN%", filepath.Join(dir, "ssogate.db")).Replace(testConfig) +
		"policy:\n  throttle:\n    max_failures: 1000000\n"
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
	cookies := w.Result().Cookies()
	body := url.Values{"csrf_token": {m[1]}, "email": {u.Email}, "password": {"wrong-password-1"}}.Encode()

	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequest("POST", "http://127.0.0.1:18081/login", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "http://127.0.0.1:18081")
		for _, c := range cookies {
			req.AddCookie(c)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusUnauthorized {
			b.Fatalf("status %d, want 401", w.Code)
		}
	}
}
