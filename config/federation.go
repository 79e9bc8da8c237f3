package config

// Federation is what every federated provider (oidc, saml, ldap) shares:
// how an identity from the provider becomes a gateway user.
//
// An identity is linked to a user by (provider id, subject), never by a
// display attribute. The first sign-in of an unlinked identity:
//
//  1. links to the existing user with the same email, if the provider
//     asserts the email is verified and its domain is in link_domains;
//  2. else creates the user (just-in-time provisioning), if provision is
//     true, the email's domain is in provision_domains and — when
//     provision_groups is set — the person is in one of those provider
//     groups;
//  3. else is refused: "not registered — ask your administrator".
//
// Domains are written lower-case without '@' (example.co.jp).
type Federation struct {
	// LinkDomains are the email domains whose verified addresses link to
	// an existing user. Default none: no linking by email.
	LinkDomains []string `yaml:"link_domains"`
	// Provision creates users at first sign-in. Default false. It needs
	// ProvisionDomains.
	Provision        bool     `yaml:"provision"`
	ProvisionDomains []string `yaml:"provision_domains"`
	// ProvisionGroups, when set, limits provisioning to members of any of
	// these provider groups.
	ProvisionGroups []string `yaml:"provision_groups"`
	// GroupMapping turns provider groups into gateway groups. When it is
	// set the provider owns the user's groups: they are replaced by the
	// mapped groups at every sign-in. Gateway group names follow the rule
	// of Service.AllowedGroups (non-empty, no comma).
	GroupMapping []GroupRule `yaml:"group_mapping"`
	// OwnedFields are the profile fields the provider owns: overwritten at
	// each sign-in and read-only on the personal-info page. Any of
	// display_name, phone, mobile, organization, department, each once.
	// Default none.
	OwnedFields []string `yaml:"owned_fields"`
}

// GroupRule maps one provider group (a name, or an LDAP DN, compared
// case-insensitively) to gateway groups.
type GroupRule struct {
	From string   `yaml:"from"`
	To   []string `yaml:"to"`
}

// ProfileFields are the fields Federation.OwnedFields may name.
var ProfileFields = []string{"display_name", "phone", "mobile", "organization", "department"}

// OIDCProvider is type: oidc, OpenID Connect (authorization code + PKCE).
//
//   - id: google
//     type: oidc
//     preset: google
//     label: Googleアカウントでログイン
//     client_id: 1234.apps.googleusercontent.com
//     client_secret_file: /run/secrets/google
//     hosted_domain: example.co.jp
//     link_domains: [example.co.jp]
type OIDCProvider struct {
	Federation `yaml:",inline"`
	// Preset fills the issuer: "google" or "microsoft"; leave it out for
	// any other OP.
	Preset string `yaml:"preset"`
	// Issuer is the OP's issuer URL (discovery at
	// <issuer>/.well-known/openid-configuration): https, or http for a
	// loopback host only. Default with preset google
	// https://accounts.google.com; with microsoft
	// https://login.microsoftonline.com/<tenant>/v2.0; required otherwise.
	Issuer string `yaml:"issuer"`
	// ClientID and ClientSecret are what the OP issued for the gateway;
	// both required. ClientSecretFile reads the secret from a file instead
	// (one trailing newline trimmed); set one of the two.
	ClientID         string `yaml:"client_id"`
	ClientSecret     string `yaml:"client_secret"`
	ClientSecretFile string `yaml:"client_secret_file"`
	// Scopes requested; default [openid, email, profile]. Must include openid.
	Scopes []string `yaml:"scopes"`
	// UserInfo also reads the UserInfo endpoint after the token exchange.
	UserInfo bool `yaml:"userinfo"`
	// HostedDomain (google): only accounts of this Google Workspace domain;
	// enforced on the ID token's hd claim, not just requested.
	HostedDomain string `yaml:"hosted_domain"`
	// Tenant (microsoft, required there): a tenant id (single-tenant), or
	// "organizations" or "common" with AllowedTenants naming the tenant ids
	// accepted (the issuer is checked against the token's tid).
	// AllowedTenants is required with those two and refused otherwise.
	Tenant         string   `yaml:"tenant"`
	AllowedTenants []string `yaml:"allowed_tenants"`
	// Claims names the claims mapped to the profile; the defaults are
	// shown on OIDCClaims.
	Claims OIDCClaims `yaml:"claims"`
}

// OIDCClaims names ID-token or UserInfo claims. Empty means the default.
type OIDCClaims struct {
	Email         string `yaml:"email"`          // email
	EmailVerified string `yaml:"email_verified"` // email_verified; xms_edov with preset microsoft
	Name          string `yaml:"name"`           // name
	Phone         string `yaml:"phone"`          // phone_number
	Mobile        string `yaml:"mobile"`         // (none)
	Organization  string `yaml:"organization"`   // (none)
	Department    string `yaml:"department"`     // (none)
	Groups        string `yaml:"groups"`         // groups
}

// SAMLProvider is type: saml, a SAML 2.0 service provider (SP-initiated;
// the gateway's SP metadata is at /saml/<id>/metadata, its ACS at
// /callback/<id>).
//
//   - id: adfs
//     type: saml
//     label: Active Directoryアカウントでログイン
//     idp_metadata_url: https://adfs.example.co.jp/FederationMetadata/2007-06/FederationMetadata.xml
//     attributes: adfs
type SAMLProvider struct {
	Federation `yaml:",inline"`
	// IdP metadata, from a URL (https, or http for a loopback host only;
	// refreshed every MetadataRefresh, default 24h) or a file; exactly one
	// of the two.
	IDPMetadataURL  string   `yaml:"idp_metadata_url"`
	IDPMetadataFile string   `yaml:"idp_metadata_file"`
	MetadataRefresh Duration `yaml:"metadata_refresh"`
	// EntityID of the gateway as SP; default <public_url>/saml/<id>/metadata.
	EntityID string `yaml:"entity_id"`
	// SP certificate and key (PEM) that sign requests and decrypt
	// assertions; both or neither. Default: generated on first start and
	// kept in the store.
	CertificateFile string `yaml:"certificate_file"`
	KeyFile         string `yaml:"key_file"`
	// Binding sends the AuthnRequest by "redirect" (default) or "post".
	Binding string `yaml:"binding"`
	// ClockSkew tolerated on NotBefore / NotOnOrAfter. Default 90s; 0s to 10m.
	ClockSkew Duration `yaml:"clock_skew"`
	// AllowIDPInitiated accepts responses the gateway did not ask for.
	// Default false.
	AllowIDPInitiated bool `yaml:"allow_idp_initiated"`
	// Attributes is the attribute-name preset: "adfs" / "entra" (claim
	// URIs), or "plain" (mail, uid, eduPersonAffiliation …). Default plain.
	Attributes string `yaml:"attributes"`
	// AttributeNames overrides single attribute names.
	AttributeNames SAMLAttributeNames `yaml:"attribute_names"`
}

// SAMLAttributeNames names SAML attributes. Empty means the preset's.
type SAMLAttributeNames struct {
	Email        string `yaml:"email"`
	Name         string `yaml:"name"`
	GivenName    string `yaml:"given_name"`
	Surname      string `yaml:"surname"`
	Phone        string `yaml:"phone"`
	Mobile       string `yaml:"mobile"`
	Organization string `yaml:"organization"`
	Department   string `yaml:"department"`
	Groups       string `yaml:"groups"`
}

// LDAPProvider is type: ldap, LDAP or Active Directory (bind as a service
// account, find the user, bind as the user).
//
//   - id: ad
//     type: ldap
//     preset: active_directory
//     label: Active Directoryアカウントでログイン
//     url: ldaps://dc1.example.co.jp
//     bind_dn: CN=ssogate,OU=Service,DC=example,DC=co,DC=jp
//     bind_password_file: /run/secrets/ad
//     base_dn: DC=example,DC=co,DC=jp
type LDAPProvider struct {
	Federation `yaml:",inline"`
	// Preset fills LoginAttributes, UserFilter, Groups and Attributes:
	// "active_directory" or "openldap". Without one, LoginAttributes,
	// Groups and Attributes.Subject are required.
	Preset string `yaml:"preset"`
	// URL is ldaps://host[:port] or ldap://host[:port]; ldap:// needs
	// StartTLS or InsecureNoTLS.
	URL string `yaml:"url"`
	// StartTLS upgrades an ldap:// connection (not with ldaps://).
	StartTLS bool `yaml:"start_tls"`
	// InsecureNoTLS allows ldap:// without StartTLS: passwords cross the
	// network in clear. For tests only; refused unless set.
	InsecureNoTLS bool `yaml:"insecure_no_tls"`
	// CAFile is a PEM bundle trusted for the directory's certificate.
	// Default: the system's roots.
	CAFile string `yaml:"ca_file"`
	// BindDN and BindPassword are the service account that searches;
	// both or neither (an anonymous search). BindPasswordFile reads the
	// password from a file instead (one trailing newline trimmed).
	BindDN           string `yaml:"bind_dn"`
	BindPassword     string `yaml:"bind_password"`
	BindPasswordFile string `yaml:"bind_password_file"`
	// BaseDN is where people are searched. Required.
	BaseDN string `yaml:"base_dn"`
	// LoginAttributes are matched against what the person types, any of:
	// sAMAccountName, userPrincipalName, mail, uid. Default
	// [sAMAccountName, userPrincipalName, mail] (active_directory),
	// [uid, mail] (openldap).
	LoginAttributes []string `yaml:"login_attributes"`
	// UserFilter narrows the search, in parentheses. Default
	// (&(objectCategory=person)(objectClass=user)) (active_directory),
	// (objectClass=inetOrgPerson) (openldap), none without a preset.
	UserFilter string `yaml:"user_filter"`
	// Groups is how groups are found: "member_of" (memberOf attribute),
	// "nested" (AD LDAP_MATCHING_RULE_IN_CHAIN) or "group_of_names"
	// (search groupOfNames by member). Default nested (active_directory),
	// group_of_names (openldap).
	Groups string `yaml:"groups"`
	// GroupBaseDN is where nested and group_of_names search; default BaseDN.
	GroupBaseDN string `yaml:"group_base_dn"`
	// Attributes names the directory attributes mapped to the profile.
	Attributes LDAPAttributes `yaml:"attributes"`
	// Timeouts (greater than 0) and connections kept (1 to 64). Defaults
	// 5s, 10s, 4.
	DialTimeout Duration `yaml:"dial_timeout"`
	Timeout     Duration `yaml:"timeout"`
	PoolSize    int      `yaml:"pool_size"`
}

// LDAPAttributes names directory attributes. Empty means the preset's;
// without a preset Email, Phone and Mobile default as shown, Subject is
// required and the rest are not read.
type LDAPAttributes struct {
	Subject      string `yaml:"subject"`      // objectGUID (AD), entryUUID (OpenLDAP)
	Email        string `yaml:"email"`        // mail
	Name         string `yaml:"name"`         // displayName (AD), cn (OpenLDAP)
	Phone        string `yaml:"phone"`        // telephoneNumber
	Mobile       string `yaml:"mobile"`       // mobile
	Organization string `yaml:"organization"` // company (AD), o (OpenLDAP)
	Department   string `yaml:"department"`   // department (AD), ou (OpenLDAP)
}
