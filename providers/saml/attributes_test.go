package saml

import (
	"errors"
	"slices"
	"testing"

	crewjam "github.com/crewjam/saml"

	"github.com/ssogate/ssogate/providers"
)

// unitProvider is a Provider for mapping tests: resolved settings, no
// metadata.
func unitProvider(t *testing.T, preset string, names AttributeNames) *Provider {
	t.Helper()
	_, sp, _ := testKeys(t)
	s, err := Config{
		MetadataURL: "https://gw.example.test/saml/x/metadata", ACSURL: "https://gw.example.test/callback/x",
		IDPMetadata: []byte("<x/>"), Key: sp.key, Certificate: sp.cert, Replay: newMemReplay(nil),
		Attributes: preset, AttributeNames: names,
	}.resolve()
	if err != nil {
		t.Fatal(err)
	}
	return &Provider{id: "x", s: s}
}

type attr struct {
	name, friendly string
	values         []string
}

func assertionWith(nameIDFormat, nameID string, attrs ...attr) *crewjam.Assertion {
	a := &crewjam.Assertion{Subject: &crewjam.Subject{}}
	if nameID != "" {
		a.Subject.NameID = &crewjam.NameID{Format: nameIDFormat, Value: nameID}
	}
	var st crewjam.AttributeStatement
	for _, at := range attrs {
		ca := crewjam.Attribute{Name: at.name, FriendlyName: at.friendly}
		for _, v := range at.values {
			ca.Values = append(ca.Values, crewjam.AttributeValue{Value: v})
		}
		st.Attributes = append(st.Attributes, ca)
	}
	a.AttributeStatements = []crewjam.AttributeStatement{st}
	return a
}

func TestIdentityMapping(t *testing.T) {
	tests := []struct {
		name      string
		preset    string
		names     AttributeNames
		assertion *crewjam.Assertion
		want      providers.Identity
		wantErr   bool
	}{
		{
			name:   "plain by OID without FriendlyName, transient NameID",
			preset: AttributesPlain,
			assertion: assertionWith(nameIDTransient, "_tmp123",
				attr{name: "urn:oid:0.9.2342.19200300.100.1.3", values: []string{" Taro.Yamada@Example.CO.JP "}},
				attr{name: "urn:oid:2.5.4.4", values: []string{"山田"}},
				attr{name: "urn:oid:2.5.4.42", values: []string{"太郎"}},
				attr{name: "urn:oid:2.5.4.20", values: []string{"03-1234-5678"}},
				attr{name: "urn:oid:0.9.2342.19200300.100.1.41", values: []string{"090-1234-5678"}},
				attr{name: "urn:oid:2.5.4.10", values: []string{"株式会社例"}},
				attr{name: "urn:oid:2.5.4.11", values: []string{"営業部"}},
				attr{name: "urn:oid:1.3.6.1.4.1.5923.1.1.1.1", values: []string{"staff", "member"}},
				attr{name: "memberOf", values: []string{"cn=sales,ou=groups,dc=example", "staff"}},
			),
			want: providers.Identity{Subject: "taro.yamada@example.co.jp", Email: "taro.yamada@example.co.jp", EmailVerified: true,
				DisplayName: "山田 太郎", Phone: "03-1234-5678", Mobile: "090-1234-5678", Organization: "株式会社例", Department: "営業部",
				Groups: []string{"staff", "member", "cn=sales,ou=groups,dc=example"}},
		},
		{
			name:   "plain by FriendlyName, displayName wins over cn and the name parts",
			preset: AttributesPlain,
			assertion: assertionWith(nameIDPersistent, "AbC=",
				attr{name: "urn:oid:2.16.840.1.113730.3.1.241", friendly: "displayName", values: []string{"山田 太郎 (営業)"}},
				attr{name: "urn:oid:2.5.4.3", friendly: "cn", values: []string{"Taro Yamada"}},
				attr{name: "urn:oid:2.5.4.4", friendly: "sn", values: []string{"山田"}},
			),
			want: providers.Identity{Subject: "AbC=", DisplayName: "山田 太郎 (営業)"},
		},
		{
			name:   "adfs: upn is the subject, Role claims are groups",
			preset: AttributesADFS,
			assertion: assertionWith(nameIDTransient, "_t",
				attr{name: claimUPN, values: []string{"TYamada@corp.example.co.jp"}},
				attr{name: claimEmail, values: []string{"taro.yamada@example.co.jp"}},
				attr{name: claimGivenName, values: []string{"太郎"}},
				attr{name: claimSurname, values: []string{"山田"}},
				attr{name: claimRole, values: []string{"Domain Users", "経理"}},
				attr{name: claimADFSGroup, values: []string{"経理"}},
			),
			want: providers.Identity{Subject: "tyamada@corp.example.co.jp", Email: "taro.yamada@example.co.jp", EmailVerified: true,
				DisplayName: "山田 太郎", Groups: []string{"経理", "Domain Users"}},
		},
		{
			name:   "entra: object id is the subject, name claim (the UPN) is not the display name",
			preset: AttributesEntra,
			assertion: assertionWith(nameIDEmail, "taro@example.onmicrosoft.com",
				attr{name: claimObjectID, values: []string{"0b1c2d3e-aaaa-bbbb-cccc-1234567890ab"}},
				attr{name: claimName, values: []string{"taro@example.onmicrosoft.com"}},
				attr{name: claimDisplayName, values: []string{"山田 太郎"}},
				attr{name: claimEmail, values: []string{"taro@example.co.jp"}},
				attr{name: claimGroups, values: []string{"5f1e-group-id"}},
				attr{name: "department", values: []string{"総務部"}},
				attr{name: "companyname", values: []string{"例株式会社"}},
			),
			want: providers.Identity{Subject: "0b1c2d3e-aaaa-bbbb-cccc-1234567890ab", Email: "taro@example.co.jp", EmailVerified: true,
				DisplayName: "山田 太郎", Organization: "例株式会社", Department: "総務部", Groups: []string{"5f1e-group-id"}},
		},
		{
			name:   "overrides replace the preset's names",
			preset: AttributesADFS,
			names:  AttributeNames{Subject: "employeeNumber", Email: "mailAddress", Department: "busho", Groups: "roles", Name: "fullName"},
			assertion: assertionWith("", "",
				attr{name: "employeeNumber", values: []string{"E0042"}},
				attr{name: claimUPN, values: []string{"ignored@example.co.jp"}},
				attr{name: "mailAddress", values: []string{"hanako@example.co.jp"}},
				attr{name: "busho", values: []string{"開発部"}},
				attr{name: "roles", values: []string{"dev"}},
				attr{name: claimRole, values: []string{"ignored"}},
				attr{name: "fullName", values: []string{"佐藤 花子"}},
			),
			want: providers.Identity{Subject: "E0042", Email: "hanako@example.co.jp", EmailVerified: true,
				DisplayName: "佐藤 花子", Department: "開発部", Groups: []string{"dev"}},
		},
		{
			name:      "email NameID when no attribute names the person",
			preset:    AttributesPlain,
			assertion: assertionWith(nameIDEmail, "Jiro@Example.co.jp", attr{name: "givenName", values: []string{"次郎"}}),
			want:      providers.Identity{Subject: "jiro@example.co.jp", DisplayName: "次郎"},
		},
		{
			name:   "an email attribute that is not one address is not an email",
			preset: AttributesPlain,
			assertion: assertionWith(nameIDPersistent, "p1",
				attr{name: "mail", values: []string{"Taro <taro@example.co.jp>"}}),
			want: providers.Identity{Subject: "p1"},
		},
		{
			name:      "transient NameID only",
			preset:    AttributesPlain,
			assertion: assertionWith(nameIDTransient, "_tmp", attr{name: "cn", values: []string{"x"}}),
			wantErr:   true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := unitProvider(t, tc.preset, tc.names)
			id, err := p.identity(tc.assertion)
			if tc.wantErr {
				if !errors.Is(err, providers.ErrInvalidResponse) {
					t.Fatalf("err = %v, want ErrInvalidResponse", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(id.Claims) != len(tc.assertion.AttributeStatements[0].Attributes) {
				t.Errorf("Claims %v: want every attribute", id.Claims)
			}
			if id.ProviderID != "x" || !slices.Equal(id.AMR, []string{"fed"}) {
				t.Errorf("ProviderID %q, AMR %v", id.ProviderID, id.AMR)
			}
			id.Claims, id.ProviderID, id.AMR = nil, "", nil
			if got, want := jsonString(t, id), jsonString(t, tc.want); got != want {
				t.Errorf("identity\n got %s\nwant %s", got, want)
			}
		})
	}
}

func TestDisplayName(t *testing.T) {
	tests := []struct{ name, given, surname, want string }{
		{"Bob Example", "Bob", "Example", "Bob Example"},
		{"", "太郎", "山田", "山田 太郎"},
		{"", "Taro", "Yamada", "Yamada Taro"},
		{"", "", "山田", "山田"},
		{"", "太郎", "", "太郎"},
		{"", "", "", ""},
	}
	for _, tc := range tests {
		if got := displayName(tc.name, tc.given, tc.surname); got != tc.want {
			t.Errorf("displayName(%q, %q, %q) = %q, want %q", tc.name, tc.given, tc.surname, got, tc.want)
		}
	}
}
