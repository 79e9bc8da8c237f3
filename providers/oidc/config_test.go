package oidc

import (
	"slices"
	"strings"
	"testing"
)

func TestConfigResolve(t *testing.T) {
	ok := Config{Issuer: "https://idp.example.co.jp", ClientID: "c", ClientSecret: "s"}
	with := func(f func(*Config)) Config { c := ok; f(&c); return c }
	bad := []struct {
		name string
		cfg  Config
		want string // in the error
	}{
		{"no issuer", with(func(c *Config) { c.Issuer = "" }), "issuer: required"},
		{"http issuer", with(func(c *Config) { c.Issuer = "http://idp.example.co.jp" }), "want https"},
		{"issuer with query", with(func(c *Config) { c.Issuer = "https://idp.example.co.jp/?x=1" }), "without query"},
		{"relative issuer", with(func(c *Config) { c.Issuer = "idp.example.co.jp" }), "absolute URL"},
		{"no client id", with(func(c *Config) { c.ClientID = " " }), "client_id: required"},
		{"no client secret", with(func(c *Config) { c.ClientSecret = "" }), "client_secret: required"},
		{"bad preset", with(func(c *Config) { c.Preset = "okta" }), `preset "okta": want google, microsoft`},
		{"bad scope", with(func(c *Config) { c.Scopes = []string{"openid email"} }), "not a scope token"},
		{"hosted_domain without google", with(func(c *Config) { c.HostedDomain = "example.co.jp" }), "hosted_domain: applies only to preset google"},
		{"bad hosted_domain", with(func(c *Config) { c.Preset, c.HostedDomain = PresetGoogle, "*" }), "want a domain name"},
		{"tenant without microsoft", with(func(c *Config) { c.Tenant = tenantA }), "tenant: applies only to preset microsoft"},
		{"allowed_tenants without microsoft", with(func(c *Config) { c.AllowedTenants = []string{tenantA} }), "allowed_tenants: applies only"},
		{"authority without microsoft", with(func(c *Config) { c.MicrosoftAuthority = "https://login.microsoftonline.us" }), "microsoft_authority: applies only"},
		{"microsoft with issuer", with(func(c *Config) { c.Preset, c.Tenant = PresetMicrosoft, tenantA }), "leave empty for preset microsoft"},
		{"microsoft without tenant", Config{Preset: PresetMicrosoft, ClientID: "c", ClientSecret: "s"}, "tenant: required"},
		{"microsoft tenant domain", Config{Preset: PresetMicrosoft, Tenant: "contoso.onmicrosoft.com", ClientID: "c", ClientSecret: "s"}, "a domain name is not accepted"},
		{"organizations without allowed_tenants", Config{Preset: PresetMicrosoft, Tenant: "organizations", ClientID: "c", ClientSecret: "s"}, "allowed_tenants: required"},
		{"bad allowed tenant", Config{Preset: PresetMicrosoft, Tenant: "common", AllowedTenants: []string{"contoso"}, ClientID: "c", ClientSecret: "s"}, `"contoso" is not a tenant id`},
		{"single tenant with allowed_tenants", Config{Preset: PresetMicrosoft, Tenant: tenantA, AllowedTenants: []string{tenantB}, ClientID: "c", ClientSecret: "s"}, "applies only to tenant organizations or common"},
		{"http authority", Config{Preset: PresetMicrosoft, Tenant: tenantA, MicrosoftAuthority: "http://login.example", ClientID: "c", ClientSecret: "s"}, "microsoft_authority"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.cfg.resolve()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("resolve() = %v; want an error containing %q", err, tt.want)
			}
		})
	}
	if _, err := Open(t.Context(), "", ok); err == nil {
		t.Error("Open with an empty id succeeded")
	}

	good := []struct {
		name     string
		cfg      Config
		issuer   string
		disc     string
		template string
		scopes   []string
		verified string
	}{
		{"defaults", ok, ok.Issuer, ok.Issuer, "", []string{"openid", "email", "profile"}, "email_verified"},
		{"openid first, once", with(func(c *Config) { c.Scopes = []string{"email", "openid", "groups", "email"} }),
			ok.Issuer, ok.Issuer, "", []string{"openid", "email", "groups"}, "email_verified"},
		{"google", Config{Preset: PresetGoogle, ClientID: "c", ClientSecret: "s", HostedDomain: "Example.co.jp"},
			GoogleIssuer, GoogleIssuer, "", DefaultScopes, "email_verified"},
		{"microsoft single tenant", Config{Preset: PresetMicrosoft, Tenant: strings.ToUpper(tenantA), ClientID: "c", ClientSecret: "s"},
			"https://login.microsoftonline.com/" + tenantA + "/v2.0", "https://login.microsoftonline.com/" + tenantA + "/v2.0", "", DefaultScopes, "xms_edov"},
		{"microsoft organizations", Config{Preset: PresetMicrosoft, Tenant: "organizations", AllowedTenants: []string{tenantA}, ClientID: "c", ClientSecret: "s",
			MicrosoftAuthority: "https://login.microsoftonline.us/", Claims: Claims{EmailVerified: "custom_verified"}},
			"", "https://login.microsoftonline.us/organizations/v2.0", "https://login.microsoftonline.us/{tenantid}/v2.0", DefaultScopes, "custom_verified"},
		{"loopback http", with(func(c *Config) { c.Issuer = "http://127.0.0.1:8080/realms/x" }),
			"http://127.0.0.1:8080/realms/x", "http://127.0.0.1:8080/realms/x", "", DefaultScopes, "email_verified"},
	}
	for _, tt := range good {
		t.Run(tt.name, func(t *testing.T) {
			s, err := tt.cfg.resolve()
			if err != nil {
				t.Fatal(err)
			}
			if s.Issuer != tt.issuer || s.discoveryURL != tt.disc || s.issuerTemplate != tt.template ||
				!slices.Equal(s.Scopes, tt.scopes) || s.Claims.EmailVerified != tt.verified {
				t.Errorf("resolve() = issuer %q, discovery %q, template %q, scopes %q, email_verified %q",
					s.Issuer, s.discoveryURL, s.issuerTemplate, s.Scopes, s.Claims.EmailVerified)
			}
			if s.HTTPClient == nil || s.HTTPClient.Timeout == 0 || s.Now == nil {
				t.Error("resolve() left HTTPClient or Now unset")
			}
		})
	}
}

func TestPlausibleIssuer(t *testing.T) {
	s, err := Config{Preset: PresetMicrosoft, Tenant: "common", AllowedTenants: []string{tenantA}, ClientID: "c", ClientSecret: "s"}.resolve()
	if err != nil {
		t.Fatal(err)
	}
	p := &Provider{id: "idp", s: s}
	for iss, want := range map[string]bool{
		"https://login.microsoftonline.com/" + tenantA + "/v2.0":       true,
		"https://login.microsoftonline.com/" + tenantC + "/v2.0":       true, // tenant checked on the token
		"https://login.microsoftonline.com/{tenantid}/v2.0":            false,
		"https://login.microsoftonline.com/" + tenantA + "/v2.0/extra": false,
		"https://evil.example/" + tenantA + "/v2.0":                    false,
		"https://login.microsoftonline.com/x/" + tenantA + "/v2.0":     false,
	} {
		if got := p.plausibleIssuer(iss); got != want {
			t.Errorf("plausibleIssuer(%q) = %v; want %v", iss, got, want)
		}
	}
}
