package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/ssogate/ssogate/config"
	"github.com/ssogate/ssogate/gateway"
	"github.com/ssogate/ssogate/portal"
	"github.com/ssogate/ssogate/providers"
)

// liveHandler serves whichever gateway is current; a reload swaps it
// atomically, and requests already in flight finish on the old one.
type liveHandler struct {
	h atomic.Pointer[http.Handler]
}

func (l *liveHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	(*l.h.Load()).ServeHTTP(w, r)
}

func (l *liveHandler) set(h http.Handler) { l.h.Store(&h) }

// restartOnly lists the settings a reload cannot change: they belong to
// the listener, the store or the lasting session state.
func restartOnly(old, new *config.Config) []string {
	var keys []string
	check := func(key string, a, b any) {
		if !reflect.DeepEqual(a, b) {
			keys = append(keys, key)
		}
	}
	check("server.listen", old.Server.Listen, new.Server.Listen)
	check("server.public_url", old.Server.PublicURL, new.Server.PublicURL)
	check("server.metrics_listen", old.Server.MetricsListen, new.Server.MetricsListen)
	check("server.metrics_on_public_listener", old.Server.MetricsOnPublicListener, new.Server.MetricsOnPublicListener)
	check("store", old.Store, new.Store)
	check("session", old.Session, new.Session)
	check("assertion", old.Assertion, new.Assertion)
	check("log", old.Log, new.Log)
	return keys
}

// Reload applies cfg: providers whose configuration did not change are
// kept (a plugin is not restarted), others are opened anew, and a new
// gateway sharing the sessions and keys replaces the current one at once.
// An error leaves the running configuration untouched.
func (a *app) Reload(ctx context.Context, cfg *config.Config) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if keys := restartOnly(a.cfg, cfg); len(keys) > 0 {
		a.log.Warn("reload: these settings take effect at restart; the running values stay", "keys", keys)
		// Only the listener's own keys wait; trusted proxies and timeouts
		// in the same section still apply.
		cfg.Server.Listen, cfg.Server.PublicURL, cfg.Server.PublicURLParsed = a.cfg.Server.Listen, a.cfg.Server.PublicURL, a.cfg.Server.PublicURLParsed
		cfg.Server.MetricsListen, cfg.Server.MetricsOnPublicListener = a.cfg.Server.MetricsListen, a.cfg.Server.MetricsOnPublicListener
		cfg.Store, cfg.Session, cfg.Assertion, cfg.Log = a.cfg.Store, a.cfg.Session, a.cfg.Assertion, a.cfg.Log
	}
	old := map[string]config.Provider{}
	for _, pc := range a.cfg.Providers {
		old[pc.ID] = pc
	}
	reuse := map[string]providers.Provider{}
	for _, pc := range cfg.Providers {
		if prev, ok := old[pc.ID]; ok && reflect.DeepEqual(prev, pc) {
			if p, ok := a.providers.Get(pc.ID); ok {
				reuse[pc.ID] = p
			}
		}
	}
	reg, lp, closers, plugs, err := buildProvidersReusing(ctx, cfg, a.store, a.log, reuse, a.plugins)
	if err != nil {
		return err
	}
	// A smaller hashing budget would leave accounts unable to sign in.
	if err := checkHashingBudgetsOf(cfg, reg); err != nil {
		closeAll(closers)
		return err
	}
	r, err := portal.New(portal.Options{SiteTitle: cfg.Portal.Title, DefaultLang: cfg.Portal.DefaultLanguage, Location: cfg.Portal.Location})
	if err != nil {
		closeAll(closers)
		return err
	}
	factors, err := secondFactors(ctx, cfg, a.store, a.now)
	if err != nil {
		closeAll(closers)
		return err
	}
	gw, err := gateway.New(ctx, withMetrics(gateway.Options{Config: cfg, Store: a.store, Providers: reg, Renderer: r,
		Logger: a.log, AccessLog: a.accessLog, Now: a.now, Shared: a.gateway.Shared(), Kick: a.mail.Kick,
		Factors: factors}, a.metrics))
	if err != nil {
		closeAll(closers)
		return err
	}
	if err := a.mail.update(cfg, a.log); err != nil {
		closeAll(closers)
		return err
	}
	// Providers of the old configuration that the new one does not keep
	// are closed once the swap is done.
	var retired []io.Closer
	for id, c := range a.closerByID {
		if _, kept := reuse[id]; !kept {
			retired = append(retired, c)
		}
	}
	byID := closersOf(reg, plugs)
	// The old gateway holds nothing of its own: its Shared lives on in gw.
	a.cfg, a.providers, a.gateway, a.local, a.closerByID, a.plugins = cfg, reg, gw, lp, byID, plugs
	a.handler.set(gw.Handler())
	a.publishMetrics()
	go func() {
		// Let requests still on the old gateway finish their provider calls.
		time.Sleep(30 * time.Second)
		closeAll(retired)
	}()
	refreshKept(ctx, a.log, reuse)
	a.log.Info("configuration reloaded", "providers", len(cfg.Providers), "services", len(cfg.Services),
		"providers_kept", len(reuse))
	return nil
}

// refreshKept makes the kept providers that cache something from their
// peer (SAML IdP metadata) fetch it again, in the background: a reload is
// how an admin says "the IdP changed", and the scheduled refresh may be a
// day away. A failure keeps the copy they had.
func refreshKept(ctx context.Context, log *slog.Logger, kept map[string]providers.Provider) {
	for id, p := range kept {
		r, ok := p.(providers.Refresher)
		if !ok {
			continue
		}
		go func() {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), refreshTimeout)
			defer cancel()
			if err := r.Refresh(ctx); err != nil {
				log.Warn("reload: refresh of a kept provider failed; it keeps what it had", "provider_id", id, "err", err)
			}
		}()
	}
}

// refreshTimeout bounds refreshKept's fetch of one provider.
const refreshTimeout = 30 * time.Second

func closeAll(cs []io.Closer) {
	for _, c := range cs {
		c.Close()
	}
}

// reloadFromFile reads and validates path, then applies it; an invalid file
// is refused with the same errors as check-config.
func (a *app) reloadFromFile(ctx context.Context, path string) error {
	cfg, err := config.Load(path)
	if err != nil {
		a.log.Error("reload refused: the running configuration stays", "config", path, "err", err)
		a.countReload(err)
		return err
	}
	err = a.Reload(ctx, cfg)
	a.countReload(err)
	if err != nil {
		a.log.Error("reload failed: the running configuration stays", "config", path, "err", err)
		return err
	}
	return nil
}

// configSettle is how long the configuration file must stay still — no
// event, the same size and modification time — before it is read. An
// editor that saves in place truncates the file first and writes it a
// moment later; reading in between would see an empty file. (Load refuses
// an empty file anyway, so a slower save is refused and logged, and its
// final write then applies.)
const configSettle = 500 * time.Millisecond

// fileState is what tells whether a file is still being written.
type fileState struct {
	size  int64
	mtime int64
	err   bool
}

func statFile(path string) fileState {
	fi, err := os.Stat(path)
	if err != nil {
		return fileState{err: true}
	}
	return fileState{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
}

// watchConfig reloads on SIGHUP (sent on hup) and when the file changes.
// It watches the file's directory, since editors replace files by rename,
// and reads the file only once it has settled (configSettle); a file that
// does not load and validate whole is refused and the running
// configuration stays. SSOGATE_WATCH_CONFIG=0 turns the file watch off
// (where inotify is unreliable); without it SIGHUP still works.
func (a *app) watchConfig(ctx context.Context, path string, hup <-chan os.Signal) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	var events <-chan fsnotify.Event
	var errs <-chan error
	var w *fsnotify.Watcher
	var werr error
	if os.Getenv("SSOGATE_WATCH_CONFIG") != "0" {
		w, werr = fsnotify.NewWatcher()
	}
	if w != nil && werr == nil {
		if werr = w.Add(filepath.Dir(abs)); werr == nil {
			events, errs = w.Events, w.Errors
		} else {
			w.Close()
			w = nil
		}
	}
	go func() {
		if w != nil {
			defer w.Close()
		}
		var settle <-chan time.Time
		var armed fileState // the file when settle was last armed
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				a.log.Info("SIGHUP: reloading the configuration", "config", path)
				_ = a.reloadFromFile(ctx, path)
			case ev := <-events:
				if filepath.Clean(ev.Name) == abs && ev.Op&(fsnotify.Write|fsnotify.Create|fsnotify.Rename) != 0 {
					armed = statFile(abs)
					settle = time.After(configSettle)
				}
			case <-settle:
				// Events can be coalesced or lost; the file itself must
				// also have stood still for the whole period.
				if now := statFile(abs); now != armed {
					armed = now
					settle = time.After(configSettle)
					continue
				}
				settle = nil
				a.log.Info("configuration file changed: reloading", "config", path)
				_ = a.reloadFromFile(ctx, path)
			case err := <-errs:
				a.log.Warn("config watch", "err", err)
			}
		}
	}()
	return werr
}
