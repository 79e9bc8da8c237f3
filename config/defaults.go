package config

import (
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"time"
)

// Defaults, as documented on the fields they fill.
const (
	defaultListen            = "127.0.0.1:8080"
	defaultReadHeaderTimeout = 10 * time.Second
	defaultShutdownTimeout   = 15 * time.Second
	defaultDriver            = "sqlite"
	defaultSQLiteDSN         = "./data/ssogate.db"
	defaultIdleTimeout       = 30 * time.Minute
	defaultAbsoluteTimeout   = 12 * time.Hour
	defaultCacheTTL          = 5 * time.Second
	defaultTitle             = "ssogate"
	defaultLanguage          = "ja"
	defaultTimeZone          = "Asia/Tokyo"
	defaultLogLevel          = "info"
	defaultLogFormat         = "text"
	defaultIcon              = "app"
	defaultAssertionTTL      = 60 * time.Second
	defaultUpstreamTimeout   = 30 * time.Second
	defaultMinLength         = 8
	defaultMinClasses        = 3
	defaultMemoryKiB         = 64 * 1024
	defaultIterations        = 3
	defaultParallelism       = 2
	defaultMaxWaiting        = 256
)

// setDefaults fills what the file left out. Strings default when empty;
// numbers and durations only when the key is absent, so that an explicit
// 0 (cache_ttl: 0s, max_waiting: 0) is kept, and an explicit invalid 0 is
// reported rather than silently replaced.
func (c *Config) setDefaults() {
	s := c.src
	setString := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	setDuration := func(key string, p *Duration, v time.Duration) {
		if !s.present(key) && *p == 0 {
			*p = Duration(v)
		}
	}

	setString(&c.Server.Listen, defaultListen)
	if c.Server.PublicURL == "" {
		// Only a listener on one host gives a URL people can use; otherwise
		// Validate asks for public_url.
		if host, _, err := net.SplitHostPort(c.Server.Listen); err == nil && host != "" {
			if ip, err := netip.ParseAddr(host); err != nil || !ip.IsUnspecified() {
				c.Server.PublicURL = "http://" + c.Server.Listen
			}
		}
	}
	setDuration("server.read_header_timeout", &c.Server.ReadHeaderTimeout, defaultReadHeaderTimeout)
	setDuration("server.shutdown_timeout", &c.Server.ShutdownTimeout, defaultShutdownTimeout)

	setString(&c.Store.Driver, defaultDriver)
	if c.Store.Driver == "sqlite" {
		setString(&c.Store.DSN, defaultSQLiteDSN)
		if isSQLitePath(c.Store.DSN) {
			c.Store.DSN = s.resolve(c.Store.DSN)
		}
	}

	setDuration("session.idle_timeout", &c.Session.IdleTimeout, defaultIdleTimeout)
	setDuration("session.absolute_timeout", &c.Session.AbsoluteTimeout, defaultAbsoluteTimeout)
	setDuration("session.cache_ttl", &c.Session.CacheTTL, defaultCacheTTL)
	if strings.HasPrefix(strings.ToLower(c.Server.PublicURL), "https://") && c.Session.CookieDomain != "" {
		setString(&c.Session.CookieName, "__Secure-ssogate")
	} else if strings.HasPrefix(strings.ToLower(c.Server.PublicURL), "https://") {
		setString(&c.Session.CookieName, "__Host-ssogate")
	} else {
		setString(&c.Session.CookieName, "ssogate")
	}

	setString(&c.Portal.Title, defaultTitle)
	setString(&c.Portal.DefaultLanguage, defaultLanguage)
	setString(&c.Portal.TimeZone, defaultTimeZone)

	setString(&c.Log.Level, defaultLogLevel)
	setString(&c.Log.Format, defaultLogFormat)

	if len(c.Providers) == 0 {
		c.Providers = []Provider{{ID: "local", Type: "local"}}
	}
	for i := range c.Providers {
		p := &c.Providers[i]
		if p.Type == "local" && p.Local == nil {
			p.Local = &LocalProvider{}
		}
		if p.Local != nil {
			p.Local.setDefaults(s, fmt.Sprintf("providers[%d]", i))
		}
	}

	setDuration("assertion.ttl", &c.Assertion.TTL, defaultAssertionTTL)
	for i := range c.Services {
		sv := &c.Services[i]
		setString(&sv.Icon, defaultIcon)
		setDuration(fmt.Sprintf("services[%d].upstream_timeout", i), &sv.UpstreamTimeout, defaultUpstreamTimeout)
		d := DefaultServiceHeaders
		setString(&sv.Headers.User, d.User)
		setString(&sv.Headers.RemoteUser, d.RemoteUser)
		setString(&sv.Headers.Email, d.Email)
		setString(&sv.Headers.Groups, d.Groups)
		setString(&sv.Headers.Name, d.Name)
		setString(&sv.Headers.Assertion, d.Assertion)
	}
}

func (l *LocalProvider) setDefaults(s *source, path string) {
	set := func(key string, absent bool, fill func()) {
		if absent && !s.present(path+"."+key) {
			fill()
		}
	}
	pw, h := &l.Password, &l.Hashing
	set("password.min_length", pw.MinLength == 0, func() { pw.MinLength = defaultMinLength })
	set("password.min_classes", pw.MinClasses == 0, func() { pw.MinClasses = defaultMinClasses })
	set("hashing.memory_kib", h.MemoryKiB == 0, func() { h.MemoryKiB = defaultMemoryKiB })
	set("hashing.iterations", h.Iterations == 0, func() { h.Iterations = defaultIterations })
	set("hashing.parallelism", h.Parallelism == 0, func() { h.Parallelism = defaultParallelism })
	set("hashing.max_in_flight", h.MaxInFlight == 0, func() { h.MaxInFlight = runtime.NumCPU() })
	set("hashing.max_waiting", h.MaxWaiting == 0, func() { h.MaxWaiting = defaultMaxWaiting })
}

// isSQLitePath reports whether dsn is a plain file path rather than
// ":memory:" or a "file:" URI, which are passed to the driver as written.
func isSQLitePath(dsn string) bool {
	return dsn != "" && dsn != ":memory:" && !strings.HasPrefix(dsn, "file:")
}
