package gateway

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
)

// originalURL reconstructs the URL the person asked the fronting proxy
// for, from the headers each proxy sends with its auth subrequest:
//
//   - Traefik ForwardAuth and Caddy forward_auth: X-Forwarded-Proto,
//     X-Forwarded-Host, X-Forwarded-Uri (and X-Forwarded-Method);
//   - nginx auth_request, by the convention of our snippet:
//     X-Original-URL (and X-Original-Method).
//
// nginx reports whether the nginx convention was used: nginx turns a 401
// into the login redirect itself, while Traefik and Caddy pass the
// gateway's redirect on to the browser. path is the URL's routePath.
//
// A request that carries both conventions is refused: a client could have
// added the one its proxy does not overwrite, to name another service. So
// is one that carries any of these headers twice, as two lines or as a
// list a proxy joined with ", ": which copy the proxy wrote and which the
// client sent cannot be told apart.
func originalURL(r *http.Request) (u *url.URL, path string, nginx bool, ok bool) {
	var hv [len(forwardAuthHeaders)]string
	for i, k := range forwardAuthHeaders {
		v, ok := singleValue(r.Header, k)
		if !ok {
			return nil, "", false, false
		}
		hv[i] = v
	}
	host, uri, proto, raw := hv[0], hv[1], hv[2], hv[3]
	if raw != "" {
		if host != "" || uri != "" {
			return nil, "", true, false
		}
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			return nil, "", true, false
		}
		path, ok := routePath(u.EscapedPath())
		return u, path, true, ok
	}
	if host == "" || strings.Contains(host, ",") {
		return nil, "", false, false
	}
	proto = strings.ToLower(proto)
	if proto != "https" {
		proto = "http"
	}
	if uri == "" {
		uri = "/"
	}
	if !strings.HasPrefix(uri, "/") {
		return nil, "", false, false
	}
	if plainHost(host) && !strings.Contains(uri, "#") {
		// The common case, without building and re-parsing a whole URL:
		// a host of letters, digits, dots and dashes (and a port) is
		// what url.Parse would keep as it is, and a request URI without
		// a fragment parses the same alone.
		var err error
		if u, err = url.ParseRequestURI(uri); err != nil {
			return nil, "", false, false
		}
		u.Scheme, u.Host = proto, host
	} else {
		var err error
		u, err = url.Parse(proto + "://" + host + uri)
		if err != nil || u.Host == "" || u.User != nil {
			return nil, "", false, false
		}
	}
	path, ok = routePath(u.EscapedPath())
	return u, path, false, ok
}

// plainHost reports whether h is a host name or IPv4 address of ASCII
// letters, digits, '.' and '-', with an optional port of digits.
func plainHost(h string) bool {
	name, port, hasPort := strings.Cut(h, ":")
	if name == "" || len(name) > 253 || (hasPort && (port == "" || len(port) > 5)) {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i] | 0x20 // lower-cases letters; digits, '.' and '-' keep their place
		if !('a' <= c && c <= 'z' || '0' <= name[i] && name[i] <= '9' || name[i] == '.' || name[i] == '-') {
			return false
		}
	}
	for i := 0; i < len(port); i++ {
		if port[i] < '0' || port[i] > '9' {
			return false
		}
	}
	return true
}

// noStore is Cache-Control's value on every /auth answer, shared: a
// header map slice of capacity 1 is copied, never written, by an append.
var noStore = [1]string{"no-store"}

// forwardAuthHeaders are the headers that say what /auth is asked about,
// in the order originalURL reads them.
var forwardAuthHeaders = [...]string{
	"X-Forwarded-Host", "X-Forwarded-Uri", "X-Forwarded-Proto", "X-Original-Url",
	"X-Forwarded-Method", "X-Original-Method",
}

// singleValue returns header k's value; ok is false when it came as more
// than one line, or holds whitespace: none of these values (a host, a
// request URI, a scheme, a method) has any, while a proxy joining two
// copies writes ", ".
func singleValue(h http.Header, k string) (string, bool) {
	vs := h[k]
	switch len(vs) {
	case 0:
		return "", true
	case 1:
		return vs[0], !strings.ContainsAny(vs[0], " \t")
	}
	return "", false
}

// originalMethod is the method of the request being authorized, by the
// same convention as its URL.
func originalMethod(r *http.Request, nginx bool) string {
	h := "X-Forwarded-Method"
	if nginx {
		h = "X-Original-Method"
	}
	if m := r.Header.Get(h); m != "" {
		return m
	}
	return http.MethodGet
}

// routePath returns the path a request is routed and authorized by, from
// its escaped (as sent) path: each segment percent-decoded once and
// stripped of its ;parameters, the way Tomcat and other servlet
// containers read it, and runs of "/" made one, as nginx (merge_slashes)
// and most servers do, so /app//staff/ is the staff service's. The
// upstream receives the path as sent.
//
// ok is false for a path that could climb out of the service its prefix
// names, under any reading an upstream or a proxy may apply: a "." or ".."
// segment, also as "..;x" or ".;x" (Tomcat), percent-encoded ("%2e%2e",
// "%2E."), formed with an encoded slash ("..%2f"), or encoded twice or
// three times ("%252e%252e", for upstreams that decode again); any
// backslash, literal or encoded (Windows and IIS read it as "/"); or an
// invalid percent escape. A plain encoded slash ("group%2Fproject", as
// GitLab's API uses) passes.
func routePath(escaped string) (string, bool) {
	if !strings.ContainsAny(escaped, "%;\\") && !strings.Contains(escaped, "//") {
		// The common case: nothing to decode, only dot segments to look for.
		for seg := range strings.SplitSeq(escaped, "/") {
			if seg == "." || seg == ".." {
				return "", false
			}
		}
		return escaped, true
	}
	var b strings.Builder
	b.Grow(len(escaped))
	rest := escaped
	for i := 0; ; i++ {
		seg, more, found := strings.Cut(rest, "/")
		dec, err := url.PathUnescape(seg)
		if err != nil || !safeSegment(dec) {
			return "", false
		}
		name, _, _ := strings.Cut(dec, ";")
		if i > 0 && (name != "" || !found) {
			b.WriteByte('/')
		}
		b.WriteString(name)
		if !found {
			break
		}
		rest = more
	}
	p := b.String()
	for strings.Contains(p, "//") { // from an encoded slash ("/app/%2Fstaff/")
		p = strings.ReplaceAll(p, "//", "/")
	}
	return p, true
}

// safeSegment reports whether a once-decoded path segment stays one
// segment that does not climb, however many more times it is decoded.
func safeSegment(dec string) bool {
	for range 3 {
		if strings.ContainsRune(dec, '\\') {
			return false
		}
		for part := range strings.SplitSeq(dec, "/") {
			name, _, _ := strings.Cut(part, ";")
			if name == "." || name == ".." {
				return false
			}
		}
		if !strings.Contains(dec, "%") {
			return true
		}
		next, err := url.PathUnescape(dec)
		if err != nil {
			return true // a literal '%', not an escape an upstream would decode
		}
		dec = next
	}
	return !strings.Contains(dec, "%")
}

// forwardAuth answers a fronting proxy's question "may this request
// through?": 200 with the identity headers; 401 (nginx, or anything that
// is not a browser navigating) or 302 to the login page (Traefik, Caddy)
// when a sign-in is needed, with the login URL in Location either way —
// and the same with the step-up page when the service needs a second
// factor the session lacks; 403 when the person may not use the service.
func (g *Gateway) forwardAuth(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	w.Header()["Cache-Control"] = noStore[:1:1]
	orig, path, nginx, ok := originalURL(r)
	if !ok {
		g.log.Warn("forward auth without a usable original URL", "request_id", requestID(ctx))
		http.Error(w, "400 forward auth needs one X-Forwarded-Host and X-Forwarded-Uri, or one X-Original-URL (not both), naming a clean path", http.StatusBadRequest)
		return
	}
	browser := originalMethod(r, nginx) == http.MethodGet && strings.Contains(r.Header.Get("Accept"), "text/html")
	s := g.router.match(orig.Host, path)
	if s == nil {
		g.forwardAuthNoService(w, r, orig, browser && !nginx)
		return
	}
	sess, user, verdict := g.authorize(ctx, r, s)
	switch verdict {
	case verdictAllow:
	case verdictError:
		http.Error(w, "500 internal error", http.StatusInternalServerError)
		return
	case verdictUnavailable:
		w.Header().Set("Retry-After", retryAfterStore)
		http.Error(w, "503 store unavailable, try again", http.StatusServiceUnavailable)
		return
	case verdictForbidden:
		http.Error(w, "403 forbidden", http.StatusForbidden)
		return
	case verdictMustChange:
		g.challengeTo(w, g.publicURL+mustChangeURL, browser && !nginx)
		return
	case verdictStepUp:
		g.challengeStepUp(w, orig, browser && !nginx)
		return
	case verdictDevice:
		g.challengeTo(w, g.deviceStartURL(orig), browser && !nginx)
		return
	default:
		g.challenge(w, r, orig, verdict == verdictStale, browser && !nginx)
		return
	}
	ho, err := g.handoffFor(sess, user, s)
	if err != nil {
		g.log.Error("handoff failed", "request_id", requestID(ctx), "service", s.cfg.ID, "err", err)
		http.Error(w, "500 internal error", http.StatusInternalServerError)
		return
	}
	setHandoff(w.Header(), ho)
	w.WriteHeader(http.StatusOK)
}

// forwardAuthNoService answers /auth about a URL of no service. Without a
// session the answer is the one a service's URL gets (the login URL, with
// the URL as return_to, which the login page checks and drops): a
// different answer would tell anyone which hosts are services. With a
// session, 403.
func (g *Gateway) forwardAuthNoService(w http.ResponseWriter, r *http.Request, orig *url.URL, redirect bool) {
	ctx := r.Context()
	_, _, err := g.sessions.Resolve(ctx, r)
	switch {
	case errors.Is(err, errNoSession):
		// The same shape as Redirects.Safe gives a service's URL: none
		// when too long or odd.
		target := orig.String()
		if len(target) > maxReturnTo || suspicious(target) {
			target = ""
		}
		g.challengeTo(w, g.loginURLFor(target, false), redirect)
	case err != nil:
		g.log.Error("session lookup failed", "request_id", requestID(ctx), "err", err)
		http.Error(w, "500 internal error", http.StatusInternalServerError)
	default:
		g.log.Warn("forward auth for a URL of no service", "request_id", requestID(ctx), "host", orig.Host, "path", orig.Path)
		http.Error(w, "403 forbidden", http.StatusForbidden)
	}
}

// jwks serves the public keys that verify X-Ssogate-Assertion.
func (g *Gateway) jwks(w http.ResponseWriter, r *http.Request) {
	body, err := g.keys.jwksJSON()
	if err != nil {
		g.fail(w, r, http.StatusInternalServerError, "error.internal", err)
		return
	}
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.Header().Set("Cache-Control", "public, max-age=60")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	_, _ = w.Write(body)
}
