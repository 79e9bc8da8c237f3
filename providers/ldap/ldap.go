// Package ldap is the LDAP and Active Directory provider: it finds the
// person's entry with a service account, proves the password by binding
// as that entry on a connection of its own, and reads the profile and the
// groups from the directory.
//
// A sign-in takes a service connection from a small pool (bound once as
// Config.BindDN), searches Config.BaseDN for exactly one entry whose
// login attributes equal what the person typed, then binds as that
// entry's DN with the password on a fresh connection that is closed
// afterwards: the pooled connections never carry a user's identity.
// Active Directory's reasons for refusing a right password (locked,
// disabled, expired, must change password) become
// *providers.AccountError.
//
// Nothing is dialled at Open: a directory that is down when the gateway
// starts only makes this provider fail with providers.ErrUnavailable
// until it is back. Health checks the directory with a root DSE search on
// a pooled connection, at most every few seconds and within a short
// timeout, so that a directory that hangs cannot hold /readyz.
package ldap

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/ssogate/ssogate/providers"
)

// Ways to find a person's groups, for Config.Groups.
const (
	// GroupsMemberOf reads the memberOf attribute of the person's entry:
	// the groups the person is a direct member of (AD; OpenLDAP with the
	// memberof overlay).
	GroupsMemberOf = "member_of"
	// GroupsNested searches Config.GroupBaseDN with Active Directory's
	// LDAP_MATCHING_RULE_IN_CHAIN: every group the person is in, directly
	// or through other groups.
	GroupsNested = "nested"
	// GroupsGroupOfNames searches Config.GroupBaseDN for groupOfNames
	// entries whose member is the person (OpenLDAP without memberOf):
	// direct membership only.
	GroupsGroupOfNames = "group_of_names"
)

// Defaults for zero Config fields.
const (
	DefaultDialTimeout = 5 * time.Second
	DefaultTimeout     = 10 * time.Second
	DefaultPoolSize    = 4
)

const (
	maxPoolSize = 64
	// maxLoginBytes and maxPasswordBytes keep absurd input off the wire;
	// AD allows 256-character passwords (at most 1024 bytes of UTF-8).
	maxLoginBytes    = 256
	maxPasswordBytes = 1024
	// maxIdle is how long a pooled connection may sit unused before it is
	// closed instead of reused: AD drops idle LDAP connections after
	// MaxConnIdleTime (900 s by default), firewalls often sooner.
	maxIdle = 2 * time.Minute
	// groupPageSize stays under AD's MaxPageSize (1000).
	groupPageSize = 500
)

// Config configures an LDAP or Active Directory provider. In ssogate.yaml
// it is written as
//
//	providers:
//	  - id: ad
//	    type: ldap
//	    preset: active_directory        # the wiring fills the fields below
//	    url: ldaps://dc1.example.co.jp  # URL
//	    start_tls: false                # StartTLS
//	    insecure_no_tls: false          # InsecureNoTLS
//	    ca_file: /etc/ssogate/ad-ca.pem # RootCAs
//	    bind_dn: CN=ssogate,OU=Service,DC=example,DC=co,DC=jp
//	    bind_password_file: /run/secrets/ad
//	    base_dn: DC=example,DC=co,DC=jp
//	    login_attributes: [sAMAccountName, userPrincipalName, mail]
//	    user_filter: (&(objectCategory=person)(objectClass=user))
//	    groups: nested                  # member_of | nested | group_of_names
//	    group_base_dn: OU=Groups,DC=example,DC=co,DC=jp
//	    attributes:
//	      subject: objectGUID
//	      email: mail
//	      name: displayName
//	      phone: telephoneNumber
//	      mobile: mobile
//	      organization: company
//	      department: department
//	    dial_timeout: 5s
//	    timeout: 10s
//	    pool_size: 4
//
// For OpenLDAP the usual values are login_attributes [uid, mail],
// user_filter (objectClass=inetOrgPerson), groups member_of (with the
// memberof overlay) or group_of_names, and attributes subject entryUUID,
// name cn, organization o, department ou.
type Config struct {
	// URL is ldaps://host[:port] (port 636 by default) or
	// ldap://host[:port] (389), nothing after the port.
	URL string
	// StartTLS upgrades an ldap:// connection to TLS before anything
	// else is sent.
	StartTLS bool
	// InsecureNoTLS allows ldap:// without StartTLS, which sends
	// passwords in clear. Open refuses ldap:// without one of the two.
	InsecureNoTLS bool
	// RootCAs verifies the directory's certificate; nil means the
	// system's roots. The host name in URL must match the certificate.
	RootCAs *x509.CertPool

	// BindDN and BindPassword are the service account that searches for
	// people (and their groups); an empty BindDN searches anonymously.
	BindDN       string
	BindPassword string
	// BaseDN is where people are searched for, the whole subtree.
	BaseDN string
	// LoginAttributes are compared, each for equality, with what the
	// person types: e.g. sAMAccountName, userPrincipalName, mail, uid.
	// Exactly one entry must match.
	LoginAttributes []string
	// UserFilter, when set, narrows the search, e.g.
	// (&(objectCategory=person)(objectClass=user)).
	UserFilter string
	// Groups is GroupsMemberOf, GroupsNested, GroupsGroupOfNames, or
	// empty for no groups. Identity.Groups then holds each group's DN
	// followed by its cn, so that a group_mapping rule may name either.
	// AD's primary group (Domain Users) is in neither memberOf nor
	// member, so it is never among them.
	Groups string
	// GroupBaseDN is where GroupsNested and GroupsGroupOfNames search;
	// default BaseDN.
	GroupBaseDN string
	// Attributes names the attributes mapped onto the Identity.
	Attributes Attributes

	// DialTimeout bounds connecting, including the TLS handshake;
	// default DefaultDialTimeout.
	DialTimeout time.Duration
	// Timeout bounds each LDAP operation (bind, search); default
	// DefaultTimeout.
	Timeout time.Duration
	// PoolSize is the most service connections open at once, 1 to 64;
	// default DefaultPoolSize. More concurrent sign-ins wait for one.
	PoolSize int
}

// Attributes names directory attributes. Subject is required; an empty
// name leaves its Identity field empty.
type Attributes struct {
	// Subject must never change or be reused: objectGUID (AD) or
	// entryUUID (OpenLDAP). objectGUID and objectSid, which are binary,
	// become their usual strings (3f2504e0-4f89-11d3-9a0c-0305e82c3301,
	// S-1-5-21-…).
	Subject      string
	Email        string // mail
	Name         string // displayName (AD), cn (OpenLDAP)
	Phone        string // telephoneNumber
	Mobile       string // mobile
	Organization string // company (AD), o (OpenLDAP)
	Department   string // department (AD), ou (OpenLDAP)
}

// withDefaults returns c with zero timeouts and pool size set.
func (c Config) withDefaults() Config {
	if c.DialTimeout == 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.PoolSize == 0 {
		c.PoolSize = DefaultPoolSize
	}
	if c.GroupBaseDN == "" {
		c.GroupBaseDN = c.BaseDN
	}
	c.UserFilter = strings.TrimSpace(c.UserFilter)
	if c.UserFilter != "" && !strings.HasPrefix(c.UserFilter, "(") {
		c.UserFilter = "(" + c.UserFilter + ")"
	}
	return c
}

// attrName is an attribute description: a name or an OID, no options.
var attrName = regexp.MustCompile(`^(?:[A-Za-z][A-Za-z0-9-]*|[0-9]+(?:\.[0-9]+)+)$`)

// validate checks c after defaults; each error names the YAML key and
// says what would be valid.
func (c Config) validate() error {
	var errs []error
	u, err := url.Parse(c.URL)
	switch {
	case c.URL == "":
		errs = append(errs, errors.New("url: missing; want ldaps://host[:port] or ldap://host[:port]"))
	case err != nil:
		errs = append(errs, fmt.Errorf("url %q: %v", c.URL, err))
	case u.Scheme != "ldap" && u.Scheme != "ldaps":
		errs = append(errs, fmt.Errorf("url %q: scheme %q; want ldaps:// or ldap://", c.URL, u.Scheme))
	case u.Hostname() == "":
		errs = append(errs, fmt.Errorf("url %q: no host", c.URL))
	case (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		errs = append(errs, fmt.Errorf("url %q: want only scheme, host and port (put the DN in base_dn)", c.URL))
	case u.Port() != "" && !validPort(u.Port()):
		errs = append(errs, fmt.Errorf("url %q: bad port %q", c.URL, u.Port()))
	case u.Scheme == "ldaps" && c.StartTLS:
		errs = append(errs, fmt.Errorf("start_tls with %q: ldaps:// is TLS already; use one of the two", c.URL))
	case c.InsecureNoTLS && (u.Scheme == "ldaps" || c.StartTLS):
		errs = append(errs, errors.New("insecure_no_tls with TLS configured: drop insecure_no_tls"))
	case u.Scheme == "ldap" && !c.StartTLS && !c.InsecureNoTLS:
		errs = append(errs, fmt.Errorf("url %q sends passwords in clear: use ldaps://, or start_tls: true, or (tests only) insecure_no_tls: true", c.URL))
	}
	if c.BindDN != "" && c.BindPassword == "" {
		errs = append(errs, errors.New("bind_password: missing for bind_dn (an empty password is an unauthenticated bind)"))
	}
	if c.BindDN == "" && c.BindPassword != "" {
		errs = append(errs, errors.New("bind_dn: missing for bind_password"))
	}
	for _, dn := range []struct{ key, value string }{{"bind_dn", c.BindDN}, {"base_dn", c.BaseDN}, {"group_base_dn", c.GroupBaseDN}} {
		if _, err := goldap.ParseDN(dn.value); err != nil {
			errs = append(errs, fmt.Errorf("%s %q: %v", dn.key, dn.value, err))
		}
	}
	if c.BaseDN == "" {
		errs = append(errs, errors.New("base_dn: missing; want the DN people are searched under, e.g. DC=example,DC=co,DC=jp"))
	}
	if len(c.LoginAttributes) == 0 {
		errs = append(errs, errors.New("login_attributes: empty; want e.g. [sAMAccountName, userPrincipalName] or [uid, mail]"))
	}
	for _, a := range c.LoginAttributes {
		if !attrName.MatchString(a) {
			errs = append(errs, fmt.Errorf("login_attributes: %q is not an attribute name", a))
		}
	}
	if c.UserFilter != "" {
		if _, err := goldap.CompileFilter(c.UserFilter); err != nil {
			errs = append(errs, fmt.Errorf("user_filter %q: %v", c.UserFilter, err))
		}
	}
	switch c.Groups {
	case "", GroupsMemberOf, GroupsNested, GroupsGroupOfNames:
	default:
		errs = append(errs, fmt.Errorf("groups %q: want %s, %s or %s", c.Groups, GroupsMemberOf, GroupsNested, GroupsGroupOfNames))
	}
	if c.Attributes.Subject == "" {
		errs = append(errs, errors.New("attributes.subject: missing; want objectGUID (AD) or entryUUID (OpenLDAP)"))
	}
	for _, a := range []struct{ key, value string }{
		{"subject", c.Attributes.Subject}, {"email", c.Attributes.Email}, {"name", c.Attributes.Name},
		{"phone", c.Attributes.Phone}, {"mobile", c.Attributes.Mobile},
		{"organization", c.Attributes.Organization}, {"department", c.Attributes.Department},
	} {
		if a.value != "" && !attrName.MatchString(a.value) {
			errs = append(errs, fmt.Errorf("attributes.%s: %q is not an attribute name", a.key, a.value))
		}
	}
	if c.DialTimeout < 0 {
		errs = append(errs, fmt.Errorf("dial_timeout %v: want a positive duration", c.DialTimeout))
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout %v: want a positive duration", c.Timeout))
	}
	if c.PoolSize < 1 || c.PoolSize > maxPoolSize {
		errs = append(errs, fmt.Errorf("pool_size %d: want 1 to %d", c.PoolSize, maxPoolSize))
	}
	return errors.Join(errs...)
}

func validPort(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n > 0 && n < 65536
}

// Provider signs people in against an LDAP directory or Active
// Directory. It is safe for concurrent use.
type Provider struct {
	id   string
	cfg  Config
	tls  bool   // ldaps://
	addr string // host:port
	host string // for the certificate check
	// attrs are read from the person's entry and become Identity.Claims.
	attrs []string
	// timeLimit is Timeout for the directory's own search time limit.
	timeLimit int

	// tokens holds one entry per service connection in use, at most
	// PoolSize; idle connections hold none, so idle plus in use never
	// exceed PoolSize.
	tokens chan struct{}
	mu     sync.Mutex
	idle   []*serviceConn // most recently used last
	closed bool

	serviceBinds atomic.Int64 // for tests: binds as BindDN so far

	health health // the last health check
	// now is the clock of the health cache; tests move it.
	now func() time.Time
}

var _ providers.PasswordAuthenticator = (*Provider)(nil)

// Open returns an LDAP provider with the given id, after applying
// defaults to cfg and validating it. It does not contact the directory.
func Open(id string, cfg Config) (*Provider, error) {
	if id == "" {
		return nil, errors.New("ldap: empty provider id")
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("ldap: provider %q: %w", id, err)
	}
	u, _ := url.Parse(cfg.URL)
	p := &Provider{
		id:        id,
		cfg:       cfg,
		tls:       u.Scheme == "ldaps",
		host:      u.Hostname(),
		timeLimit: int(math.Ceil(cfg.Timeout.Seconds())),
		tokens:    make(chan struct{}, cfg.PoolSize),
		now:       time.Now,
	}
	port := u.Port()
	if port == "" {
		port = "389"
		if p.tls {
			port = "636"
		}
	}
	p.addr = net.JoinHostPort(p.host, port)
	if _, err := goldap.CompileFilter(p.userFilter("x")); err != nil {
		return nil, fmt.Errorf("ldap: provider %q: user_filter with login_attributes: %w", id, err)
	}
	a := cfg.Attributes
	p.attrs = appendUnique(nil, a.Subject, a.Email, a.Name, a.Phone, a.Mobile, a.Organization, a.Department)
	p.attrs = appendUnique(p.attrs, cfg.LoginAttributes...)
	if cfg.Groups == GroupsMemberOf {
		p.attrs = appendUnique(p.attrs, "memberOf")
	}
	// AD's flags; other directories ignore an attribute they do not know.
	p.attrs = appendUnique(p.attrs, "userAccountControl")
	return p, nil
}

// appendUnique appends the non-empty names not already in list, compared
// case-insensitively as LDAP does.
func appendUnique(list []string, names ...string) []string {
next:
	for _, n := range names {
		if n == "" {
			continue
		}
		for _, have := range list {
			if strings.EqualFold(have, n) {
				continue next
			}
		}
		list = append(list, n)
	}
	return list
}

// ID returns the provider's configured id.
func (p *Provider) ID() string { return p.id }

// Type returns "ldap".
func (p *Provider) Type() string { return "ldap" }

// errInvalid is the one error for an unknown login and a wrong password,
// so that callers cannot tell them apart by value or message.
var errInvalid = fmt.Errorf("ldap: %w", providers.ErrInvalidCredentials)

// errClosed is returned after Close.
var errClosed = fmt.Errorf("ldap: provider closed: %w", providers.ErrUnavailable)

// Authenticate finds the one entry whose login attributes equal login
// (trimmed; one with a control character matches nothing) and binds as
// it with password. It returns an error wrapping
//
//   - providers.ErrInvalidCredentials when no entry matches, the password
//     is wrong or empty (refused without asking the directory: an empty
//     password would be an unauthenticated bind, which many servers
//     accept), or more than one entry matches (the error then names
//     them, for the log);
//   - a *providers.AccountError when the directory refuses the account:
//     Active Directory's bind diagnostics 775 locked (AD says so whatever
//     the password), 533 disabled, 701 expired, 532 password expired,
//     773 must change password, 530 / 531 logon hours or workstation
//     restrictions (as disabled), and an entry whose userAccountControl
//     has ACCOUNTDISABLE;
//   - providers.ErrUnavailable when the directory cannot be reached,
//     its certificate is not trusted, an operation times out, or the
//     service account is refused;
//   - ctx.Err() when ctx ends first.
//
// On success the Identity has Subject (see Attributes.Subject), Email
// with EmailVerified true — the directory is authoritative for its
// people's addresses, so configure this provider only for a directory
// whose mail attribute people cannot edit themselves — the profile
// fields, Groups (see Config.Groups) holding every group's DN and, after
// it, the group's cn, and Claims holding each attribute read (keyed as
// configured, objectGUID and objectSid as strings, other values that are
// not UTF-8 as standard base64) plus "dn", the entry's DN.
func (p *Provider) Authenticate(ctx context.Context, login, password string) (*providers.Identity, error) {
	login = strings.TrimSpace(login)
	// None of these depends on whether the account exists. No login
	// name holds a control character; Samba matches "alice\x00" as
	// "alice".
	if password == "" || login == "" || len(login) > maxLoginBytes || len(password) > maxPasswordBytes ||
		strings.ContainsFunc(login, unicode.IsControl) {
		return nil, errInvalid
	}
	entry, err := p.findUser(ctx, login)
	if entry == nil && (err == nil || errors.Is(err, providers.ErrInvalidCredentials)) {
		// A wrong password costs a connection and a bind; a login that
		// matches no one entry costs as much, so that the time taken
		// does not tell which.
		p.decoy(ctx)
		if err == nil {
			err = errInvalid
		}
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	if err := p.bindUser(ctx, entry.DN, password); err != nil {
		return nil, err
	}
	if uacDisabled(entry) {
		return nil, fmt.Errorf("ldap: entry %q: %w", entry.DN,
			&providers.AccountError{Reason: providers.ReasonDisabled, Detail: "userAccountControl has ACCOUNTDISABLE"})
	}
	id, err := p.identity(entry)
	if err != nil {
		return nil, err
	}
	switch p.cfg.Groups {
	case GroupsMemberOf:
		id.Groups = groupNames(entry.GetEqualFoldAttributeValues("memberOf"), nil)
	case GroupsNested, GroupsGroupOfNames:
		if id.Groups, err = p.searchGroups(ctx, entry.DN); err != nil {
			return nil, err
		}
	}
	return id, nil
}

// userFilter returns the search filter for login.
func (p *Provider) userFilter(login string) string {
	v := goldap.EscapeFilter(login)
	var b strings.Builder
	b.WriteString("(&")
	b.WriteString(p.cfg.UserFilter)
	if len(p.cfg.LoginAttributes) > 1 {
		b.WriteString("(|")
	}
	for _, a := range p.cfg.LoginAttributes {
		b.WriteString("(" + a + "=" + v + ")")
	}
	if len(p.cfg.LoginAttributes) > 1 {
		b.WriteString(")")
	}
	b.WriteString(")")
	return b.String()
}

// findUser returns the one entry login matches, nil when none does, or
// an error wrapping providers.ErrInvalidCredentials when several do.
func (p *Provider) findUser(ctx context.Context, login string) (*goldap.Entry, error) {
	req := goldap.NewSearchRequest(p.cfg.BaseDN, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases,
		2, p.timeLimit, false, p.userFilter(login), p.attrs, nil)
	// Samba ignores the size limit a client asks for and sends every
	// match; stop reading at the third.
	req.EnforceSizeLimit = true
	var entries []*goldap.Entry
	var more bool // the directory had more than it sent
	err := p.withService(ctx, "search for the login", func(c *conn) error {
		entries, more = nil, false
		// Referrals (AD answers a search from the domain root with three
		// continuation references) are not followed: people are in the
		// domain partition itself.
		res, err := c.Search(req)
		if res != nil {
			entries = res.Entries
		}
		if goldap.IsErrorWithCode(err, goldap.LDAPResultSizeLimitExceeded) || errors.Is(err, goldap.ErrSizeLimitExceeded) {
			more = true
			return nil
		}
		return err
	})
	switch {
	case err != nil:
		return nil, err
	case len(entries) == 0 && !more:
		return nil, nil
	case len(entries) == 1 && !more:
		if entries[0].DN == "" {
			// Binding as the empty DN would be anonymous.
			return nil, fmt.Errorf("ldap: search returned an entry without a DN: %w", providers.ErrUnavailable)
		}
		return entries[0], nil
	}
	var dns []string
	for _, e := range entries {
		dns = append(dns, strconv.Quote(e.DN))
	}
	if more {
		dns = append(dns, "and more")
	}
	return nil, fmt.Errorf("ldap: login matches more than one entry (%s); make login_attributes and user_filter select one: %w",
		strings.Join(dns, ", "), providers.ErrInvalidCredentials)
}

// bindUser proves password for dn on a connection of its own.
func (p *Provider) bindUser(ctx context.Context, dn, password string) error {
	c, err := p.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	stop := c.watch(ctx)
	err = c.Bind(dn, password)
	stop()
	if err == nil {
		return nil
	}
	var le *goldap.Error
	if errors.As(err, &le) && le.ResultCode == goldap.LDAPResultInvalidCredentials {
		return bindRefused(dn, le)
	}
	return p.failed(ctx, fmt.Sprintf("bind as %q", dn), err)
}

// decoy does what a bind costs — a connection and a round trip — for a
// login that matched nothing; it binds as no one and its outcome does
// not matter.
func (p *Provider) decoy(ctx context.Context) {
	c, err := p.dial(ctx)
	if err != nil {
		return
	}
	defer c.Close()
	stop := c.watch(ctx)
	defer stop()
	_, _ = c.Search(goldap.NewSearchRequest("", goldap.ScopeBaseObject, goldap.NeverDerefAliases,
		1, p.timeLimit, false, "(objectClass=*)", []string{"1.1"}, nil))
}

// searchGroups returns the DNs and names of the groups of the entry dn.
func (p *Provider) searchGroups(ctx context.Context, dn string) ([]string, error) {
	var filter string
	switch p.cfg.Groups {
	case GroupsNested:
		filter = "(member:1.2.840.113556.1.4.1941:=" + goldap.EscapeFilter(dn) + ")"
	case GroupsGroupOfNames:
		filter = "(&(objectClass=groupOfNames)(member=" + goldap.EscapeFilter(dn) + "))"
	}
	var groups []string
	err := p.withService(ctx, "search for groups", func(c *conn) error {
		req := goldap.NewSearchRequest(p.cfg.GroupBaseDN, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases,
			0, p.timeLimit, false, filter, []string{"cn"}, nil)
		res, err := c.SearchWithPaging(req, groupPageSize)
		if err != nil {
			return err
		}
		dns := make([]string, 0, len(res.Entries))
		cns := make(map[string]string, len(res.Entries))
		for _, e := range res.Entries {
			dns = append(dns, e.DN)
			cns[e.DN] = e.GetEqualFoldAttributeValue("cn")
		}
		groups = groupNames(dns, cns)
		return nil
	})
	return groups, err
}

// identity maps entry onto an Identity without groups.
func (p *Provider) identity(entry *goldap.Entry) (*providers.Identity, error) {
	claims := map[string][]string{"dn": {entry.DN}}
	for _, a := range p.attrs {
		if v := attrValues(entry, a); len(v) > 0 {
			claims[a] = v
		}
	}
	first := func(name string) string {
		if v := claims[name]; name != "" && len(v) > 0 {
			return v[0]
		}
		return ""
	}
	a := p.cfg.Attributes
	subject := first(a.Subject)
	if subject == "" {
		return nil, fmt.Errorf("ldap: entry %q has no %s (may bind_dn read it?): %w", entry.DN, a.Subject, providers.ErrUnavailable)
	}
	id := &providers.Identity{
		ProviderID:   p.id,
		Subject:      subject,
		Email:        first(a.Email),
		DisplayName:  first(a.Name),
		Phone:        first(a.Phone),
		Mobile:       first(a.Mobile),
		Organization: first(a.Organization),
		Department:   first(a.Department),
		Claims:       claims,
		AMR:          []string{"pwd"},
	}
	id.EmailVerified = id.Email != ""
	return id, nil
}

// failed wraps err from op: ctx's error when ctx ended, else
// providers.ErrUnavailable.
func (p *Provider) failed(ctx context.Context, op string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("ldap: %s on %s: %w: %w", op, p.addr, ctx.Err(), err)
	}
	return fmt.Errorf("ldap: %s on %s: %w: %w", op, p.addr, providers.ErrUnavailable, err)
}
