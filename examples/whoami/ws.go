package main

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/coder/websocket"
)

// wsWriteTimeout bounds one write to a WebSocket client that stopped reading.
const wsWriteTimeout = 10 * time.Second

// serveWebSocket is the /ws echo. It first greets with the X-Forwarded-User
// it received ("hello alice@example.co.jp"), which shows that the gateway's
// identity headers reach WebSocket upgrades too, then answers each text
// message with "echo: " and the message.
func (a *app) serveWebSocket(w http.ResponseWriter, r *http.Request) {
	user := r.Header.Get(headerUser)
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: a.originPatterns(r)})
	if err != nil {
		// Accept has answered the client already.
		a.log.Info("websocket refused", "request_id", requestID(r), "err", err)
		return
	}
	if !a.trackSocket() {
		c.Close(websocket.StatusGoingAway, "server shutting down")
		return
	}
	defer a.sockets.Done()

	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	go func() {
		select {
		case <-a.shutdown:
			c.Close(websocket.StatusGoingAway, "server shutting down")
		case <-ctx.Done():
		}
	}()

	greeting := "hello " + user
	if user == "" {
		greeting = "hello (no " + headerUser + " received)"
	}
	if err := a.writeText(ctx, c, greeting); err != nil {
		return
	}
	for {
		typ, msg, err := c.Read(ctx)
		if err != nil {
			switch websocket.CloseStatus(err) {
			case websocket.StatusNormalClosure, websocket.StatusGoingAway:
			default:
				if !errors.Is(err, context.Canceled) {
					a.log.Debug("websocket read", "request_id", requestID(r), "err", err)
				}
			}
			return
		}
		if typ != websocket.MessageText {
			c.Close(websocket.StatusUnsupportedData, "text messages only")
			return
		}
		if err := a.writeText(ctx, c, "echo: "+string(msg)); err != nil {
			return
		}
	}
}

func (a *app) writeText(ctx context.Context, c *websocket.Conn, s string) error {
	ctx, cancel := context.WithTimeout(ctx, wsWriteTimeout)
	defer cancel()
	return c.Write(ctx, websocket.MessageText, []byte(s))
}

// originPatterns lists the page origins allowed to open /ws besides the
// request's own Host: the gateway's public host, and the host the proxy
// says the browser used (X-Forwarded-Host). A cross-site page cannot set
// X-Forwarded-Host on a WebSocket handshake, so this does not open the door
// to cross-site WebSocket hijacking.
func (a *app) originPatterns(r *http.Request) []string {
	var hosts []string
	if u, err := url.Parse(a.cfg.Issuer); err == nil && u.Host != "" {
		hosts = append(hosts, escapePattern(u.Host))
	}
	if fh, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Host"), ","); strings.TrimSpace(fh) != "" {
		hosts = append(hosts, escapePattern(strings.TrimSpace(fh)))
	}
	return hosts
}

// escapePattern quotes the path.Match metacharacters, so an IPv6 host such
// as [::1]:8080 matches itself.
func escapePattern(s string) string {
	var b strings.Builder
	for _, c := range s {
		if strings.ContainsRune(`*?[]\`, c) {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// trackSocket counts an open WebSocket for waitWebSockets; it reports false
// once shutdown has begun.
func (a *app) trackSocket() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closing {
		return false
	}
	a.sockets.Add(1)
	return true
}

// closeWebSockets tells every open WebSocket to close with "going away".
// It runs from http.Server.RegisterOnShutdown and again from
// waitWebSockets; only the first call acts.
func (a *app) closeWebSockets() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.closing {
		a.closing = true
		close(a.shutdown)
	}
}

// waitWebSockets closes the open WebSockets and waits until their handlers
// return or ctx ends.
func (a *app) waitWebSockets(ctx context.Context) error {
	a.closeWebSockets()
	done := make(chan struct{})
	go func() {
		a.sockets.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
