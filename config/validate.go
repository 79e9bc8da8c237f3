package config

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // time_zone must load on hosts without zoneinfo (containers, Windows)
)

var (
	storeDrivers = []string{"sqlite", "postgres"}
	languages    = []string{"ja", "en"}
	logLevels    = []string{"debug", "info", "warn", "error"}
	logFormats   = []string{"text", "json"}

	idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)
)

const (
	idRule           = "use 1 to 32 lower-case letters, digits and '-', starting with a letter or digit"
	minSecretBytes   = 32
	maxCacheTTL      = time.Minute
	minMemoryKiB     = 8192
	maxParallelism   = 16
	minPasswordChars = 8
)

// Validate checks c against the rules stated on its fields and fills the
// fields derived from them: Server.PublicURLParsed, Server.TrustedPrefixes,
// Portal.Location, each network provider's Prefixes and each Service's
// URLParsed, UpstreamParsed and AllowedPrefixes (a plugin's SHA256 is
// lower-cased). It checks that each plugin's command is an executable
// file. It reports every problem at once as Errors; for a Config from
// Load or Parse each Error names the line of the key. Validate does not
// apply defaults.
func (c *Config) Validate() error {
	v := &validator{c: c}
	v.server()
	v.store()
	v.session()
	v.lockout()
	v.portal()
	v.log()
	v.providers()
	v.services()
	v.assertion()
	v.policy()
	v.notify()
	v.phones()
	v.twoFactor()
	v.admin()
	return v.errs.err()
}

type validator struct {
	c    *Config
	errs Errors
}

func (v *validator) errorf(key, format string, args ...any) {
	if s := v.c.src; s != nil && s.failed[key] {
		return // already reported while decoding
	}
	v.errs = append(v.errs, &Error{File: v.c.Path, Line: v.c.src.line(key), Key: key, Msg: fmt.Sprintf(format, args...)})
}

// oneOf reports value at key unless it is one of valid.
func (v *validator) oneOf(key, what, value string, valid []string) {
	if !slices.Contains(valid, value) {
		v.errorf(key, "unknown %s %q; valid: %s", what, value, strings.Join(valid, ", "))
	}
}

func (v *validator) server() {
	s := &v.c.Server
	listenErr := checkListen(s.Listen)
	if listenErr != nil {
		v.errorf("server.listen", "%v", listenErr)
	}

	s.PublicURLParsed = nil
	switch {
	case s.PublicURL == "" && listenErr != nil:
		// Its default comes from listen, whose error is enough.
	case s.PublicURL == "":
		v.errorf("server.public_url", "required when server.listen (%q) does not name one host; set the URL people use, e.g. https://sso.example.co.jp", s.Listen)
	default:
		u, err := parsePublicURL(s.PublicURL)
		if err != nil {
			v.errorf("server.public_url", "%v", err)
			break
		}
		s.PublicURLParsed = u
		s.PublicURL = u.String()
	}

	s.TrustedPrefixes = nil
	for i, p := range s.TrustedProxies {
		prefix, err := parsePrefix(p)
		if err != nil {
			v.errorf(fmt.Sprintf("server.trusted_proxies[%d]", i), "%v", err)
			continue
		}
		s.TrustedPrefixes = append(s.TrustedPrefixes, prefix)
	}

	if s.ReadHeaderTimeout <= 0 {
		v.errorf("server.read_header_timeout", "must be greater than 0 (it bounds clients that send headers slowly), e.g. 10s")
	}
	if s.ShutdownTimeout < 0 {
		v.errorf("server.shutdown_timeout", "must not be negative, e.g. 15s")
	}
	v.metricsListen(listenErr)
}

// metricsListen checks server.metrics_listen: metrics tell who signs in
// and how often, so they are never served on the public listener unless
// server.metrics_on_public_listener says so.
func (v *validator) metricsListen(listenErr error) {
	s := &v.c.Server
	if s.MetricsListen == "" {
		if s.MetricsOnPublicListener {
			v.errorf("server.metrics_on_public_listener", "needs server.metrics_listen; set it to server.listen (%q) to serve /metrics there", s.Listen)
		}
		return
	}
	if err := checkListen(s.MetricsListen); err != nil {
		v.errorf("server.metrics_listen", "%v", err)
		return
	}
	if listenErr != nil {
		return
	}
	same := sameListener(s.MetricsListen, s.Listen)
	switch {
	case same && !s.MetricsOnPublicListener:
		v.errorf("server.metrics_listen", "%q is the public listener (server.listen); use another port, e.g. 127.0.0.1:9090, or set server.metrics_on_public_listener: true to publish /metrics there", s.MetricsListen)
	case !same && s.MetricsOnPublicListener && listensOnSamePort(s.MetricsListen, s.Listen):
		v.errorf("server.metrics_listen", "%q shares its port with server.listen (%q) but is not the same address; use exactly %q", s.MetricsListen, s.Listen, s.Listen)
	}
}

// sameListener reports whether two host:port addresses (already checked)
// are one listener: the same port, and the same host or either one every
// address.
func sameListener(a, b string) bool {
	ah, ap, _ := net.SplitHostPort(a)
	bh, bp, _ := net.SplitHostPort(b)
	if ap != bp {
		return false
	}
	wildcard := func(h string) bool { return h == "" || h == "0.0.0.0" || h == "::" }
	return ah == bh || wildcard(ah) || wildcard(bh)
}

// listensOnSamePort reports whether a and b use one port number.
func listensOnSamePort(a, b string) bool {
	_, ap, _ := net.SplitHostPort(a)
	_, bp, _ := net.SplitHostPort(b)
	return ap == bp
}

func checkListen(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("%q is not host:port; use e.g. 127.0.0.1:8080, [::1]:8080 or :8080 for every address", s)
	}
	if strings.ContainsAny(host, " /") {
		return fmt.Errorf("host %q is not a host name or IP address", host)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("port %q must be a number from 1 to 65535", port)
	}
	return nil
}

// parsePublicURL accepts an absolute http(s) URL with a host and no path,
// and returns it with an empty path so that routes can be appended.
func parsePublicURL(s string) (*url.URL, error) {
	u, err := parseHTTPURL(s, "https://sso.example.co.jp")
	if err != nil {
		return nil, err
	}
	switch {
	case u.Path != "" && u.Path != "/":
		return nil, fmt.Errorf("%q must not have a path (%q): ssogate is served from the root of its host; use e.g. %s://%s", s, u.Path, u.Scheme, u.Host)
	case u.RawQuery != "" || u.ForceQuery:
		return nil, fmt.Errorf("%q must not have a query (?...); use e.g. %s://%s", s, u.Scheme, u.Host)
	case u.Fragment != "":
		return nil, fmt.Errorf("%q must not have a fragment (#...); use e.g. %s://%s", s, u.Scheme, u.Host)
	}
	u.Path, u.RawPath = "", ""
	return u, nil
}

// parseHTTPURL accepts an absolute http or https URL with a host and a
// valid port, and no user name or password.
func parseHTTPURL(s, example string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return nil, fmt.Errorf("%q is not an absolute http or https URL with a host; use e.g. %s", s, example)
	}
	if u.User != nil {
		return nil, fmt.Errorf("%q must not contain a user name or password", u.Redacted())
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("%q has port %q; use a number from 1 to 65535", s, p)
		}
	}
	return u, nil
}

// parsePrefix accepts an IP address (a prefix of one address) or a CIDR
// prefix; host bits of a prefix are cleared.
func parsePrefix(s string) (netip.Prefix, error) {
	const hint = "use an IP address or CIDR prefix, e.g. 10.0.0.1, 10.0.0.0/8 or 2001:db8::/32"
	if strings.Contains(s, "%") {
		return netip.Prefix{}, fmt.Errorf("%q has a zone; %s", s, hint)
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not a CIDR prefix; %s", s, hint)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an IP address; %s", s, hint)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func (v *validator) store() {
	s := &v.c.Store
	v.oneOf("store.driver", "store driver", s.Driver, storeDrivers)
	key := "store.dsn"
	if s.DSNFile != "" {
		key = "store.dsn_file"
	}
	switch {
	case s.Driver == "postgres":
		v.postgresDSN(key, s.DSN)
	case slices.Contains(storeDrivers, s.Driver) && s.DSN == "":
		v.errorf(key, "must not be empty; for sqlite use a file path, e.g. ./data/ssogate.db")
	}
}

func (v *validator) session() {
	s := &v.c.Session
	if s.IdleTimeout <= 0 {
		v.errorf("session.idle_timeout", "must be greater than 0, e.g. 30m")
	}
	if s.AbsoluteTimeout < s.IdleTimeout {
		v.errorf("session.absolute_timeout", "%s is shorter than session.idle_timeout (%s); use at least %s, e.g. 12h",
			s.AbsoluteTimeout, s.IdleTimeout, s.IdleTimeout)
	}
	if s.Secret != "" && len(s.Secret) < minSecretBytes {
		key := "session.secret"
		if s.SecretFile != "" {
			key = "session.secret_file"
		}
		v.errorf(key, "is %d bytes; use at least %d (e.g. the output of: openssl rand -base64 48), or leave it out to have one generated", len(s.Secret), minSecretBytes)
	}
	if s.CacheTTL < 0 || s.CacheTTL.D() > maxCacheTTL {
		v.errorf("session.cache_ttl", "%s is out of range; use 0s (no cache) up to %s, e.g. 5s", s.CacheTTL, maxCacheTTL)
	}
	v.cookieName(s.CookieName)
}

func (v *validator) cookieName(name string) {
	const key = "session.cookie_name"
	if name == "" || strings.IndexFunc(name, func(r rune) bool { return !isCookieNameChar(r) }) >= 0 {
		v.errorf(key, "%q is not a cookie name; use letters, digits and !#$%%&'*+-.^_`|~", name)
		return
	}
	u := v.c.Server.PublicURLParsed
	if u == nil {
		return // public_url is invalid and reported
	}
	for _, prefix := range []string{"__Host-", "__Secure-"} {
		if strings.HasPrefix(name, prefix) && u.Scheme != "https" {
			v.errorf(key, "browsers accept the %s prefix only over https, and server.public_url is not https; drop the prefix", prefix)
		}
	}
	if d := v.c.Session.CookieDomain; d != "" {
		const dkey = "session.cookie_domain"
		host := strings.ToLower(u.Hostname())
		dom := strings.ToLower(strings.TrimPrefix(d, "."))
		switch {
		case strings.HasPrefix(name, "__Host-"):
			v.errorf(key, "a cookie with the __Host- prefix cannot have a domain (session.cookie_domain is set); use __Secure-ssogate")
		case !strings.Contains(dom, ".") || strings.ContainsAny(dom, "/: "):
			v.errorf(dkey, "%q is not a domain shared by several hosts; use e.g. example.co.jp", d)
		case host != dom && !strings.HasSuffix(host, "."+dom):
			v.errorf(dkey, "server.public_url's host %q is not inside %q; the gateway could not set the cookie", host, d)
		}
	}
}

// reservedPrefixes are gateway paths a service on the gateway's own host
// may not take.
var reservedPrefixes = []string{"/login", "/logout", "/me", "/lang", "/auth", "/static", "/.well-known", "/healthz", "/readyz",
	"/account", "/password", "/unlock", "/email", "/callback", "/saml", "/invite", "/identity-check", "/admin",
	"/oauth2", "/idp"}

// reservedProviderIDs are the ids a provider cannot have: /login/<id>
// is the gateway's own page of the 2-step verification or the passkey
// sign-in.
var reservedProviderIDs = []string{"2fa", "passkey"}

// RoutePrefix returns the path prefix a service URL routes by: its path,
// ending in "/".
func RoutePrefix(u *url.URL) string {
	p := u.EscapedPath()
	if !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return p
}

// cleanRoutePath reports whether an escaped service path routes as
// written: no ".", ".." (also encoded), ';', backslash or encoded slash
// or backslash, each of which the gateway reads differently or refuses in
// requests.
func cleanRoutePath(escaped string) bool {
	if strings.ContainsAny(escaped, ";\\") {
		return false
	}
	for _, seg := range strings.Split(escaped, "/") {
		dec, err := url.PathUnescape(seg)
		if err != nil || dec == "." || dec == ".." || strings.ContainsAny(dec, "/\\;") {
			return false
		}
	}
	return true
}

// routeKey is the host and prefix a service is reached by.
func routeKey(u *url.URL) string {
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host) + RoutePrefix(u)
}

func (v *validator) serviceRouting(path string, s *Service, routes map[string]string) {
	if s.URLParsed == nil {
		return
	}
	if s.URLParsed.RawQuery != "" || s.URLParsed.Fragment != "" {
		v.errorf(path+".url", "must not have a query or fragment; the URL is where the service starts, e.g. https://wiki.example.co.jp/")
	}
	pub := v.c.Server.PublicURLParsed
	onGateway := pub != nil && strings.EqualFold(pub.Host, s.URLParsed.Host) && strings.EqualFold(pub.Scheme, s.URLParsed.Scheme)
	prefix := RoutePrefix(s.URLParsed)
	if !cleanRoutePath(prefix) {
		v.errorf(path+".url", "path %s has a . or .. segment, a ';', a backslash or an encoded slash; requests with such paths are refused, so the service could not be reached: write the plain path, e.g. /wiki/", prefix)
	}
	if onGateway && s.Upstream != "" {
		if prefix == "/" {
			v.errorf(path+".url", "is the gateway's own root; a proxied service on the gateway's host needs a path of its own, e.g. %s/wiki/", pub)
		}
		for _, r := range reservedPrefixes {
			if prefix == r+"/" || strings.HasPrefix(prefix, r+"/") {
				v.errorf(path+".url", "path %s is the gateway's own (%s); choose another prefix, e.g. /wiki/", prefix, r)
			}
		}
	}
	k := routeKey(s.URLParsed)
	if other, dup := routes[k]; dup {
		v.errorf(path+".url", "%s is already the URL of service %q; each service needs its own host or path", s.URL, other)
	}
	routes[k] = s.ID
}

func (v *validator) serviceHandOff(path string, s *Service) {
	s.UpstreamParsed = nil
	if s.Upstream != "" {
		u, err := parseHTTPURL(s.Upstream, "http://127.0.0.1:9001")
		switch {
		case err != nil:
			v.errorf(path+".upstream", "%v", err)
		case u.RawQuery != "" || u.Fragment != "":
			v.errorf(path+".upstream", "must not have a query or fragment, e.g. http://127.0.0.1:9001")
		default:
			s.UpstreamParsed = u
		}
	} else if s.PreserveHost {
		v.errorf(path+".preserve_host", "applies only with upstream (reverse-proxy mode)")
	}
	if s.UpstreamTimeout < 0 || (s.UpstreamTimeout == 0 && v.c.src.present(path+".upstream_timeout")) {
		v.errorf(path+".upstream_timeout", "must be greater than 0, e.g. 30s")
	}
	if s.SessionTimeout < 0 {
		v.errorf(path+".session_timeout", "must not be negative; use 0 for the session's own limits, or e.g. 8h")
	}
	h := s.Headers
	for _, f := range []struct{ key, val string }{
		{"user", h.User}, {"remote_user", h.RemoteUser}, {"email", h.Email},
		{"groups", h.Groups}, {"name", h.Name}, {"assertion", h.Assertion},
		{"phone", h.Phone}, {"mobile", h.Mobile}, {"organization", h.Organization}, {"department", h.Department},
	} {
		if f.val == HeaderNone || f.val == "" {
			continue // "" (only in a Config built in code) means the default
		}
		if strings.IndexFunc(f.val, func(r rune) bool { return !isHeaderNameChar(r) }) >= 0 {
			v.errorf(path+".headers."+f.key, "%q is not a header name; use letters, digits and '-', e.g. X-Forwarded-User, or none", f.val)
		} else if slices.ContainsFunc(reservedHeaders, func(r string) bool { return strings.EqualFold(r, f.val) }) {
			v.errorf(path+".headers."+f.key, "%s is a header the request needs or the gateway sets itself; every client copy of an identity header is removed, so choose another name, e.g. X-Forwarded-User", f.val)
		}
	}
}

// reservedHeaders may not be identity header names: a request needs them,
// or the gateway sets them from its own view, and every client copy of an
// identity header name is removed from requests.
var reservedHeaders = []string{
	"Host", "Cookie", "Authorization", "Proxy-Authorization", "Content-Type", "Content-Length",
	"Content-Encoding", "Transfer-Encoding", "Connection", "Upgrade", "Te", "Trailer", "Accept",
	"User-Agent", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Real-Ip",
	"X-Forwarded-Prefix", "Forwarded",
}

// isHeaderNameChar reports whether r may appear in an identity header name.
// Underscores are refused: many proxies drop or rewrite them.
func isHeaderNameChar(r rune) bool {
	return r < 0x80 && (r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
}

func (v *validator) assertion() {
	ttl := v.c.Assertion.TTL.D()
	if ttl == 0 && !v.c.src.present("assertion.ttl") {
		return // a Config built in code: the default applies
	}
	if ttl < 10*time.Second || ttl > 10*time.Minute {
		v.errorf("assertion.ttl", "%s is out of range; use 10s to 10m, e.g. 60s", v.c.Assertion.TTL)
	}
}

// isCookieNameChar reports whether r may appear in a cookie name (an RFC
// 6265 token).
func isCookieNameChar(r rune) bool {
	if r <= ' ' || r >= 0x7f {
		return false
	}
	return !strings.ContainsRune(`()<>@,;:\"/[]?={}`, r)
}

func (v *validator) portal() {
	p := &v.c.Portal
	v.oneOf("portal.default_language", "language", p.DefaultLanguage, languages)
	p.Location = nil
	loc, err := time.LoadLocation(p.TimeZone)
	if err != nil {
		v.errorf("portal.time_zone", "unknown time zone %q; use an IANA name, e.g. Asia/Tokyo or UTC", p.TimeZone)
		return
	}
	p.Location = loc
}

func (v *validator) log() {
	v.oneOf("log.level", "log level", v.c.Log.Level, logLevels)
	v.oneOf("log.format", "log format", v.c.Log.Format, logFormats)
}

// checkID reports id at key unless it is a valid, unused id; seen maps the
// ids met so far to their keys.
func (v *validator) checkID(key, id string, seen map[string]string) {
	switch {
	case id == "":
		v.errorf(key, "required; %s", idRule)
	case !idPattern.MatchString(id):
		v.errorf(key, "%q is not a valid id; %s", id, idRule)
	case seen[id] != "":
		if line := v.c.src.line(seen[id]); line > 0 {
			v.errorf(key, "duplicate id %q; already used at line %d", id, line)
		} else {
			v.errorf(key, "duplicate id %q; already used by %s", id, parentKey(seen[id]))
		}
	default:
		seen[id] = key
	}
}

func (v *validator) providers() {
	seen := map[string]string{}
	for i := range v.c.Providers {
		p := &v.c.Providers[i]
		path := fmt.Sprintf("providers[%d]", i)
		v.checkID(path+".id", p.ID, seen)
		if slices.Contains(reservedProviderIDs, p.ID) {
			v.errorf(path+".id", "%q is taken by the gateway's own /login/%s; choose another id", p.ID, p.ID)
		}
		if _, ok := providerTypes[p.Type]; !ok {
			if p.Type == "" {
				v.errorf(path+".type", "required; valid: %s", strings.Join(providerTypeNames(), ", "))
			} else {
				v.errorf(path+".type", "unknown provider type %q; valid: %s", p.Type, strings.Join(providerTypeNames(), ", "))
			}
			continue
		}
		switch {
		case p.Type == "local" && p.Local != nil:
			v.local(path, p.Local)
		case p.Type == "oidc" && p.OIDC != nil:
			v.oidc(path, p.OIDC)
		case p.Type == "saml" && p.SAML != nil:
			v.saml(path, p.SAML)
		case p.Type == "ldap" && p.LDAP != nil:
			v.ldap(path, p.LDAP)
		case p.Type == "network" && p.Network != nil:
			v.network(path, p.Network)
		case p.Type == "plugin" && p.Plugin != nil:
			v.plugin(path, p.Plugin)
		default:
			v.errorf(path, "type %s has no options (its field of Provider is nil)", p.Type)
		}
	}
	v.signInProvider()
}

// signInProvider reports a providers list with nothing a person can sign
// in with: network providers prove a line, not a person.
func (v *validator) signInProvider() {
	if len(v.c.Providers) == 0 {
		return
	}
	for _, p := range v.c.Providers {
		if p.Type != "network" {
			return
		}
	}
	v.errorf("providers", "has only network providers, which prove a line, not a person, so nobody could sign in; add one people sign in with, e.g. - id: local, type: local")
}

func (v *validator) local(path string, l *LocalProvider) {
	pw, h := l.Password, l.Hashing
	if pw.MinLength < minPasswordChars {
		v.errorf(path+".password.min_length", "%d is too short; use %d or more", pw.MinLength, minPasswordChars)
	}
	if pw.MinClasses < 1 || pw.MinClasses > 4 {
		v.errorf(path+".password.min_classes", "%d is out of range; use 1 to 4 (of upper, lower, digit, symbol)", pw.MinClasses)
	}
	if h.MemoryKiB < minMemoryKiB {
		v.errorf(path+".hashing.memory_kib", "%d is too small; use %d (8 MiB) or more, e.g. 65536", h.MemoryKiB, minMemoryKiB)
	}
	if h.Iterations < 1 {
		v.errorf(path+".hashing.iterations", "must be at least 1, e.g. 3")
	}
	if h.Parallelism < 1 || h.Parallelism > maxParallelism {
		v.errorf(path+".hashing.parallelism", "%d is out of range; use 1 to %d, e.g. 2", h.Parallelism, maxParallelism)
	}
	if h.MaxInFlight < 1 {
		v.errorf(path+".hashing.max_in_flight", "must be at least 1, e.g. the number of CPUs")
	}
	if h.MaxWaiting < 0 {
		v.errorf(path+".hashing.max_waiting", "must not be negative; use 0 to refuse at once when every slot is busy")
	}
}

// englishText moves the older <key>_en spelling into the Text at key.
func (v *validator) englishText(path, key string, t *Text, en *string) {
	if *en == "" {
		return
	}
	if (*t)["en"] != "" {
		v.errorf(path+"."+key+"_en", "the English %s is also written as %s.en; keep one (%s: {ja: …, en: …} is the current spelling)", key, key, key)
		return
	}
	*t = t.with("en", *en)
	*en = ""
}

func (v *validator) services() {
	seen := map[string]string{}
	routes := map[string]string{}
	for i := range v.c.Services {
		s := &v.c.Services[i]
		path := fmt.Sprintf("services[%d]", i)
		v.checkID(path+".id", s.ID, seen)
		v.englishText(path, "name", &s.Name, &s.NameEN)
		v.englishText(path, "description", &s.Description, &s.DescriptionEN)
		if strings.TrimSpace(s.Name.String()) == "" {
			v.errorf(path+".name", "required: the name shown on the tile, e.g. 社内Wiki, or {ja: 社内Wiki, en: Company wiki}")
		}
		s.URLParsed = nil
		if s.URL == "" {
			v.errorf(path+".url", "required: where the tile leads, e.g. https://wiki.example.co.jp/")
		} else if u, err := parseHTTPURL(s.URL, "https://wiki.example.co.jp/"); err != nil {
			v.errorf(path+".url", "%v", err)
		} else {
			s.URLParsed = u
		}
		if !slices.Contains(IconNames, s.Icon) {
			v.errorf(path+".icon", "unknown icon %q%s", s.Icon, suggest(s.Icon, IconNames))
		}
		for j, g := range s.AllowedGroups {
			v.groupName(fmt.Sprintf("%s.allowed_groups[%d]", path, j), g)
		}
		v.allowedNetworks(path, s)
		v.serviceRouting(path, s, routes)
		v.serviceHandOff(path, s)
		if s.OIDC != nil {
			v.serviceOIDC(path+".oidc", s)
		}
		if s.SAML != nil {
			v.serviceSAML(path+".saml", s)
		}
	}
}

// Warnings lists settings that are valid but unsafe, each an Error with
// the file, line and key it is about; nothing in them stops the gateway.
// Call it on a Config that validated (from Load or Parse, or after
// Validate).
//
// A service on the portal's host is warned about: on the same origin (a
// path-prefix service) a script on its pages, e.g. through an XSS hole,
// runs as the portal and can act there as the person signed in; on
// another port of the host it still receives the portal's session cookie,
// since browsers do not separate cookies by port.
func (c *Config) Warnings() []*Error {
	ws := append(append(c.notifyWarnings(), c.phoneWarnings()...), c.twoFactorWarnings()...)
	pub := c.Server.PublicURLParsed
	if pub == nil {
		return ws
	}
	for i, s := range c.Services {
		u := s.URLParsed
		if u == nil || !strings.EqualFold(u.Hostname(), pub.Hostname()) {
			continue
		}
		key := fmt.Sprintf("services[%d].url", i)
		advice := fmt.Sprintf("give each service a host of its own, e.g. https://%s.example.co.jp/", s.ID)
		var msg string
		if strings.EqualFold(u.Scheme, pub.Scheme) && effectivePort(u) == effectivePort(pub) {
			msg = fmt.Sprintf("shares the portal's origin %s: a script on its pages (an XSS hole in the service) runs as the portal "+
				"and can act there as the person signed in; %s", pub, advice)
		} else {
			msg = fmt.Sprintf("is on the portal's host %s: browsers do not separate cookies by port or scheme, so the service receives "+
				"the portal's session cookie and could act as whoever visits it; %s", u.Hostname(), advice)
		}
		ws = append(ws, &Error{File: c.Path, Line: c.src.line(key), Key: key, Msg: msg})
	}
	return ws
}

// effectivePort is u's port, or its scheme's default.
func effectivePort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if strings.EqualFold(u.Scheme, "https") {
		return "443"
	}
	return "80"
}

// Bounds of policy.lockout and policy.throttle.
const (
	maxLockoutFailures  = 1000
	maxThrottleFailures = 1_000_000
	maxThrottleWindow   = 24 * time.Hour
)

// lockout checks policy.lockout and policy.throttle. A zero value not
// written in the file (a configuration built in code) stands for the
// default and is not checked.
func (v *validator) lockout() {
	l, t := v.c.Policy.Lockout, v.c.Policy.Throttle
	set := func(key string, zero bool) bool { return !zero || v.c.src.present(key) }
	if set("policy.lockout.max_failures", l.MaxFailures == 0) && (l.MaxFailures < 1 || l.MaxFailures > maxLockoutFailures) {
		v.errorf("policy.lockout.max_failures", "%d is out of range; use 1 to %d, e.g. 10", l.MaxFailures, maxLockoutFailures)
	}
	if set("policy.lockout.unlock_link_ttl", l.UnlockLinkTTL == 0) && l.UnlockLinkTTL <= 0 {
		v.errorf("policy.lockout.unlock_link_ttl", "must be greater than 0 (the mailed unlock link would never work), e.g. 14d")
	}
	if set("policy.throttle.max_failures", t.MaxFailures == 0) && (t.MaxFailures < 1 || t.MaxFailures > maxThrottleFailures) {
		v.errorf("policy.throttle.max_failures", "%d is out of range; use 1 to %d, e.g. 50", t.MaxFailures, maxThrottleFailures)
	}
	switch {
	case !set("policy.throttle.line_max_failures", t.LineMaxFailures == 0):
	case t.LineMaxFailures < 1 || t.LineMaxFailures > maxThrottleFailures:
		v.errorf("policy.throttle.line_max_failures", "%d is out of range; use 1 to %d, e.g. 500", t.LineMaxFailures, maxThrottleFailures)
	case t.LineMaxFailures < t.MaxFailures:
		v.errorf("policy.throttle.line_max_failures", "%d is below policy.throttle.max_failures (%d): an office line, whose people share one address, would be stopped before a single address on the internet; use at least %d, e.g. 500",
			t.LineMaxFailures, t.MaxFailures, t.MaxFailures)
	}
	if set("policy.throttle.window", t.Window == 0) && (t.Window <= 0 || t.Window.D() > maxThrottleWindow) {
		v.errorf("policy.throttle.window", "%s is out of range; use more than 0s up to %s, e.g. 15m", t.Window, Duration(maxThrottleWindow))
	}
}
