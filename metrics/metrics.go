// Package metrics is ssogate's Prometheus instrumentation: the series of
// requests, sign-ins, caches, store calls, providers, plugins, reloads and
// password hashing, and the /metrics handler that serves them.
//
// Its collectors are registered once per process; a configuration reload
// swaps the State they read (SetState), not the collectors. The gateway
// does not import this package: cmd/ssogate passes Observe and SignIn to
// gateway.Options, wraps the store with WrapStore and serves Handler on
// its own listener.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ssogate/ssogate/gateway"
	"github.com/ssogate/ssogate/plugins"
	"github.com/ssogate/ssogate/providers"
)

// ClassMetrics is the route class of a request to /metrics itself.
const ClassMetrics = "metrics"

// classOther is the class given to a class name Observe does not know.
const classOther = "other"

// classes are the route classes, in the order of their series.
var classes = [...]string{
	gateway.ClassAuth, gateway.ClassProxy, gateway.ClassLogin, gateway.ClassPage,
	gateway.ClassStatic, gateway.ClassHealth, gateway.ClassJWKS, ClassMetrics, gateway.ClassOIDC, classOther,
}

// classIndex is the index of class in classes; a switch, so that the hot
// path neither hashes nor allocates.
func classIndex(class string) int {
	switch class {
	case gateway.ClassAuth:
		return 0
	case gateway.ClassProxy:
		return 1
	case gateway.ClassLogin:
		return 2
	case gateway.ClassPage:
		return 3
	case gateway.ClassStatic:
		return 4
	case gateway.ClassHealth:
		return 5
	case gateway.ClassJWKS:
		return 6
	case ClassMetrics:
		return 7
	case gateway.ClassOIDC:
		return 8
	}
	return 9
}

// maxCode bounds the status codes that get a series of their own; others
// are counted under code "other".
const maxCode = 600

// counterRef holds a counter behind an atomic pointer.
type counterRef struct{ c prometheus.Counter }

// classSeries are one route class's series. The counter for a status code
// is made on its first use and kept: later requests with that code find it
// without a label lookup or an allocation.
type classSeries struct {
	duration prometheus.Observer
	codes    [maxCode]atomic.Pointer[counterRef]
}

// State is what the scrape-time series read. A reload calls SetState with
// the new providers and plugins; Cache stays that of the lasting
// gateway.Shared.
type State struct {
	// Cache reports the session and hand-off caches (gateway.Shared's
	// CacheStats); nil leaves their series at 0.
	Cache func() gateway.CacheStats
	// Providers are the configured providers, in configuration order.
	Providers []providers.Provider
	// Plugins are the plugin providers' processes, by provider id.
	Plugins map[string]*plugins.Plugin
}

// HealthTimeout bounds the providers' health checks made at a scrape.
const HealthTimeout = 2 * time.Second

// Metrics holds ssogate's registry and series.
type Metrics struct {
	reg *prometheus.Registry
	log *slog.Logger

	requests *prometheus.CounterVec
	byClass  [len(classes)]classSeries
	signIns  *prometheus.CounterVec
	reloads  *prometheus.CounterVec
	reloadOK prometheus.Counter
	reloadNo prometheus.Counter

	storeSeries [numStoreCalls]storeSeries

	state atomic.Pointer[State]
}

// New registers every series in a registry of its own, with the Go
// runtime's and the process's. log receives errors met while serving
// /metrics.
func New(log *slog.Logger) *Metrics {
	if log == nil {
		log = slog.Default()
	}
	m := &Metrics{reg: prometheus.NewRegistry(), log: log}
	m.state.Store(&State{})
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ssogate_http_requests_total",
		Help: "HTTP requests answered, by route class and status code.",
	}, []string{"class", "code"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "ssogate_http_request_duration_seconds",
		Help:    "Time to answer an HTTP request, by route class.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"class"})
	for i, class := range classes {
		m.byClass[i].duration = duration.WithLabelValues(class)
	}
	m.signIns = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ssogate_sign_ins_total",
		Help: "Sign-in attempts, by provider and outcome (ok, invalid, locked, denied, busy, unavailable, error).",
	}, []string{"provider", "outcome"})
	m.reloads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ssogate_config_reloads_total",
		Help: "Configuration reloads, by result (ok, failed).",
	}, []string{"result"})
	m.reloadOK, m.reloadNo = m.reloads.WithLabelValues("ok"), m.reloads.WithLabelValues("failed")
	storeDuration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "ssogate_store_call_duration_seconds",
		Help:    "Time of a store call, by method.",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"method"})
	storeErrors := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ssogate_store_call_errors_total",
		Help: "Store calls that failed (not found and conflict are answers, not failures), by method.",
	}, []string{"method"})
	for i, name := range storeCallNames {
		m.storeSeries[i] = storeSeries{duration: storeDuration.WithLabelValues(name), errors: storeErrors.WithLabelValues(name)}
	}
	cache := func() gateway.CacheStats {
		if f := m.state.Load().Cache; f != nil {
			return f()
		}
		return gateway.CacheStats{}
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests, duration, m.signIns, m.reloads, storeDuration, storeErrors,
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "ssogate_session_cache_hits_total",
			Help: "Session resolutions answered from the in-memory cache.",
		}, func() float64 { return float64(cache().SessionHits) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "ssogate_session_cache_misses_total",
			Help: "Session resolutions that read the store.",
		}, func() float64 { return float64(cache().SessionMisses) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "ssogate_session_cache_sessions",
			Help: "Sessions held in the in-memory cache.",
		}, func() float64 { return float64(cache().Sessions) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "ssogate_handoff_cache_entries",
			Help: "(session, service) hand-offs held in the in-memory cache.",
		}, func() float64 { return float64(cache().Handoffs) }),
		&stateCollector{m: m},
	)
	return m
}

// Registry returns the registry every series is in.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// SetState replaces what the scrape-time series read.
func (m *Metrics) SetState(s State) { m.state.Store(&s) }

// Observe counts a request answered with status after d; it is
// gateway.Options.Observe. It does not allocate, except the first time a
// class meets a status code.
func (m *Metrics) Observe(class string, status int, d time.Duration) {
	cs := &m.byClass[classIndex(class)]
	cs.duration.Observe(d.Seconds())
	if status < 0 || status >= maxCode {
		status = 0
	}
	ref := cs.codes[status].Load()
	if ref == nil {
		code := "other"
		if status != 0 {
			code = strconv.Itoa(status)
		}
		ref = &counterRef{c: m.requests.WithLabelValues(classes[classIndex(class)], code)}
		// A race stores the same child twice: WithLabelValues returns
		// one counter per label set.
		cs.codes[status].Store(ref)
	}
	ref.c.Inc()
}

// SignIn counts a sign-in attempt; it is gateway.Options.SignIn.
func (m *Metrics) SignIn(provider, outcome string) {
	m.signIns.WithLabelValues(provider, outcome).Inc()
}

// Reloaded counts a configuration reload: err is nil when it applied.
func (m *Metrics) Reloaded(err error) {
	if err != nil {
		m.reloadNo.Inc()
		return
	}
	m.reloadOK.Inc()
}

// Handler serves the registry in Prometheus's text format; its own
// requests are counted under the route class "metrics".
func (m *Metrics) Handler() http.Handler {
	h := promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(m.log.Handler(), slog.LevelError),
		ErrorHandling: promhttp.ContinueOnError,
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			m.Observe(ClassMetrics, http.StatusNotFound, time.Since(start))
			return
		}
		h.ServeHTTP(w, r)
		m.Observe(ClassMetrics, http.StatusOK, time.Since(start))
	})
}

// hasher is a provider that hashes passwords within a budget (local).
type hasher interface {
	Stats() (inFlight, waiting int)
}

// stateCollector makes the series read from the current State at each
// scrape: provider health, plugin processes and password hashing.
type stateCollector struct{ m *Metrics }

var (
	providerUpDesc = prometheus.NewDesc("ssogate_provider_up",
		"1 when the provider can serve sign-ins (its health check passes within the scrape's timeout), else 0.",
		[]string{"provider"}, nil)
	pluginUpDesc = prometheus.NewDesc("ssogate_plugin_up",
		"1 while the plugin's process serves calls, else 0.", []string{"provider"}, nil)
	pluginRestartsDesc = prometheus.NewDesc("ssogate_plugin_restarts_total",
		"Restarts of the plugin's process since it was started (a reload that changes the plugin starts it anew).",
		[]string{"provider"}, nil)
	hashesInFlightDesc = prometheus.NewDesc("ssogate_password_hashes_in_flight",
		"Password hashes (argon2id) being computed now.", []string{"provider"}, nil)
	hashesWaitingDesc = prometheus.NewDesc("ssogate_password_hashes_waiting",
		"Sign-ins waiting for a password-hashing slot.", []string{"provider"}, nil)
)

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{providerUpDesc, pluginUpDesc, pluginRestartsDesc, hashesInFlightDesc, hashesWaitingDesc} {
		ch <- d
	}
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.m.state.Load()
	up := make([]float64, len(st.Providers))
	ctx, cancel := context.WithTimeout(context.Background(), HealthTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for i, p := range st.Providers {
		up[i] = 1 // a provider that cannot check is taken as healthy, as the gateway does
		if hc, ok := p.(providers.HealthChecker); ok {
			wg.Go(func() {
				if hc.Health(ctx) != nil {
					up[i] = 0
				}
			})
		}
	}
	wg.Wait()
	for i, p := range st.Providers {
		ch <- prometheus.MustNewConstMetric(providerUpDesc, prometheus.GaugeValue, up[i], p.ID())
		if h, ok := p.(hasher); ok {
			inFlight, waiting := h.Stats()
			ch <- prometheus.MustNewConstMetric(hashesInFlightDesc, prometheus.GaugeValue, float64(inFlight), p.ID())
			ch <- prometheus.MustNewConstMetric(hashesWaitingDesc, prometheus.GaugeValue, float64(waiting), p.ID())
		}
	}
	for id, pl := range st.Plugins {
		s := pl.Status()
		healthy := 0.0
		if s.Healthy {
			healthy = 1
		}
		ch <- prometheus.MustNewConstMetric(pluginUpDesc, prometheus.GaugeValue, healthy, id)
		ch <- prometheus.MustNewConstMetric(pluginRestartsDesc, prometheus.CounterValue, float64(s.Restarts), id)
	}
}
