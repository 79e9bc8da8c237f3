package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// samlService is a service with a saml block whose keys are extra.
func samlService(extra string) string {
	return "services:\n  - id: kintone\n    name: kintone\n    url: https://example.cybozu.com/k/\n    saml:\n" + extra
}

func TestServiceSAMLValid(t *testing.T) {
	dir := t.TempDir()
	md := filepath.Join(dir, "sp.xml")
	if err := os.WriteFile(md, []byte("<EntityDescriptor/>"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := mustParse(t, samlService(`      metadata_url: https://example.cybozu.com/saml/metadata
      metadata_refresh: 6h
      entity_id: https://example.cybozu.com
      name_id_format: persistent
      attributes:
        mail: email
        displayName: display_name
        groups: groups
        部署: department
      attribute_name_format: uri
      sign: assertion
      signature_algorithm: rsa-sha256
      require_signed_requests: true
      relay_state: https://example.cybozu.com/k/
`))
	s := c.Services[0].SAML
	if s == nil || s.MetadataURL != "https://example.cybozu.com/saml/metadata" || s.Refresh() != 6*time.Hour ||
		s.NameIDFormat != SAMLNameIDPersistent || s.Sign != SAMLSignAssertion || !s.RequireSignedRequests {
		t.Fatalf("saml = %+v", s)
	}
	names, src := s.AttributeMap()
	if !slices.Equal(names, []string{"displayName", "groups", "mail", "部署"}) || src["部署"] != "department" {
		t.Errorf("attributes %q %v", names, src)
	}
	// Defaults, and a metadata file relative to the configuration.
	path := filepath.Join(dir, "ssogate.yaml")
	if err := os.WriteFile(path, []byte(samlService("      metadata_file: sp.xml\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	s = c.Services[0].SAML
	if s.MetadataFile != md || s.Refresh() != 24*time.Hour {
		t.Errorf("metadata_file %q refresh %s", s.MetadataFile, s.Refresh())
	}
	if names, _ := s.AttributeMap(); !slices.Equal(names, []string{"displayName", "groups", "mail"}) {
		t.Errorf("default attributes %q", names)
	}
}

func TestServiceSAMLErrors(t *testing.T) {
	const url = "      metadata_url: https://example.cybozu.com/saml/metadata\n"
	for _, tt := range []struct {
		name, src string
		want      []string
	}{
		{"metadata required", samlService("      name_id_format: email\n"),
			[]string{`x.yaml:5: services[0].saml.metadata_url: required: the service provider's metadata, as metadata_url (e.g. https://app.example.co.jp/saml/metadata) or metadata_file`}},
		{"metadata twice", samlService(url + "      metadata_file: /etc/hostname\n"),
			[]string{`x.yaml:7: services[0].saml.metadata_file: set either metadata_url or metadata_file, not both`}},
		{"metadata over http", samlService("      metadata_url: http://example.cybozu.com/saml/metadata\n"),
			[]string{`x.yaml:6: services[0].saml.metadata_url: "http://example.cybozu.com/saml/metadata" must use https`}},
		{"metadata file missing", samlService("      metadata_file: /nonexistent/sp.xml\n"),
			[]string{`x.yaml:6: services[0].saml.metadata_file: cannot read the file`}},
		{"refresh too short", samlService(url + "      metadata_refresh: 10s\n"),
			[]string{`x.yaml:7: services[0].saml.metadata_refresh: 10s is too short; use at least 1m, e.g. 24h`}},
		{"refresh zero", samlService(url + "      metadata_refresh: 0s\n"),
			[]string{`x.yaml:7: services[0].saml.metadata_refresh: 0s is too short`}},
		{"entity id", samlService(url + "      entity_id: kintone\n"),
			[]string{`x.yaml:7: services[0].saml.entity_id: "kintone" is not an absolute URI`}},
		{"name id format", samlService(url + "      name_id_format: transient\n"),
			[]string{`x.yaml:7: services[0].saml.name_id_format: unknown name id format "transient"; valid: email, persistent`}},
		{"attribute source", samlService(url + "      attributes:\n        mail: e-mail\n"),
			[]string{`x.yaml:8: services[0].saml.attributes.mail: unknown field "e-mail"`, `valid: email, login_id, display_name, groups, department, organization, phone, mobile`}},
		{"attribute name", samlService(url + "      attributes:\n        \"dis play\": display_name\n"),
			[]string{`x.yaml:8: services[0].saml.attributes.dis play: "dis play" is not an attribute name`}},
		{"attributes not a mapping", samlService(url + "      attributes: [mail]\n"),
			[]string{`x.yaml:7: services[0].saml.attributes: must be a mapping of names to values, not a list`}},
		{"sign", samlService(url + "      sign: none\n"),
			[]string{`x.yaml:7: services[0].saml.sign: unknown signing choice "none"; valid: both, response, assertion`}},
		{"sha1 spelled otherwise", samlService(url + "      signature_algorithm: sha1\n"),
			[]string{`x.yaml:7: services[0].saml.signature_algorithm: unknown signature algorithm "sha1"; valid: rsa-sha256, rsa-sha1`}},
		{"name format", samlService(url + "      attribute_name_format: urn\n"),
			[]string{`x.yaml:7: services[0].saml.attribute_name_format: unknown attribute name format "urn"; valid: basic, uri, unspecified`}},
		{"relay state", samlService(url + "      relay_state: /k/\n"),
			[]string{`x.yaml:7: services[0].saml.relay_state: "/k/" is not an absolute http or https URL`}},
		{"unknown key", samlService(url + "      nameid_format: email\n"),
			[]string{`x.yaml:7: services[0].saml.nameid_format: unknown key`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := parseErr(t, tt.src)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("error\n%s\nlacks\n%s", got, w)
				}
			}
		})
	}
}
