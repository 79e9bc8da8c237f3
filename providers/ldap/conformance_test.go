//go:build unix

package ldap_test

import (
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/ssogate/ssogate/internal/testpeers"
	"github.com/ssogate/ssogate/providers"
	"github.com/ssogate/ssogate/providers/ldap"
	"github.com/ssogate/ssogate/providers/providertest"
)

var uuid = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// subjectIsUUID checks the subject is entryUUID / objectGUID as text.
func subjectIsUUID(id *providers.Identity) error {
	if !uuid.MatchString(id.Subject) {
		return fmt.Errorf("Subject %q is not a UUID", id.Subject)
	}
	return nil
}

func TestConformance(t *testing.T) {
	for _, tc := range []struct {
		name string
		peer func(testing.TB) *testpeers.Directory
		// login is the person the suite signs in and gives wrong
		// passwords: the account this package's tests use for that, as
		// a directory with a lockout counts them.
		login   string
		cfg     func(d *testpeers.Directory) ldap.Config
		unknown string
		expect  func(u testpeers.User) providertest.IdentityExpectation
	}{
		{
			name: "openldap", peer: testpeers.Slapd, login: "alice", unknown: "nobody-conformance",
			cfg: func(d *testpeers.Directory) ldap.Config {
				return ldap.Config{
					LoginAttributes: []string{"uid", "mail"},
					UserFilter:      "(objectClass=inetOrgPerson)",
					Groups:          ldap.GroupsMemberOf,
					Attributes: ldap.Attributes{Subject: "entryUUID", Email: "mail", Name: "cn", Phone: "telephoneNumber",
						Mobile: "mobile", Organization: "o", Department: "ou"},
				}
			},
			expect: func(u testpeers.User) providertest.IdentityExpectation {
				return providertest.IdentityExpectation{
					Email: u.Email, EmailVerified: true, DisplayName: u.DisplayName, Phone: u.Phone, Mobile: u.Mobile,
					Organization: u.Organization, Department: u.Department,
					Groups: append([]string{"sso-eng", "sso-admins"}, u.Groups...), AMR: []string{"pwd"},
					Claims: map[string][]string{"dn": {u.DN}}, Check: subjectIsUUID,
				}
			},
		},
		{
			name: "samba-ad", peer: testpeers.Samba, login: "bob", unknown: "nobody-conformance",
			cfg: func(d *testpeers.Directory) ldap.Config {
				return ldap.Config{
					LoginAttributes: []string{"sAMAccountName", "userPrincipalName", "mail"},
					UserFilter:      "(&(objectCategory=person)(objectClass=user))",
					Groups:          ldap.GroupsNested,
					Attributes: ldap.Attributes{Subject: "objectGUID", Email: "mail", Name: "displayName",
						Phone: "telephoneNumber", Mobile: "mobile", Organization: "company", Department: "department"},
				}
			},
			expect: func(u testpeers.User) providertest.IdentityExpectation {
				return providertest.IdentityExpectation{
					Email: u.Email, EmailVerified: true, AMR: []string{"pwd"},
					Claims: map[string][]string{"dn": {u.DN}}, Check: subjectIsUUID,
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := tc.peer(t)
			u, ok := d.Users[tc.login]
			if !ok {
				t.Fatalf("%s has no user %q", d.Name, tc.login)
			}
			cfg := tc.cfg(d)
			cfg.URL, cfg.RootCAs = d.LDAPSURL, d.RootCAs
			cfg.BindDN, cfg.BindPassword, cfg.BaseDN = d.BindDN, d.BindPassword, d.BaseDN
			cfg.DialTimeout, cfg.Timeout = 3*time.Second, 5*time.Second
			p, err := ldap.Open(d.Name, cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { p.Close() })
			providertest.Run(t, providertest.Harness{
				Provider: p, ID: d.Name, Type: "ldap", Health: true,
				Password: &providertest.PasswordStyle{
					Good:          providertest.Credentials{Login: u.Login, Password: u.Password},
					WrongPassword: "Wrong!Conformance42",
					UnknownLogin:  tc.unknown,
					Expect:        tc.expect(u),
				},
			})
		})
	}
}
