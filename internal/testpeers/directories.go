package testpeers

import (
	"maps"
	"path/filepath"
	"slices"
	"strings"
)

// What scripts/ldap-peers/slapd.sh and samba.sh create; keep in step with
// them.

// password is the scripts' password for login: Alice!Pass123.
func password(login string) string {
	return strings.ToUpper(login[:1]) + login[1:] + "!Pass123"
}

func openLDAPFacts(dir string) *Directory {
	const base = "dc=example,dc=org"
	groups := map[string]string{}
	for _, g := range []string{"sso-eng", "sso-staff", "sso-admins", "開発チーム"} {
		groups[g] = "cn=" + g + ",ou=groups," + base
	}
	users := []User{
		{Login: "alice", Email: "alice@example.org", DisplayName: "Alice Example",
			Phone: "+81 3 1234 0001", Mobile: "+81 90 1234 0001", Organization: "Example Org", Department: "Engineering",
			Groups: []string{groups["sso-eng"], groups["sso-admins"]}},
		{Login: "yamada", Email: "yamada@example.org", DisplayName: "山田 太郎",
			Phone: "03-1234-5678", Mobile: "090-1234-5678", Organization: "株式会社サンプル", Department: "開発部",
			Groups: []string{groups["sso-staff"], groups["開発チーム"]}},
		{Login: "sato(qa)", Password: "Sato!Pass123", Email: "sato@example.org", DisplayName: "Sato QA", Groups: []string{groups["sso-eng"]}},
		{Login: "dup1", Password: "Dup!Pass123", Email: "dup@example.org", DisplayName: "Dup One"},
		{Login: "dup2", Password: "Dup!Pass123", Email: "dup@example.org", DisplayName: "Dup Two"},
		{Login: "dup3", Password: "Dup!Pass123", Email: "dup@example.org", DisplayName: "Dup Three"},
		{Login: "nopw", Email: "nopw@example.org", DisplayName: "No Password"}, // no userPassword
	}
	byLogin := map[string]User{}
	for _, u := range users {
		u.DN = "uid=" + u.Login + ",ou=people," + base
		if u.Password == "" && u.Login != "nopw" {
			u.Password = password(u.Login)
		}
		byLogin[u.Login] = u
	}
	return &Directory{
		Name:          "openldap",
		LDAPURL:       "ldap://127.0.0.1:3389",
		LDAPSURL:      "ldaps://127.0.0.1:3636",
		CAFile:        filepath.Join(dir, "cert.pem"),
		BaseDN:        base,
		BindDN:        "cn=ssogate,ou=services," + base,
		BindPassword:  "Service!Pass123",
		AdminDN:       "cn=admin," + base,
		AdminPassword: "adminpw",
		Users:         byLogin,
		Groups:        groups,
	}
}

func sambaFacts(dir string) *Directory {
	const base = "DC=example,DC=test"
	groups := map[string]string{}
	for _, g := range []string{"sso-eng", "sso-staff", "sso-admins", "開発チーム"} {
		groups[g] = "CN=" + g + ",CN=Users," + base
	}
	users := []User{
		{Login: "alice", Email: "alice.example@example.test", DisplayName: "Alice Example",
			Phone: "+81 3 1234 0001", Mobile: "+81 90 1234 0001", Organization: "Example Org", Department: "Engineering",
			Groups: []string{groups["sso-eng"], groups["sso-admins"]}},
		{Login: "bob", Email: "bob@example.test"},
		// samba-tool names the entry "<given> <surname>".
		{Login: "yamada", DN: "CN=太郎 山田,CN=Users," + base, Email: "taro.yamada@example.test", DisplayName: "山田 太郎",
			Phone: "03-1234-5678", Mobile: "090-1234-5678", Organization: "株式会社サンプル", Department: "開発部",
			Groups: []string{groups["開発チーム"]}},
		{Login: "disabled", State: "disabled"},
		{Login: "locked", State: "locked"},
		{Login: "mustchange", State: "must_change_password"},
		{Login: "expired", State: "expired"},
		{Login: "dup1", Password: "Dup!Pass123", Email: "dup@example.test"},
		{Login: "dup2", Password: "Dup!Pass123", Email: "dup@example.test"},
		{Login: "dup3", Password: "Dup!Pass123", Email: "dup@example.test"},
	}
	byLogin := map[string]User{}
	for _, u := range users {
		if u.DN == "" {
			u.DN = "CN=" + u.Login + ",CN=Users," + base
		}
		if u.Password == "" {
			u.Password = password(u.Login)
		}
		u.UPN = u.Login + "@example.test"
		byLogin[u.Login] = u
	}
	return &Directory{
		Name:          "samba-ad",
		LDAPURL:       "ldap://127.0.0.1:389",
		LDAPSURL:      "ldaps://127.0.0.1:636",
		CAFile:        filepath.Join(dir, "cert.pem"),
		BaseDN:        base,
		BindDN:        "CN=ssogate,CN=Users," + base,
		BindPassword:  "Service!Pass123",
		AdminDN:       "CN=Administrator,CN=Users," + base,
		AdminPassword: "Passw0rd!23",
		Users:         byLogin,
		Groups:        groups,
	}
}

// clone returns a copy of d that a test may change without affecting
// other tests.
func (d *Directory) clone() *Directory {
	c := *d
	c.Users = maps.Clone(d.Users)
	for k, u := range c.Users {
		u.Groups = slices.Clone(u.Groups)
		c.Users[k] = u
	}
	c.Groups = maps.Clone(d.Groups)
	return &c
}
