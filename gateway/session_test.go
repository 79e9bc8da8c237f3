package gateway

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ssogate/ssogate/store"
	"github.com/ssogate/ssogate/store/sqlite"
)

func TestSessionCookieAttributes(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	u := &store.User{Email: "a@example.co.jp", DisplayName: "A", Role: store.RoleUser, Status: store.StatusActive}
	if err := st.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	keys, _, _ := deriveKeys([]byte("0123456789abcdef0123456789abcdef"))
	tests := []struct {
		name, cookie, domain string
		secure               bool
		want, notWant        []string
	}{
		{"https host-only", "__Host-ssogate", "", true, []string{"__Host-ssogate=", "Path=/", "HttpOnly", "Secure", "SameSite=Lax"}, []string{"Domain="}},
		{"https shared domain", "__Secure-ssogate", "example.co.jp", true, []string{"__Secure-ssogate=", "Domain=example.co.jp", "Secure", "HttpOnly"}, nil},
		{"http", "ssogate", "", false, []string{"ssogate=", "HttpOnly", "SameSite=Lax"}, []string{"Secure", "Domain="}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newSessionManager(st, keys, tt.cookie, tt.domain, tt.secure, 30*time.Minute, 12*time.Hour, 5*time.Second, time.Now)
			w := httptest.NewRecorder()
			if _, err := m.Create(ctx, w, httptest.NewRequest("POST", "/login", nil), u, []string{"pwd"}, "127.0.0.1", ""); err != nil {
				t.Fatal(err)
			}
			set := w.Header().Get("Set-Cookie")
			for _, s := range tt.want {
				if !strings.Contains(set, s) {
					t.Errorf("Set-Cookie %q lacks %q", set, s)
				}
			}
			for _, s := range tt.notWant {
				if strings.Contains(set, s) {
					t.Errorf("Set-Cookie %q has %q", set, s)
				}
			}
			// The cookie resolves back to the session, and clearing it
			// names the same domain (or a browser would keep it).
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Cookie", strings.SplitN(set, ";", 2)[0])
			if _, _, err := m.Resolve(ctx, r); err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			w = httptest.NewRecorder()
			m.clearCookie(w)
			if clear := w.Header().Get("Set-Cookie"); tt.domain != "" && !strings.Contains(clear, "Domain="+tt.domain) {
				t.Errorf("clearing cookie %q lacks the domain", clear)
			}
		})
	}
}
