// Package gateway is ssogate's HTTP side: routes, the sign-in flow,
// server-side sessions, CSRF protection, safe redirects, client-IP
// resolution, security headers and audit. It ties the providers, the store
// and the portal together; it holds no concrete provider or backend choice
// (cmd/ssogate wires those).
package gateway

import (
	"context"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ssogate/ssogate/account"
	"github.com/ssogate/ssogate/config"
	"github.com/ssogate/ssogate/mfa"
	"github.com/ssogate/ssogate/notify"
	"github.com/ssogate/ssogate/portal"
	"github.com/ssogate/ssogate/providers"
	"github.com/ssogate/ssogate/store"
)

// Options are what a Gateway is built from.
type Options struct {
	Config    *config.Config
	Store     store.Store
	Providers *providers.Registry
	Renderer  *portal.Renderer
	Logger    *slog.Logger
	// AccessLog, when set, writes the line per request instead of Logger;
	// give it one only when Logger's level lets INFO through.
	AccessLog *AccessLog
	// Now is the clock; nil means time.Now. Tests move it to check expiry.
	Now func() time.Time
	// Shared is the state kept across configuration reloads; nil makes a
	// new one that the Gateway owns (and Close closes).
	Shared *Shared
	// Observe, when set, is called once for every request after it is
	// answered, with its route class (one of the Class constants), its
	// status and how long it took. It runs on the hot path: it must not
	// block, and should not allocate.
	Observe func(class string, status int, d time.Duration)
	// SignIn, when set, is called once for every sign-in attempt that
	// reaches a provider's answer, with the provider id and the outcome
	// (one of the Outcome constants).
	SignIn func(provider, outcome string)
	// Kick, when set, is called after a flow enqueued a message, so that
	// the outbox worker sends it now rather than at its next poll. It
	// must not block.
	Kick func()
	// Factors are the second factors of 2-step verification, wired by
	// cmd/ssogate (the gateway names no concrete factor); none leaves it
	// off.
	Factors []mfa.Factor
}

// Shared is what outlives a configuration reload: server-side sessions and
// their cache, the CSRF key, the assertion signing keys, cached hand-offs
// and the background sweeper. Settings it is built from (session and
// assertion settings, the public URL's scheme) take effect at restart.
type Shared struct {
	// store is the one every gateway of the process shares; the
	// organisation settings are read from it.
	store        store.Store
	sessions     *sessionManager
	csrf         *csrf
	langCk       string
	secure       bool
	keys         *keyring
	handoffs     *handoffCache
	assertionTTL time.Duration
	// compose seals outbox messages under the master secret.
	compose *notify.Composer
	log     *slog.Logger
	now     func() time.Time

	// devices signs device cookies; deviceCk is their name.
	devices  *account.Devices
	deviceCk string

	// twoStep holds the keys of 2-step verification's sealed state.
	twoStep twoStepKeys
	// org is the stored organisation settings, reread on ChangeSettings
	// and on the sweeper's tick (see orgsettings.go).
	org atomic.Pointer[orgStored]

	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}
	// watching is closed when the change feed's watcher has stopped (at
	// once when the store has no feed).
	watching chan struct{}
	unwatch  context.CancelFunc
}

// NewShared builds the lasting state from o.Config, o.Store, o.Logger and
// o.Now, and starts the sweeper; Close stops it.
func NewShared(ctx context.Context, o Options) (*Shared, error) {
	if o.Config == nil || o.Store == nil {
		return nil, errors.New("gateway: Config and Store are required")
	}
	cfg := o.Config
	sh := &Shared{store: o.Store, log: o.Logger, now: o.Now, stop: make(chan struct{}), done: make(chan struct{}),
		watching: make(chan struct{}), handoffs: newHandoffCache(defaultSessionCacheSize)}
	if sh.log == nil {
		sh.log = slog.Default()
	}
	if sh.now == nil {
		sh.now = time.Now
	}
	sh.secure = strings.HasPrefix(strings.ToLower(cfg.Server.PublicURL), "https://")
	master, err := masterSecret(ctx, cfg, o.Store)
	if err != nil {
		return nil, err
	}
	keys, csrfKey, err := deriveKeys(master)
	if err != nil {
		return nil, err
	}
	sh.sessions = newSessionManager(o.Store, keys, cfg.Session.CookieName, cfg.Session.CookieDomain, sh.secure,
		cfg.Session.IdleTimeout.D(), cfg.Session.AbsoluteTimeout.D(), cfg.Session.CacheTTL.D(), sh.now)
	sh.sessions.handoffs = sh.handoffs
	sh.sessions.touches = make(chan touchReq, touchQueue)
	sh.csrf = &csrf{key: csrfKey, cookie: "ssogate_csrf", secure: sh.secure}
	sh.langCk = "ssogate_lang"
	if sh.secure {
		sh.csrf.cookie = "__Host-ssogate_csrf"
		sh.langCk = "__Host-ssogate_lang"
	}
	sh.assertionTTL = cfg.Assertion.TTL.D()
	if sh.assertionTTL <= 0 {
		sh.assertionTTL = time.Minute
	}
	if sh.keys, err = newKeyring(ctx, o.Store, master, sh.assertionTTL, sh.now); err != nil {
		return nil, err
	}
	outboxSeal, err := notify.Sealer(master)
	if err != nil {
		return nil, err
	}
	sh.compose = notify.NewComposer(outboxSeal)
	if sh.devices, sh.deviceCk, err = newDevices(master, sh.secure, sh.now); err != nil {
		return nil, err
	}
	if sh.twoStep, err = deriveTwoStepKeys(master); err != nil {
		return nil, err
	}
	if err := sh.loadOrg(ctx); err != nil {
		return nil, err
	}
	go sh.sweeper()
	wctx, cancel := context.WithCancel(context.Background())
	sh.unwatch = cancel
	if feed, ok := o.Store.(store.ChangeFeed); ok {
		go sh.watch(wctx, feed)
	} else {
		close(sh.watching)
	}
	return sh, nil
}

// Composer returns what seals and opens outbox messages; the notify
// worker opens with it what the flows enqueued.
func (sh *Shared) Composer() *notify.Composer { return sh.compose }

// Close stops the sweeper and the change feed's watcher. It does not
// close the store.
func (sh *Shared) Close() {
	sh.stopOnce.Do(func() {
		close(sh.stop)
		sh.unwatch()
	})
	<-sh.done
	<-sh.watching
}

// watchRetry is how long the watcher waits before watching again after
// the change feed failed.
const watchRetry = time.Second

// watch applies the store's change notices to the caches until ctx ends:
// a revoked session, a changed user, new signing keys. While the feed is
// live, cached sessions are trusted past cache_ttl.
func (sh *Shared) watch(ctx context.Context, feed store.ChangeFeed) {
	defer close(sh.watching)
	for {
		err := feed.WatchChanges(ctx, sh.changed, sh.feedLive)
		sh.sessions.live.Store(false)
		if ctx.Err() != nil {
			return
		}
		sh.log.Warn("change feed stopped; session cache falls back to cache_ttl", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(watchRetry):
		}
	}
}

// changed applies one change notice.
func (sh *Shared) changed(c store.Change) {
	switch c.Kind {
	case store.ChangeSession:
		sh.sessions.forget(c.ID)
	case store.ChangeUser:
		sh.sessions.forgetUser(c.ID)
	case store.ChangeKeys:
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := sh.keys.load(ctx); err != nil {
			sh.log.Error("signing keys reload failed", "err", err)
		}
	case store.ChangeSettings:
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		sh.orgSettingsChanged(ctx)
	}
}

// Gateway serves every route of ssogate.
type Gateway struct {
	cfg       *config.Config
	store     store.Store
	providers *providers.Registry
	render    *portal.Renderer
	log       *slog.Logger
	accessLog *AccessLog
	now       func() time.Time

	sessions  *sessionManager
	csrf      *csrf
	redirects *Redirects
	clientIPs *ClientIPs
	services  []*service
	router    *router
	secure    bool
	csp       string
	// formTargets are the origins forms may post or redirect to.
	formTargets []string
	// adminPatterns are the console's routes (adminRoute).
	adminPatterns []string
	langCk        string
	handler       http.Handler
	pages         http.Handler
	// org caches the organisation settings in effect (orgNow).
	org atomic.Pointer[orgView]

	shared    *Shared
	ownShared bool

	observe func(class string, status int, d time.Duration)
	signIn  func(provider, outcome string)

	// account runs the account flows (lockout, reset, email change).
	account *account.Service
	// kick wakes the outbox worker after a flow queued a message.
	kick func()

	// devices remembers approved browsers for services' device checks.
	devices deviceCache

	// oidc is the OpenID Provider; nil without services with oidc:.
	oidc *oidcGateway

	// Hand-off to downstream services.
	keys            *keyring
	handoffs        *handoffCache
	identityHeaders *headerSet
	assertionTTL    time.Duration
	issuer          string // the public URL, iss of every assertion
	publicURL       string // scheme://host[:port], no trailing slash
	publicHost      string // normalizeHost of the public URL's host

	// saml is the SAML IdP (samlidp.go).
	saml *samlIdP
}

// service is a configured service, ready to route and hand off to.
type service struct {
	cfg     config.Service
	groups  map[string]bool
	host    string                 // normalizeHost of the URL's host
	prefix  string                 // path prefix, ending in "/"
	headers config.ServiceHeaders  // names, defaults filled in
	proxy   *httputil.ReverseProxy // nil for forward-auth-only services
	// fwdPrefix is X-Forwarded-Prefix's value for a service routed by path
	// prefix (its prefix without the trailing "/"), nil for one at "/".
	fwdPrefix []string
}

// New builds a Gateway and starts its background sweeper; Close stops it.
func New(ctx context.Context, o Options) (*Gateway, error) {
	if o.Config == nil || o.Store == nil || o.Providers == nil || o.Renderer == nil {
		return nil, errors.New("gateway: Config, Store, Providers and Renderer are required")
	}
	cfg := o.Config
	g := &Gateway{
		cfg: cfg, store: o.Store, providers: o.Providers, render: o.Renderer,
		log: o.Logger, accessLog: o.AccessLog, now: o.Now, observe: o.Observe, signIn: o.SignIn,
	}
	if g.log == nil {
		g.log = slog.Default()
	}
	if g.now == nil {
		g.now = time.Now
	}
	pub := cfg.Server.PublicURLParsed
	if pub == nil {
		u, err := url.Parse(cfg.Server.PublicURL)
		if err != nil {
			return nil, fmt.Errorf("gateway: public url: %w", err)
		}
		pub = u
	}
	g.secure = pub.Scheme == "https"

	sh := o.Shared
	if sh == nil {
		var err error
		if sh, err = NewShared(ctx, o); err != nil {
			return nil, err
		}
		g.ownShared = true
	} else {
		sh.handoffs.reset() // header names and services may have changed
	}
	g.shared = sh
	g.sessions, g.csrf, g.langCk, g.keys, g.handoffs = sh.sessions, sh.csrf, sh.langCk, sh.keys, sh.handoffs
	g.assertionTTL = sh.assertionTTL
	g.publicURL = strings.TrimSuffix(pub.String(), "/")
	g.issuer = g.publicURL
	g.publicHost = normalizeHost(pub.Host)
	g.clientIPs = NewClientIPs(cfg.Server.TrustedPrefixes)
	g.kick = o.Kick
	if g.kick == nil {
		g.kick = func() {}
	}
	g.account = g.newAccountService(o.Store, cfg, o.Factors)

	var svcURLs []*url.URL
	var formTargets []string
	identityNames := strippedHeaderNames()
	seen := map[string]bool{origin(pub): true}
	for _, c := range cfg.Services {
		sv, err := g.newService(c)
		if err != nil {
			return nil, fmt.Errorf("gateway: service %s: %w", c.ID, err)
		}
		u := sv.cfg.URLParsed
		svcURLs = append(svcURLs, u)
		if o := origin(u); !seen[o] {
			seen[o] = true
			formTargets = append(formTargets, o)
		}
		identityNames = append(identityNames, sv.headers.Names()...)
		g.services = append(g.services, sv)
	}
	g.identityHeaders = newHeaderSet(identityNames)
	g.router = newRouter(g.services)
	g.redirects = NewRedirects(pub, svcURLs)
	formTargets = append(formTargets, oidcFormTargets(g.services, seen)...)
	g.formTargets = formTargets
	g.csp = contentSecurityPolicy(formTargets)

	cop := http.NewCrossOriginProtection()
	// A SAML IdP answers with a cross-site POST: the callback carries no
	// CSRF token by design and is protected by its one-time flow instead.
	cop.AddInsecureBypassPattern("POST /callback/{id}")
	oidcCrossOrigin(cop)
	samlCrossOrigin(cop)
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.fail(w, r, http.StatusForbidden, "error.csrf", nil)
	}))
	g.pages = g.withSecurityHeaders(cop.Handler(g.mustChangeGate(g.routes())))
	g.handler = g.withRequest(http.HandlerFunc(g.dispatch))

	return g, nil
}

// dispatch sends requests for a proxied service's host or path to its
// upstream, and everything else to the gateway's own pages.
// /auth, the hot path of forward-auth mode, skips the page machinery
// (security headers for HTML, cross-origin checks for forms, the mux).
func (g *Gateway) dispatch(w http.ResponseWriter, r *http.Request) {
	path, ok := routePath(r.URL.EscapedPath())
	if !ok {
		g.pageError(w, r, http.StatusBadRequest, "error.bad_request")
		return
	}
	if g.refuseOffLine(w, r) {
		return
	}
	if s := g.router.match(r.Host, path); s != nil && s.proxy != nil {
		info(r.Context()).proxied = true
		g.serveProxy(w, r, s)
		return
	}
	if r.URL.Path == "/auth" {
		g.forwardAuth(w, r)
		return
	}
	g.pages.ServeHTTP(w, r)
}

// providerHealthy reports why p cannot answer now, or nil: a provider
// that is no providers.HealthChecker is always healthy.
func (g *Gateway) providerHealthy(ctx context.Context, p providers.Provider) error {
	hc, ok := p.(providers.HealthChecker)
	if !ok {
		return nil
	}
	return hc.Health(ctx)
}

// providersHealth asks every provider in ps at once and returns their
// answers in order, so that one slow check does not add to another.
func (g *Gateway) providersHealth(ctx context.Context, ps []providers.Provider) []error {
	errs := make([]error, len(ps))
	var wg sync.WaitGroup
	for i, p := range ps {
		wg.Go(func() { errs[i] = g.providerHealthy(ctx, p) })
	}
	wg.Wait()
	return errs
}

// Handler returns the gateway's HTTP handler.
func (g *Gateway) Handler() http.Handler { return g.handler }

// Close stops background work the Gateway owns. It does not close the
// store, nor a Shared passed in Options.
func (g *Gateway) Close() error {
	if g.ownShared {
		g.shared.Close()
	}
	return nil
}

// Shared returns the lasting state, for the Gateway that replaces this one
// at a configuration reload.
func (g *Gateway) Shared() *Shared { return g.shared }

// sweeper writes the sessions' idle-expiry touches as they come, and
// every keyReload rereads the signing keys (so a rotation is picked up
// even without a change feed) and deletes expired sessions, tickets,
// throttle windows and cached hand-offs.
func (sh *Shared) sweeper() {
	defer close(sh.done)
	t := time.NewTicker(keyReload)
	defer t.Stop()
	var batch []touchReq
	for {
		select {
		case <-sh.stop:
			return
		case tr := <-sh.sessions.touches:
			// Whatever else is queued goes in the same transaction: at
			// 100,000 active sessions a commit per touch would keep the
			// store's writer busy.
			batch = append(batch[:0], tr)
		drain:
			for len(batch) < touchBatch {
				select {
				case tr := <-sh.sessions.touches:
					batch = append(batch, tr)
				default:
					break drain
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := sh.sessions.writeTouches(ctx, batch); err != nil && !errors.Is(err, store.ErrUnavailable) {
				sh.log.Warn("session touch failed", "count", len(batch), "err", err)
			}
			cancel()
		case <-t.C:
			sh.sweepOnce()
		}
	}
}

// sweepOnce is the sweeper's periodic work: reread the signing keys, and
// drop what has expired (hand-offs, tickets, throttle windows, remembered
// browsers, OAuth tokens, session clients, sessions).
func (sh *Shared) sweepOnce() {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := sh.keys.load(ctx); err != nil {
		sh.log.Error("signing keys reload failed", "err", err)
	}
	sh.handoffs.sweep(sh.now())
	// Without a change feed (or when it missed a notice), a setting
	// changed by another process applies from here.
	sh.orgSettingsChanged(ctx)
	// Expired tickets can no longer be used, and some (profile drafts)
	// hold personal data: they go.
	if _, err := sh.store.DeleteExpiredTickets(ctx, sh.now()); err != nil {
		sh.log.Warn("ticket sweep failed", "err", err)
	}
	// Ended throttle and rate-limit windows count nothing any more.
	if _, err := sh.store.DeleteExpiredHits(ctx, sh.now()); err != nil {
		sh.log.Warn("throttle window sweep failed", "err", err)
	}
	// An expired remembered browser no longer skips the second step.
	if _, err := sh.store.DeleteExpiredBrowsers(ctx, sh.now()); err != nil {
		sh.log.Warn("remembered browser sweep failed", "err", err)
	}
	// Expired OAuth tokens are refused anyway; a used refresh token is
	// kept until it expires so that a replay of it still revokes its
	// family. Session clients expire with their session.
	if _, err := sh.store.DeleteExpiredOAuthTokens(ctx, sh.now()); err != nil {
		sh.log.Warn("oauth token sweep failed", "err", err)
	}
	if _, err := sh.store.DeleteExpiredSessionClients(ctx, sh.now()); err != nil {
		sh.log.Warn("session client sweep failed", "err", err)
	}
	n, err := sh.sessions.sweep(ctx)
	if err != nil {
		sh.log.Warn("session sweep failed", "err", err)
	} else if n > 0 {
		sh.log.Debug("expired sessions deleted", "count", n)
	}
}

// masterSecret returns the configured session secret, or the one generated
// on first start and kept in the store. Every other key (cookies, CSRF,
// the seal of signing keys) is derived from it.
func masterSecret(ctx context.Context, cfg *config.Config, st store.Store) ([]byte, error) {
	if s := cfg.Session.Secret; s != "" {
		return []byte(s), nil
	}
	b, err := st.Secret(ctx, "session_master", func() ([]byte, error) {
		b := make([]byte, 32)
		_, err := rand.Read(b)
		return b, err
	})
	if err != nil {
		return nil, fmt.Errorf("gateway: session secret: %w", err)
	}
	return b, nil
}

// deriveKeys derives independent keys for each purpose from one secret.
func deriveKeys(master []byte) (cookieKeys, []byte, error) {
	hashKey, err := hkdf.Key(sha256.New, master, nil, "ssogate cookie hmac", 64)
	if err != nil {
		return cookieKeys{}, nil, err
	}
	blockKey, err := hkdf.Key(sha256.New, master, nil, "ssogate cookie aes", 32)
	if err != nil {
		return cookieKeys{}, nil, err
	}
	sealKey, err := hkdf.Key(sha256.New, master, nil, "ssogate cookie v2 aes-gcm", 32)
	if err != nil {
		return cookieKeys{}, nil, err
	}
	csrfKey, err := hkdf.Key(sha256.New, master, nil, "ssogate csrf", 32)
	if err != nil {
		return cookieKeys{}, nil, err
	}
	return cookieKeys{hash: hashKey, block: blockKey, seal: sealKey}, csrfKey, nil
}

// ReloadKeys rereads the signing keys from the store at once (they are
// otherwise reread every 30 s), e.g. after `ssogate keys rotate`.
func (g *Gateway) ReloadKeys(ctx context.Context) error {
	return g.keys.load(ctx)
}
