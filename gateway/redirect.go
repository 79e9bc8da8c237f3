package gateway

import (
	"net/url"
	"strings"
)

// maxReturnTo bounds the length of a return target; longer ones are refused.
const maxReturnTo = 2048

// Redirects decides where a browser may be sent after sign-in: only to the
// gateway itself or to a configured service's origin. Everything else (other
// hosts, scheme-relative "//evil", backslash tricks, javascript:, encoded or
// control-character variants) is refused, and so are the gateway's own
// flow pages (see flowPage): a sign-in never ends on "sign out?".
type Redirects struct {
	self    string          // canonical origin of the gateway
	allowed map[string]bool // canonical origins that may be targets
}

// NewRedirects returns a validator that allows the gateway's public URL and
// the origins of the given service URLs.
func NewRedirects(public *url.URL, services []*url.URL) *Redirects {
	r := &Redirects{self: origin(public), allowed: map[string]bool{origin(public): true}}
	for _, s := range services {
		if s != nil {
			r.allowed[origin(s)] = true
		}
	}
	return r
}

// Safe returns a normalised, safe form of raw and true, or ("", false) when
// raw must not be followed after a sign-in. An empty raw is not safe;
// callers fall back to the launcher.
func (r *Redirects) Safe(raw string) (string, bool) {
	target, ok := r.safe(raw)
	if !ok || (r.IsSelf(target) && flowPage(target)) {
		return "", false
	}
	return target, true
}

// SamePage returns raw when it is a safe page of the gateway itself, flow
// pages included (the language switch on the login page returns to the
// login page), else "/". POST-only endpoints are never returned: a GET
// there finds nothing.
func (r *Redirects) SamePage(raw string) string {
	target, ok := r.safe(raw)
	if !ok || !r.IsSelf(target) || postOnly(target) {
		return "/"
	}
	return target
}

// safe is Safe without the flow-page rule.
func (r *Redirects) safe(raw string) (string, bool) {
	if raw == "" || len(raw) > maxReturnTo || suspicious(raw) {
		return "", false
	}
	// Browsers treat these as equivalent to the raw form, so check the
	// decoded forms for the same tricks (once and twice encoded).
	dec := raw
	for range 2 {
		d, err := url.PathUnescape(dec)
		if err != nil {
			return "", false
		}
		if suspicious(d) {
			return "", false
		}
		if strings.HasPrefix(d, "//") || strings.HasPrefix(d, "/\\") {
			return "", false
		}
		dec = d
	}
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" || u.User != nil {
		return "", false
	}
	if u.Scheme == "" && u.Host == "" {
		if !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") {
			return "", false
		}
		return (&url.URL{Path: u.Path, RawPath: u.RawPath, RawQuery: u.RawQuery, Fragment: u.Fragment}).String(), true
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return "", false
	}
	if !r.allowed[origin(u)] {
		return "", false
	}
	return u.String(), true
}

// SafeOr returns Safe(raw) or fallback when raw is not safe.
func (r *Redirects) SafeOr(raw, fallback string) string {
	if s, ok := r.Safe(raw); ok {
		return s
	}
	return fallback
}

// IsSelf reports whether an absolute safe target points at the gateway.
func (r *Redirects) IsSelf(target string) bool {
	u, err := url.Parse(target)
	if err != nil {
		return false
	}
	return u.Host == "" || origin(u) == r.self
}

// flowPage reports whether target (a safe target on the gateway's origin)
// is a step of a flow or not a page at all: going back there after a
// sign-in would ask "sign out?" again, replay a one-time callback, or show
// an endpoint's raw answer. New routes of that kind belong here.
func flowPage(target string) bool {
	u, err := url.Parse(target)
	if err != nil {
		return true
	}
	p := u.Path
	switch p {
	case "/login", "/logout", "/lang", "/auth", "/healthz", "/readyz":
		return true
	}
	for _, prefix := range []string{"/login/", "/callback/", "/saml/", "/static/", "/.well-known/"} {
		if strings.HasPrefix(p, prefix) {
			return true
		}
	}
	return false
}

// postOnly reports whether target's path is an endpoint that answers POST
// only.
func postOnly(target string) bool {
	u, err := url.Parse(target)
	return err != nil || u.Path == "/lang"
}

// suspicious reports characters that no legitimate return target contains
// and that browsers may interpret loosely: control characters, whitespace,
// backslashes.
func suspicious(s string) bool {
	for _, c := range s {
		if c < 0x21 || c == 0x7f || c == '\\' || (c >= 0x80 && c <= 0x9f) || c == '\u2028' || c == '\u2029' {
			return true
		}
	}
	return false
}

// origin returns scheme://host[:port] lower-cased, with default ports dropped.
func origin(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		return scheme + "://" + host + ":" + port
	}
	return scheme + "://" + host
}
