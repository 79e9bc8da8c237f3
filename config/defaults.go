package config

import (
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"slices"
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
	defaultLockoutFailures   = 10
	defaultUnlockLinkTTL     = 14 * 24 * time.Hour
	defaultThrottleFailures  = 50
	defaultLineFactor        = 10
	defaultThrottleWindow    = 15 * time.Minute
	defaultResetLinkTTL      = 14 * 24 * time.Hour
	defaultEmailLinkTTL      = 24 * time.Hour
	defaultUpstreamTimeout   = 30 * time.Second
	defaultMinLength         = 8
	defaultMinClasses        = 3
	defaultMemoryKiB         = 64 * 1024
	defaultIterations        = 3
	defaultParallelism       = 2
	defaultMaxWaiting        = 256
	defaultMetadataRefresh   = 24 * time.Hour
	defaultBinding           = "redirect"
	defaultClockSkew         = 90 * time.Second
	defaultSAMLAttributes    = "plain"
	defaultDialTimeout       = 5 * time.Second
	defaultLDAPTimeout       = 10 * time.Second
	defaultPoolSize          = 4
)

// Provider presets.
const (
	presetGoogle          = "google"
	presetMicrosoft       = "microsoft"
	presetActiveDirectory = "active_directory"
	presetOpenLDAP        = "openldap"

	googleIssuer = "https://accounts.google.com"
)

// microsoftIssuer is the Entra ID (v2.0 endpoint) issuer of tenant.
func microsoftIssuer(tenant string) string {
	return "https://login.microsoftonline.com/" + tenant + "/v2.0"
}

var defaultScopes = []string{"openid", "email", "profile"}

// defaultOIDCClaims are the claim names of every preset but one: the
// standard claims of OpenID Connect Core, plus "groups" as Entra ID and
// most OPs name it.
var defaultOIDCClaims = OIDCClaims{
	Email: "email", EmailVerified: "email_verified", Name: "name",
	Phone: "phone_number", Groups: "groups",
}

// microsoftEmailVerified is the email_verified of the microsoft preset:
// Entra ID sends no email_verified, and its email claim is not verified
// unless xms_edov (email domain owner verified) says so.
const microsoftEmailVerified = "xms_edov"

// ldapPreset is what an LDAP preset fills.
type ldapPreset struct {
	loginAttributes []string
	userFilter      string
	groups          string
	attributes      LDAPAttributes
}

var ldapPresets = map[string]ldapPreset{
	presetActiveDirectory: {
		loginAttributes: []string{"sAMAccountName", "userPrincipalName", "mail"},
		userFilter:      "(&(objectCategory=person)(objectClass=user))",
		groups:          "nested",
		attributes: LDAPAttributes{
			Subject: "objectGUID", Email: "mail", Name: "displayName", Phone: "telephoneNumber",
			Mobile: "mobile", Organization: "company", Department: "department",
		},
	},
	presetOpenLDAP: {
		loginAttributes: []string{"uid", "mail"},
		userFilter:      "(objectClass=inetOrgPerson)",
		groups:          "group_of_names",
		attributes: LDAPAttributes{
			Subject: "entryUUID", Email: "mail", Name: "cn", Phone: "telephoneNumber",
			Mobile: "mobile", Organization: "o", Department: "ou",
		},
	},
	// Without a preset only the attributes both schemas name alike are
	// filled; login_attributes, groups and attributes.subject must be
	// written.
	"": {attributes: LDAPAttributes{Email: "mail", Phone: "telephoneNumber", Mobile: "mobile"}},
}

// setDefaults fills what the file left out. Strings default when empty;
// numbers and durations only when the key is absent, so that an explicit
// 0 (cache_ttl: 0s, max_waiting: 0) is kept, and an explicit invalid 0 is
// reported rather than silently replaced.
func (c *Config) setDefaults() {
	s := c.src
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

	if c.Portal.Title.IsZero() {
		c.Portal.Title = PlainText(defaultTitle)
	}
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
		path := fmt.Sprintf("providers[%d]", i)
		switch {
		case p.Local != nil:
			p.Local.setDefaults(s, path)
		case p.OIDC != nil:
			p.OIDC.setDefaults(s, path)
		case p.SAML != nil:
			p.SAML.setDefaults(s, path, c.Server.PublicURL, p.ID)
		case p.LDAP != nil:
			p.LDAP.setDefaults(s, path)
		}
	}

	setString(&c.Policy.AccessRoute, AccessLineAndInternet)
	if !s.present("policy.lockout.max_failures") && c.Policy.Lockout.MaxFailures == 0 {
		c.Policy.Lockout.MaxFailures = defaultLockoutFailures
	}
	setDuration("policy.lockout.unlock_link_ttl", &c.Policy.Lockout.UnlockLinkTTL, defaultUnlockLinkTTL)
	if !s.present("policy.throttle.max_failures") && c.Policy.Throttle.MaxFailures == 0 {
		c.Policy.Throttle.MaxFailures = defaultThrottleFailures
	}
	if !s.present("policy.throttle.line_max_failures") && c.Policy.Throttle.LineMaxFailures == 0 {
		c.Policy.Throttle.LineMaxFailures = min(defaultLineFactor*c.Policy.Throttle.MaxFailures, maxThrottleFailures)
	}
	setDuration("policy.throttle.window", &c.Policy.Throttle.Window, defaultThrottleWindow)
	setDuration("policy.password_reset.link_ttl", &c.Policy.PasswordReset.LinkTTL, defaultResetLinkTTL)
	setDuration("policy.email_change.link_ttl", &c.Policy.EmailChange.LinkTTL, defaultEmailLinkTTL)
	c.notifyDefaults()
	c.phoneDefaults()
	c.twoFactorDefaults()
	c.adminDefaults()

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
		setString(&sv.Headers.Phone, d.Phone)
		setString(&sv.Headers.Mobile, d.Mobile)
		setString(&sv.Headers.Organization, d.Organization)
		setString(&sv.Headers.Department, d.Department)
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
	set("hashing.max_in_flight", h.MaxInFlight == 0, func() { h.MaxInFlight = defaultMaxInFlight(h.MemoryKiB, h.Parallelism) })
	set("hashing.max_waiting", h.MaxWaiting == 0, func() { h.MaxWaiting = defaultMaxWaiting })
}

func (o *OIDCProvider) setDefaults(s *source, path string) {
	if len(o.Scopes) == 0 && !s.present(path+".scopes") {
		o.Scopes = slices.Clone(defaultScopes)
	}
	if o.Issuer == "" {
		switch o.Preset {
		case presetGoogle:
			o.Issuer = googleIssuer
		case presetMicrosoft:
			if o.Tenant != "" {
				o.Issuer = microsoftIssuer(o.Tenant)
			}
		}
	}
	c, d := &o.Claims, defaultOIDCClaims
	if o.Preset == presetMicrosoft {
		d.EmailVerified = microsoftEmailVerified
	}
	setString(&c.Email, d.Email)
	setString(&c.EmailVerified, d.EmailVerified)
	setString(&c.Name, d.Name)
	setString(&c.Phone, d.Phone)
	setString(&c.Mobile, d.Mobile)
	setString(&c.Organization, d.Organization)
	setString(&c.Department, d.Department)
	setString(&c.Groups, d.Groups)
}

func (p *SAMLProvider) setDefaults(s *source, path, publicURL, id string) {
	if p.MetadataRefresh == 0 && !s.present(path+".metadata_refresh") {
		p.MetadataRefresh = Duration(defaultMetadataRefresh)
	}
	if p.EntityID == "" {
		// An invalid public_url is reported by Validate; the entity id then
		// stays empty rather than be made from it.
		if u, err := parsePublicURL(publicURL); err == nil {
			p.EntityID = u.String() + "/saml/" + id + "/metadata"
		}
	}
	setString(&p.Binding, defaultBinding)
	if p.ClockSkew == 0 && !s.present(path+".clock_skew") {
		p.ClockSkew = Duration(defaultClockSkew)
	}
	setString(&p.Attributes, defaultSAMLAttributes)
}

func (l *LDAPProvider) setDefaults(s *source, path string) {
	// An unknown preset is reported by Validate and fills nothing.
	if pre, ok := ldapPresets[l.Preset]; ok {
		if len(l.LoginAttributes) == 0 && !s.present(path+".login_attributes") {
			l.LoginAttributes = slices.Clone(pre.loginAttributes)
		}
		setString(&l.UserFilter, pre.userFilter)
		setString(&l.Groups, pre.groups)
		a, d := &l.Attributes, pre.attributes
		setString(&a.Subject, d.Subject)
		setString(&a.Email, d.Email)
		setString(&a.Name, d.Name)
		setString(&a.Phone, d.Phone)
		setString(&a.Mobile, d.Mobile)
		setString(&a.Organization, d.Organization)
		setString(&a.Department, d.Department)
	}
	if l.Groups == "nested" || l.Groups == "group_of_names" {
		setString(&l.GroupBaseDN, l.BaseDN)
	}
	if l.DialTimeout == 0 && !s.present(path+".dial_timeout") {
		l.DialTimeout = Duration(defaultDialTimeout)
	}
	if l.Timeout == 0 && !s.present(path+".timeout") {
		l.Timeout = Duration(defaultLDAPTimeout)
	}
	if l.PoolSize == 0 && !s.present(path+".pool_size") {
		l.PoolSize = defaultPoolSize
	}
}

// setString sets *p to v when *p is empty.
func setString(p *string, v string) {
	if *p == "" {
		*p = v
	}
}

// isSQLitePath reports whether dsn is a plain file path rather than
// ":memory:" or a "file:" URI, which are passed to the driver as written.
func isSQLitePath(dsn string) bool {
	return dsn != "" && dsn != ":memory:" && !strings.HasPrefix(dsn, "file:")
}

// defaultMaxInFlight is local.DefaultMaxInFlight (config does not import
// the providers): NumCPU/parallelism hashes at once, at least 1, at most
// 256 MiB of them. A hash of parallelism p keeps p cores busy, so more in
// flight only holds more memory.
func defaultMaxInFlight(memoryKiB uint32, parallelism uint8) int {
	n := runtime.NumCPU() / max(int(parallelism), 1)
	if memoryKiB > 0 {
		n = min(n, 256*1024/int(memoryKiB))
	}
	return max(n, 1)
}
