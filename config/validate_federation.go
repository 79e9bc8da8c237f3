package config

import (
	"fmt"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

var (
	oidcPresets      = []string{presetGoogle, presetMicrosoft}
	samlBindings     = []string{"redirect", "post"}
	samlAttributes   = []string{"plain", "adfs", "entra"}
	ldapPresetNames  = []string{presetActiveDirectory, presetOpenLDAP}
	ldapLoginAttrs   = []string{"sAMAccountName", "userPrincipalName", "mail", "uid"}
	ldapGroupSources = []string{"member_of", "nested", "group_of_names"}

	// Entra ID tenant ids (the tid claim) are GUIDs.
	guidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
)

const (
	maxClockSkew = 10 * time.Minute
	maxPoolSize  = 64
	tenantHint   = "a directory (tenant) id, e.g. 3f5c8a2e-1b4d-4e6f-9a7b-2c8d0e1f3a5b"
)

// multiTenant reports whether an Entra ID tenant admits accounts of any
// organisation, so that AllowedTenants must narrow it.
func multiTenant(tenant string) bool {
	t := strings.ToLower(tenant)
	return t == "organizations" || t == "common"
}

// presetOneOf reports preset at key unless it is empty or one of valid.
func (v *validator) presetOneOf(key, preset string, valid []string) {
	if preset != "" && !slices.Contains(valid, preset) {
		v.errorf(key, "unknown preset %q; valid: %s, or leave it out", preset, strings.Join(valid, ", "))
	}
}

// federation checks what every federated provider shares.
func (v *validator) federation(path string, f *Federation) {
	for j, d := range f.LinkDomains {
		v.domain(fmt.Sprintf("%s.link_domains[%d]", path, j), d)
	}
	for j, d := range f.ProvisionDomains {
		v.domain(fmt.Sprintf("%s.provision_domains[%d]", path, j), d)
	}
	for j, g := range f.ProvisionGroups {
		if strings.TrimSpace(g) == "" {
			v.errorf(fmt.Sprintf("%s.provision_groups[%d]", path, j), "must not be empty; list provider groups, e.g. [ssogate-users]")
		}
	}
	if f.Provision && len(f.ProvisionDomains) == 0 {
		v.errorf(path+".provision", "is true but provision_domains is empty; list the email domains whose people may be created, e.g. provision_domains: [example.co.jp]")
	}
	for j, r := range f.GroupMapping {
		key := fmt.Sprintf("%s.group_mapping[%d]", path, j)
		if strings.TrimSpace(r.From) == "" {
			v.errorf(key+".from", "required: the provider group, a name or an LDAP DN, e.g. CN=Staff,OU=Groups,DC=example,DC=co,DC=jp")
		}
		if len(r.To) == 0 {
			v.errorf(key+".to", "required: the gateway groups it maps to, e.g. [staff]")
		}
		for k, g := range r.To {
			v.groupName(fmt.Sprintf("%s.to[%d]", key, k), g)
		}
	}
	seen := map[string]string{}
	for j, name := range f.OwnedFields {
		key := fmt.Sprintf("%s.owned_fields[%d]", path, j)
		switch {
		case !slices.Contains(ProfileFields, name):
			v.errorf(key, "unknown profile field %q; valid: %s", name, strings.Join(ProfileFields, ", "))
		case seen[name] != "":
			if first := v.c.src.line(seen[name]); first != v.c.src.line(key) {
				v.errorf(key, "%q is listed twice; already at line %d", name, first)
			} else {
				v.errorf(key, "%q is listed twice; drop one", name)
			}
		default:
			seen[name] = key
		}
	}
}

// domain reports d at key unless it is an email domain as compared:
// lower-case, without '@'.
func (v *validator) domain(key, d string) {
	const hint = "write the part after '@', e.g. example.co.jp"
	switch {
	case strings.TrimSpace(d) == "":
		v.errorf(key, "must not be empty; %s", hint)
	case strings.Contains(d, "@"):
		v.errorf(key, "%q must be a domain without '@'; write %s", d, d[strings.LastIndexByte(d, '@')+1:])
	case strings.ContainsAny(d, " \t/:"):
		v.errorf(key, "%q is not a domain; %s", d, hint)
	case d != strings.ToLower(d):
		v.errorf(key, "%q must be lower-case; write %s", d, strings.ToLower(d))
	}
}

// groupName reports a gateway group name at key unless it is non-empty and
// has no comma (groups are passed on comma-separated).
func (v *validator) groupName(key, g string) {
	switch {
	case strings.TrimSpace(g) == "":
		v.errorf(key, "must not be empty; list group names, e.g. [staff, admins]")
	case strings.Contains(g, ","):
		v.errorf(key, "%q contains a comma; group names cannot, since groups are passed on comma-separated (X-Forwarded-Groups)", g)
	}
}

// isLoopbackHost reports whether host (from url.URL.Hostname) is this
// machine, where plain http cannot be intercepted.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// parseHTTPSURL accepts an absolute https URL, or an http URL of a
// loopback host (a test server on this machine).
func parseHTTPSURL(s, example string) (*url.URL, error) {
	u, err := parseHTTPURL(s, example)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "https" && !isLoopbackHost(u.Hostname()) {
		return nil, fmt.Errorf("%q must use https (http only for a test server on localhost, 127.0.0.1 or [::1]); use e.g. %s", s, example)
	}
	return u, nil
}

// secretKey is the key a missing secret is reported at: its *_file key
// when that was used.
func secretKey(path, key, file string) string {
	if file != "" {
		return path + "." + key + "_file"
	}
	return path + "." + key
}

func (v *validator) oidc(path string, o *OIDCProvider) {
	v.federation(path, &o.Federation)
	v.presetOneOf(path+".preset", o.Preset, oidcPresets)

	tenantOK := v.tenant(path, o)
	const issuerExample = "https://login.example.co.jp"
	switch {
	case o.Preset == presetMicrosoft && !tenantOK && !v.c.src.present(path+".issuer"):
		// The issuer comes from tenant, whose error is enough.
	case o.Issuer == "":
		v.errorf(path+".issuer", "required: the OpenID Provider's issuer URL, e.g. %s (or preset: google / microsoft)", issuerExample)
	default:
		u, err := parseHTTPSURL(o.Issuer, issuerExample)
		switch {
		case err != nil:
			v.errorf(path+".issuer", "%v", err)
		case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
			v.errorf(path+".issuer", "%q must not have a query or fragment; an issuer is a plain URL, e.g. %s", o.Issuer, issuerExample)
		}
	}
	if strings.TrimSpace(o.ClientID) == "" {
		v.errorf(path+".client_id", "required: the client id the OpenID Provider issued for ssogate")
	}
	if o.ClientSecret == "" {
		v.errorf(secretKey(path, "client_secret", o.ClientSecretFile),
			"required: the client secret the OpenID Provider issued; set client_secret_file (e.g. /run/secrets/oidc) or client_secret: ${OIDC_CLIENT_SECRET}")
	}
	if !slices.Contains(o.Scopes, "openid") {
		v.errorf(path+".scopes", "must include openid (OpenID Connect needs it), e.g. [openid, email, profile]")
	}
	for j, sc := range o.Scopes {
		if sc == "" || strings.ContainsAny(sc, " \t") {
			v.errorf(fmt.Sprintf("%s.scopes[%d]", path, j), "%q is not one scope; list each scope as its own item, e.g. [openid, email, profile]", sc)
		}
	}

	if o.HostedDomain != "" {
		if o.Preset != presetGoogle {
			v.errorf(path+".hosted_domain", "applies only with preset: google (a Google Workspace domain)")
		} else {
			v.domain(path+".hosted_domain", o.HostedDomain)
		}
	}

}

// tenant checks the Entra ID tenant settings and reports whether tenant
// is one an issuer can be made from.
func (v *validator) tenant(path string, o *OIDCProvider) bool {
	ok := false
	switch {
	case o.Preset == presetMicrosoft && o.Tenant == "":
		v.errorf(path+".tenant", "required with preset: microsoft; use %s, or organizations or common with allowed_tenants", tenantHint)
	case o.Preset != presetMicrosoft && o.Tenant != "":
		v.errorf(path+".tenant", "applies only with preset: microsoft")
	case strings.EqualFold(o.Tenant, "consumers"):
		v.errorf(path+".tenant", "consumers admits the personal Microsoft account of anyone; use %s, or organizations with allowed_tenants", tenantHint)
	case strings.ContainsAny(o.Tenant, " \t/:?#@%"):
		v.errorf(path+".tenant", "%q is not a tenant; use %s, a verified domain (example.co.jp), or organizations or common with allowed_tenants", o.Tenant, tenantHint)
	default:
		ok = true
	}
	switch {
	case multiTenant(o.Tenant) && len(o.AllowedTenants) == 0:
		v.errorf(path+".allowed_tenants", "required with tenant: %s, which admits accounts of any organisation; list the tenant ids accepted, e.g. [%s]",
			o.Tenant, "3f5c8a2e-1b4d-4e6f-9a7b-2c8d0e1f3a5b")
	case !multiTenant(o.Tenant) && len(o.AllowedTenants) > 0:
		v.errorf(path+".allowed_tenants", "applies only with tenant: organizations or common; a single tenant admits only its own accounts")
	default:
		for j, t := range o.AllowedTenants {
			if !guidPattern.MatchString(t) {
				v.errorf(fmt.Sprintf("%s.allowed_tenants[%d]", path, j), "%q is not a tenant id; use %s", t, tenantHint)
			}
		}
	}
	return ok
}

func (v *validator) saml(path string, p *SAMLProvider) {
	v.federation(path, &p.Federation)

	const metadataExample = "https://adfs.example.co.jp/FederationMetadata/2007-06/FederationMetadata.xml"
	switch {
	case p.IDPMetadataURL != "" && p.IDPMetadataFile != "":
		v.errorf(path+".idp_metadata_file", "set either idp_metadata_url or idp_metadata_file, not both")
	case p.IDPMetadataURL == "" && p.IDPMetadataFile == "":
		v.errorf(path+".idp_metadata_url", "required: the IdP's metadata, as idp_metadata_url (e.g. %s) or idp_metadata_file", metadataExample)
	}
	if p.IDPMetadataURL != "" {
		if _, err := parseHTTPSURL(p.IDPMetadataURL, metadataExample); err != nil {
			v.errorf(path+".idp_metadata_url", "%v", err)
		}
	}
	if p.MetadataRefresh <= 0 {
		v.errorf(path+".metadata_refresh", "must be greater than 0, e.g. 24h")
	}
	if p.EntityID != "" {
		if u, err := url.Parse(p.EntityID); err != nil || u.Scheme == "" {
			v.errorf(path+".entity_id", "%q is not an absolute URI; use e.g. https://sso.example.co.jp/saml/<id>/metadata, or leave it out", p.EntityID)
		}
	}
	switch {
	case p.CertificateFile != "" && p.KeyFile == "":
		v.errorf(path+".certificate_file", "is set but key_file is not; set both (the SP's PEM certificate and its key), or neither to have them generated")
	case p.CertificateFile == "" && p.KeyFile != "":
		v.errorf(path+".key_file", "is set but certificate_file is not; set both (the SP's PEM certificate and its key), or neither to have them generated")
	}
	v.oneOf(path+".binding", "binding", p.Binding, samlBindings)
	if p.ClockSkew < 0 || p.ClockSkew.D() > maxClockSkew {
		v.errorf(path+".clock_skew", "%s is out of range; use 0s to %s, e.g. 90s", p.ClockSkew, Duration(maxClockSkew))
	}
	v.oneOf(path+".attributes", "attribute preset", p.Attributes, samlAttributes)
}

func (v *validator) ldap(path string, l *LDAPProvider) {
	v.federation(path, &l.Federation)
	v.presetOneOf(path+".preset", l.Preset, ldapPresetNames)

	const urlExample = "ldaps://dc1.example.co.jp"
	if l.URL == "" {
		v.errorf(path+".url", "required: the directory's address, e.g. %s", urlExample)
	} else if u, err := parseLDAPURL(l.URL, urlExample); err != nil {
		v.errorf(path+".url", "%v", err)
	} else {
		switch {
		case u.Scheme == "ldaps" && l.StartTLS:
			v.errorf(path+".start_tls", "applies only to ldap:// URLs; %s is TLS from the start, drop start_tls", l.URL)
		case u.Scheme == "ldap" && !l.StartTLS && !l.InsecureNoTLS:
			v.errorf(path+".url", "ldap:// without TLS would send passwords across the network in clear; use ldaps://, or start_tls: true, or (for a test directory only) insecure_no_tls: true")
		case l.InsecureNoTLS && (u.Scheme == "ldaps" || l.StartTLS):
			v.errorf(path+".insecure_no_tls", "applies only to ldap:// without start_tls; drop it")
		}
	}
	if strings.TrimSpace(l.BaseDN) == "" {
		v.errorf(path+".base_dn", "required: where people are searched, e.g. DC=example,DC=co,DC=jp")
	}
	switch {
	case l.BindDN != "" && l.BindPassword == "":
		if l.BindPasswordFile != "" {
			v.errorf(path+".bind_password_file", "the file is empty; it must hold the password of bind_dn")
		} else {
			v.errorf(path+".bind_dn", "is set but bind_password is not; set both (bind_password_file is preferred), or neither to search anonymously")
		}
	case l.BindDN == "" && l.BindPassword != "":
		v.errorf(secretKey(path, "bind_password", l.BindPasswordFile), "is set but bind_dn is not; set both, or neither to search anonymously")
	}

	// What a preset fills is required without one; with an unknown preset
	// its error is enough.
	_, knownPreset := ldapPresets[l.Preset]
	required := "must not be empty"
	if l.Preset == "" {
		required = "required without a preset"
	}
	if len(l.LoginAttributes) == 0 && knownPreset {
		v.errorf(path+".login_attributes", "%s; list what people sign in with, any of %s", required, strings.Join(ldapLoginAttrs, ", "))
	}
	for j, a := range l.LoginAttributes {
		v.oneOf(fmt.Sprintf("%s.login_attributes[%d]", path, j), "login attribute", a, ldapLoginAttrs)
	}
	if l.UserFilter != "" && (!strings.HasPrefix(l.UserFilter, "(") || !strings.HasSuffix(l.UserFilter, ")")) {
		v.errorf(path+".user_filter", "%q is not an LDAP filter; write it in parentheses, e.g. (objectClass=user)", l.UserFilter)
	}
	if l.Groups != "" {
		v.oneOf(path+".groups", "group lookup", l.Groups, ldapGroupSources)
	} else if knownPreset {
		v.errorf(path+".groups", "%s; valid: %s", required, strings.Join(ldapGroupSources, ", "))
	}
	if strings.TrimSpace(l.Attributes.Subject) == "" && knownPreset {
		v.errorf(path+".attributes.subject", "%s: an attribute that never changes for a person, e.g. entryUUID or objectGUID", required)
	}

	if l.DialTimeout <= 0 {
		v.errorf(path+".dial_timeout", "must be greater than 0, e.g. 5s")
	}
	if l.Timeout <= 0 {
		v.errorf(path+".timeout", "must be greater than 0, e.g. 10s")
	}
	if l.PoolSize < 1 || l.PoolSize > maxPoolSize {
		v.errorf(path+".pool_size", "%d is out of range; use 1 to %d, e.g. 4", l.PoolSize, maxPoolSize)
	}
}

// parseLDAPURL accepts ldap:// or ldaps:// with a host, an optional valid
// port and nothing else.
func parseLDAPURL(s, example string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "ldap" && u.Scheme != "ldaps") || u.Hostname() == "" {
		return nil, fmt.Errorf("%q is not an ldaps:// or ldap:// URL with a host; use e.g. %s", s, example)
	}
	if u.User != nil {
		return nil, fmt.Errorf("%q must not contain a user name or password; use bind_dn and bind_password_file", u.Redacted())
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("%q has port %q; use a number from 1 to 65535", s, p)
		}
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%q must be only scheme, host and port; put the search base in base_dn, e.g. %s", s, example)
	}
	return u, nil
}

// policy checks the organisation-wide sign-in policy against the
// configured providers.
func (v *validator) policy() {
	p := &v.c.Policy
	var ids []string
	types := map[string]string{}
	for _, pr := range v.c.Providers {
		if pr.ID != "" {
			ids = append(ids, pr.ID)
			types[pr.ID] = pr.Type
		}
	}
	for j, id := range p.LoginMethods {
		key := fmt.Sprintf("policy.login_methods[%d]", j)
		switch typ, ok := types[id]; {
		case !ok:
			v.errorf(key, "%q is not a configured provider; configured: %s", id, strings.Join(ids, ", "))
		case typ == "network":
			v.errorf(key, "%q is a network provider: it proves a line, not a person, so nobody can sign in with it; list the providers people sign in with (%s)",
				id, strings.Join(signInIDs(ids, types), ", "))
		}
	}
	v.accessRoute()
	if !p.HidePasswordForm {
		return
	}
	usable := false
	for _, id := range ids {
		if typ := types[id]; typ != "local" && typ != "network" && (len(p.LoginMethods) == 0 || slices.Contains(p.LoginMethods, id)) {
			usable = true
		}
	}
	switch {
	case usable:
	case len(p.LoginMethods) > 0:
		v.errorf("policy.hide_password_form", "would leave nobody a way to sign in: login_methods allows no provider other than local; allow one, or drop hide_password_form")
	default:
		v.errorf("policy.hide_password_form", "would leave nobody a way to sign in: local is the only kind of provider configured to sign in with; add an oidc, saml, ldap or plugin provider, or drop hide_password_form")
	}
}

// signInIDs are the ids of the providers a person signs in with: all but
// network providers.
func signInIDs(ids []string, types map[string]string) []string {
	var out []string
	for _, id := range ids {
		if types[id] != "network" {
			out = append(out, id)
		}
	}
	return out
}
