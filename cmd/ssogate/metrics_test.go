package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// metricsConfig is served by the metrics tests: the default local
// provider made cheap, a proxied service and a forward-auth one.
const metricsConfig = `server:
  listen: %LISTEN%
%METRICS%store:
  dsn: %DIR%/db
log:
  level: warn
providers:
  - id: local
    type: local
    hashing:
      memory_kib: 8192
      iterations: 1
      parallelism: 1
services:
  - id: app
    name: App
    url: http://%LISTEN%/app/
    upstream: %UPSTREAM%
  - id: fwd
    name: Forward
    url: http://fwd.example.test/
`

// scrape is one /metrics answer, parsed.
type scrape map[string]*dto.MetricFamily

func scrapeMetrics(t *testing.T, url string) scrape {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d", url, resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse %s: %v", url, err)
	}
	return mfs
}

// value is the value of the series name{lv...} (a histogram's sample
// count), or 0 when it does not exist yet; has says whether it does.
func (s scrape) value(name string, lv ...string) (v float64, has bool) {
	mf := s[name]
	if mf == nil {
		return 0, false
	}
next:
	for _, m := range mf.GetMetric() {
		for i := 0; i+1 < len(lv); i += 2 {
			if !slices.ContainsFunc(m.GetLabel(), func(l *dto.LabelPair) bool { return l.GetName() == lv[i] && l.GetValue() == lv[i+1] }) {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		case m.Untyped != nil:
			return m.Untyped.GetValue(), true
		}
	}
	return 0, false
}

func (s scrape) v(name string, lv ...string) float64 {
	v, _ := s.value(name, lv...)
	return v
}

// freeAddr is a loopback address no one listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// newBrowser is a fresh browser (its own cookies) for h.
func newBrowser(h *harness) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{h: h, jar: jar, c: &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) forwardAuth(host, uri string) *page {
	req, _ := http.NewRequest("GET", b.h.url+"/auth", nil)
	req.Header.Set("X-Forwarded-Host", host)
	req.Header.Set("X-Forwarded-Uri", uri)
	return b.do(req)
}

// TestServeMetrics runs `ssogate serve` with server.metrics_listen, signs
// in, fails a sign-in, calls /auth, goes through the proxy and reloads,
// and checks on the metrics listener that each series moved by exactly
// what was done; and that the public listener does not serve /metrics.
func TestServeMetrics(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "upstream says hello")
	}))
	defer upstream.Close()
	metricsAddr := freeAddr(t)
	metricsURL := "http://" + metricsAddr + "/metrics"
	yaml := strings.NewReplacer("%METRICS%", "  metrics_listen: "+metricsAddr+"\n", "%UPSTREAM%", upstream.URL).Replace(metricsConfig)
	b, path, fill := serveConfig(t, yaml, io.Discard) // signs taro in: one sign-in ok

	before := scrapeMetrics(t, metricsURL)
	if got := before.v("ssogate_sign_ins_total", "provider", "local", "outcome", "ok"); got != 1 {
		t.Errorf("sign-ins ok after serveConfig's sign-in = %v, want 1", got)
	}
	if got, has := before.value("ssogate_provider_up", "provider", "local"); !has || got != 1 {
		t.Errorf("ssogate_provider_up{provider=local} = %v (exists %v), want 1", got, has)
	}
	for _, name := range []string{"ssogate_password_hashes_in_flight", "ssogate_password_hashes_waiting"} {
		if got, has := before.value(name, "provider", "local"); !has || got != 0 {
			t.Errorf("%s{provider=local} = %v (exists %v), want 0", name, got, has)
		}
	}
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total", "ssogate_session_cache_sessions", "ssogate_handoff_cache_entries"} {
		if _, has := before.value(name); !has {
			t.Errorf("%s is not exported", name)
		}
	}

	failed := newBrowser(b.h)
	expectStatus(t, failed.login("taro@example.co.jp", "wrong-password", ""), http.StatusUnauthorized)
	again := newBrowser(b.h)
	expectRedirect(t, again.login("taro@example.co.jp", "Sakura-Passw0rd!", ""), "/")

	preAuth := scrapeMetrics(t, metricsURL)
	for range 3 {
		expectStatus(t, b.forwardAuth("fwd.example.test", "/page"), http.StatusOK)
	}
	postAuth := scrapeMetrics(t, metricsURL)
	lookups := func(s scrape) float64 {
		return s.v("ssogate_session_cache_hits_total") + s.v("ssogate_session_cache_misses_total")
	}
	if got := lookups(postAuth) - lookups(preAuth); got != 3 {
		t.Errorf("session cache hits+misses moved by %v over 3 /auth, want 3", got)
	}
	if got := postAuth.v("ssogate_session_cache_hits_total") - preAuth.v("ssogate_session_cache_hits_total"); got < 2 {
		t.Errorf("session cache hits moved by %v over 3 /auth of one session, want at least 2", got)
	}
	if got := postAuth.v("ssogate_session_cache_sessions"); got < 1 {
		t.Errorf("cached sessions = %v, want at least 1", got)
	}

	p := b.get("/app/")
	expectStatus(t, p, http.StatusOK)
	if p.body != "upstream says hello" {
		t.Fatalf("proxied body %q", p.body)
	}
	if p := b.get("/metrics"); p.StatusCode != http.StatusNotFound || strings.Contains(p.body, "ssogate_http_requests_total") {
		t.Errorf("the public listener answered /metrics with %d:\n%s", p.StatusCode, snippet(p.body))
	}

	after := scrapeMetrics(t, metricsURL)
	deltas := []struct {
		name string
		lv   []string
		want float64
	}{
		{"ssogate_sign_ins_total", []string{"provider", "local", "outcome", "ok"}, 1},
		{"ssogate_sign_ins_total", []string{"provider", "local", "outcome", "invalid"}, 1},
		{"ssogate_http_requests_total", []string{"class", "login", "code", "401"}, 1},
		{"ssogate_http_requests_total", []string{"class", "login", "code", "303"}, 1},
		{"ssogate_http_requests_total", []string{"class", "login", "code", "200"}, 2},
		{"ssogate_http_requests_total", []string{"class", "auth", "code", "200"}, 3},
		{"ssogate_http_requests_total", []string{"class", "proxy", "code", "200"}, 1},
		{"ssogate_http_requests_total", []string{"class", "page", "code", "404"}, 1},
		{"ssogate_http_request_duration_seconds", []string{"class", "auth"}, 3},
		{"ssogate_http_request_duration_seconds", []string{"class", "proxy"}, 1},
		{"ssogate_store_call_duration_seconds", []string{"method", "AppendAudit"}, 2},
		{"ssogate_http_requests_total", []string{"class", "metrics", "code", "200"}, 3},
	}
	for _, d := range deltas {
		if got := after.v(d.name, d.lv...) - before.v(d.name, d.lv...); got != d.want {
			t.Errorf("%s%v moved by %v, want %v", d.name, d.lv, got, d.want)
		}
	}
	if got := after.v("ssogate_store_call_duration_seconds", "method", "GetSession"); got < 1 {
		t.Errorf("GetSession calls timed = %v, want at least 1", got)
	}

	// A reload swaps the gateway; the collectors stay and keep counting.
	write := func(s string) {
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	write(fill(yaml) + "  - id: more\n    name: More\n    url: http://more.example.test/\n")
	waitFor(t, func() bool {
		return scrapeMetrics(t, metricsURL).v("ssogate_config_reloads_total", "result", "ok") == 1
	})
	expectStatus(t, b.forwardAuth("more.example.test", "/"), http.StatusOK)
	write("server: [\n")
	waitFor(t, func() bool {
		return scrapeMetrics(t, metricsURL).v("ssogate_config_reloads_total", "result", "failed") == 1
	})
	last := scrapeMetrics(t, metricsURL)
	if got := last.v("ssogate_http_requests_total", "class", "auth", "code", "200") - after.v("ssogate_http_requests_total", "class", "auth", "code", "200"); got != 1 {
		t.Errorf("/auth after the reload moved its series by %v, want 1", got)
	}
	if got := last.v("ssogate_config_reloads_total", "result", "ok"); got != 1 {
		t.Errorf("reloads ok = %v, want 1", got)
	}
}

// TestServeMetricsOnPublicListener checks the opt-in: with
// metrics_on_public_listener, metrics_listen may be the public listener,
// which then serves /metrics.
func TestServeMetricsOnPublicListener(t *testing.T) {
	yaml := strings.NewReplacer("%METRICS%", "  metrics_listen: %LISTEN%\n  metrics_on_public_listener: true\n",
		"%UPSTREAM%", "http://127.0.0.1:1").Replace(metricsConfig)
	b, _, _ := serveConfig(t, yaml, io.Discard)
	s := scrapeMetrics(t, b.h.url+"/metrics")
	if got := s.v("ssogate_sign_ins_total", "provider", "local", "outcome", "ok"); got != 1 {
		t.Errorf("sign-ins ok = %v, want 1", got)
	}
	if p := b.get("/"); p.StatusCode != http.StatusOK {
		t.Errorf("the portal beside /metrics answered %d", p.StatusCode)
	}
}

// TestMetricsListenIsRestartOnly checks that a reload does not move the
// metrics listener: it is named among the settings that wait for a
// restart.
func TestMetricsListenIsRestartOnly(t *testing.T) {
	h := newHarness(t)
	next := *h.app.cfg
	next.Server.MetricsListen = "127.0.0.1:9090"
	if keys := restartOnly(h.app.cfg, &next); !slices.Contains(keys, "server.metrics_listen") {
		t.Errorf("restartOnly = %v, want server.metrics_listen in it", keys)
	}
}
