package gateway

import (
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
// gateway's redirect on to the browser.
//
// A request that carries both conventions is refused: a client could have
// added the one its proxy does not overwrite, to name another service.
func originalURL(r *http.Request) (u *url.URL, nginx bool, ok bool) {
	host := r.Header.Get("X-Forwarded-Host")
	if raw := r.Header.Get("X-Original-URL"); raw != "" {
		if host != "" || r.Header.Get("X-Forwarded-Uri") != "" {
			return nil, true, false
		}
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || hasDotSegment(u.Path) {
			return nil, true, false
		}
		return u, true, true
	}
	if host == "" {
		return nil, false, false
	}
	proto := strings.ToLower(r.Header.Get("X-Forwarded-Proto"))
	if proto != "https" {
		proto = "http"
	}
	uri := r.Header.Get("X-Forwarded-Uri")
	if uri == "" {
		uri = "/"
	}
	if !strings.HasPrefix(uri, "/") {
		return nil, false, false
	}
	u, err := url.Parse(proto + "://" + host + uri)
	if err != nil || u.Host == "" || u.User != nil || hasDotSegment(u.Path) {
		return nil, false, false
	}
	return u, false, true
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

// hasDotSegment reports whether a decoded path has a "." or ".." segment
// or a backslash. Routing matches path prefixes, and an upstream or a
// proxy that normalises /app/../staff/x to /staff/x would serve another
// service than the one authorized; such paths are refused.
func hasDotSegment(p string) bool {
	if strings.Contains(p, "\\") {
		return true
	}
	for p != "" {
		var seg string
		seg, p, _ = strings.Cut(p, "/")
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}

// forwardAuth answers a fronting proxy's question "may this request
// through?": 200 with the identity headers; 401 (nginx, or anything that
// is not a browser navigating) or 302 to the login page (Traefik, Caddy)
// when a sign-in is needed, with the login URL in Location either way;
// 403 when the person may not use the service.
func (g *Gateway) forwardAuth(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	w.Header().Set("Cache-Control", "no-store")
	orig, nginx, ok := originalURL(r)
	if !ok {
		g.log.Warn("forward auth without a usable original URL", "request_id", requestID(ctx))
		http.Error(w, "400 forward auth needs X-Forwarded-Host and X-Forwarded-Uri, or X-Original-URL (not both), naming a clean path", http.StatusBadRequest)
		return
	}
	s := g.router.match(orig.Host, orig.Path)
	if s == nil {
		g.log.Warn("forward auth for a URL of no service", "request_id", requestID(ctx), "host", orig.Host, "path", orig.Path)
		http.Error(w, "403 not a configured service", http.StatusForbidden)
		return
	}
	sess, user, verdict := g.authorize(ctx, r, s)
	switch verdict {
	case verdictAllow:
	case verdictError:
		http.Error(w, "500 internal error", http.StatusInternalServerError)
		return
	case verdictForbidden:
		http.Error(w, "403 forbidden", http.StatusForbidden)
		return
	default:
		browser := originalMethod(r, nginx) == http.MethodGet && strings.Contains(r.Header.Get("Accept"), "text/html")
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
