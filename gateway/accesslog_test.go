package gateway

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ssogate/ssogate/internal/logbuf"
)

// The hand-written access line is byte for byte what slog's text and JSON
// handlers write for the same record, awkward paths and durations
// included, so the log stays one stream a log shipper can parse.
func TestAccessLineMatchesSlog(t *testing.T) {
	jst := time.FixedZone("JST", 9*3600)
	entries := []accessEntry{
		{time: time.Date(2026, 12, 6, 7, 0, 0, 0, time.UTC), id: "0123456789abcdef", method: "GET", path: "/auth",
			status: 200, bytes: 0, ip: netip.MustParseAddr("192.0.2.7"), duration: 1234567 * time.Nanosecond},
		{time: time.Date(2026, 1, 2, 3, 4, 5, 6000000, jst), id: "ffffffffffffffff", method: "POST", path: "/app/a b=\"c\"\\d",
			status: 499, bytes: 1 << 40, ip: netip.MustParseAddr("2001:db8::1"), duration: 850 * time.Microsecond},
		{time: time.Date(2026, 1, 2, 3, 4, 5, 999999999, time.UTC), id: "", method: "GET", path: "/資料/<x>&\u2028\t\x01\xff",
			status: 302, bytes: 17, duration: 0},
		{time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), id: "a", method: "M-SEARCH", path: "/\u00a0/\u200b",
			status: 500, bytes: 3, ip: netip.MustParseAddr("::ffff:192.0.2.1"), duration: 2*time.Hour + 3*time.Minute + 4*time.Second + 5},
		{time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), id: "a", method: "GET", path: "/x",
			status: 200, ip: netip.MustParseAddr("127.0.0.1"), duration: 999},
	}
	for _, format := range []string{"text", "json"} {
		for i, e := range entries {
			var want bytes.Buffer
			var h slog.Handler = slog.NewTextHandler(&want, nil)
			if format == "json" {
				h = slog.NewJSONHandler(&want, nil)
			}
			r := slog.NewRecord(e.time, slog.LevelInfo, "request", 0)
			r.AddAttrs(
				slog.String("request_id", e.id),
				slog.String("method", e.method),
				slog.String("path", e.path),
				slog.Int("status", e.status),
				slog.Int64("bytes", e.bytes),
				slog.String("client_ip", e.ip.String()),
				slog.Duration("duration", e.duration),
			)
			if err := h.Handle(context.Background(), r); err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			NewAccessLog(&got, format).write(&e)
			if got.String() != want.String() {
				t.Errorf("%s entry %d:\n got %s\nwant %s", format, i, got.String(), want.String())
			}
		}
	}
}

// Writing a line allocates nothing.
func TestAccessLineAllocationFree(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		a := NewAccessLog(io.Discard, format)
		e := accessEntry{time: time.Now(), id: "0123456789abcdef", method: "GET", path: "/auth/資料 x",
			status: 200, bytes: 123, ip: netip.MustParseAddr("2001:db8::1"), duration: 1500 * time.Microsecond}
		if n := testing.AllocsPerRun(1000, func() { a.write(&e) }); n != 0 {
			t.Errorf("%s: %v allocations per line, want 0", format, n)
		}
	}
}

// BenchmarkForwardAuthAccessLog is /auth with the access log off (level
// warn), through slog with a write per request (the gateway without an
// AccessLog), and through AccessLog into the buffered writer, the last two
// to a real file. The ratio of buffered to off is the log's cost.
func BenchmarkForwardAuthAccessLog(b *testing.B) {
	run := func(b *testing.B, log *slog.Logger, access func(io.Writer) *AccessLog) {
		f, err := os.Create(filepath.Join(b.TempDir(), "log"))
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		var buf *logbuf.Writer
		var al *AccessLog
		if access != nil {
			buf = logbuf.New(f, 0, 0)
			defer buf.Close()
			al = access(buf)
		}
		if log == nil {
			log = slog.New(slog.NewTextHandler(f, nil))
		}
		g, cookie := newBenchGateway(b, "http://127.0.0.1:1", log, al)
		h := g.Handler()
		req := authRequest(cookie)
		b.ReportAllocs()
		for b.Loop() {
			w := newDiscardWriter()
			h.ServeHTTP(w, req)
			if w.code != 200 {
				b.Fatalf("status %d", w.code)
			}
		}
	}
	b.Run("off", func(b *testing.B) {
		run(b, slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn})), nil)
	})
	b.Run("slog", func(b *testing.B) { run(b, nil, nil) })
	b.Run("buffered", func(b *testing.B) {
		run(b, slog.New(slog.DiscardHandler), func(w io.Writer) *AccessLog { return NewAccessLog(w, "text") })
	})
}

// TestAccessLogThroughGateway: a request through the gateway's handler
// gives one line with its id, path without the query, status and bytes.
func TestAccessLogThroughGateway(t *testing.T) {
	var out bytes.Buffer
	g, cookie := newBenchGateway(t, "http://127.0.0.1:1", slog.New(slog.DiscardHandler), NewAccessLog(&out, "text"))
	req := authRequest(cookie)
	req.URL.RawQuery = "ticket=secret"
	w := newDiscardWriter()
	g.Handler().ServeHTTP(w, req)
	line := out.String()
	id := w.header.Get("X-Request-Id")
	for _, want := range []string{"level=INFO msg=request request_id=" + id + " method=GET path=/auth status=200 bytes=0 client_ip=192.0.2.1 duration="} {
		if !strings.Contains(line, want) {
			t.Errorf("access line %q lacks %q", line, want)
		}
	}
	if strings.Contains(line, "secret") || strings.Count(line, "\n") != 1 {
		t.Errorf("access line %q: want one line without the query", line)
	}
}

func authRequest(cookie *http.Cookie) *http.Request {
	req := httptest.NewRequest("GET", "/auth", nil)
	req.RemoteAddr = "192.0.2.1:1234"
	req.Header.Set("X-Forwarded-Host", "fwd.example.test")
	req.Header.Set("X-Forwarded-Uri", "/page")
	req.AddCookie(cookie)
	return req
}

// discardWriter is the lightest ResponseWriter, so the benchmark weighs
// the gateway rather than a recorder.
type discardWriter struct {
	header http.Header
	code   int
}

func newDiscardWriter() *discardWriter { return &discardWriter{header: http.Header{}} }

func (d *discardWriter) Header() http.Header { return d.header }

func (d *discardWriter) WriteHeader(code int) {
	if d.code == 0 {
		d.code = code
	}
}

func (d *discardWriter) Write(p []byte) (int, error) {
	d.WriteHeader(200)
	return len(p), nil
}

// BenchmarkAccessLogLine is the cost of one access line alone: formatted
// and written through the buffered writer to a real file. Set against
// BenchmarkForwardAuthAccessLog/off, it is the share of /auth the log takes.
func BenchmarkAccessLogLine(b *testing.B) {
	f, err := os.Create(filepath.Join(b.TempDir(), "log"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	w := logbuf.New(f, 0, 0)
	defer w.Close()
	a := NewAccessLog(w, "text")
	start := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		now := time.Now()
		a.write(&accessEntry{time: now, id: "0123456789abcdef", method: "GET", path: "/auth",
			status: 200, ip: netip.MustParseAddr("192.0.2.7"), duration: now.Sub(start)})
	}
}
