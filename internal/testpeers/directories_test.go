package testpeers

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFactsMatchScripts checks the facts against what the scripts create,
// without starting anything.
func TestFactsMatchScripts(t *testing.T) {
	dir, err := scriptDir()
	if err != nil {
		t.Fatal(err)
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for _, tc := range []struct {
		facts  *Directory
		script string
		user   func(u User) []string // what the script says about u
	}{
		{openLDAPFacts(t.TempDir()), "slapd.sh", func(u User) []string {
			want := []string{"uid: " + u.Login + "\n", "mail: " + u.Email + "\n"}
			if u.Password != "" {
				want = append(want, "userPassword: "+u.Password+"\n")
			}
			return want
		}},
		{sambaFacts(t.TempDir()), "samba.sh", func(u User) []string {
			want := []string{"samba-tool user create " + u.Login + " '" + u.Password + "'"}
			if u.Email != "" {
				want = append(want, "--mail-address="+u.Email+" ")
			}
			return want
		}},
	} {
		script := read(tc.script)
		d := tc.facts
		for _, s := range []string{d.LDAPURL[strings.LastIndex(d.LDAPURL, ":")+1:], d.LDAPSURL[strings.LastIndex(d.LDAPSURL, ":")+1:], d.BindPassword} {
			if !strings.Contains(script, s) {
				t.Errorf("%s: %q not in the script", tc.script, s)
			}
		}
		for login, u := range d.Users {
			if login != u.Login {
				t.Errorf("%s: Users[%q].Login = %q", tc.script, login, u.Login)
			}
			for _, s := range tc.user(u) {
				if !strings.Contains(script, s) {
					t.Errorf("%s: user %s: %q not in the script", tc.script, login, s)
				}
			}
		}
	}
}
