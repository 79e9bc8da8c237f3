package main

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"github.com/ssogate/ssogate/config"
	"github.com/ssogate/ssogate/gateway"
	"github.com/ssogate/ssogate/internal/logbuf"
	"github.com/ssogate/ssogate/metrics"
	"github.com/ssogate/ssogate/plugins"
	"github.com/ssogate/ssogate/portal"
	"github.com/ssogate/ssogate/providers"
	"github.com/ssogate/ssogate/providers/ldap"
	"github.com/ssogate/ssogate/providers/local"
	"github.com/ssogate/ssogate/providers/network"
	"github.com/ssogate/ssogate/providers/oidc"
	"github.com/ssogate/ssogate/providers/saml"
	"github.com/ssogate/ssogate/store"
	"github.com/ssogate/ssogate/store/postgres"
	"github.com/ssogate/ssogate/store/sqlite"
)

// loadConfig reads and validates the configuration, printing every problem.
func (c *cli) loadConfig() (*config.Config, error) {
	cfg, err := config.Load(c.configPath)
	if err != nil {
		fmt.Fprintln(c.stderr, err)
		return nil, exitCode(1)
	}
	return cfg, nil
}

func newLogger(cfg config.Log, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: logLevel(cfg)}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func logLevel(cfg config.Log) slog.Level {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Level))
	return level
}

// newServeLogs builds serve's logs: one buffered writer to w that the
// slog handler and the gateway's access log both write whole lines to,
// batched into one write every 100 ms or 64 KiB instead of one per
// request. The access log is nil when the level hides INFO. Close the
// writer before exiting: it holds up to 100 ms of lines.
func newServeLogs(cfg config.Log, w io.Writer) (*logbuf.Writer, *slog.Logger, *gateway.AccessLog) {
	buf := logbuf.New(w, 0, 0)
	var access *gateway.AccessLog
	if logLevel(cfg) <= slog.LevelInfo {
		access = gateway.NewAccessLog(buf, cfg.Format)
	}
	return buf, newLogger(cfg, buf), access
}

// openStore opens the configured backend and applies its migrations.
func openStore(ctx context.Context, cfg *config.Config, opts ...sqlite.Option) (store.Store, error) {
	switch cfg.Store.Driver {
	case "sqlite", "":
		return sqlite.Open(ctx, cfg.Store.DSN, opts...)
	case "postgres":
		return postgres.Open(ctx, cfg.Store.DSN)
	default:
		return nil, fmt.Errorf("store driver %q is not available", cfg.Store.Driver)
	}
}

// accounts lets the local provider read password hashes from the store.
type accounts struct{ st store.Store }

func (a accounts) LookupPassword(ctx context.Context, email string) (string, string, error) {
	u, err := a.st.GetUserByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		return "", "", local.ErrNoAccount
	}
	if err != nil {
		return "", "", err
	}
	h, err := a.st.PasswordHash(ctx, u.ID)
	if errors.Is(err, store.ErrNotFound) {
		return "", "", local.ErrNoAccount
	}
	if err != nil {
		return "", "", err
	}
	return u.ID, h, nil
}

// localConfig turns the YAML options of a local provider into its Config.
func localConfig(p config.Provider) local.Config {
	var lc config.LocalProvider
	if p.Local != nil {
		lc = *p.Local
	}
	maxWaiting := lc.Hashing.MaxWaiting
	if maxWaiting == 0 {
		// config has applied the default when the key is absent, so a 0
		// here was written: no queue. In local.Config 0 means the default.
		maxWaiting = local.NoWaiting
	}
	return local.Config{
		MinLength: lc.Password.MinLength, MinClasses: lc.Password.MinClasses,
		Memory: lc.Hashing.MemoryKiB, Iterations: lc.Hashing.Iterations, Parallelism: lc.Hashing.Parallelism,
		MaxInFlight: lc.Hashing.MaxInFlight, MaxWaiting: maxWaiting,
	}
}

// orLabel is a provider's label (the text for every language, else the
// Japanese one), or its id: the name a line keeps in sessions and the log.
func orLabel(pc config.Provider) string {
	if label := pc.Label.String(); label != "" {
		return label
	}
	return pc.ID
}

// ldapConfig turns the YAML of an ldap provider (presets already applied
// by config) into its Config.
func ldapConfig(pc config.Provider) (ldap.Config, error) {
	l := pc.LDAP
	c := ldap.Config{
		URL: l.URL, StartTLS: l.StartTLS, InsecureNoTLS: l.InsecureNoTLS,
		BindDN: l.BindDN, BindPassword: l.BindPassword, BaseDN: l.BaseDN,
		LoginAttributes: l.LoginAttributes, UserFilter: l.UserFilter, Groups: l.Groups, GroupBaseDN: l.GroupBaseDN,
		Attributes: ldap.Attributes{
			Subject: l.Attributes.Subject, Email: l.Attributes.Email, Name: l.Attributes.Name,
			Phone: l.Attributes.Phone, Mobile: l.Attributes.Mobile, Organization: l.Attributes.Organization,
			Department: l.Attributes.Department,
		},
		DialTimeout: l.DialTimeout.D(), Timeout: l.Timeout.D(), PoolSize: l.PoolSize,
	}
	if l.CAFile != "" {
		pemData, err := os.ReadFile(l.CAFile)
		if err != nil {
			return c, fmt.Errorf("ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemData) {
			return c, fmt.Errorf("ca_file %s: no PEM certificate in it", l.CAFile)
		}
		c.RootCAs = pool
	}
	return c, nil
}

// oidcConfig turns the YAML of an oidc provider into its Config.
func oidcConfig(pc config.Provider) oidc.Config {
	o := pc.OIDC
	c := oidc.Config{
		Issuer: o.Issuer, ClientID: o.ClientID, ClientSecret: o.ClientSecret, Scopes: o.Scopes,
		Preset: o.Preset, HostedDomain: o.HostedDomain, Tenant: o.Tenant, AllowedTenants: o.AllowedTenants,
		UserInfo: o.UserInfo,
		Claims: oidc.Claims{
			Email: o.Claims.Email, EmailVerified: o.Claims.EmailVerified, Name: o.Claims.Name,
			Phone: o.Claims.Phone, Mobile: o.Claims.Mobile, Organization: o.Claims.Organization,
			Department: o.Claims.Department, Groups: o.Claims.Groups,
		},
	}
	if o.Preset == oidc.PresetMicrosoft {
		c.Issuer = "" // the provider derives it from the tenant
	}
	return c
}

// buildProviders opens every configured provider, in configuration order.
// Providers with background work (metadata refresh, connection pools,
// plugin processes) are also returned as closers.
func buildProviders(ctx context.Context, cfg *config.Config, st store.Store, log *slog.Logger) (*providers.Registry, *local.Provider, []io.Closer, map[string]*plugins.Plugin, error) {
	return buildProvidersReusing(ctx, cfg, st, log, nil, nil)
}

// buildProvidersReusing is buildProviders that takes the providers in
// reuse as they are (a reload keeps unchanged providers running); only
// providers it opens are returned as closers.
// Plugins (kept or opened) are returned by id, for their health and Close.
func buildProvidersReusing(ctx context.Context, cfg *config.Config, st store.Store, log *slog.Logger,
	reuse map[string]providers.Provider, reusePlugins map[string]*plugins.Plugin) (*providers.Registry, *local.Provider, []io.Closer, map[string]*plugins.Plugin, error) {
	reg := providers.NewRegistry()
	var first *local.Provider
	var closers []io.Closer
	plugs := map[string]*plugins.Plugin{}
	fail := func(err error) (*providers.Registry, *local.Provider, []io.Closer, map[string]*plugins.Plugin, error) {
		for _, c := range closers {
			c.Close()
		}
		return nil, nil, nil, nil, err
	}
	for _, pc := range cfg.Providers {
		if p, ok := reuse[pc.ID]; ok {
			if lp, isLocal := p.(*local.Provider); isLocal && first == nil {
				first = lp
			}
			if pl := reusePlugins[pc.ID]; pl != nil {
				plugs[pc.ID] = pl
			}
			if err := reg.Add(p); err != nil {
				return fail(err)
			}
			continue
		}
		var p providers.Provider
		switch pc.Type {
		case "plugin":
			conf, err := json.Marshal(pc.Plugin.Config)
			if err != nil {
				return fail(fmt.Errorf("provider %s: config: %w", pc.ID, err))
			}
			pl, err := plugins.Open(ctx, plugins.Spec{ID: pc.ID, Label: pc.Label.String(), Command: pc.Plugin.Command,
				Args: pc.Plugin.Args, SHA256: pc.Plugin.SHA256, Config: conf, Logger: log})
			if err != nil {
				return fail(fmt.Errorf("provider %s: %w", pc.ID, err))
			}
			closers = append(closers, pl)
			plugs[pc.ID] = pl
			p = pl.Provider()
		case "network":
			prefixes := pc.Network.Prefixes
			if len(prefixes) == 0 { // a Config built in code, not validated
				for _, n := range pc.Network.Networks {
					pre, err := netip.ParsePrefix(n)
					if err != nil {
						a, aerr := netip.ParseAddr(n)
						if aerr != nil {
							return fail(fmt.Errorf("provider %s: network %q: %w", pc.ID, n, err))
						}
						pre = netip.PrefixFrom(a, a.BitLen())
					}
					prefixes = append(prefixes, pre)
				}
			}
			np, err := network.Open(pc.ID, network.Config{Name: orLabel(pc), Networks: prefixes})
			if err != nil {
				return fail(fmt.Errorf("provider %s: %w", pc.ID, err))
			}
			p = np
		case "ldap":
			lc, err := ldapConfig(pc)
			if err != nil {
				return fail(fmt.Errorf("provider %s: %w", pc.ID, err))
			}
			dp, err := ldap.Open(pc.ID, lc)
			if err != nil {
				return fail(fmt.Errorf("provider %s: %w", pc.ID, err))
			}
			closers = append(closers, dp)
			p = dp
		case "saml":
			sc, err := samlConfig(ctx, cfg, st, pc, log)
			if err != nil {
				return fail(fmt.Errorf("provider %s: %w", pc.ID, err))
			}
			sp, err := saml.Open(ctx, pc.ID, sc)
			if err != nil {
				return fail(fmt.Errorf("provider %s: %w", pc.ID, err))
			}
			closers = append(closers, sp)
			p = sp
		case "oidc":
			op, err := oidc.Open(ctx, pc.ID, oidcConfig(pc))
			if err != nil {
				return fail(fmt.Errorf("provider %s: %w", pc.ID, err))
			}
			// Open does not fail for an OP it cannot reach: the provider
			// retries when used. Say so now, as SAML does for metadata.
			if err := op.Discover(ctx); err != nil {
				log.Error("oidc: discovery failed at start; sign-ins fail until it succeeds",
					"provider_id", pc.ID, "err", err)
			}
			p = op
		case "local":
			lc := localConfig(pc)
			lc.Logger = log
			// Shared by replicas and kept over restarts, so that an
			// unknown email pays the same cost on every try.
			key, err := st.Secret(ctx, "local_dummy_key:"+pc.ID, func() ([]byte, error) {
				b := make([]byte, 32)
				_, err := rand.Read(b)
				return b, err
			})
			if err != nil {
				return fail(fmt.Errorf("provider %s: dummy key: %w", pc.ID, err))
			}
			lc.DummyKey = key
			lp, err := local.Open(pc.ID, lc, accounts{st})
			if err != nil {
				return fail(fmt.Errorf("provider %s: %w", pc.ID, err))
			}
			if err := lp.Learn(ctx); err != nil {
				return fail(fmt.Errorf("provider %s: %w", pc.ID, err))
			}
			if first == nil {
				first = lp
			}
			p = lp
		default:
			return fail(fmt.Errorf("provider %s: type %q is not available", pc.ID, pc.Type))
		}
		if err := reg.Add(p); err != nil {
			return fail(err)
		}
	}
	return reg, first, closers, plugs, nil
}

// app is a fully wired gateway; Reload replaces its configuration live.
type app struct {
	mu         sync.Mutex // serialises reloads
	cfg        *config.Config
	store      store.Store
	providers  *providers.Registry
	gateway    *gateway.Gateway
	local      *local.Provider
	closerByID map[string]io.Closer
	plugins    map[string]*plugins.Plugin
	handler    liveHandler
	metrics    *metrics.Metrics // nil without server.metrics_listen
	log        *slog.Logger
	accessLog  *gateway.AccessLog // nil: requests are logged through log
	now        func() time.Time
	// mail sends the outbox; serve starts it.
	mail *mailWorker
}

// Handler serves the current configuration's gateway.
func (a *app) Handler() http.Handler { return &a.handler }

// closersOf returns the registry's providers that hold resources (and the
// plugins' processes), by id.
func closersOf(reg *providers.Registry, plugs map[string]*plugins.Plugin) map[string]io.Closer {
	byID := map[string]io.Closer{}
	for _, p := range reg.All() {
		if c, ok := p.(io.Closer); ok {
			byID[p.ID()] = c
		}
	}
	for id, pl := range plugs {
		byID[id] = pl
	}
	return byID
}

// newApp wires the store, providers, portal and gateway for cfg.
func newApp(ctx context.Context, cfg *config.Config, log *slog.Logger, now func() time.Time) (*app, error) {
	return newAppWith(ctx, cfg, log, now, nil)
}

// newAppWith is newApp with the store wrapped by wrap (tests count calls).
func newAppWith(ctx context.Context, cfg *config.Config, log *slog.Logger, now func() time.Time, wrap func(store.Store) store.Store) (*app, error) {
	return buildApp(ctx, cfg, log, nil, now, wrap, nil)
}

// newAppMetered is newAppWith that reports to m (nil: no metrics).
func newAppMetered(ctx context.Context, cfg *config.Config, log *slog.Logger, now func() time.Time,
	wrap func(store.Store) store.Store, m *metrics.Metrics) (*app, error) {
	return buildApp(ctx, cfg, log, nil, now, wrap, m)
}

// buildApp is newAppWith with the gateway's access log (nil: the gateway
// logs each request through log) and metrics (nil: none).
func buildApp(ctx context.Context, cfg *config.Config, log *slog.Logger, access *gateway.AccessLog, now func() time.Time,
	wrap func(store.Store) store.Store, m *metrics.Metrics) (*app, error) {
	st, err := openStore(ctx, cfg, sqlite.WithLogger(log))
	if err != nil {
		return nil, err
	}
	if wrap != nil {
		st = wrap(st)
	}
	if m != nil {
		st = m.WrapStore(st)
	}
	reg, lp, closers, plugs, err := buildProviders(ctx, cfg, st, log)
	if err != nil {
		st.Close()
		return nil, err
	}
	cleanup := func() {
		for _, c := range closers {
			c.Close()
		}
		st.Close()
	}
	r, err := portal.New(portal.Options{SiteTitle: cfg.Portal.Title, DefaultLang: cfg.Portal.DefaultLanguage, Location: cfg.Portal.Location})
	if err != nil {
		cleanup()
		return nil, err
	}
	factors, err := secondFactors(ctx, cfg, st, now)
	if err != nil {
		cleanup()
		return nil, err
	}
	// The worker needs the gateway's Composer, the gateway a way to wake
	// the worker: Kick reaches it once it is made below.
	var mw *mailWorker
	gw, err := gateway.New(ctx, withMetrics(gateway.Options{Config: cfg, Store: st, Providers: reg, Renderer: r, Logger: log,
		AccessLog: access, Now: now, Kick: func() { mw.Kick() }, Factors: factors}, m))
	if err != nil {
		cleanup()
		return nil, err
	}
	if mw, err = newMailWorker(cfg, st, gw.Shared().Composer(), log, now); err != nil {
		gw.Shared().Close()
		cleanup()
		return nil, err
	}
	a := &app{cfg: cfg, store: st, providers: reg, gateway: gw, local: lp, closerByID: closersOf(reg, plugs), plugins: plugs,
		metrics: m, log: log, accessLog: access, now: now, mail: mw}
	a.publishMetrics()
	if a.log == nil {
		a.log = slog.Default()
	}
	a.handler.set(gw.Handler())
	return a, nil
}

// Close stops the gateway and the providers, and closes the store.
func (a *app) Close() error {
	a.mail.Stop() // before the store closes: a send in progress is recorded
	a.mu.Lock()
	defer a.mu.Unlock()
	a.gateway.Shared().Close()
	for _, c := range a.closerByID {
		c.Close()
	}
	return a.store.Close()
}

func (c *cli) serve(ctx context.Context, args []string) error {
	fs := c.flags("serve")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	cfg, err := c.loadConfig()
	if err != nil {
		return err
	}
	logs, log, access := newServeLogs(cfg.Log, c.stderr)
	// Deferred first, so it runs last: the lines of the shutdown, audit
	// events included, are written before serve returns.
	defer logs.Close()
	for _, w := range cfg.Warnings() {
		log.Warn("configuration: "+w.Msg, "config", w.File, "line", w.Line, "key", w.Key)
	}
	base := softMemoryLimit(cfg)
	if base > 0 {
		debug.SetMemoryLimit(base)
		log.Info("soft memory limit set", "bytes", base)
	}
	var m *metrics.Metrics
	if cfg.Server.MetricsListen != "" {
		m = metrics.New(log)
	}
	a, err := buildApp(ctx, cfg, log, access, nil, nil, m)
	if err != nil {
		return err
	}
	defer a.Close()
	a.mail.start(ctx)
	if base > 0 {
		go a.followCacheMemory(ctx, base, log)
	}
	if err := a.checkHashingBudgets(); err != nil {
		_ = logs.Flush() // the lines before it come first
		fmt.Fprintln(c.stderr, err)
		return exitCode(1)
	}
	ln, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		return err
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	if err := a.watchConfig(ctx, cfg.Path, hup); err != nil {
		log.Warn("config file watch unavailable; SIGHUP still reloads", "err", err)
	}
	publicHandler, stopMetrics, err := a.serveMetrics(cfg)
	if err != nil {
		ln.Close()
		return err
	}
	defer stopMetrics()
	srv := &http.Server{
		Handler:           publicHandler,
		ReadHeaderTimeout: cfg.Server.ReadHeaderTimeout.D(),
		ReadTimeout:       time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("ssogate listening", "url", cfg.Server.PublicURL, "listen", ln.Addr().String(), "version", buildVersion(), "config", cfg.Path)
	fmt.Fprintf(c.stdout, "ssogate %s is listening on %s\n", buildVersion(), cfg.Server.PublicURL)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownTimeout.D())
	defer cancel()
	return srv.Shutdown(sctx)
}

func (c *cli) checkConfig(args []string) error {
	fs := c.flags("check-config")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	cfg, err := c.loadConfig()
	if err != nil {
		return err
	}
	if err := checkStoredHashes(context.Background(), cfg); err != nil {
		fmt.Fprintln(c.stderr, err)
		return exitCode(1)
	}
	// Warnings go to stderr, like errors, but leave the exit status 0.
	for _, w := range cfg.Warnings() {
		w.Msg = "warning: " + w.Msg
		fmt.Fprintln(c.stderr, w)
	}
	fmt.Fprintf(c.stdout, "%s: ok (%d providers, %d services)\n", cfg.Path, len(cfg.Providers), len(cfg.Services))
	printSettings(context.Background(), c.stdout, cfg)
	return nil
}

// softMemoryLimit returns a GC memory limit for serve when GOMEMLIMIT is
// not set: twice the password-hashing budget plus 256 MiB. Every argon2id
// hash leaves its buffer for the collector, so without a limit a login
// storm's heap grows to about three times the budget before a collection;
// with it the collector runs sooner, and the bounded hashing keeps live
// memory under the budget.
func softMemoryLimit(cfg *config.Config) int64 {
	if os.Getenv("GOMEMLIMIT") != "" {
		return 0
	}
	var budget int64
	for _, p := range cfg.Providers {
		if p.Local != nil {
			lc := localConfig(p)
			inFlight := int64(lc.MaxInFlight)
			if inFlight == 0 {
				inFlight = int64(local.DefaultMaxInFlight(lc.Memory, lc.Parallelism))
			}
			budget += inFlight * int64(lc.Memory) * 1024
		}
	}
	return budget + softMemoryHeadroom
}

func buildVersion() string {
	if version != "dev" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return version
}

// cacheMemoryLimit is the soft memory limit for base (the hashing budget
// and its headroom) while the caches hold st: the limit is there to keep
// the garbage of password hashes from growing the heap, not to squeeze
// live sessions, so it grows by what the caches are allowed (twice their
// live size, see gateway.CacheStats.MemoryAllowance).
func cacheMemoryLimit(base int64, st gateway.CacheStats) int64 {
	return base + st.MemoryAllowance()
}

// followCacheMemory raises and lowers the soft memory limit with the
// caches, every second (a burst of new sessions fills them fast), until
// ctx ends.
func (a *app) followCacheMemory(ctx context.Context, base int64, log *slog.Logger) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	last := base
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		a.mu.Lock()
		st := a.gateway.Shared().CacheStats()
		a.mu.Unlock()
		limit := cacheMemoryLimit(base, st)
		if d := limit - last; d > 4<<20 || d < -4<<20 {
			debug.SetMemoryLimit(limit)
			log.Debug("soft memory limit follows the session cache", "bytes", limit, "sessions", st.Sessions, "handoffs", st.Handoffs)
			last = limit
		}
	}
}

// softMemoryHeadroom is what the soft memory limit allows beyond the
// hashing budget: the rest of the gateway's heap (a few MiB, plus the
// session cache) and one finished hash's buffer the collector has not yet
// freed.
const softMemoryHeadroom = 48 << 20
