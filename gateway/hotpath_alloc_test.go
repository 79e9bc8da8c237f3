package gateway

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

// maxForwardAuthAllocs bounds the heap allocations of one signed-in /auth
// answer through the whole handler (request id, client IP, routing, the
// session from its cookie, the cached identity headers, the access log),
// less the recorder's own. Each allocation is paid again in collector
// work: at 30,000 requests a second they decide how often the GC runs.
const maxForwardAuthAllocs = 7

// TestForwardAuthAllocs counts the allocations of one /auth request as a
// fronting proxy sends it, with the access log on (as at level info).
func TestForwardAuthAllocs(t *testing.T) {
	g, cookie := newBenchGateway(t, "http://127.0.0.1:1", slog.New(slog.NewTextHandler(io.Discard, nil)), NewAccessLog(io.Discard, "text"))
	h := g.Handler()
	req := httptest.NewRequest("GET", "/auth", nil)
	req.Header.Set("X-Forwarded-Proto", "http")
	req.Header.Set("X-Forwarded-Host", "fwd.example.test")
	req.Header.Set("X-Forwarded-Uri", "/some/page")
	req.Header.Set("X-Forwarded-Method", "GET")
	req.AddCookie(cookie)
	w := newReusableRecorder()
	serve := func() {
		w.reset()
		h.ServeHTTP(w, req)
		if w.code != http.StatusOK {
			t.Fatalf("status %d", w.code)
		}
	}
	serve() // the first request fills the caches
	if n := testing.AllocsPerRun(200, serve); n > maxForwardAuthAllocs {
		t.Errorf("/auth allocates %.0f times per request, want at most %d", n, maxForwardAuthAllocs)
	}
}

// reusableRecorder is a ResponseWriter that allocates nothing once warm,
// so that AllocsPerRun counts the gateway's allocations only.
type reusableRecorder struct {
	h    http.Header
	code int
}

func newReusableRecorder() *reusableRecorder { return &reusableRecorder{h: http.Header{}} }

func (w *reusableRecorder) reset() {
	clear(w.h)
	w.code = 0
}

func (w *reusableRecorder) Header() http.Header { return w.h }

func (w *reusableRecorder) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return len(b), nil
}

func (w *reusableRecorder) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}
