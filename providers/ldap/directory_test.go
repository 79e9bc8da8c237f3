//go:build unix

package ldap

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/ssogate/ssogate/internal/testpeers"
	"github.com/ssogate/ssogate/providers"
)

// directory describes one peer and the people scripts/ldap-peers put in it.
type directory struct {
	name              string
	peer              func(testing.TB) *testpeers.Directory
	ca                *x509.CertPool // set once the peer runs
	ldaps, plain      string         // host:port
	config            Config         // LDAPS, service account, the preset's values
	password          func(user string) string
	aliceLogins       []string // each finds alice
	victim            string   // takes wrong passwords
	subject           *regexp.Regexp
	aliceGroups       []string // as Config.Groups finds them
	aliceDirectGroups []string // memberOf
	yamada            string
	yamadaProfile     providers.Identity // the profile expected
	yamadaGroup       string             // DN of 開発チーム
}

var (
	uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

	openLDAP = &directory{
		name:  "openldap",
		peer:  testpeers.Slapd,
		ldaps: "127.0.0.1:3636", plain: "127.0.0.1:3389",
		config: Config{
			BindDN:          "cn=ssogate,ou=services,dc=example,dc=org",
			BindPassword:    "Service!Pass123",
			BaseDN:          "dc=example,dc=org",
			LoginAttributes: []string{"uid", "mail"},
			UserFilter:      "(objectClass=inetOrgPerson)",
			Groups:          GroupsMemberOf,
			Attributes: Attributes{Subject: "entryUUID", Email: "mail", Name: "cn", Phone: "telephoneNumber",
				Mobile: "mobile", Organization: "o", Department: "ou"},
		},
		aliceLogins: []string{"alice", "alice@example.org", "ALICE", " alice "},
		victim:      "alice",
		subject:     uuidRE,
		aliceGroups: []string{
			"cn=sso-eng,ou=groups,dc=example,dc=org", "sso-eng",
			"cn=sso-admins,ou=groups,dc=example,dc=org", "sso-admins",
		},
		yamada: "yamada",
		yamadaProfile: providers.Identity{Email: "yamada@example.org", DisplayName: "山田 太郎", Phone: "03-1234-5678",
			Mobile: "090-1234-5678", Organization: "株式会社サンプル", Department: "開発部"},
		yamadaGroup: "cn=開発チーム,ou=groups,dc=example,dc=org",
	}
	sambaAD = &directory{
		name:  "samba-ad",
		peer:  testpeers.Samba,
		ldaps: "127.0.0.1:636", plain: "127.0.0.1:389",
		config: Config{
			BindDN:          "CN=ssogate,CN=Users,DC=example,DC=test",
			BindPassword:    "Service!Pass123",
			BaseDN:          "DC=example,DC=test",
			LoginAttributes: []string{"sAMAccountName", "userPrincipalName", "mail"},
			UserFilter:      "(&(objectCategory=person)(objectClass=user))",
			Groups:          GroupsNested,
			Attributes: Attributes{Subject: "objectGUID", Email: "mail", Name: "displayName", Phone: "telephoneNumber",
				Mobile: "mobile", Organization: "company", Department: "department"},
		},
		// sAMAccountName, UPN, mail.
		aliceLogins: []string{"alice", "alice@example.test", "alice.example@example.test", "ALICE", "Alice@Example.Test"},
		victim:      "bob",
		subject:     uuidRE,
		aliceGroups: []string{
			"CN=sso-eng,CN=Users,DC=example,DC=test", "sso-eng",
			"CN=sso-staff,CN=Users,DC=example,DC=test", "sso-staff", // through sso-eng
			"CN=sso-admins,CN=Users,DC=example,DC=test", "sso-admins",
		},
		yamada: "yamada@example.test",
		yamadaProfile: providers.Identity{Email: "taro.yamada@example.test", DisplayName: "山田 太郎", Phone: "03-1234-5678",
			Mobile: "090-1234-5678", Organization: "株式会社サンプル", Department: "開発部"},
		yamadaGroup: "CN=開発チーム,CN=Users,DC=example,DC=test",
	}
	directories = []*directory{openLDAP, sambaAD}
)

func init() {
	pw := func(user string) string { return strings.ToUpper(user[:1]) + user[1:] + "!Pass123" }
	openLDAP.password, sambaAD.password = pw, pw
}

func forEachDirectory(t *testing.T, fn func(t *testing.T, d *directory)) {
	for _, d := range directories {
		t.Run(d.name, func(t *testing.T) {
			d.ca = d.peer(t).RootCAs
			fn(t, d)
		})
	}
}

// open opens a provider on d with change applied to its LDAPS config.
func (d *directory) open(t *testing.T, change func(*Config)) *Provider {
	t.Helper()
	cfg := d.config
	cfg.URL = "ldaps://" + d.ldaps
	cfg.RootCAs = d.ca
	cfg.DialTimeout = 3 * time.Second
	cfg.Timeout = 5 * time.Second
	if change != nil {
		change(&cfg)
	}
	p, err := Open(d.name, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func TestDirectoryTransports(t *testing.T) {
	forEachDirectory(t, func(t *testing.T, d *directory) {
		subjects := map[string]bool{}
		for _, tc := range []struct {
			name   string
			change func(*Config)
		}{
			{"ldaps", nil},
			{"StartTLS", func(c *Config) { c.URL = "ldap://" + d.plain; c.StartTLS = true }},
			{"plain, explicitly insecure", func(c *Config) { c.URL = "ldap://" + d.plain; c.InsecureNoTLS = true; c.RootCAs = nil }},
			{"ldaps by host name", func(c *Config) { c.URL = "ldaps://localhost:" + d.ldaps[strings.LastIndex(d.ldaps, ":")+1:] }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				p := d.open(t, tc.change)
				id, err := p.Authenticate(context.Background(), "alice", d.password("alice"))
				if err != nil {
					t.Fatal(err)
				}
				subjects[id.Subject] = true
			})
		}
		if len(subjects) != 1 {
			t.Errorf("subjects differ by transport: %v", subjects)
		}
	})
}

func TestDirectoryCredentials(t *testing.T) {
	forEachDirectory(t, func(t *testing.T, d *directory) {
		p := d.open(t, nil)
		ctx := context.Background()
		alicePW := d.password("alice")

		for _, login := range d.aliceLogins {
			id, err := p.Authenticate(ctx, login, alicePW)
			if err != nil {
				t.Errorf("login %q: %v", login, err)
				continue
			}
			if id.Claims["dn"][0] == "" || !d.subject.MatchString(id.Subject) {
				t.Errorf("login %q: dn %q subject %q", login, id.Claims["dn"], id.Subject)
			}
		}

		// A right sign-in first resets AD's bad-password count, so that
		// -count=N never locks the victim out (threshold 3).
		if _, err := p.Authenticate(ctx, d.victim, d.password(d.victim)); err != nil {
			t.Fatalf("victim: %v", err)
		}
		_, wrongErr := p.Authenticate(ctx, d.victim, "Wrong!Pass999")
		if wrongErr != errInvalid {
			t.Errorf("wrong password: %v, want errInvalid", wrongErr)
		}
		_, unknownErr := p.Authenticate(ctx, "nobody-"+d.name, alicePW)
		if unknownErr != wrongErr {
			t.Errorf("unknown login: %v; wrong password: %v; want the same error", unknownErr, wrongErr)
		}

		for _, tc := range []struct {
			name, login, password string
			want                  string // in the message, besides invalid credentials
		}{
			{"wildcard", "*", alicePW, ""},
			{"prefix wildcard", "al*", alicePW, ""},
			{"injected term", "*)(uid=*", alicePW, ""},
			{"injected or", "alice)(|(uid=*", alicePW, ""},
			{"injected AD term", "*)(sAMAccountName=*", alicePW, ""},
			{"injected always true", "alice)(|(objectClass=*", alicePW, ""},
			{"NUL", "alice\x00", alicePW, ""},
			{"empty password", "alice", "", ""},
			// Three entries, more than the search's size limit of two.
			{"ambiguous", "dup@" + domainOf(d.config.BaseDN), "Dup!Pass123", "more than one entry"},
			{"ambiguous, named", "dup@" + domainOf(d.config.BaseDN), "Dup!Pass123", "and more"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := p.Authenticate(ctx, tc.login, tc.password)
				if !errors.Is(err, providers.ErrInvalidCredentials) || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("Authenticate(%q) = %v, want invalid credentials %s", tc.login, err, tc.want)
				}
			})
		}

		if d == openLDAP {
			if _, err := p.Authenticate(ctx, "sato(qa)", "Sato!Pass123"); err != nil {
				t.Errorf("a login with parentheses: %v", err)
			}
			if _, err := p.Authenticate(ctx, "nopw", "anything"); err != errInvalid {
				t.Errorf("entry without a password: %v", err)
			}
		}
	})
}

// domainOf turns dc=example,dc=org into example.org.
func domainOf(base string) string {
	var parts []string
	for _, rdn := range strings.Split(base, ",") {
		parts = append(parts, rdn[3:])
	}
	return strings.Join(parts, ".")
}

func TestDirectoryEmptyPasswordNeverReachesIt(t *testing.T) {
	forEachDirectory(t, func(t *testing.T, d *directory) {
		proxy := newCountingProxy(t, d.ldaps)
		p := d.open(t, func(c *Config) { c.URL = "ldaps://" + proxy.addr() })
		for _, login := range []string{"alice", d.config.BindDN, ""} {
			if _, err := p.Authenticate(context.Background(), login, ""); err != errInvalid {
				t.Errorf("%q with an empty password: %v", login, err)
			}
		}
		if n := proxy.accepted.Load(); n != 0 {
			t.Errorf("%d connections for empty passwords, want none", n)
		}
	})
}

func TestDirectoryAccountStates(t *testing.T) {
	forEachDirectory(t, func(t *testing.T, d *directory) {
		if d != sambaAD {
			t.Skip("OpenLDAP has no account states without the ppolicy overlay")
		}
		p := d.open(t, nil)
		for _, tc := range []struct {
			user, password string
			reason         string // "" means invalid credentials
		}{
			{"disabled", "Disabled!Pass123", providers.ReasonDisabled},               // data 533
			{"locked", "Locked!Pass123", providers.ReasonLocked},                     // data 775
			{"mustchange", "Mustchange!Pass123", providers.ReasonMustChangePassword}, // data 773
			{"expired", "Expired!Pass123", providers.ReasonExpired},                  // data 701
			// A wrong password reveals nothing — except a lockout, which
			// AD reports whatever the password.
			{"disabled", "Wrong!Pass999", ""},
			{"mustchange", "Wrong!Pass999", ""},
			{"expired", "Wrong!Pass999", ""},
			{"locked", "Wrong!Pass999", providers.ReasonLocked},
		} {
			t.Run(tc.user+"/"+tc.password, func(t *testing.T) {
				_, err := p.Authenticate(context.Background(), tc.user, tc.password)
				var ae *providers.AccountError
				switch {
				case tc.reason == "":
					if err != errInvalid {
						t.Errorf("err = %v, want errInvalid", err)
					}
				case !errors.As(err, &ae) || ae.Reason != tc.reason || !errors.Is(err, providers.ErrAccountDisabled):
					t.Errorf("err = %v, want AccountError %s", err, tc.reason)
				default:
					t.Logf("%v (detail %q)", err, ae.Detail)
				}
			})
		}
	})
}

func TestDirectoryIdentity(t *testing.T) {
	forEachDirectory(t, func(t *testing.T, d *directory) {
		p := d.open(t, nil)
		ctx := context.Background()

		alice, err := p.Authenticate(ctx, "alice", d.password("alice"))
		if err != nil {
			t.Fatal(err)
		}
		if alice.ProviderID != d.name || !alice.EmailVerified || alice.Email == "" ||
			!slices.Equal(alice.AMR, []string{"pwd"}) || alice.DisplayName != "Alice Example" {
			t.Errorf("alice = %+v", alice)
		}
		if got := alice.Claims[d.config.Attributes.Subject]; len(got) != 1 || got[0] != alice.Subject {
			t.Errorf("Claims[%s] = %q, want the subject %q", d.config.Attributes.Subject, got, alice.Subject)
		}
		// The subject names alice to the directory itself.
		base, filter := subjectLookup(d, alice.Subject)
		entries := d.search(t, base, filter)
		if len(entries) != 1 || !strings.EqualFold(entries[0].DN, alice.Claims["dn"][0]) {
			t.Errorf("looking the subject %s up found %v", alice.Subject, entries)
		}

		yamada, err := p.Authenticate(ctx, d.yamada, "Yamada!Pass123")
		if err != nil {
			t.Fatal(err)
		}
		want := d.yamadaProfile
		got := providers.Identity{Email: yamada.Email, DisplayName: yamada.DisplayName, Phone: yamada.Phone,
			Mobile: yamada.Mobile, Organization: yamada.Organization, Department: yamada.Department}
		if got.Email != want.Email || got.DisplayName != want.DisplayName || got.Phone != want.Phone ||
			got.Mobile != want.Mobile || got.Organization != want.Organization || got.Department != want.Department {
			t.Errorf("yamada profile = %+v\nwant %+v", got, want)
		}
		if !slices.Contains(yamada.Groups, d.yamadaGroup) || !slices.Contains(yamada.Groups, "開発チーム") {
			t.Errorf("yamada groups = %q, want %s and its name", yamada.Groups, d.yamadaGroup)
		}
		t.Logf("yamada: subject %s, groups %q", yamada.Subject, yamada.Groups)
	})
}

// subjectLookup returns a base DN and filter that find the entry of
// subject.
func subjectLookup(d *directory, subject string) (base, filter string) {
	if d == sambaAD {
		// AD's extended DN syntax checks our GUID text form.
		return "<GUID=" + subject + ">", "(objectClass=*)"
	}
	return "", "(entryUUID=" + subject + ")"
}

// search searches d as its service account: base (scope base) when set,
// else BaseDN's subtree for filter.
func (d *directory) search(t *testing.T, base, filter string) []*goldap.Entry {
	t.Helper()
	c, err := goldap.DialURL("ldaps://"+d.ldaps, goldap.DialWithTLSConfig(&tls.Config{RootCAs: d.ca, ServerName: "127.0.0.1"}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Bind(d.config.BindDN, d.config.BindPassword); err != nil {
		t.Fatal(err)
	}
	scope := goldap.ScopeBaseObject
	if base == "" {
		base, scope = d.config.BaseDN, goldap.ScopeWholeSubtree
	}
	res, err := c.Search(goldap.NewSearchRequest(base, scope, goldap.NeverDerefAliases, 0, 0, false, filter, []string{"1.1"}, nil))
	if err != nil {
		t.Fatalf("search %s %s: %v", base, filter, err)
	}
	return res.Entries
}

func TestDirectoryGroups(t *testing.T) {
	forEachDirectory(t, func(t *testing.T, d *directory) {
		modes := []string{GroupsMemberOf}
		if d == sambaAD {
			modes = append(modes, GroupsNested)
		} else {
			modes = append(modes, GroupsGroupOfNames)
		}
		for _, mode := range modes {
			t.Run(mode, func(t *testing.T) {
				p := d.open(t, func(c *Config) { c.Groups = mode })
				id, err := p.Authenticate(context.Background(), "alice", d.password("alice"))
				if err != nil {
					t.Fatal(err)
				}
				want := d.aliceGroups
				if mode == GroupsMemberOf && d == sambaAD {
					// memberOf is direct membership: not sso-staff.
					want = []string{want[0], want[1], want[4], want[5]}
				}
				if !sameSet(id.Groups, want) {
					t.Errorf("groups = %q\nwant %q", id.Groups, want)
				}
				if mode == GroupsMemberOf {
					if got := id.Claims["memberOf"]; len(got) != len(want)/2 {
						t.Errorf("Claims[memberOf] = %q", got)
					}
				}
				// DNs needing escape in a filter: non-ASCII, parentheses.
				yamada, err := p.Authenticate(context.Background(), d.yamada, "Yamada!Pass123")
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Contains(yamada.Groups, d.yamadaGroup) || !slices.Contains(yamada.Groups, "開発チーム") {
					t.Errorf("yamada groups = %q", yamada.Groups)
				}
				if d == openLDAP {
					sato, err := p.Authenticate(context.Background(), "sato(qa)", "Sato!Pass123")
					if err != nil {
						t.Fatal(err)
					}
					if !sameSet(sato.Groups, []string{"cn=sso-eng,ou=groups,dc=example,dc=org", "sso-eng"}) {
						t.Errorf("sato(qa) groups = %q", sato.Groups)
					}
				}
			})
		}
		t.Run("none", func(t *testing.T) {
			p := d.open(t, func(c *Config) { c.Groups = "" })
			id, err := p.Authenticate(context.Background(), "alice", d.password("alice"))
			if err != nil || len(id.Groups) != 0 {
				t.Errorf("groups = %q, %v", id.Groups, err)
			}
		})
	})
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func TestDirectoryWrongCA(t *testing.T) {
	_, other := selfSigned(t, "127.0.0.1", "localhost")
	forEachDirectory(t, func(t *testing.T, d *directory) {
		for _, tc := range []struct {
			name   string
			change func(*Config)
		}{
			{"ldaps", func(c *Config) { c.RootCAs = other }},
			{"StartTLS", func(c *Config) { c.URL = "ldap://" + d.plain; c.StartTLS = true; c.RootCAs = other }},
			{"system roots", func(c *Config) { c.RootCAs = nil }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				p := d.open(t, tc.change)
				_, err := p.Authenticate(context.Background(), "alice", d.password("alice"))
				var cve *tls.CertificateVerificationError
				var ua x509.UnknownAuthorityError
				if !errors.Is(err, providers.ErrUnavailable) || !errors.As(err, &cve) || !errors.As(err, &ua) {
					t.Errorf("err = %v, want ErrUnavailable caused by an unknown authority", err)
				}
			})
		}
	})
}

func TestDirectoryServiceAccountRefused(t *testing.T) {
	forEachDirectory(t, func(t *testing.T, d *directory) {
		// A DN that does not exist: a wrong password for the real service
		// account would count towards its lockout.
		p := d.open(t, func(c *Config) { c.BindDN = "cn=nobody," + c.BaseDN })
		_, err := p.Authenticate(context.Background(), "alice", d.password("alice"))
		if !errors.Is(err, providers.ErrUnavailable) || errors.Is(err, providers.ErrInvalidCredentials) ||
			!strings.Contains(err.Error(), "service account") {
			t.Errorf("err = %v, want ErrUnavailable naming the service account", err)
		}
	})
}

func TestDirectoryAnonymousSearch(t *testing.T) {
	forEachDirectory(t, func(t *testing.T, d *directory) {
		p := d.open(t, func(c *Config) { c.BindDN, c.BindPassword = "", "" })
		_, err := p.Authenticate(context.Background(), "alice", d.password("alice"))
		switch d {
		case openLDAP: // its ACL lets anyone read
			if err != nil {
				t.Error(err)
			}
		case sambaAD: // AD wants a bind before a search
			if !errors.Is(err, providers.ErrUnavailable) || errors.Is(err, providers.ErrInvalidCredentials) {
				t.Errorf("err = %v, want ErrUnavailable", err)
			}
		}
		if n := p.serviceBinds.Load(); n != 0 {
			t.Errorf("%d service binds without a bind_dn", n)
		}
	})
}

func TestDirectoryPool(t *testing.T) {
	forEachDirectory(t, func(t *testing.T, d *directory) {
		proxy := newCountingProxy(t, d.ldaps)
		p := d.open(t, func(c *Config) { c.URL = "ldaps://" + proxy.addr(); c.PoolSize = 2 })
		ctx := context.Background()
		const n = 8
		for i := range n {
			if _, err := p.Authenticate(ctx, "alice", d.password("alice")); err != nil {
				t.Fatalf("sign-in %d: %v", i, err)
			}
		}
		// One connection per password bind, and one service connection,
		// bound once, for all of them.
		if binds, conns := p.serviceBinds.Load(), proxy.accepted.Load(); binds != 1 || conns != n+1 {
			t.Errorf("%d sequential sign-ins: %d service binds, %d connections; want 1 and %d", n, binds, conns, n+1)
		}

		// The directory drops the idle connection (restart, idle timeout):
		// the next sign-in notices and reconnects.
		proxy.dropAll()
		if _, err := p.Authenticate(ctx, "alice", d.password("alice")); err != nil {
			t.Fatalf("after the connection was dropped: %v", err)
		}
		if binds := p.serviceBinds.Load(); binds != 2 {
			t.Errorf("after the drop: %d service binds, want 2", binds)
		}
		// Even when the pool cannot know: the connection looks open and
		// dies at the next request. One fresh try.
		proxy.doomAll()
		if _, err := p.Authenticate(ctx, "alice", d.password("alice")); err != nil {
			t.Fatalf("after the connection died: %v", err)
		}
		if binds := p.serviceBinds.Load(); binds != 3 {
			t.Errorf("after the connection died: %d service binds, want 3", binds)
		}

		p.Close()
		if _, err := p.Authenticate(ctx, "alice", d.password("alice")); !errors.Is(err, providers.ErrUnavailable) {
			t.Errorf("after Close: %v", err)
		}
	})
}

func TestDirectoryConcurrent(t *testing.T) {
	forEachDirectory(t, func(t *testing.T, d *directory) {
		const poolSize, n = 3, 20
		p := d.open(t, func(c *Config) { c.PoolSize = poolSize })
		var wg sync.WaitGroup
		errs := make(chan error, n)
		start := time.Now()
		for i := range n {
			wg.Go(func() {
				login, password := "alice", d.password("alice")
				if i%2 == 1 {
					login, password = d.yamada, "Yamada!Pass123"
				}
				id, err := p.Authenticate(context.Background(), login, password)
				if err == nil && id.Subject == "" {
					err = errors.New("no subject")
				}
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
		if binds := p.serviceBinds.Load(); binds > poolSize {
			t.Errorf("%d service binds for a pool of %d", binds, poolSize)
		}
		t.Logf("%d concurrent sign-ins in %v, %d service binds", n, time.Since(start).Round(time.Millisecond), p.serviceBinds.Load())
	})
}
