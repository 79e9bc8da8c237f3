package ldap

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/ssogate/ssogate/providers"
)

// validConfig is a configuration Open accepts; tests change one thing.
func validConfig() Config {
	return Config{
		URL:             "ldaps://dc1.example.test",
		BindDN:          "CN=ssogate,CN=Users,DC=example,DC=test",
		BindPassword:    "secret",
		BaseDN:          "DC=example,DC=test",
		LoginAttributes: []string{"sAMAccountName", "userPrincipalName"},
		UserFilter:      "(objectClass=user)",
		Groups:          GroupsNested,
		Attributes:      Attributes{Subject: "objectGUID", Email: "mail"},
	}
}

func TestOpenValidates(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*Config)
		want   string // in the error; "" means Open succeeds
	}{
		{"valid", func(*Config) {}, ""},
		{"StartTLS", func(c *Config) { c.URL = "ldap://dc1:389"; c.StartTLS = true }, ""},
		{"explicitly insecure", func(c *Config) { c.URL = "ldap://dc1"; c.InsecureNoTLS = true }, ""},
		{"anonymous search", func(c *Config) { c.BindDN, c.BindPassword = "", "" }, ""},
		{"filter without parentheses", func(c *Config) { c.UserFilter = "objectClass=user" }, ""},
		{"no groups", func(c *Config) { c.Groups = "" }, ""},
		{"OID attribute", func(c *Config) { c.LoginAttributes = []string{"0.9.2342.19200300.100.1.1"} }, ""},
		{"missing url", func(c *Config) { c.URL = "" }, "url: missing"},
		{"http url", func(c *Config) { c.URL = "https://dc1" }, `scheme "https"`},
		{"url with DN", func(c *Config) { c.URL = "ldaps://dc1/DC=example,DC=test" }, "put the DN in base_dn"},
		{"url without host", func(c *Config) { c.URL = "ldaps://" }, "no host"},
		{"bad port", func(c *Config) { c.URL = "ldaps://dc1:99999" }, "bad port"},
		{"clear text", func(c *Config) { c.URL = "ldap://dc1" }, "sends passwords in clear"},
		{"StartTLS on ldaps", func(c *Config) { c.StartTLS = true }, "ldaps:// is TLS already"},
		{"insecure and TLS", func(c *Config) { c.InsecureNoTLS = true }, "drop insecure_no_tls"},
		{"bind_dn without password", func(c *Config) { c.BindPassword = "" }, "unauthenticated bind"},
		{"password without bind_dn", func(c *Config) { c.BindDN = "" }, "bind_dn: missing"},
		{"bad base_dn", func(c *Config) { c.BaseDN = "example.test" }, "base_dn"},
		{"no base_dn", func(c *Config) { c.BaseDN = "" }, "base_dn: missing"},
		{"no login attributes", func(c *Config) { c.LoginAttributes = nil }, "login_attributes: empty"},
		{"login attribute injection", func(c *Config) { c.LoginAttributes = []string{"uid=*)(cn"} }, "not an attribute name"},
		{"bad filter", func(c *Config) { c.UserFilter = "(objectClass=user" }, "user_filter"},
		{"unknown groups", func(c *Config) { c.Groups = "memberof" }, `groups "memberof"`},
		{"no subject", func(c *Config) { c.Attributes.Subject = "" }, "attributes.subject: missing"},
		{"bad attribute", func(c *Config) { c.Attributes.Name = "display name" }, "attributes.name"},
		{"negative timeout", func(c *Config) { c.Timeout = -time.Second }, "timeout"},
		{"huge pool", func(c *Config) { c.PoolSize = 1000 }, "pool_size 1000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := validConfig()
			tc.change(&cfg)
			p, err := Open("ad", cfg)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				if p.Type() != "ldap" || p.ID() != "ad" {
					t.Errorf("Type, ID = %q, %q", p.Type(), p.ID())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Open error = %v, want one containing %q", err, tc.want)
			}
			if !strings.Contains(err.Error(), `provider "ad"`) {
				t.Errorf("error %q does not name the provider", err)
			}
		})
	}
	if _, err := Open("", validConfig()); err == nil {
		t.Error("Open with an empty id succeeded")
	}
}

func TestOpenDefaultsAndDoesNotDial(t *testing.T) {
	cfg := validConfig()
	cfg.URL = "ldaps://" + closedAddr(t) // nothing listens: Open must not care
	cfg.UserFilter = "objectClass=user"
	p, err := Open("ad", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if p.cfg.DialTimeout != DefaultDialTimeout || p.cfg.Timeout != DefaultTimeout || p.cfg.PoolSize != DefaultPoolSize {
		t.Errorf("defaults: dial %v, timeout %v, pool %d", p.cfg.DialTimeout, p.cfg.Timeout, p.cfg.PoolSize)
	}
	if p.cfg.GroupBaseDN != cfg.BaseDN {
		t.Errorf("GroupBaseDN = %q, want BaseDN", p.cfg.GroupBaseDN)
	}
	if p.cfg.UserFilter != "(objectClass=user)" {
		t.Errorf("UserFilter = %q", p.cfg.UserFilter)
	}
	if p2, _ := Open("x", Config{URL: "ldap://h", InsecureNoTLS: true, BaseDN: "dc=x", LoginAttributes: []string{"uid"},
		Attributes: Attributes{Subject: "entryUUID"}}); p2 == nil || p2.addr != "h:389" {
		t.Errorf("ldap:// default port: %+v", p2)
	}
	if p.addr != cfg.URL[len("ldaps://"):] {
		t.Errorf("addr = %q", p.addr)
	}
}

func TestUserFilterEscapesLogin(t *testing.T) {
	p, err := Open("ad", validConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ login, want string }{
		{"alice", "(&(objectClass=user)(|(sAMAccountName=alice)(userPrincipalName=alice)))"},
		{"*", `(&(objectClass=user)(|(sAMAccountName=\2a)(userPrincipalName=\2a)))`},
		{"al*", `(&(objectClass=user)(|(sAMAccountName=al\2a)(userPrincipalName=al\2a)))`},
		{"*)(uid=*", `(&(objectClass=user)(|(sAMAccountName=\2a\29\28uid=\2a)(userPrincipalName=\2a\29\28uid=\2a)))`},
		{"alice)(|(uid=*", `(&(objectClass=user)(|(sAMAccountName=alice\29\28|\28uid=\2a)(userPrincipalName=alice\29\28|\28uid=\2a)))`},
		{`a\b` + "\x00", `(&(objectClass=user)(|(sAMAccountName=a\5cb\00)(userPrincipalName=a\5cb\00)))`},
	} {
		got := p.userFilter(tc.login)
		if got != tc.want {
			t.Errorf("userFilter(%q) = %s, want %s", tc.login, got, tc.want)
		}
		// The filter must parse, and every assertion must compare with
		// the login exactly: no wildcard, no extra term.
		f, err := goldap.CompileFilter(got)
		if err != nil {
			t.Errorf("userFilter(%q) does not compile: %v", tc.login, err)
			continue
		}
		var values []string
		for _, or := range f.Children[1].Children {
			if or.Tag != goldap.FilterEqualityMatch {
				t.Errorf("userFilter(%q): term with tag %d, want equality", tc.login, or.Tag)
				continue
			}
			values = append(values, or.Children[1].Data.String())
		}
		if len(values) != 2 || values[0] != tc.login || values[1] != tc.login {
			t.Errorf("userFilter(%q) compares with %q", tc.login, values)
		}
	}

	one := validConfig()
	one.UserFilter = ""
	one.LoginAttributes = []string{"uid"}
	p1, err := Open("one", one)
	if err != nil {
		t.Fatal(err)
	}
	if got := p1.userFilter("bob"); got != "(&(uid=bob))" {
		t.Errorf("single attribute, no filter: %s", got)
	}
}

func TestFormatGUIDAndSID(t *testing.T) {
	// Microsoft's documented example GUID and its bytes as AD stores them.
	guid := []byte{0xe0, 0x04, 0x25, 0x3f, 0x89, 0x4f, 0xd3, 0x11, 0x9a, 0x0c, 0x03, 0x05, 0xe8, 0x2c, 0x33, 0x01}
	if got := formatGUID(guid); got != "3f2504e0-4f89-11d3-9a0c-0305e82c3301" {
		t.Errorf("formatGUID = %s", got)
	}
	// S-1-5-21-1004336348-1177238915-682003330-512 (Domain Admins).
	sid := []byte{1, 5, 0, 0, 0, 0, 0, 5,
		0x15, 0, 0, 0, 0xdc, 0xf4, 0xdc, 0x3b, 0x83, 0x3d, 0x2b, 0x46, 0x82, 0x8b, 0xa6, 0x28, 0x00, 0x02, 0, 0}
	if !validSID(sid) {
		t.Fatal("validSID false")
	}
	if got := formatSID(sid); got != "S-1-5-21-1004336348-1177238915-682003330-512" {
		t.Errorf("formatSID = %s", got)
	}
	if validSID(sid[:len(sid)-1]) {
		t.Error("validSID accepts a truncated SID")
	}

	e := &goldap.Entry{DN: "CN=x", Attributes: []*goldap.EntryAttribute{
		{Name: "objectGUID", ByteValues: [][]byte{guid}},
		{Name: "objectSid", ByteValues: [][]byte{sid}},
		{Name: "jpegPhoto", ByteValues: [][]byte{{0xff, 0xd8, 0xff}}},
		{Name: "cn", ByteValues: [][]byte{[]byte("山田 太郎")}},
	}}
	for name, want := range map[string]string{
		"objectguid": "3f2504e0-4f89-11d3-9a0c-0305e82c3301",
		"objectSid":  "S-1-5-21-1004336348-1177238915-682003330-512",
		"jpegPhoto":  "/9j/",
		"cn":         "山田 太郎",
	} {
		if got := attrValues(e, name); len(got) != 1 || got[0] != want {
			t.Errorf("attrValues(%s) = %q, want %q", name, got, want)
		}
	}
}

func TestBindRefused(t *testing.T) {
	const dn = "CN=x,DC=example,DC=test"
	ad := func(code string) string {
		return "80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data " + code + ", v1db1\x00"
	}
	for _, tc := range []struct {
		diag   string
		reason string // "" means ErrInvalidCredentials
	}{
		{ad("52e"), ""},
		{ad("525"), ""},
		{ad("52E"), ""},
		{ad("775"), providers.ReasonLocked},
		{ad("533"), providers.ReasonDisabled},
		{ad("701"), providers.ReasonExpired},
		{ad("532"), providers.ReasonPasswordExpired},
		{ad("773"), providers.ReasonMustChangePassword},
		{ad("530"), providers.ReasonDisabled},
		{ad("531"), providers.ReasonDisabled},
		{ad("568"), ""},
		{"", ""},                    // OpenLDAP
		{"Invalid credentials", ""}, // and others
		{"metadata 775", ""},        // not AD's "data"
	} {
		err := bindRefused(dn, &goldap.Error{ResultCode: 49, Err: errors.New(tc.diag)})
		var ae *providers.AccountError
		switch {
		case tc.reason == "":
			if err != errInvalid {
				t.Errorf("%q: %v, want errInvalid itself", tc.diag, err)
			}
		case !errors.As(err, &ae) || ae.Reason != tc.reason:
			t.Errorf("%q: %v, want AccountError %s", tc.diag, err, tc.reason)
		case !errors.Is(err, providers.ErrAccountDisabled) || errors.Is(err, providers.ErrInvalidCredentials):
			t.Errorf("%q: %v is not (only) ErrAccountDisabled", tc.diag, err)
		case !strings.Contains(ae.Detail, "AcceptSecurityContext"):
			t.Errorf("%q: Detail %q lacks the diagnostic", tc.diag, ae.Detail)
		}
	}
}

func TestUACDisabled(t *testing.T) {
	for v, want := range map[string]bool{"512": false, "514": true, "66050": true, "66048": false, "": false, "x": false} {
		e := &goldap.Entry{Attributes: []*goldap.EntryAttribute{{Name: "userAccountControl", Values: []string{v}}}}
		if v == "" {
			e.Attributes = nil
		}
		if got := uacDisabled(e); got != want {
			t.Errorf("uacDisabled(%q) = %v", v, got)
		}
	}
}

func TestGroupNames(t *testing.T) {
	got := groupNames([]string{
		"CN=sso-eng,CN=Users,DC=example,DC=test",
		`CN=Sales\, Tokyo,OU=Groups,DC=example,DC=test`,
		"cn=開発チーム,ou=groups,dc=example,dc=org",
		"ou=weird,dc=example,dc=org",
		"CN=sso-eng,CN=Users,DC=example,DC=test",
	}, map[string]string{"ou=weird,dc=example,dc=org": "weird-cn"})
	want := []string{
		"CN=sso-eng,CN=Users,DC=example,DC=test", "sso-eng",
		`CN=Sales\, Tokyo,OU=Groups,DC=example,DC=test`, "Sales, Tokyo",
		"cn=開発チーム,ou=groups,dc=example,dc=org", "開発チーム",
		"ou=weird,dc=example,dc=org", "weird-cn",
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("groupNames = %q\nwant %q", got, want)
	}
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// silentServer accepts connections and never answers; it counts them.
func silentServer(t *testing.T) (addr string, accepted *atomic.Int64) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted = new(atomic.Int64)
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String(), accepted
}

func TestRefusedWithoutAsking(t *testing.T) {
	addr, accepted := silentServer(t)
	cfg := validConfig()
	cfg.URL = "ldap://" + addr
	cfg.InsecureNoTLS = true
	cfg.Timeout = 200 * time.Millisecond
	p, err := Open("ad", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for _, tc := range []struct{ login, password string }{
		{"alice", ""},
		{"", "Alice!Pass123"},
		{"   ", "Alice!Pass123"},
		{strings.Repeat("a", maxLoginBytes+1), "Alice!Pass123"},
		{"alice", strings.Repeat("p", maxPasswordBytes+1)},
		{"alice\x00", "Alice!Pass123"},
		{"ali\nce", "Alice!Pass123"},
	} {
		_, err := p.Authenticate(context.Background(), tc.login, tc.password)
		if err != errInvalid {
			t.Errorf("Authenticate(%.10q, %.10q) = %v, want errInvalid", tc.login, tc.password, err)
		}
	}
	if n := accepted.Load(); n != 0 {
		t.Errorf("the directory was contacted %d times", n)
	}
}

func TestUnreachableFailsFast(t *testing.T) {
	silent, _ := silentServer(t)
	for _, tc := range []struct {
		name string
		cfg  func(*Config)
	}{
		{"closed port ldaps", func(c *Config) { c.URL = "ldaps://" + closedAddr(t) }},
		{"closed port ldap", func(c *Config) { c.URL = "ldap://" + closedAddr(t); c.StartTLS = true }},
		// The TLS handshake never completes: DialTimeout.
		{"silent ldaps", func(c *Config) { c.URL = "ldaps://" + silent }},
		// The StartTLS request is never answered: DialTimeout.
		{"silent StartTLS", func(c *Config) { c.URL = "ldap://" + silent; c.StartTLS = true }},
		// The bind is never answered: Timeout.
		{"silent plain", func(c *Config) { c.URL = "ldap://" + silent; c.InsecureNoTLS = true }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := validConfig()
			cfg.DialTimeout = 700 * time.Millisecond
			cfg.Timeout = 700 * time.Millisecond
			tc.cfg(&cfg)
			p, err := Open("ad", cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			start := time.Now()
			_, err = p.Authenticate(context.Background(), "alice", "Alice!Pass123")
			took := time.Since(start)
			if !errors.Is(err, providers.ErrUnavailable) || errors.Is(err, providers.ErrInvalidCredentials) {
				t.Errorf("err = %v, want ErrUnavailable", err)
			}
			// The directory's slowness, not the caller's deadline.
			if errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("err = %v wraps context.DeadlineExceeded", err)
			}
			if took > 2*time.Second {
				t.Errorf("took %v, want < 2 s", took)
			}
			t.Logf("%v after %v", err, took.Round(time.Millisecond))
		})
	}
}

func TestContextEndsWait(t *testing.T) {
	silent, _ := silentServer(t)
	cfg := validConfig()
	cfg.URL = "ldap://" + silent
	cfg.InsecureNoTLS = true
	cfg.Timeout = time.Minute
	p, err := Open("ad", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = p.Authenticate(ctx, "alice", "Alice!Pass123")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want context.DeadlineExceeded", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("took %v after the context ended", took)
	}
}

// selfSigned returns a certificate for hosts (names or IPs) signed by
// itself, and a pool trusting it.
func selfSigned(t testing.TB, hosts ...string) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: hosts[0]},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}, pool
}

// tlsServer serves TLS with cert and then stays silent.
func tlsServer(t *testing.T, cert tls.Certificate) string {
	t.Helper()
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.(*tls.Conn).Handshake()
				buf := make([]byte, 1024)
				for {
					if _, err := c.Read(buf); err != nil {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() { l.Close(); <-done })
	return l.Addr().String()
}

func TestCertificateChecked(t *testing.T) {
	good, goodPool := selfSigned(t, "127.0.0.1", "localhost")
	_, otherPool := selfSigned(t, "127.0.0.1")
	wrongHost, wrongHostPool := selfSigned(t, "dc9.example.test")
	goodAddr, wrongHostAddr := tlsServer(t, good), tlsServer(t, wrongHost)

	for _, tc := range []struct {
		name  string
		addr  string
		pool  *x509.CertPool
		check func(error) bool
	}{
		{"unknown authority", goodAddr, otherPool, func(err error) bool {
			var ua x509.UnknownAuthorityError
			return errors.As(err, &ua)
		}},
		{"system roots", goodAddr, nil, func(err error) bool {
			var ua x509.UnknownAuthorityError
			return errors.As(err, &ua)
		}},
		{"wrong host", wrongHostAddr, wrongHostPool, func(err error) bool {
			var he x509.HostnameError
			return errors.As(err, &he)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := validConfig()
			cfg.URL = "ldaps://" + tc.addr
			cfg.RootCAs = tc.pool
			p, err := Open("ad", cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			_, err = p.Authenticate(context.Background(), "alice", "Alice!Pass123")
			var cve *tls.CertificateVerificationError
			if !errors.Is(err, providers.ErrUnavailable) || !errors.As(err, &cve) || !tc.check(err) {
				t.Errorf("err = %v, want ErrUnavailable with the certificate error", err)
			}
		})
	}

	// The trusted certificate passes the check: the failure is then the
	// silent server, after the handshake.
	cfg := validConfig()
	cfg.URL = "ldaps://" + goodAddr
	cfg.RootCAs = goodPool
	cfg.Timeout = 300 * time.Millisecond
	p, err := Open("ad", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	_, err = p.Authenticate(context.Background(), "alice", "Alice!Pass123")
	var cve *tls.CertificateVerificationError
	if !errors.Is(err, providers.ErrUnavailable) || errors.As(err, &cve) {
		t.Errorf("trusted certificate: err = %v, want ErrUnavailable without a certificate error", err)
	}
}

func TestClosed(t *testing.T) {
	cfg := validConfig()
	cfg.URL = "ldaps://" + closedAddr(t)
	p, err := Open("ad", cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Authenticate(context.Background(), "alice", "x"); err != errClosed {
		t.Errorf("after Close: %v", err)
	}
}
