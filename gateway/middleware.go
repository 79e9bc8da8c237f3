package gateway

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

type ctxKey int

const ctxRequest ctxKey = 0

// reqInfo is what the gateway learns about a request once and keeps in its
// context: one value, so the hot path adds one context layer, not several.
type reqInfo struct {
	id string // request id, for logs and error pages
	// idHeader holds id as X-Request-Id's header-map slice, so that
	// setting the header allocates nothing more.
	idHeader [1]string
	ip       netip.Addr // client address after trusted proxies
	// handoff is set by serveProxy for the proxy's Rewrite to read.
	handoff *handoff
	// inbound is the browser's request as serveProxy received it, before
	// the proxy's Rewrite removed the gateway's cookies: an error page for
	// a failed upstream is rendered from it, in the person's language and
	// signed in.
	inbound *http.Request
	// line is the registered line ip comes through, once lineChecked.
	line        string
	lineChecked bool
	proxied     bool // sent to a service's upstream, for metrics
	// rec is the request's response writer, in the same allocation.
	rec statusRecorder
}

func info(ctx context.Context) *reqInfo {
	ri, _ := ctx.Value(ctxRequest).(*reqInfo)
	if ri == nil {
		return &reqInfo{}
	}
	return ri
}

// requestID returns the id of the request, for logs and error pages.
func requestID(ctx context.Context) string { return info(ctx).id }

// clientIP returns the client address resolved once per request.
func clientIP(ctx context.Context) netip.Addr { return info(ctx).ip }

// The id links log lines and is no secret, so it comes from the runtime's
// per-thread ChaCha8 generator (math/rand/v2): unpredictable enough and
// without the system call and locking of crypto/rand on every request.
func newRequestID() string {
	var b [16]byte
	v := rand.Uint64()
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = hexDigits[v&0xf]
		v >>= 4
	}
	return string(b[:])
}

// statusRecorder remembers the status and counts the body bytes written,
// for the access log.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// withRequest assigns a request id, resolves the client address once and
// writes one access-log line. The log holds the path only: query strings
// may carry tickets and are never logged.
func (g *Gateway) withRequest(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ri := &reqInfo{id: newRequestID(), ip: g.clientIPs.Resolve(r), rec: statusRecorder{ResponseWriter: w}}
		ctx := context.WithValue(r.Context(), ctxRequest, ri)
		rec := &ri.rec
		ri.idHeader[0] = ri.id
		w.Header()["X-Request-Id"] = ri.idHeader[:1:1]
		next.ServeHTTP(rec, r.WithContext(ctx))
		g.observeRequest(r, ri, rec.status, start)
		if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" || strings.HasPrefix(r.URL.Path, "/static/") {
			return
		}
		if rec.status == 0 {
			rec.status = 499 // the client went away before an answer (nginx's code)
		}
		if g.accessLog != nil {
			now := time.Now()
			g.accessLog.write(&accessEntry{time: now, id: ri.id, method: r.Method, path: r.URL.Path,
				status: rec.status, bytes: rec.bytes, ip: ri.ip, duration: now.Sub(start)})
			return
		}
		if !g.log.Enabled(ctx, slog.LevelInfo) {
			return
		}
		g.log.LogAttrs(ctx, slog.LevelInfo, "request",
			slog.String("request_id", ri.id),
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", rec.status),
			slog.Int64("bytes", rec.bytes),
			slog.String("client_ip", ri.ip.String()),
			slog.Duration("duration", time.Since(start)),
		)
	})
}

// withSecurityHeaders sets the headers every page carries.
func (g *Gateway) withSecurityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", g.csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
		if g.secure {
			h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
		}
		next.ServeHTTP(w, r)
	})
}

// contentSecurityPolicy builds the page policy: no scripts at all, styles
// and images from the gateway only, never framed, and forms may post only
// to the gateway — plus the service origins, because browsers apply
// form-action to the redirect that follows a sign-in form.
func contentSecurityPolicy(formTargets []string) string {
	fa := "'self'"
	for _, o := range formTargets {
		fa += " " + o
	}
	return "default-src 'none'; script-src 'none'; style-src 'self'; img-src 'self' data:; " +
		"font-src 'self'; connect-src 'self'; form-action " + fa + "; frame-ancestors 'none'; base-uri 'none'"
}
