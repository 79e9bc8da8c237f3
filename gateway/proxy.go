package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ssogate/ssogate/config"
	"github.com/ssogate/ssogate/store"
)

// router finds the service a URL belongs to: by host, then by the longest
// path prefix.
type router struct {
	byHost map[string][]*service
}

func newRouter(services []*service) *router {
	rt := &router{byHost: map[string][]*service{}}
	for _, s := range services {
		rt.byHost[s.host] = append(rt.byHost[s.host], s)
	}
	for _, list := range rt.byHost {
		sort.SliceStable(list, func(i, j int) bool { return len(list[i].prefix) > len(list[j].prefix) })
	}
	return rt
}

// match returns the service for host and path, or nil.
func (rt *router) match(host, path string) *service {
	list := rt.byHost[normalizeHost(host)]
	for _, s := range list {
		if strings.HasPrefix(path, s.prefix) || path == s.prefix[:len(s.prefix)-1] {
			return s
		}
	}
	return nil
}

// normalizeHost lower-cases host and drops a default port, so that
// "Wiki.example.co.jp:443" and "wiki.example.co.jp" are one host.
func normalizeHost(h string) string {
	h = strings.ToLower(h)
	if strings.HasSuffix(h, ":80") || strings.HasSuffix(h, ":443") {
		if host, _, err := net.SplitHostPort(h); err == nil {
			if strings.Contains(host, ":") {
				return "[" + host + "]"
			}
			return host
		}
	}
	return h
}

// newProxy builds the reverse proxy for a service with an upstream.
func (g *Gateway) newProxy(s *service) *httputil.ReverseProxy {
	up := s.cfg.UpstreamParsed
	timeout := s.cfg.UpstreamTimeout.D()
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	transport := &http.Transport{
		Proxy: nil, // never route upstream traffic through an environment proxy
		DialContext: (&net.Dialer{
			Timeout:   5 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		ResponseHeaderTimeout: timeout,
		ForceAttemptHTTP2:     true,
	}
	return &httputil.ReverseProxy{
		Transport:  transport,
		BufferPool: copyBuffers,
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(up)
			if s.cfg.PreserveHost {
				pr.Out.Host = pr.In.Host
			}
			g.identityHeaders.strip(pr.Out.Header)
			g.stripGatewayCookies(pr.Out.Header)
			g.setForwarded(pr, s)
			if ho := info(pr.In.Context()).handoff; ho != nil {
				setHandoff(pr.Out.Header, ho)
			}
		},
		ModifyResponse: func(resp *http.Response) error {
			g.dropGatewayCookieWrites(resp.Header)
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			g.proxyError(w, r, s, err)
		},
	}
}

// copyBuffers lends every proxy its 32 KiB response-copy buffers. Without
// a pool httputil allocates one per proxied response: at thousands of
// requests a second that garbage makes the collector run several times a
// second, and each run marks the whole session cache.
var copyBuffers = &bufferPool{}

// bufferPool is an httputil.BufferPool over sync.Pool.
type bufferPool struct{ p sync.Pool }

// copyBufferSize is httputil's own copy buffer size.
const copyBufferSize = 32 << 10

// Get returns a buffer of copyBufferSize bytes.
func (b *bufferPool) Get() []byte {
	if v, ok := b.p.Get().(*[]byte); ok {
		return *v
	}
	return make([]byte, copyBufferSize)
}

// Put keeps buf for a later Get.
func (b *bufferPool) Put(buf []byte) {
	if cap(buf) != copyBufferSize {
		return
	}
	buf = buf[:copyBufferSize]
	b.p.Put(&buf)
}

// setForwarded sets X-Forwarded-For/Host/Proto, X-Real-IP and, for a
// service routed by path prefix, X-Forwarded-Prefix for the upstream. The
// client's own X-Forwarded-For is kept only when it came through a trusted
// proxy; otherwise the upstream sees just the socket peer. X-Real-IP is
// the client address the gateway resolved (after server.trusted_proxies),
// the one its own network rules used. Any client copy of these headers
// was removed by the strip before.
func (g *Gateway) setForwarded(pr *httputil.ProxyRequest, s *service) {
	peer := PeerIP(pr.In)
	xff := peer.String()
	trusted := peer.IsValid() && g.clientIPs.isTrusted(peer)
	if prior := pr.In.Header.Values("X-Forwarded-For"); trusted && len(prior) > 0 {
		xff = strings.Join(prior, ", ") + ", " + xff
	}
	h := pr.Out.Header
	h.Set("X-Forwarded-For", xff)
	h.Set("X-Forwarded-Host", pr.In.Host)
	h.Set("X-Forwarded-Proto", g.requestScheme(pr.In, trusted))
	if ip := clientIP(pr.In.Context()); ip.IsValid() {
		h["X-Real-Ip"] = []string{ip.String()}
	}
	if s.fwdPrefix != nil {
		h["X-Forwarded-Prefix"] = s.fwdPrefix[:1:1] // shared: an append copies
	}
}

// requestScheme is the scheme the client used.
func (g *Gateway) requestScheme(r *http.Request, trustedPeer bool) string {
	if r.TLS != nil {
		return "https"
	}
	if trustedPeer {
		if p := strings.ToLower(r.Header.Get("X-Forwarded-Proto")); p == "https" || p == "http" {
			return p
		}
	}
	if g.secure && normalizeHost(r.Host) == g.publicHost {
		return "https"
	}
	return "http"
}

// stripGatewayCookies removes the gateway's own cookies from a request
// bound upstream: the session token is a bearer credential for the gateway
// and no business of the service's.
func (g *Gateway) stripGatewayCookies(h http.Header) {
	lines := h["Cookie"]
	if len(lines) == 0 {
		return
	}
	hit := false
	for _, l := range lines {
		if strings.Contains(l, g.sessions.name) || strings.Contains(l, g.csrf.cookie) || strings.Contains(l, g.langCk) ||
			strings.Contains(l, g.shared.deviceCk) {
			hit = true
		}
	}
	if !hit {
		return
	}
	var kept strings.Builder
	for _, l := range lines {
		for l != "" {
			var part string
			part, l, _ = strings.Cut(l, ";")
			part = strings.TrimSpace(part)
			name, _, _ := strings.Cut(part, "=")
			if name == "" || g.ownCookie(name) {
				continue
			}
			if kept.Len() > 0 {
				kept.WriteString("; ")
			}
			kept.WriteString(part)
		}
	}
	if kept.Len() == 0 {
		delete(h, "Cookie")
		return
	}
	h["Cookie"] = []string{kept.String()}
}

// ownCookie reports whether name is one of the gateway's cookies: the
// session, CSRF, language and device cookies, and device approval's.
func (g *Gateway) ownCookie(name string) bool {
	return name == g.sessions.name || name == g.csrf.cookie || name == g.langCk || name == g.shared.deviceCk ||
		name == g.deviceCookieName() || name == g.deviceWaitCookieName()
}

// dropGatewayCookieWrites removes Set-Cookie lines from an upstream
// response that would set the gateway's own cookies: an upstream on the
// gateway's host must not be able to plant a session.
func (g *Gateway) dropGatewayCookieWrites(h http.Header) {
	lines := h["Set-Cookie"]
	if len(lines) == 0 {
		return
	}
	kept := lines[:0:0]
	for _, l := range lines {
		name := setCookieName(l)
		if g.ownCookie(name) {
			continue
		}
		kept = append(kept, l)
	}
	if len(kept) == 0 {
		delete(h, "Set-Cookie")
	} else {
		h["Set-Cookie"] = kept
	}
}

// setCookieName is the name under which a browser sends back the cookie a
// Set-Cookie line sets. A nameless cookie ("=ssogate=x", "= ssogate=x") is
// sent back as its value alone ("ssogate=x"), which a server reads as the
// cookie ssogate; so its name is the value's part before '='.
func setCookieName(line string) string {
	pair, _, _ := strings.Cut(line, ";")
	name, value, ok := strings.Cut(pair, "=")
	name = strings.TrimSpace(name)
	if ok && name == "" {
		name, _, _ = strings.Cut(strings.TrimSpace(value), "=")
		name = strings.TrimSpace(name)
	}
	return name
}

// proxyError answers a failed upstream call with a clear page: 504 when
// the upstream was too slow, 502 otherwise.
func (g *Gateway) proxyError(w http.ResponseWriter, r *http.Request, s *service, err error) {
	if errors.Is(r.Context().Err(), context.Canceled) {
		return // the client went away; nobody to answer
	}
	// The proxy hands over its outgoing request, without the gateway's
	// cookies; the page is the browser's, so it is built from what the
	// browser sent.
	if in := info(r.Context()).inbound; in != nil {
		r = in
	}
	status, key := http.StatusBadGateway, "error.bad_gateway"
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		status, key = http.StatusGatewayTimeout, "error.gateway_timeout"
	}
	g.log.LogAttrs(r.Context(), slog.LevelWarn, "upstream failed",
		slog.String("request_id", requestID(r.Context())),
		slog.String("service", s.cfg.ID),
		slog.Int("status", status),
		slog.String("err", err.Error()))
	g.withSecurityHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.fail(w, r, status, key, nil)
	})).ServeHTTP(w, r)
}

// serveProxy is reverse-proxy mode: only a signed-in, allowed person whose
// sign-in is fresh enough for the service (and used a second factor, when
// the service requires one) reaches the upstream.
func (g *Gateway) serveProxy(w http.ResponseWriter, r *http.Request, s *service) {
	ctx := r.Context()
	sess, user, verdict := g.authorize(ctx, r, s)
	switch verdict {
	case verdictAllow:
	case verdictError:
		g.pageError(w, r, http.StatusInternalServerError, "error.internal")
		return
	case verdictUnavailable:
		w.Header().Set("Retry-After", retryAfterStore)
		g.pageError(w, r, http.StatusServiceUnavailable, "error.store_unavailable")
		return
	case verdictForbidden:
		g.pageError(w, r, http.StatusForbidden, "error.forbidden")
		return
	case verdictMustChange:
		g.challengeTo(w, g.publicURL+mustChangeURL, wantsHTML(r))
		return
	default:
		orig := &url.URL{Scheme: g.requestScheme(r, g.clientIPs.isTrusted(PeerIP(r))), Host: r.Host,
			Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
		if verdict == verdictStepUp {
			g.challengeStepUp(w, orig, wantsHTML(r))
			return
		}
		if verdict == verdictDevice {
			g.challengeTo(w, g.deviceStartURL(orig), wantsHTML(r))
			return
		}
		g.challenge(w, r, orig, verdict == verdictStale, wantsHTML(r))
		return
	}
	ho, err := g.handoffFor(sess, user, s)
	if err != nil {
		g.log.Error("handoff failed", "request_id", requestID(ctx), "service", s.cfg.ID, "err", err)
		g.pageError(w, r, http.StatusInternalServerError, "error.internal")
		return
	}
	info(ctx).handoff, info(ctx).inbound = ho, r
	s.proxy.ServeHTTP(w, r)
}

// pageError renders a gateway error page with the gateway's own headers.
func (g *Gateway) pageError(w http.ResponseWriter, r *http.Request, status int, key string) {
	g.withSecurityHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.fail(w, r, status, key, nil)
	})).ServeHTTP(w, r)
}

// verdict is the outcome of authorizing a request for a service.
type verdict int

const (
	verdictAllow       verdict = iota
	verdictNoSession           // sign in first
	verdictStale               // signed in, but too long ago for this service
	verdictForbidden           // signed in, not allowed
	verdictError               // the store failed
	verdictUnavailable         // the store cannot be reached now: 503, try again
	verdictMustChange          // signed in, but must change the password first
	verdictStepUp              // signed in and allowed, but the service needs a second factor
	verdictDevice              // signed in and allowed, but the service needs an approved browser
)

// authorize decides whether the request's session may use s.
func (g *Gateway) authorize(ctx context.Context, r *http.Request, s *service) (*store.Session, *store.User, verdict) {
	sess, user, second, err := g.sessions.resolve(ctx, r)
	switch {
	case errors.Is(err, errNoSession):
		return nil, nil, verdictNoSession
	case err != nil:
		g.log.Error("session lookup failed", "request_id", requestID(ctx), "err", err)
		if errors.Is(err, store.ErrUnavailable) {
			return nil, nil, verdictUnavailable
		}
		return nil, nil, verdictError
	}
	if mustChange(user) {
		return sess, user, verdictMustChange
	}
	if !s.allows(user) || !s.networkAllowed(clientIP(ctx)) {
		return sess, user, verdictForbidden
	}
	if t := s.cfg.SessionTimeout.D(); t > 0 && g.now().Sub(sess.AuthTime) > t {
		return sess, user, verdictStale
	}
	if g.needsStepUp(ctx, s, second) {
		return sess, user, verdictStepUp
	}
	if need, err := g.needsDevice(ctx, r, s, user); err != nil {
		g.log.Error("device check failed", "request_id", requestID(ctx), "err", err)
		if errors.Is(err, store.ErrUnavailable) {
			return nil, nil, verdictUnavailable
		}
		return nil, nil, verdictError
	} else if need {
		return sess, user, verdictDevice
	}
	return sess, user, verdictAllow
}

// loginURL is the gateway's login page, returning to orig afterwards;
// reauth asks for a new sign-in even though a session exists.
func (g *Gateway) loginURL(orig *url.URL, reauth bool) string {
	target := ""
	if orig != nil {
		target, _ = g.redirects.Safe(orig.String())
	}
	return g.loginURLFor(target, reauth)
}

// loginURLFor is the login page with return_to target (none when empty).
// The login page checks return_to itself, whatever this says.
func (g *Gateway) loginURLFor(target string, reauth bool) string {
	q := url.Values{}
	if target != "" {
		q.Set("return_to", target)
	}
	if reauth {
		q.Set("reauth", "1")
	}
	u := g.publicURL + "/login"
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// challenge asks for a sign-in: a redirect to the login page for a browser
// navigating, 401 (with the login URL in Location) for anything else.
func (g *Gateway) challenge(w http.ResponseWriter, r *http.Request, orig *url.URL, reauth, redirect bool) {
	g.challengeTo(w, g.loginURL(orig, reauth), redirect)
}

// challengeTo is challenge with the login URL given.
func (g *Gateway) challengeTo(w http.ResponseWriter, login string, redirect bool) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Location", login)
	if redirect {
		w.WriteHeader(http.StatusFound)
		return
	}
	w.Header().Set("WWW-Authenticate", `Cookie realm="ssogate"`)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusUnauthorized)
	_, _ = w.Write([]byte("401 sign-in required\n"))
}

// wantsHTML reports whether r is a browser navigating (so a redirect to
// the login page helps) rather than an API call or a WebSocket.
func wantsHTML(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	if r.Header.Get("Upgrade") != "" {
		return false
	}
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// newService prepares a configured service for routing and hand-off.
func (g *Gateway) newService(c config.Service) (*service, error) {
	u := c.URLParsed
	if u == nil {
		var err error
		if u, err = url.Parse(c.URL); err != nil {
			return nil, err
		}
		c.URLParsed = u
	}
	if c.Upstream != "" && c.UpstreamParsed == nil {
		up, err := url.Parse(c.Upstream)
		if err != nil {
			return nil, err
		}
		c.UpstreamParsed = up
	}
	// Requests route by their decoded path (routePath), so the prefix is
	// decoded the same way: /経理/ matches a request for /%E7%B5%8C%E7%90%86/x.
	// X-Forwarded-Prefix keeps the escaped form a header can carry.
	escaped := config.RoutePrefix(u)
	prefix, ok := routePath(escaped)
	if !ok {
		return nil, fmt.Errorf("url path %s has a dot segment, a backslash or a bad escape", escaped)
	}
	s := &service{cfg: c, groups: map[string]bool{}, host: normalizeHost(u.Host), prefix: prefix}
	if escaped != "/" {
		s.fwdPrefix = []string{strings.TrimSuffix(escaped, "/")}
	}
	for _, gname := range c.AllowedGroups {
		s.groups[gname] = true
	}
	d := config.DefaultServiceHeaders
	s.headers = c.Headers
	for _, f := range []struct {
		p   *string
		def string
	}{
		{&s.headers.User, d.User}, {&s.headers.RemoteUser, d.RemoteUser}, {&s.headers.Email, d.Email},
		{&s.headers.Groups, d.Groups}, {&s.headers.Name, d.Name}, {&s.headers.Assertion, d.Assertion},
		{&s.headers.Phone, d.Phone}, {&s.headers.Mobile, d.Mobile},
		{&s.headers.Organization, d.Organization}, {&s.headers.Department, d.Department},
	} {
		if *f.p == "" {
			*f.p = f.def
		}
	}
	if c.UpstreamParsed != nil {
		s.proxy = g.newProxy(s)
	}
	return s, nil
}
