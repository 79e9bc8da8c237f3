package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

func dialWS(t *testing.T, srv *httptest.Server, header http.Header) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	return websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/ws", &websocket.DialOptions{HTTPHeader: header})
}

func readText(t *testing.T, c *websocket.Conn) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	typ, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if typ != websocket.MessageText {
		t.Fatalf("message type = %v, want text", typ)
	}
	return string(b)
}

func TestWebSocketEcho(t *testing.T) {
	ta := newTestApp(t)
	srv := httptest.NewServer(ta.app.routes())
	t.Cleanup(srv.Close)

	tests := []struct {
		name         string
		user         string
		messages     []string
		wantGreeting string
	}{
		{"greets the forwarded user", "alice@example.co.jp", []string{"hi", "こんにちは", ""}, "hello alice@example.co.jp"},
		{"no user header", "", []string{"ping"}, "hello (no X-Forwarded-User received)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.user != "" {
				h.Set("X-Forwarded-User", tt.user)
			}
			c, _, err := dialWS(t, srv, h)
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			defer c.CloseNow()

			if got := readText(t, c); got != tt.wantGreeting {
				t.Errorf("greeting = %q, want %q", got, tt.wantGreeting)
			}
			for _, m := range tt.messages {
				if err := c.Write(t.Context(), websocket.MessageText, []byte(m)); err != nil {
					t.Fatalf("write: %v", err)
				}
				if got, want := readText(t, c), "echo: "+m; got != want {
					t.Errorf("reply = %q, want %q", got, want)
				}
			}
			if err := c.Close(websocket.StatusNormalClosure, ""); err != nil {
				t.Errorf("close: %v", err)
			}
		})
	}
}

func TestWebSocketBinaryRefused(t *testing.T) {
	ta := newTestApp(t)
	srv := httptest.NewServer(ta.app.routes())
	t.Cleanup(srv.Close)

	c, _, err := dialWS(t, srv, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.CloseNow()
	readText(t, c)
	if err := c.Write(t.Context(), websocket.MessageBinary, []byte{1, 2, 3}); err != nil {
		t.Fatalf("write: %v", err)
	}
	_, _, err = c.Read(t.Context())
	if got := websocket.CloseStatus(err); got != websocket.StatusUnsupportedData {
		t.Errorf("close status = %v (%v), want %v", got, err, websocket.StatusUnsupportedData)
	}
}

func TestWebSocketOrigin(t *testing.T) {
	ta := newTestApp(t)
	srv := httptest.NewServer(ta.app.routes())
	t.Cleanup(srv.Close)

	tests := []struct {
		name   string
		origin string
		fwd    string
		want   bool
	}{
		{"no origin (non-browser client)", "", "", true},
		{"same host", srv.URL, "", true},
		{"the gateway's origin", testIssuer, "", true},
		{"the forwarded host", "https://apps.example.co.jp", "apps.example.co.jp", true},
		{"cross-site page", "https://evil.example", "", false},
		{"cross-site page behind the proxy", "https://evil.example", "apps.example.co.jp", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.origin != "" {
				h.Set("Origin", tt.origin)
			}
			if tt.fwd != "" {
				h.Set("X-Forwarded-Host", tt.fwd)
			}
			c, resp, err := dialWS(t, srv, h)
			if tt.want {
				if err != nil {
					t.Fatalf("dial: %v", err)
				}
				c.Close(websocket.StatusNormalClosure, "")
				return
			}
			if err == nil {
				c.CloseNow()
				t.Fatal("cross-origin WebSocket accepted")
			}
			if resp == nil || resp.StatusCode != http.StatusForbidden {
				t.Errorf("response = %v, want 403", resp)
			}
		})
	}
}

func TestWebSocketShutdown(t *testing.T) {
	ta := newTestApp(t)
	srv := httptest.NewServer(ta.app.routes())
	t.Cleanup(srv.Close)

	c, _, err := dialWS(t, srv, http.Header{"X-Forwarded-User": {"bob@example.co.jp"}})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.CloseNow()
	readText(t, c)

	done := make(chan error, 1)
	go func() {
		// The client must keep reading to answer the close handshake.
		_, _, err := c.Read(t.Context())
		done <- err
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := ta.app.waitWebSockets(ctx); err != nil {
		t.Fatalf("waitWebSockets: %v", err)
	}
	if got := websocket.CloseStatus(<-done); got != websocket.StatusGoingAway {
		t.Errorf("close status = %v, want %v", got, websocket.StatusGoingAway)
	}

	// After shutdown began, a new WebSocket is closed at once.
	c2, _, err := dialWS(t, srv, nil)
	if err != nil {
		t.Fatalf("dial after shutdown: %v", err)
	}
	defer c2.CloseNow()
	_, _, err = c2.Read(t.Context())
	if got := websocket.CloseStatus(err); got != websocket.StatusGoingAway {
		t.Errorf("late socket close status = %v, want %v", got, websocket.StatusGoingAway)
	}
}
