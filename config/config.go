// Package config is the schema of ssogate.yaml: types, defaults, strict
// decoding (unknown keys are errors), ${ENV} expansion, *_file secrets and
// validation whose errors name the file, line and key and say what would be
// valid. It imports nothing from the rest of ssogate.
//
// A minimal file:
//
//	server:
//	  listen: 127.0.0.1:8080
//	  public_url: http://127.0.0.1:8080
//	store:
//	  driver: sqlite
//	  dsn: ./data/ssogate.db
//	providers:
//	  - id: local
//	    type: local
//	services:
//	  - id: wiki
//	    name: 社内Wiki
//	    url: http://127.0.0.1:9001/
package config

import (
	"net/netip"
	"net/url"
	"time"
)

// Config is a whole ssogate.yaml after defaults, expansion and validation.
type Config struct {
	Server    Server     `yaml:"server"`
	Store     Store      `yaml:"store"`
	Session   Session    `yaml:"session"`
	Portal    Portal     `yaml:"portal"`
	Log       Log        `yaml:"log"`
	Providers []Provider `yaml:"providers"`
	Services  []Service  `yaml:"services"`
	Assertion Assertion  `yaml:"assertion"`
	Policy    Policy     `yaml:"policy"`
	Notify    Notify     `yaml:"notify"`

	// Path is the file the configuration was read from ("" when parsed from
	// bytes without a name).
	Path string `yaml:"-"`

	// src keeps the YAML nodes behind each key so that Validate can name
	// their lines; nil for a Config built in code.
	src *source
}

// Server is the HTTP listener and how the gateway sees itself from outside.
type Server struct {
	// Listen is the host:port to listen on. Default 127.0.0.1:8080.
	Listen string `yaml:"listen"`
	// PublicURL is the URL people use to reach the gateway (scheme, host,
	// optional port, no path). Default http://<listen>. With https, cookies
	// are Secure and use the __Host- prefix.
	PublicURL string `yaml:"public_url"`
	// TrustedProxies lists the addresses or CIDR prefixes whose
	// X-Forwarded-For / Forwarded headers are believed. Default none.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// ReadHeaderTimeout bounds how long a client may take to send headers.
	// Default 10s.
	ReadHeaderTimeout Duration `yaml:"read_header_timeout"`
	// ShutdownTimeout bounds a graceful shutdown. Default 15s.
	ShutdownTimeout Duration `yaml:"shutdown_timeout"`
	// MetricsListen is the host:port of a second listener that serves
	// Prometheus metrics at /metrics. Default "": no metrics.
	MetricsListen string `yaml:"metrics_listen"`
	// MetricsOnPublicListener allows MetricsListen to be the public
	// listener itself, so that /metrics is served to everyone who reaches
	// the gateway. Default false: validation refuses that.
	MetricsOnPublicListener bool `yaml:"metrics_on_public_listener"`

	// Derived by validation.
	PublicURLParsed *url.URL       `yaml:"-"`
	TrustedPrefixes []netip.Prefix `yaml:"-"`
}

// Store selects the persistence backend.
type Store struct {
	// Driver is "sqlite" (default; one host) or "postgres" (several
	// gateway processes on several hosts sharing one database).
	Driver string `yaml:"driver"`
	// DSN is the data source: for sqlite a file path (default
	// ./data/ssogate.db; its directory is created); for postgres a libpq
	// connection URL or key=value string, required, which must verify the
	// server's certificate (sslmode=verify-full or verify-ca) unless the
	// host is a loopback address or a Unix socket.
	DSN string `yaml:"dsn"`
	// DSNFile reads DSN from a file (for DSNs that hold a password).
	DSNFile string `yaml:"dsn_file"`
}

// Session is how long sign-ins last and how the cookie is protected.
type Session struct {
	// IdleTimeout ends a session after this long without activity. Default 30m.
	IdleTimeout Duration `yaml:"idle_timeout"`
	// AbsoluteTimeout ends a session this long after sign-in, whatever the
	// activity. Default 12h. Must be >= IdleTimeout.
	AbsoluteTimeout Duration `yaml:"absolute_timeout"`
	// CookieName overrides the cookie's name. Default "__Host-ssogate" when
	// the public URL is https, "ssogate" otherwise.
	CookieName string `yaml:"cookie_name"`
	// CookieDomain, when set, shares the session cookie with every host
	// under that domain ("example.co.jp"), so services on other hosts that
	// sit behind forward auth receive it. The public URL's host must be
	// inside it. Default: the cookie is sent to the gateway's host only.
	// With a domain the cookie cannot use the __Host- prefix; it is named
	// "__Secure-ssogate" on https.
	CookieDomain string `yaml:"cookie_domain"`
	// Secret signs and encrypts cookies: at least 32 bytes. Default: a random
	// secret generated on first start and kept in the store.
	Secret     string `yaml:"secret"`
	SecretFile string `yaml:"secret_file"`
	// CacheTTL is how long a session read from the store is trusted in
	// memory before it is read again: the bound on how late a revocation on
	// another replica is seen. Default 5s; 0s disables the cache.
	CacheTTL Duration `yaml:"cache_ttl"`
}

// Portal is how the pages look and speak.
type Portal struct {
	// Title is shown in the header and the browser tab, in the person's
	// language when written per language. Default "ssogate".
	Title Text `yaml:"title"`
	// DefaultLanguage is used when neither the person's choice nor the
	// browser's Accept-Language picks a supported one: "ja" (default) or "en".
	DefaultLanguage string `yaml:"default_language"`
	// TimeZone is the IANA zone times are shown in. Default "Asia/Tokyo".
	TimeZone string `yaml:"time_zone"`

	Location *time.Location `yaml:"-"`
}

// Policy is organisation-wide sign-in policy.
type Policy struct {
	// LoginMethods, when set, are the only provider ids anyone may sign in
	// with (an organisation that uses only Google and AD lists them). A
	// user's own login methods narrow it further. Each must be the id of a
	// configured provider. Default: every provider.
	LoginMethods []string `yaml:"login_methods"`
	// HidePasswordForm hides the email + password form of the local
	// provider on the login page (provider buttons remain). Refused when
	// no provider other than local would remain to sign in with. Default
	// false.
	HidePasswordForm bool `yaml:"hide_password_form"`
	// AccessRoute is "line_and_internet" (default; "" in a Config built in
	// code means the same) or "line_only": with line_only every request
	// from outside the registered lines (network providers) is refused,
	// whatever the credentials, and at least one network provider is
	// required.
	AccessRoute string `yaml:"access_route"`
	// Lockout locks local accounts after repeated wrong passwords.
	Lockout Lockout `yaml:"lockout"`
	// Throttle slows sign-ins from one client address across accounts.
	Throttle Throttle `yaml:"throttle"`
	// PasswordReset is the forgotten-password link.
	PasswordReset LinkPolicy `yaml:"password_reset"`
	// EmailChange is the email-change confirmation link.
	EmailChange LinkPolicy `yaml:"email_change"`
	// TwoFactor is 2-step verification (see twofactor.go).
	TwoFactor TwoFactor `yaml:"two_factor"`
	// Invitation is the mailed invitation link (see admin.go).
	Invitation LinkPolicy `yaml:"invitation"`
	// DeviceApproval stops the first sign-in from a browser the account
	// has not used before until an administrator approves it (see
	// admin.go). Default false.
	DeviceApproval bool `yaml:"device_approval"`
	// IdentityCheck is the PIN identity check (see admin.go).
	IdentityCheck IdentityCheck `yaml:"identity_check"`
}

// Lockout is policy.lockout.
type Lockout struct {
	// MaxFailures consecutive wrong passwords lock a local account (a
	// browser with the account's device cookie keeps a budget of its own).
	// Default 10.
	MaxFailures int `yaml:"max_failures"`
	// UnlockLinkTTL is how long the mailed unlock link works. Default 14d.
	UnlockLinkTTL Duration `yaml:"unlock_link_ttl"`
}

// Throttle is policy.throttle: failed sign-ins counted per client address
// (after server.trusted_proxies) across every account, against password
// spraying.
type Throttle struct {
	// MaxFailures failed sign-ins from one address within Window make the
	// address wait until the window ends (429). Default 50.
	MaxFailures int `yaml:"max_failures"`
	// LineMaxFailures replaces MaxFailures for an address on a registered
	// line (a network provider): an office's people share one address
	// behind NAT, and their ordinary typing mistakes add up there. Default
	// ten times MaxFailures (500).
	LineMaxFailures int `yaml:"line_max_failures"`
	// Window is the counting window. Default 15m.
	Window Duration `yaml:"window"`
}

// LinkPolicy is the lifetime of a mailed one-time link.
type LinkPolicy struct {
	// LinkTTL is how long the link works. Default 14d for password_reset,
	// 24h for email_change.
	LinkTTL Duration `yaml:"link_ttl"`
}

// Log configures the structured log.
type Log struct {
	// Level is debug, info (default), warn or error.
	Level string `yaml:"level"`
	// Format is text (default) or json.
	Format string `yaml:"format"`
}

// Provider is one entry of the providers list. ID and Type are common; the
// options of each type live in their own struct, and only the one matching
// Type is set after decoding (keys of another type are errors).
type Provider struct {
	// ID names the provider in URLs, links and audit ("local", "google").
	// Lower-case letters, digits and '-' only.
	ID string `yaml:"id"`
	// Type is the kind of provider: "local", "oidc", "saml", "ldap",
	// "network" or "plugin".
	Type string `yaml:"type"`
	// Label is the button or form title on the login page, in the person's
	// language when written per language.
	Label Text `yaml:"label"`

	// Exactly one of these is set, the one of Type.
	Local   *LocalProvider   `yaml:"-"`
	OIDC    *OIDCProvider    `yaml:"-"`
	SAML    *SAMLProvider    `yaml:"-"`
	LDAP    *LDAPProvider    `yaml:"-"`
	Network *NetworkProvider `yaml:"-"`
	Plugin  *PluginProvider  `yaml:"-"`
}

// Federated returns the provider's federation settings, or nil for a
// local provider.
func (p *Provider) Federated() *Federation {
	switch {
	case p.OIDC != nil:
		return &p.OIDC.Federation
	case p.SAML != nil:
		return &p.SAML.Federation
	case p.LDAP != nil:
		return &p.LDAP.Federation
	case p.Plugin != nil:
		return &p.Plugin.Federation
	}
	return nil
}

// LocalProvider is type: local, email + password accounts kept by ssogate.
//
//	providers:
//	  - id: local
//	    type: local
//	    password:
//	      min_length: 8
//	    hashing:
//	      memory_kib: 65536
//	      iterations: 3
//	      parallelism: 2
//	      max_in_flight: 4
//	      max_waiting: 256
type LocalProvider struct {
	Password LocalPassword `yaml:"password"`
	Hashing  LocalHashing  `yaml:"hashing"`
}

// LocalPassword is the password rule for new passwords.
type LocalPassword struct {
	// MinLength is the least number of characters. Default 8, minimum 8.
	MinLength int `yaml:"min_length"`
	// MinClasses is how many of upper, lower, digit and symbol a password
	// must use. Default 3, between 1 and 4.
	MinClasses int `yaml:"min_classes"`
}

// LocalHashing is the argon2id cost of new hashes and how many hashes may
// run at once. Each hash in flight holds MemoryKiB of memory, so the
// ceiling is MaxInFlight * MemoryKiB.
type LocalHashing struct {
	// MemoryKiB is argon2id's memory per hash. Default 65536 (64 MiB), minimum 8192.
	MemoryKiB uint32 `yaml:"memory_kib"`
	// Iterations is argon2id's time cost. Default 3, minimum 1.
	Iterations uint32 `yaml:"iterations"`
	// Parallelism is argon2id's lanes. Default 2, between 1 and 16.
	Parallelism uint8 `yaml:"parallelism"`
	// MaxInFlight bounds concurrent hashes. Default the number of CPUs
	// over Parallelism, at least 1, at most 256 MiB of hashes.
	MaxInFlight int `yaml:"max_in_flight"`
	// MaxWaiting bounds sign-ins queued for a hash slot; beyond it they are
	// refused at once with "busy". Default 256 (when the key is absent);
	// 0 means no queue: refuse at once whenever every slot is busy.
	MaxWaiting int `yaml:"max_waiting"`
}

// Service is one tile on the launcher: a downstream application.
type Service struct {
	// ID names the service ("wiki"): lower-case letters, digits and '-'.
	ID string `yaml:"id"`
	// Name is shown on the tile, in the person's language when written
	// per language.
	Name Text `yaml:"name"`
	// Description is the tile's second line, like Name.
	Description Text `yaml:"description"`
	// NameEN and DescriptionEN are the older spelling of the English
	// name and description: Validate moves them into Name["en"] and
	// Description["en"] and clears them, so code reads Name and
	// Description only.
	NameEN        string `yaml:"name_en"`
	DescriptionEN string `yaml:"description_en"`
	// Icon names one of the portal's built-in icons (see IconNames).
	// Default "app".
	Icon string `yaml:"icon"`
	// URL is where the tile leads: an absolute http(s) URL.
	URL string `yaml:"url"`
	// AllowedGroups limits the service to users in any of these groups;
	// empty means every signed-in user.
	AllowedGroups []string `yaml:"allowed_groups"`
	// AllowedNetworks limits the service to requests from these lines (ids
	// of network providers) or addresses (IPs, CIDR prefixes); empty means
	// anywhere the access route allows.
	AllowedNetworks []string `yaml:"allowed_networks"`

	// AllowedPrefixes is AllowedNetworks resolved by Validate: the
	// prefixes of each named network provider and each IP or prefix
	// written, IPv4-mapped IPv6 written as IPv4. Empty when
	// AllowedNetworks is.
	AllowedPrefixes []netip.Prefix `yaml:"-"`

	// Upstream makes the gateway a reverse proxy for this service: requests
	// for URL — its host, or its path prefix on the gateway's own host —
	// are forwarded here once the person is signed in and allowed. Without
	// it the service is protected by forward auth (/auth) only.
	Upstream string `yaml:"upstream"`
	// PreserveHost sends the Host the browser used to the upstream instead
	// of the upstream's own host. Default false.
	PreserveHost bool `yaml:"preserve_host"`
	// UpstreamTimeout bounds the wait for the upstream's response headers
	// (a longer wait answers 504). Default 30s.
	UpstreamTimeout Duration `yaml:"upstream_timeout"`
	// SessionTimeout demands a sign-in no older than this for the service;
	// an older one must sign in again. Default 0: the session's own limits.
	SessionTimeout Duration `yaml:"session_timeout"`
	// DeviceApproval asks for an administrator's approval of a new
	// browser before this service is reached, even when
	// policy.device_approval is off. Default false.
	DeviceApproval bool `yaml:"device_approval"`
	// Require2FA sends a session signed in without a second factor
	// through the 2-step verification (step-up) before the proxy or /auth
	// lets it reach this service, whatever policy.two_factor.required
	// says. Default false.
	Require2FA bool `yaml:"require_2fa"`
	// Headers names the identity headers the service receives.
	Headers ServiceHeaders `yaml:"headers"`
	// OIDC makes the service a client of the gateway's OpenID Provider
	// (an app that signs in with OpenID Connect); nil when it is not.
	OIDC *ServiceOIDC `yaml:"oidc"`
	// SAML makes the service a service provider of the gateway's SAML
	// IdP; nil when it is not.
	SAML *ServiceSAML `yaml:"saml"`

	URLParsed      *url.URL `yaml:"-"`
	UpstreamParsed *url.URL `yaml:"-"`
}

// HeaderNone, as a header name, means the service does not receive that
// header.
const HeaderNone = "none"

// ServiceHeaders are the names of the identity headers a service receives.
// Each defaults to the name shown; "none" leaves the header out. The
// contact and organisation headers default to "none": a service receives
// them only when its configuration names them (they are in the assertion
// either way). Whatever the names, every incoming copy of every identity
// header name (of any service, in any case or _/- spelling) is removed
// from requests first.
type ServiceHeaders struct {
	User       string `yaml:"user"`        // X-Forwarded-User: login id
	RemoteUser string `yaml:"remote_user"` // Remote-User: login id
	Email      string `yaml:"email"`       // X-Forwarded-Email
	Groups     string `yaml:"groups"`      // X-Forwarded-Groups: comma-separated, each percent-encoded
	Name       string `yaml:"name"`        // X-Forwarded-Name: UTF-8 percent-encoded display name
	Assertion  string `yaml:"assertion"`   // X-Ssogate-Assertion: signed JWT (ES256)
	// The person's phone, mobile, organisation and department, UTF-8
	// percent-encoded like the name; default none.
	Phone        string `yaml:"phone"`
	Mobile       string `yaml:"mobile"`
	Organization string `yaml:"organization"`
	Department   string `yaml:"department"`
}

// DefaultServiceHeaders are the header names services receive by default.
var DefaultServiceHeaders = ServiceHeaders{
	User: "X-Forwarded-User", RemoteUser: "Remote-User", Email: "X-Forwarded-Email",
	Groups: "X-Forwarded-Groups", Name: "X-Forwarded-Name", Assertion: "X-Ssogate-Assertion",
	Phone: HeaderNone, Mobile: HeaderNone, Organization: HeaderNone, Department: HeaderNone,
}

// Names returns the header names in order: user, remote_user, email,
// groups, name, assertion, phone, mobile, organization, department.
func (h ServiceHeaders) Names() []string {
	return []string{h.User, h.RemoteUser, h.Email, h.Groups, h.Name, h.Assertion,
		h.Phone, h.Mobile, h.Organization, h.Department}
}

// Assertion configures the signed identity assertion (X-Ssogate-Assertion).
type Assertion struct {
	// TTL is how long an assertion is valid. Default 60s; 10s to 10m.
	TTL Duration `yaml:"ttl"`
}

// IconNames are the icons a service may use.
var IconNames = []string{
	"app", "book", "calendar", "chart", "chat", "cloud", "code", "database",
	"doc", "folder", "globe", "mail", "money", "people", "phone", "search",
	"settings", "shield", "ticket", "video",
}

// Duration is a time.Duration written as "30m", "12h", "1h30m" or "14d".
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }
