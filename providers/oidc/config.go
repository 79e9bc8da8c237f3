package oidc

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Presets.
const (
	PresetGoogle    = "google"
	PresetMicrosoft = "microsoft"
)

// Well-known issuers and tenants.
const (
	// GoogleIssuer is the issuer of the google preset.
	GoogleIssuer = "https://accounts.google.com"
	// DefaultMicrosoftAuthority is Entra ID's global cloud; sovereign
	// clouds have their own (https://login.microsoftonline.us).
	DefaultMicrosoftAuthority = "https://login.microsoftonline.com"
	// TenantOrganizations accepts work and school accounts of any tenant;
	// AllowedTenants then names the ones the gateway accepts.
	TenantOrganizations = "organizations"
	// TenantCommon also accepts personal Microsoft accounts (their tenant
	// id is 9188040d-6c67-4c5b-b112-36a304b66dad); AllowedTenants applies.
	TenantCommon = "common"
)

// tenantPlaceholder is how Entra ID's multi-tenant discovery documents
// write the tenant id in the issuer.
const tenantPlaceholder = "{tenantid}"

// DefaultScopes are requested when Config.Scopes is empty.
var DefaultScopes = []string{"openid", "email", "profile"}

// Config configures an OpenID Connect provider. In ssogate.yaml it is
// written as
//
//	providers:
//	  - id: google
//	    type: oidc
//	    preset: google                      # Preset
//	    client_id: 1234.apps.googleusercontent.com
//	    client_secret_file: /run/secrets/google
//	    hosted_domain: example.co.jp        # HostedDomain: only this Workspace
//	  - id: entra
//	    type: oidc
//	    preset: microsoft
//	    tenant: organizations               # Tenant: a tenant id, organizations or common
//	    allowed_tenants:                    # AllowedTenants, for organizations / common
//	      - 5b1c4e4a-0b6f-4d0e-9a55-3f3c2b8f1d21
//	    client_id: 0f3d2c1b-aaaa-bbbb-cccc-123456789abc
//	    client_secret_file: /run/secrets/entra
//	    claims:
//	      department: department            # Claims: an optional claim set up in Entra
//	  - id: keycloak
//	    type: oidc
//	    issuer: https://sso.example.co.jp/realms/staff
//	    client_id: ssogate
//	    client_secret_file: /run/secrets/keycloak
//	    scopes: [openid, email, profile, groups]
//	    userinfo: true                      # UserInfo
//
// The flow is the authorization code flow with PKCE (S256), a nonce and
// a state, with the client secret sent to the token endpoint.
type Config struct {
	// Issuer is the OP's issuer URL; discovery reads
	// <Issuer>/.well-known/openid-configuration. https is required except
	// on a loopback host. The google preset defaults it to GoogleIssuer;
	// the microsoft preset derives it from Tenant and must leave it empty.
	Issuer string
	// ClientID and ClientSecret identify the gateway at the OP. Both are
	// required: the gateway is a confidential client.
	ClientID     string
	ClientSecret string
	// Scopes are requested at the authorization endpoint. Default
	// DefaultScopes; "openid" is always requested, first.
	Scopes []string
	// Preset is "" (any OP), PresetGoogle or PresetMicrosoft.
	Preset string
	// HostedDomain (google only) accepts only accounts of this Google
	// Workspace domain: it is sent as the hd parameter and the ID token's
	// hd claim must equal it.
	HostedDomain string
	// Tenant (microsoft only, required) is a tenant id (a GUID) for one
	// tenant, or TenantOrganizations or TenantCommon with AllowedTenants.
	Tenant string
	// AllowedTenants (microsoft with organizations or common, required
	// there) are the tenant ids whose accounts are accepted. The ID token's
	// issuer must be the one of its tid claim.
	AllowedTenants []string
	// MicrosoftAuthority is the Entra ID authority the microsoft preset
	// discovers at <authority>/<tenant>/v2.0. Default
	// DefaultMicrosoftAuthority.
	MicrosoftAuthority string
	// UserInfo also reads the UserInfo endpoint after the token exchange;
	// its claims fill in those the ID token lacks.
	UserInfo bool
	// Claims names the claims mapped to the Identity.
	Claims Claims

	// HTTPClient makes every request to the OP. Default: a client with a
	// 30 s timeout.
	HTTPClient *http.Client
	// Now is the clock for ID token expiry and discovery retries. Default
	// time.Now.
	Now func() time.Time
}

// Claims names ID token or UserInfo claims. An empty name takes the
// default given with each field; a field with no default is not mapped
// unless named.
type Claims struct {
	Email string // email
	// EmailVerified says Email is verified when it is true (a JSON true,
	// or the string "true" or "1"). Default email_verified; for the
	// microsoft preset xms_edov, because Entra ID sends no
	// email_verified and does not verify its email claim.
	EmailVerified string
	Name          string // name
	Phone         string // phone_number
	Mobile        string
	Organization  string
	Department    string
	Groups        string // groups; a list or a single string
}

// withDefaults returns c with empty names set to the preset's defaults.
func (c Claims) withDefaults(preset string) Claims {
	def := func(s *string, v string) {
		if *s = strings.TrimSpace(*s); *s == "" {
			*s = v
		}
	}
	def(&c.Email, "email")
	if preset == PresetMicrosoft {
		def(&c.EmailVerified, "xms_edov")
	} else {
		def(&c.EmailVerified, "email_verified")
	}
	def(&c.Name, "name")
	def(&c.Phone, "phone_number")
	def(&c.Mobile, "")
	def(&c.Organization, "")
	def(&c.Department, "")
	def(&c.Groups, "groups")
	return c
}

// settings is a validated Config with defaults applied.
type settings struct {
	Config
	// discoveryURL is where discovery is read; it equals the issuer
	// except for a microsoft multi-tenant provider.
	discoveryURL string
	// issuerTemplate, for a microsoft multi-tenant provider, is the
	// issuer with tenantPlaceholder for the token's tid.
	issuerTemplate string
	allowed        map[string]bool
}

// resolve applies defaults to c and validates it; each error names the
// key and says what would be valid.
func (c Config) resolve() (*settings, error) {
	s := &settings{Config: c}
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	s.Preset = strings.TrimSpace(s.Preset)
	s.Issuer = strings.TrimSpace(s.Issuer)
	s.ClientID = strings.TrimSpace(s.ClientID)
	s.HostedDomain = strings.ToLower(strings.TrimSpace(s.HostedDomain))
	s.Tenant = strings.ToLower(strings.TrimSpace(s.Tenant))

	switch s.Preset {
	case "":
		if s.Issuer == "" {
			bad("issuer: required (the OP's issuer URL), or set preset: google or microsoft")
		}
	case PresetGoogle:
		if s.Issuer == "" {
			s.Issuer = GoogleIssuer
		}
	case PresetMicrosoft:
		if s.Issuer != "" {
			bad("issuer %q: leave empty for preset microsoft; it is derived from tenant (and microsoft_authority)", s.Issuer)
		}
	default:
		bad("preset %q: want google, microsoft, or none", s.Preset)
	}
	if s.Issuer != "" {
		if err := checkBaseURL(s.Issuer); err != nil {
			bad("issuer %q: %v", s.Issuer, err)
		}
		s.discoveryURL = s.Issuer
	}
	if s.ClientID == "" {
		bad("client_id: required")
	}
	if s.ClientSecret == "" {
		bad("client_secret: required (the gateway is a confidential client)")
	}

	scopes := []string{"openid"}
	if len(s.Scopes) == 0 {
		s.Scopes = DefaultScopes
	}
	for _, sc := range s.Scopes {
		switch {
		case sc == "" || strings.ContainsAny(sc, " \t\r\n\"\\"):
			bad("scopes: %q is not a scope token", sc)
		case sc != "openid" && !slices.Contains(scopes, sc):
			scopes = append(scopes, sc)
		}
	}
	s.Scopes = scopes

	if s.HostedDomain != "" {
		if s.Preset != PresetGoogle {
			bad("hosted_domain: applies only to preset google")
		} else if !validDomain(s.HostedDomain) {
			bad("hosted_domain %q: want a domain name such as example.co.jp", s.HostedDomain)
		}
	}

	if s.Preset == PresetMicrosoft {
		authority := strings.TrimRight(strings.TrimSpace(s.MicrosoftAuthority), "/")
		if authority == "" {
			authority = DefaultMicrosoftAuthority
		}
		if err := checkBaseURL(authority); err != nil {
			bad("microsoft_authority %q: %v", authority, err)
		}
		s.MicrosoftAuthority = authority
		switch {
		case s.Tenant == "":
			bad("tenant: required for preset microsoft: a tenant id, organizations or common")
		case s.Tenant == TenantOrganizations || s.Tenant == TenantCommon:
			s.discoveryURL = authority + "/" + s.Tenant + "/v2.0"
			s.issuerTemplate = authority + "/" + tenantPlaceholder + "/v2.0"
			if len(s.AllowedTenants) == 0 {
				bad("allowed_tenants: required with tenant %s: the tenant ids whose accounts may sign in", s.Tenant)
			}
			s.allowed = map[string]bool{}
			for _, t := range s.AllowedTenants {
				t = strings.ToLower(strings.TrimSpace(t))
				if !isGUID(t) {
					bad("allowed_tenants: %q is not a tenant id (a GUID such as 5b1c4e4a-0b6f-4d0e-9a55-3f3c2b8f1d21)", t)
				}
				s.allowed[t] = true
			}
		case isGUID(s.Tenant):
			s.discoveryURL = authority + "/" + s.Tenant + "/v2.0"
			s.Issuer = s.discoveryURL
			if len(s.AllowedTenants) > 0 {
				bad("allowed_tenants: applies only to tenant organizations or common; tenant %s already names the one tenant", s.Tenant)
			}
		default:
			bad("tenant %q: want a tenant id (a GUID; a domain name is not accepted), organizations or common", s.Tenant)
		}
	} else {
		if s.Tenant != "" {
			bad("tenant: applies only to preset microsoft")
		}
		if len(s.AllowedTenants) > 0 {
			bad("allowed_tenants: applies only to preset microsoft")
		}
		if s.MicrosoftAuthority != "" {
			bad("microsoft_authority: applies only to preset microsoft")
		}
	}

	s.Claims = s.Claims.withDefaults(s.Preset)
	if s.HTTPClient == nil {
		s.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return s, nil
}

// checkBaseURL accepts an absolute https URL without query or fragment,
// or http on a loopback host (for tests and local OPs).
func checkBaseURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("not a URL")
	}
	if u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return errors.New("want an absolute URL such as https://idp.example.co.jp, without query or fragment")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopback(u.Hostname()) {
			return nil
		}
	}
	return errors.New("want https (http only on a loopback host)")
}

// checkCallback accepts the gateway's callback URL: absolute http(s),
// no fragment.
func checkCallback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Fragment != "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("callback URL %q: want an absolute http(s) URL without fragment", raw)
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// isGUID reports whether s is a lower-case GUID, the form of Entra ID
// tenant ids.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
	}
	return true
}

func validDomain(d string) bool {
	if len(d) > 253 || !strings.Contains(d, ".") {
		return false
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}
