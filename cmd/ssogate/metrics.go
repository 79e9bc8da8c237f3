package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/ssogate/ssogate/config"
	"github.com/ssogate/ssogate/gateway"
	"github.com/ssogate/ssogate/metrics"
)

// withMetrics sets o's hooks to report to m; a nil m leaves o as it is.
func withMetrics(o gateway.Options, m *metrics.Metrics) gateway.Options {
	if m != nil {
		o.Observe, o.SignIn = m.Observe, m.SignIn
	}
	return o
}

// publishMetrics points the scrape-time series at the current providers
// and plugins. Called with a.mu held, or before a is shared.
func (a *app) publishMetrics() {
	if a.metrics == nil {
		return
	}
	a.metrics.SetState(metrics.State{Cache: a.gateway.Shared().CacheStats, Providers: a.providers.All(), Plugins: a.plugins})
}

// countReload counts a reload from the file or SIGHUP, applied (err nil)
// or not.
func (a *app) countReload(err error) {
	if a.metrics != nil {
		a.metrics.Reloaded(err)
	}
}

// serveMetrics starts the metrics listener of cfg.Server.MetricsListen
// and returns the handler for the public listener with a function that
// stops the metrics one. With metrics_on_public_listener (validation
// allows the same address only then) /metrics is served by the public
// listener instead; otherwise the public handler never serves it.
func (a *app) serveMetrics(cfg *config.Config) (http.Handler, func(), error) {
	public := a.Handler()
	if a.metrics == nil {
		return public, func() {}, nil
	}
	mh := a.metrics.Handler()
	if cfg.Server.MetricsOnPublicListener && cfg.Server.MetricsListen == cfg.Server.Listen {
		a.log.Info("metrics served on the public listener", "listen", cfg.Server.Listen)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/metrics" && r.Method == http.MethodGet {
				mh.ServeHTTP(w, r)
				return
			}
			public.ServeHTTP(w, r)
		}), func() {}, nil
	}
	ln, err := net.Listen("tcp", cfg.Server.MetricsListen)
	if err != nil {
		return nil, nil, fmt.Errorf("metrics listener: %w", err)
	}
	srv := &http.Server{
		Handler:           mh,
		ReadHeaderTimeout: cfg.Server.ReadHeaderTimeout.D(),
		ReadTimeout:       time.Minute,
		// A scrape that asks slow providers for their health takes up to
		// metrics.HealthTimeout.
		WriteTimeout: time.Minute,
		IdleTimeout:  2 * time.Minute,
		ErrorLog:     slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("metrics listener stopped", "listen", cfg.Server.MetricsListen, "err", err)
		}
	}()
	a.log.Info("metrics listening", "listen", ln.Addr().String())
	return public, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}, nil
}
