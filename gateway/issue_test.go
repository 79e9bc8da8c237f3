package gateway

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

// A session from IssueSession signs its user in: /auth answers 200 with
// the cookie and refuses a forged one.
func TestIssueSession(t *testing.T) {
	g, _ := newBenchGateway(t, "http://127.0.0.1:1", slog.New(slog.DiscardHandler), nil)
	u, err := g.store.GetUserByEmail(context.Background(), "alice@example.co.jp")
	if err != nil {
		t.Fatal(err)
	}
	hdr, err := g.Shared().IssueSession(context.Background(), u, []string{"pwd"}, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	name, value, ok := strings.Cut(hdr, "=")
	if !ok || name != g.cfg.Session.CookieName || value == "" {
		t.Fatalf("IssueSession = %q, want %s=<value>", hdr, g.cfg.Session.CookieName)
	}
	for _, c := range []struct {
		value string
		want  int
	}{{value, http.StatusOK}, {value[:len(value)-2] + "AA", http.StatusUnauthorized}} {
		req := authRequest(&http.Cookie{Name: name, Value: c.value})
		w := newDiscardWriter()
		g.Handler().ServeHTTP(w, req)
		if w.code != c.want {
			t.Errorf("/auth with cookie …%s: %d, want %d", c.value[len(c.value)-4:], w.code, c.want)
		}
	}
}
