//go:build unix

package main

import (
	"net/http/httptest"
	"syscall"
	"testing"

	"github.com/ssogate/ssogate/metrics"
)

// TestPluginMetrics checks the plugin series against a real plugin
// process: up and no restart at first, then one restart after SIGKILL.
func TestPluginMetrics(t *testing.T) {
	bin, err := buildHTTPJSON()
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, pluginProvider(bin, fileSHA256(t, bin), kioskEndpoint(t).URL))
	m := metrics.New(nil)
	h.app.mu.Lock()
	h.app.metrics = m
	h.app.publishMetrics()
	h.app.mu.Unlock()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	url := srv.URL + "/metrics"

	s := scrapeMetrics(t, url)
	for name, want := range map[string]float64{"ssogate_plugin_up": 1, "ssogate_plugin_restarts_total": 0, "ssogate_provider_up": 1} {
		if got, has := s.value(name, "provider", "kiosk"); !has || got != want {
			t.Errorf("%s{provider=kiosk} = %v (exists %v), want %v", name, got, has, want)
		}
	}
	if err := syscall.Kill(h.app.plugins["kiosk"].Status().PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		s := scrapeMetrics(t, url)
		return s.v("ssogate_plugin_restarts_total", "provider", "kiosk") == 1 && s.v("ssogate_plugin_up", "provider", "kiosk") == 1
	})
}
